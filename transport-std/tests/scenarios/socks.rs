//! SOCKS proxies end to end through a SOCKS server started by the test: every dialect, with
//! and without credentials, HTTP and HTTPS origins, the environment, and each way a proxy can
//! fail — each a clear error, none hanging past the connect deadline.

use std::time::{Duration, Instant};

use super::{SendWith, Transport};
use crate::api::{ErrorKind, Proxy, ProxySettings, Session, TlsSettings};
use crate::common::socks::{Socks, SocksProxy, SocksRequest};
use crate::common::{ok, pki, Action, Server};

fn through(proxy_url: &str) -> Session {
    Session::builder().proxy(Proxy::parse(proxy_url).expect("proxy URL")).build().expect("session")
}

pub fn socks5h_carries_http_and_https_with_credentials(t: &dyn Transport) {
    let origin = Server::start(|request, _| Action::Respond(ok(request.request_line())));
    let proxy = SocksProxy::start(Socks::Relay(Some(("me", "s3cret"))));
    let session = through(&proxy.url("socks5h", Some(("me", "s3cret"))));
    let url = format!("http://localhost:{}/plain?q=1", origin.url("").rsplit(':').next().unwrap_or_default());
    let response = session.get(&url).header("Proxy-Authorization", "Basic eA==").send_with(t).expect("through SOCKS");
    assert_eq!(response.text().expect("text"), "GET /plain?q=1 HTTP/1.1", "origin form, as to the origin itself");
    assert!(session.get(&url).send_with(t).expect("again").reused_connection(), "the tunnel is pooled");
    let recorded = origin.recorded();
    assert!(recorded.iter().all(|request| request.header("proxy-authorization").is_none()), "{recorded:?}");

    let pki = pki(&["localhost"]);
    let secure = Server::start_tls(pki.chain, pki.key, |_, _| Action::Respond(ok("tls inside socks")));
    let session = Session::builder()
        .proxy(Proxy::parse(&proxy.url("socks5h", Some(("me", "s3cret")))).expect("proxy URL"))
        .tls(TlsSettings::default().ca_bundle(pki.ca_file.path()))
        .build()
        .expect("session");
    let response = session.get(&format!("https://localhost:{}/", secure.port)).send_with(t).expect("https via SOCKS");
    assert_eq!(response.text().expect("text"), "tls inside socks");

    let requests = proxy.requests();
    assert_eq!(requests.len(), 2, "one tunnel per origin: {requests:?}");
    assert!(requests.iter().all(|request| request.by_name && request.user.as_deref() == Some("me")), "{requests:?}");
    assert_eq!(requests[1].target, format!("localhost:{}", secure.port), "the proxy resolves the name");
}

pub fn every_socks_dialect_reaches_the_origin(t: &dyn Transport) {
    let origin = Server::start(|_, _| Action::Respond(ok("hello")));
    let port = origin.url("").rsplit(':').next().unwrap_or_default().to_owned();
    let proxy = SocksProxy::start(Socks::Relay(None));
    let expected = [
        // The client resolves `localhost` for socks5:// and socks4://; the proxy for the others.
        ("socks5", SocksRequest { version: 5, target: format!("127.0.0.1:{port}"), by_name: false, user: None }),
        ("socks4", SocksRequest { version: 4, target: format!("127.0.0.1:{port}"), by_name: false, user: None }),
        ("socks4a", SocksRequest { version: 4, target: format!("localhost:{port}"), by_name: true, user: None }),
        ("socks5h", SocksRequest { version: 5, target: format!("localhost:{port}"), by_name: true, user: None }),
    ];
    for (scheme, _) in &expected {
        let session = through(&proxy.url(scheme, None));
        let response = session.get(&format!("http://localhost:{port}/")).send_with(t);
        assert_eq!(response.expect(scheme).text().expect("text"), "hello", "{scheme}");
    }
    let requests = proxy.requests();
    for ((scheme, wanted), seen) in expected.iter().zip(&requests) {
        // A resolver may answer ::1 first for localhost: socks5 may send either family.
        if *scheme == "socks5" && seen.target.starts_with('[') {
            continue;
        }
        assert_eq!(seen, wanted, "{scheme}");
    }

    // From the environment, as curl and Requests read it; no_proxy still goes direct.
    let settings = ProxySettings::from_env(|name| match name {
        "all_proxy" => Some(proxy.url("socks5h", None)),
        "no_proxy" => Some("direct.test".into()),
        _ => None,
    });
    let session = Session::builder().proxies(settings).build().expect("session");
    let before = proxy.requests().len();
    assert_eq!(
        session.get(&format!("http://localhost:{port}/")).send_with(t).expect("env").text().expect("text"),
        "hello"
    );
    assert_eq!(proxy.requests().len(), before + 1, "all_proxy carried it");
}

pub fn a_socks_proxy_that_fails_says_how(t: &dyn Transport) {
    let target = "http://localhost:9/";
    let check = |script: Socks, url: &str, kind: ErrorKind, says: &str| {
        let proxy = SocksProxy::start(script);
        let proxy_url = url.replace("PORT", &proxy.port.to_string());
        let session = Session::builder()
            .proxy(Proxy::parse(&proxy_url).expect("proxy URL"))
            .connect_timeout(Duration::from_millis(400))
            .build()
            .expect("session");
        let started = Instant::now();
        let error = session.get(target).send_with(t).expect_err(says);
        let message = error.to_string();
        assert_eq!(error.kind(), kind, "{message}");
        assert!(message.contains(says), "{message:?} should say {says:?}");
        assert!(message.contains(&format!("127.0.0.1:{}", proxy.port)), "names the proxy: {message}");
        assert!(started.elapsed() < Duration::from_secs(3), "bounded by the connect deadline: {message}");
    };
    check(Socks::Refuse(5), "socks5h://127.0.0.1:PORT", ErrorKind::Connect, "connection refused by the destination");
    check(Socks::Refuse(4), "socks5h://127.0.0.1:PORT", ErrorKind::Connect, "host unreachable");
    check(Socks::Refuse(91), "socks4a://127.0.0.1:PORT", ErrorKind::Connect, "request rejected or failed");
    check(
        Socks::Relay(Some(("me", "right"))),
        "socks5h://me:wrong@127.0.0.1:PORT",
        ErrorKind::Connect,
        "authentication failed",
    );
    check(
        Socks::Relay(Some(("me", "right"))),
        "socks5h://127.0.0.1:PORT",
        ErrorKind::Connect,
        "accepts none of the offered authentication methods",
    );
    check(Socks::HttpInstead, "socks5h://127.0.0.1:PORT", ErrorKind::Protocol, "is it a SOCKS5 proxy?");
    check(Socks::Truncate, "socks5h://127.0.0.1:PORT", ErrorKind::Protocol, "closed the connection before answering");
    check(Socks::EarlyBytes, "socks5h://127.0.0.1:PORT", ErrorKind::Protocol, "sent bytes after opening the tunnel");
    check(Socks::Stall, "socks5h://127.0.0.1:PORT", ErrorKind::Timeout, "SOCKS handshake");
}
