//! Proxies end to end through a forward proxy started by the test (CONNECT tunnels and
//! absolute-form forwarding, over plain TCP or TLS): the route the core chooses, and where
//! the proxy's credentials may appear.

use super::{SendWith, Transport};
use crate::api::{ErrorKind, NoProxy, Proxy, ProxySetting, ProxySettings, Session, TlsSettings};
use crate::common::{ok, pki, Action, ForwardProxy, Server};

fn proxy_with_credentials(proxy: &ForwardProxy) -> Proxy {
    Proxy::parse(&format!("http://pu:pp@127.0.0.1:{}", proxy.port)).expect("proxy URL")
}

pub fn plain_http_goes_to_the_proxy_in_absolute_form_with_its_credentials(t: &dyn Transport) {
    let origin = Server::start(|_, _| Action::Respond(ok("via proxy")));
    let proxy = ForwardProxy::start();
    let session = Session::builder().proxy(proxy_with_credentials(&proxy)).build().expect("session");
    let url = origin.url("/path?q=1");
    assert_eq!(session.get(&url).send_with(t).expect("proxied").text().expect("text"), "via proxy");
    let second = session.get(&url).send_with(t).expect("again");
    assert!(second.reused_connection(), "the connection to the proxy is pooled");
    drop(second);

    let heads = proxy.heads();
    assert_eq!(heads.len(), 1);
    assert_eq!(heads[0].request_line(), format!("GET {url} HTTP/1.1"));
    assert_eq!(heads[0].header("proxy-authorization").as_deref(), Some("Basic cHU6cHA="));
    assert_eq!(origin.recorded().len(), 2);
}

pub fn https_tunnels_with_credentials_on_the_connect_only(t: &dyn Transport) {
    let pki = pki(&["localhost"]);
    let origin = Server::start_tls(pki.chain, pki.key, |_, _| Action::Respond(ok("tunnelled")));
    let proxy = ForwardProxy::start();
    let session = Session::builder()
        .proxy(proxy_with_credentials(&proxy))
        .tls(TlsSettings::default().ca_bundle(pki.ca_file.path()))
        .build()
        .expect("session");
    let url = format!("https://localhost:{}/secret", origin.port);
    // CVE-2023-32681 (Requests): Proxy-Authorization leaked into the tunnel. A header the
    // caller sets is removed there too.
    let response =
        session.get(&url).header("Proxy-Authorization", "Basic c2VjcmV0").send_with(t).expect("through the tunnel");
    assert_eq!(response.text().expect("text"), "tunnelled");
    assert!(session.get(&url).send_with(t).expect("again").reused_connection(), "the tunnel is pooled");

    let heads = proxy.heads();
    assert_eq!(heads.len(), 1, "one CONNECT: {heads:?}");
    assert_eq!(heads[0].request_line(), format!("CONNECT localhost:{} HTTP/1.1", origin.port));
    assert_eq!(heads[0].header("host"), Some(format!("localhost:{}", origin.port)));
    assert_eq!(heads[0].header("proxy-authorization").as_deref(), Some("Basic cHU6cHA="));
    let inner = origin.recorded();
    assert_eq!(inner[0].request_line(), "GET /secret HTTP/1.1", "origin-form inside the tunnel");
    assert!(inner.iter().all(|request| request.header("proxy-authorization").is_none()), "{inner:?}");
}

pub fn a_refused_tunnel_is_a_connect_error(t: &dyn Transport) {
    let proxy = ForwardProxy::refusing(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n",
    );
    let session = Session::builder().proxy(Proxy::parse(&proxy.url()).expect("proxy")).build().expect("session");
    let error = session.get("https://localhost:1/").send_with(t).expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Connect);
    assert!(error.to_string().contains("407"), "{error}");
}

