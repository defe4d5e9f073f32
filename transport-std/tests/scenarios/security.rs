//! One test per security rule that other HTTP clients learned the hard way, each named by
//! the advisory that taught it. (Proxy credentials inside a CONNECT tunnel,
//! CVE-2023-32681, are checked in `tests/proxy.rs` with the proxy that test starts.)

use std::time::{Duration, Instant};

use super::{SendWith, Transport};
use crate::api::{Session, TlsSettings};
use crate::common::{ok, pki, Action, Server};

fn redirect_to(location: String) -> Vec<u8> {
    format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

/// urllib3 CVE-2018-20060: `Authorization` followed a redirect to another host, port or
/// scheme. Whatever the header's case, and whoever set it.
pub fn cve_2018_20060_authorization_stays_with_its_origin(t: &dyn Transport) {
    let other = Server::always(b"HTTP/1.1 204 No Content\r\n\r\n");
    let location = other.url("/landing");
    let first = Server::start(move |_, _| Action::Respond(redirect_to(location.clone())));
    let session = Session::new();
    session.get(&first.url("/")).header("AUTHORIZATION", "Bearer leaked").send_with(t).expect("chain");
    session.get(&first.url("/")).basic_auth("user", Some("secret")).send_with(t).expect("chain");
    session.get(&first.url("/")).header("Proxy-Authorization", "Basic leaked").send_with(t).expect("chain");
    let recorded = other.recorded();
    assert_eq!(recorded.len(), 3);
    for request in recorded {
        assert_eq!(request.header("authorization"), None, "{}", request.head);
        assert_eq!(request.header("proxy-authorization"), None, "{}", request.head);
    }
}

/// Requests CVE-2018-18074: an https→http redirect on the same host kept `Authorization`,
/// sending it in clear text.
pub fn cve_2018_18074_no_credentials_on_a_downgrade_to_http(t: &dyn Transport) {
    let plain = Server::always(b"HTTP/1.1 204 No Content\r\n\r\n");
    let location = format!("http://localhost:{}/clear", plain.port);
    let pki = pki(&["localhost"]);
    let secure = Server::start_tls(pki.chain, pki.key, move |_, _| Action::Respond(redirect_to(location.clone())));
    let session =
        Session::builder().tls(TlsSettings::default().ca_bundle(pki.ca_file.path())).build().expect("session");
    let url = format!("https://localhost:{}/", secure.port);
    session.get(&url).basic_auth("user", Some("secret")).send_with(t).expect("chain");
    assert_eq!(secure.recorded()[0].header("authorization").as_deref(), Some("Basic dXNlcjpzZWNyZXQ="));
    assert_eq!(plain.recorded()[0].header("authorization"), None);
}

/// urllib3 CVE-2023-43804: a caller-written `Cookie` header followed a cross-origin
/// redirect.
pub fn cve_2023_43804_cookie_headers_stay_with_their_origin(t: &dyn Transport) {
    let other = Server::always(b"HTTP/1.1 204 No Content\r\n\r\n");
    let location = format!("http://localhost:{}/landing", other.port);
    let first = Server::start(move |_, _| Action::Respond(redirect_to(location.clone())));
    Session::new().get(&first.url("/")).header("cookie", "session=secret").send_with(t).expect("chain");
    assert_eq!(first.recorded()[0].header("cookie").as_deref(), Some("session=secret"));
    assert_eq!(other.recorded()[0].header("cookie"), None);
}

/// urllib3 CVE-2023-45803: after a 303 the body was sent again with the GET.
pub fn cve_2023_45803_a_303_drops_the_body(t: &dyn Transport) {
    let server = Server::start(|request, _| {
        if request.request_line().starts_with("POST") {
            Action::Respond(b"HTTP/1.1 303 See Other\r\nLocation: /result\r\nContent-Length: 0\r\n\r\n".to_vec())
        } else {
            Action::Respond(ok("done"))
        }
    });
    let response =
        Session::new().post(&server.url("/form")).form([("password", "secret")]).send_with(t).expect("303 chain");
    assert_eq!(response.text().expect("text"), "done");
    let follow = &server.recorded()[1];
    assert_eq!(follow.request_line(), "GET /result HTTP/1.1");
    assert!(follow.body.is_empty());
    for name in ["content-length", "content-type", "transfer-encoding"] {
        assert_eq!(follow.header(name), None, "{name}: {}", follow.head);
    }
}

/// urllib3 CVE-2026-21441: the body of a redirect was decompressed while being drained,
/// so a decompression bomb bypassed the read limits. Here a redirect body that is not even
/// valid gzip is drained raw, and a large one is not drained at all: its connection is
/// closed and the next hop opens another.
pub fn cve_2026_21441_redirect_bodies_are_never_decoded(t: &dyn Transport) {
    let server = Server::start(|request, _| {
        if request.request_line().starts_with("GET /small ") {
            let mut response =
                b"HTTP/1.1 302 Found\r\nLocation: /done\r\nContent-Encoding: gzip\r\nContent-Length: 512\r\n\r\n"
                    .to_vec();
            response.extend([0x1f; 512]); // not a gzip stream
            Action::Respond(response)
        } else if request.request_line().starts_with("GET /huge ") {
            let head = b"HTTP/1.1 302 Found\r\nLocation: /done\r\nContent-Encoding: gzip\r\nContent-Length: 1000000000\r\n\r\n";
            Action::Stall(head.to_vec(), Duration::from_secs(5))
        } else {
            Action::Respond(ok("landed"))
        }
    });
    let session = Session::new();
    let response = session.get(&server.url("/small")).send_with(t).expect("drained raw");
    assert_eq!(response.text().expect("text"), "landed");
    assert_eq!(server.connection_count(), 1, "a small redirect body is drained and the connection kept");

    let started = Instant::now();
    let response = session.get(&server.url("/huge")).send_with(t).expect("not drained");
    assert_eq!(response.text().expect("text"), "landed");
    assert!(started.elapsed() < Duration::from_secs(3), "the 1 GB body was not waited for");
    assert_eq!(server.connection_count(), 2, "its connection was closed, the next hop opened another");
}
