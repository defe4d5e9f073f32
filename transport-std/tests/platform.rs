//! The `platform-verifier` feature: the operating system's verifier and roots stand in for
//! the webpki roots when asked. On Linux the system roots come through rustls-native-certs,
//! which reads `SSL_CERT_FILE`, so this binary (alone, as it changes its environment) points
//! it at a locally generated CA.
#![cfg(feature = "platform-verifier")]

mod common;

use common::{ok, pki, Action, Server};
use tidings_std::{ErrorKind, Session, TlsSettings};

#[test]
fn the_platform_verifier_trusts_the_systems_roots_and_only_them() {
    let trusted = pki(&["localhost", "127.0.0.1"]);
    let stranger = pki(&["localhost", "127.0.0.1"]);
    // The only test in this binary: nothing else reads the environment meanwhile.
    std::env::set_var("SSL_CERT_FILE", trusted.ca_file.path());
    std::env::remove_var("SSL_CERT_DIR");
    let server = Server::start_tls(trusted.chain, trusted.key, |_, _| Action::Respond(ok("platform")));
    let other = Server::start_tls(stranger.chain, stranger.key, |_, _| Action::Respond(ok("unknown")));

    // trust_env(false): the session's own CA-bundle variables stay out of it; what is
    // tested is the platform verifier's view of the system's roots.
    let platform = Session::builder()
        .trust_env(false)
        .tls(TlsSettings::default().platform_verifier())
        .build()
        .expect("the platform verifier");
    let response = platform.get(&format!("https://localhost:{}/", server.port)).send().expect("system-trusted");
    assert_eq!(response.text().expect("text"), "platform");
    let error =
        platform.get(&format!("https://localhost:{}/", other.port)).send().expect_err("a CA the system does not trust");
    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");

    // The default stays the compiled-in webpki roots, which know neither CA.
    let default = Session::builder().trust_env(false).build().expect("session");
    let error = default.get(&format!("https://localhost:{}/", server.port)).send().expect_err("webpki roots");
    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    // A CA bundle, when named, wins over the platform's roots.
    let bundle = Session::builder()
        .trust_env(false)
        .tls(TlsSettings::default().platform_verifier().ca_bundle(stranger.ca_file.path()))
        .build()
        .expect("session");
    let response = bundle.get(&format!("https://localhost:{}/", other.port)).send().expect("the bundle's CA");
    assert_eq!(response.text().expect("text"), "unknown");
}