pub fn no_proxy_per_scheme_settings_and_invalid_proxies(t: &dyn Transport) {
    let origin = Server::always(b"HTTP/1.1 204 No Content\r\n\r\n");
    let proxy = ForwardProxy::start();
    let through = Proxy::parse(&proxy.url()).expect("proxy");

    // NO_PROXY as CIDR: loopback goes direct.
    let bypass = ProxySettings { no_proxy: NoProxy::parse("127.0.0.0/8"), ..ProxySettings::all(through.clone()) };
    Session::builder()
        .proxies(bypass)
        .build()
        .expect("session")
        .get(&origin.url("/direct"))
        .send_with(t)
        .expect("direct");
    // Only https is proxied: http goes direct.
    let https_only = ProxySettings { https: ProxySetting::Proxy(through), ..ProxySettings::none() };
    Session::builder()
        .proxies(https_only)
        .build()
        .expect("session")
        .get(&origin.url("/plain"))
        .send_with(t)
        .expect("plain");
    assert!(proxy.heads().is_empty(), "{:?}", proxy.heads());
    assert_eq!(origin.recorded().len(), 2);

    // A proxy setting that does not parse fails the request instead of going direct.
    let broken = ProxySettings::from_env(|name| (name == "http_proxy").then(|| "gopher://127.0.0.1:1".to_owned()));
    let error = Session::builder().proxies(broken).build().expect("session").get(&origin.url("/")).send_with(t);
    assert_eq!(error.expect_err("invalid proxy").kind(), ErrorKind::InvalidRequest);
    assert_eq!(origin.recorded().len(), 2);
}

pub fn an_https_proxy_forwards_and_tunnels_inside_its_tls(t: &dyn Transport) {
    let pki = pki(&["localhost"]);
    let proxy = ForwardProxy::start_tls(pki.chain.clone(), pki.key.clone_key());
    let plain = Server::start(|request, _| Action::Respond(ok(request.request_line())));
    let secure = Server::start_tls(pki.chain.clone(), pki.key.clone_key(), |_, _| Action::Respond(ok("tls in tls")));
    let proxy_url = format!("https://pu:pp@localhost:{}", proxy.port);
    let session = Session::builder()
        .proxy(Proxy::parse(&proxy_url).expect("proxy URL"))
        .tls(TlsSettings::default().ca_bundle(pki.ca_file.path()))
        .build()
        .expect("session");

    // Plain HTTP: forwarded in absolute form inside the TLS to the proxy.
    let url = plain.url("/p?q=1");
    assert_eq!(session.get(&url).send_with(t).expect("forwarded").text().expect("text"), format!("GET {url} HTTP/1.1"));
    assert!(session.get(&url).send_with(t).expect("again").reused_connection(), "the proxy connection is pooled");
    // HTTPS: CONNECT inside the proxy's TLS, then the origin's TLS inside that.
    let secure_url = format!("https://localhost:{}/s", secure.port);
    for round in 0..2 {
        let response = session.get(&secure_url).send_with(t).expect("tunnelled");
        assert_eq!(response.reused_connection(), round > 0);
        assert_eq!(response.text().expect("text"), "tls in tls");
    }
    let heads = proxy.heads();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert_eq!(heads[0].request_line(), format!("GET {url} HTTP/1.1"));
    assert_eq!(heads[1].request_line(), format!("CONNECT localhost:{} HTTP/1.1", secure.port));
    assert!(heads.iter().all(|head| head.header("proxy-authorization").as_deref() == Some("Basic cHU6cHA=")));
    assert!(secure.recorded().iter().all(|request| request.header("proxy-authorization").is_none()));

    // The proxy's certificate is verified: against the session's roots by default, which do
    // not know this CA...
    let untrusted = Session::builder().proxy(Proxy::parse(&proxy_url).expect("proxy URL")).build().expect("session");
    let error = untrusted.get(&url).send_with(t).expect_err("unknown CA");
    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    assert!(error.to_string().contains("the proxy localhost"), "{error}");
    // ...or against the proxy's own CA setting (urllib3's proxy_ssl_context).
    let own_ca = Session::builder()
        .proxy(Proxy::parse(&proxy_url).expect("proxy URL"))
        .proxy_tls(TlsSettings::default().ca_bundle(pki.ca_file.path()))
        .build()
        .expect("session");
    assert_eq!(own_ca.get(&url).send_with(t).expect("verified by its CA").status(), 200);
}
