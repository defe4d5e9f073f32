//! HTTPS against a loopback server with a locally generated CA: verification on by default,
//! a custom CA that replaces the default roots, hostname checks, and the explicit
//! dangerous mode.

use super::{SendWith, Transport};
use crate::api::{ErrorKind, Session, TlsSettings};
use crate::common::{ok, pki, tempfile_path, Action, Server};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

pub fn https_with_a_custom_ca_verifies_and_reuses(t: &dyn Transport) {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let server = Server::start_tls(pki.chain, pki.key, |_, _| Action::Respond(ok("secure")));
    let session =
        Session::builder().tls(TlsSettings::default().ca_bundle(pki.ca_file.path())).build().expect("session");
    let url = format!("https://localhost:{}/", server.port);
    assert_eq!(session.get(&url).send_with(t).expect("verified").text().expect("text"), "secure");
    let again = session.get(&format!("https://127.0.0.1:{}/ip", server.port)).send_with(t).expect("IP SAN");
    assert_eq!(again.text().expect("text"), "secure");
    let third = session.get(&url).send_with(t).expect("pooled");
    assert!(third.reused_connection());
    assert_eq!(server.connection_count(), 2, "one connection per host name, each reused");
}

pub fn verification_is_on_by_default_and_checks_the_name(t: &dyn Transport) {
    let pki = pki(&["other.example"]);
    let ca = pki.ca_file.path().to_owned();
    let server = Server::start_tls(pki.chain, pki.key, |_, _| Action::Respond(ok("never")));
    let url = format!("https://127.0.0.1:{}/", server.port);
    let error = t.get(&url).expect_err("unknown CA");
    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    let session = Session::builder().tls(TlsSettings::default().ca_bundle(&ca)).build().expect("session");
    let error = session.get(&url).send_with(t).expect_err("name mismatch");
    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    assert!(server.recorded().is_empty(), "no request was sent over an unverified connection");
    drop(pki.ca_file);
}

pub fn dangerous_mode_is_explicit(t: &dyn Transport) {
    let pki = pki(&["other.example"]);
    let server = Server::start_tls(pki.chain, pki.key, |_, _| Action::Respond(ok("unverified")));
    let insecure =
        Session::builder().tls(TlsSettings::default().danger_accept_invalid_certs()).build().expect("session");
    let url = format!("https://127.0.0.1:{}/", server.port);
    assert_eq!(insecure.get(&url).send_with(t).expect("accepted").text().expect("text"), "unverified");
}

pub fn client_certificates_are_presented(t: &dyn Transport) {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let server_key = rcgen::KeyPair::generate().expect("key");
    let server_cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&server_key, &ca, &ca_key)
        .expect("server cert");
    let client_key = rcgen::KeyPair::generate().expect("key");
    let client_cert = rcgen::CertificateParams::new(vec!["client.test".to_owned()])
        .expect("params")
        .signed_by(&client_key, &ca, &ca_key)
        .expect("client cert");

    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).expect("CA root");
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider.clone())
        .build()
        .expect("client verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![server_cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .expect("server config");
    let server = Server::start_tls_with(std::sync::Arc::new(config), |_, _| Action::Respond(ok("hello, client")));
    let url = format!("https://localhost:{}/", server.port);

    let ca_file = tempfile_path::TempPath::with_contents(ca.pem().as_bytes());
    let cert_file = tempfile_path::TempPath::with_contents(client_cert.pem().as_bytes());
    let key_file = tempfile_path::TempPath::with_contents(client_key.serialize_pem().as_bytes());
    let anonymous = Session::builder().tls(TlsSettings::default().ca_bundle(ca_file.path())).build().expect("session");
    let error = anonymous.get(&url).send_with(t).expect_err("the server requires a certificate");
    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    let identified = Session::builder()
        .tls(TlsSettings::default().ca_bundle(ca_file.path()).client_identity(cert_file.path(), key_file.path()))
        .build()
        .expect("session");
    assert_eq!(identified.get(&url).send_with(t).expect("accepted").text().expect("text"), "hello, client");
}

pub fn a_missing_ca_file_is_a_tls_error_at_build_time(_: &dyn Transport) {
    let error =
        Session::builder().tls(TlsSettings::default().ca_bundle("/nonexistent/ca.pem")).build().expect_err("missing");
    assert_eq!(error.kind(), ErrorKind::Tls);
}

/// RFC 9112 §9.8: over TLS, "a response that has neither chunked transfer coding nor
/// Content-Length is complete only if a valid closure alert has been received". A close
/// without the server's `close_notify` — a sloppy server, or anyone able to end the TCP
/// connection — is an `eof` error, not a shorter body; bodies framed by `Content-Length` or
/// chunked that arrived whole are whole either way.
pub fn a_body_delimited_by_the_close_needs_the_servers_close_notify(t: &dyn Transport) {
    let pki = pki(&["localhost"]);
    let server = Server::start_tls(pki.chain, pki.key, |request, _| {
        let delimited = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe whole body".to_vec();
        match request.request_line().split(' ').nth(1).unwrap_or_default() {
            "/notify" => Action::RespondAndClose(delimited),
            "/cut" => Action::RespondAndCut(delimited),
            "/length" => Action::RespondAndCut(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nwhole".to_vec()),
            _ => Action::RespondAndCut(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nwhole\r\n0\r\n\r\n".to_vec(),
            ),
        }
    });
    let session =
        Session::builder().tls(TlsSettings::default().ca_bundle(pki.ca_file.path())).build().expect("session");
    let url = |path: &str| format!("https://localhost:{}{path}", server.port);
    let text = |path: &str| session.get(&url(path)).send_with(t).and_then(|response| response.text());
    assert_eq!(text("/notify").expect("close_notify, then the close"), "the whole body");
    let error = text("/cut").expect_err("a close without close_notify");
    assert_eq!(error.kind(), ErrorKind::Eof, "{error}");
    assert!(error.to_string().contains("close_notify"), "{error}");
    assert_eq!(text("/length").expect("whole by its length"), "whole");
    assert_eq!(text("/chunked").expect("whole by its last chunk"), "whole");
}

/// RFC 9112 §9.8: "Clients MUST send a closure alert before closing the connection." A
/// response with `Connection: close` has the client close: the server reads a close_notify.
pub fn the_client_ends_tls_with_close_notify(t: &dyn Transport) {
    let pki = pki(&["localhost"]);
    let server = Server::start_tls(pki.chain, pki.key, |_, _| {
        Action::Respond(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".to_vec())
    });
    let session =
        Session::builder().tls(TlsSettings::default().ca_bundle(pki.ca_file.path())).build().expect("session");
    let response = session.get(&format!("https://localhost:{}/", server.port)).send_with(t).expect("response");
    assert_eq!(response.text().expect("text"), "ok");
    let waited = std::time::Instant::now();
    while server.close_notifies.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(waited.elapsed() < std::time::Duration::from_secs(5), "the server never read a close_notify");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
