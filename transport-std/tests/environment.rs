//! What the environment configures, and that explicit configuration beats it: proxy
//! variables (lower case first, the httpoxy guard, NO_PROXY) and CA bundle variables. One
//! test in its own binary, since it changes the process environment.

mod common;

use common::{ok, pki, Action, ForwardProxy, Server};
use tidings_std::{ErrorKind, Session, TlsSettings};

fn clear() {
    for name in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
        "REQUEST_METHOD",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
    ] {
        std::env::remove_var(name);
    }
}

#[test]
fn the_environment_fills_in_and_explicit_settings_win() {
    clear();
    let origin = Server::always(b"HTTP/1.1 204 No Content\r\n\r\n");
    let proxy = ForwardProxy::start();
    let proxied = |label: &str, session: Session| {
        let before = proxy.heads().len();
        session.get(&origin.url(&format!("/{label}"))).send().expect(label);
        proxy.heads().len() > before
    };

    std::env::set_var("http_proxy", proxy.url());
    assert!(proxied("lower", Session::new()));
    assert!(!proxied("trust-env-off", Session::builder().trust_env(false).build().expect("session")));
    assert!(!proxied("explicit-none", Session::builder().no_proxy().build().expect("session")));
    std::env::set_var("NO_PROXY", "localhost, 127.0.0.1");
    assert!(!proxied("no-proxy", Session::new()));
    std::env::remove_var("NO_PROXY");

    // httpoxy: under CGI, HTTP_PROXY may come from a client's `Proxy:` header.
    std::env::remove_var("http_proxy");
    std::env::set_var("HTTP_PROXY", proxy.url());
    assert!(proxied("upper", Session::new()));
    std::env::set_var("REQUEST_METHOD", "GET");
    assert!(!proxied("httpoxy", Session::new()));
    clear();

    // CA bundles: the environment's is used when none is configured; an explicit one wins.
    let trusted = pki(&["localhost"]);
    let other = pki(&["localhost"]);
    let secure = Server::start_tls(trusted.chain, trusted.key, |_, _| Action::Respond(ok("env CA")));
    let url = format!("https://localhost:{}/", secure.port);
    std::env::set_var("SSL_CERT_FILE", trusted.ca_file.path());
    assert_eq!(Session::new().get(&url).send().expect("env CA").text().expect("text"), "env CA");
    let explicit =
        Session::builder().tls(TlsSettings::default().ca_bundle(other.ca_file.path())).build().expect("session");
    assert_eq!(explicit.get(&url).send().expect_err("explicit CA wins").kind(), ErrorKind::Tls);
    std::env::set_var("SSL_CERT_FILE", "/nonexistent/ca.pem");
    assert_eq!(Session::new().get(&url).send().expect_err("default roots").kind(), ErrorKind::Tls);
    std::env::set_var("CURL_CA_BUNDLE", "");
    assert_eq!(
        Session::new().get(&url).send().expect_err("an empty value never turns verification off").kind(),
        ErrorKind::Tls
    );
    clear();
}
