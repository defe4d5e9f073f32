//! Interop against real servers that `.ci/interop.sh` installs and starts on loopback:
//! Python httpbin under gunicorn, nginx (keep-alive, a large file, HTTPS with a local CA),
//! tinyproxy (a forward proxy, and behind stunnel an `https://` one), and microsocks (a SOCKS5
//! proxy, with and without a password).
//! Ignored by plain `cargo test`; `.ci/run` runs them with `--ignored`.

use std::io::Read;
use std::time::Duration;

use super::{SendWith, Transport};
use crate::api::{ErrorKind, Session, StatusCode, TlsSettings};
use serde_json::Value;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by .ci/interop.sh"))
}

pub fn gunicorn_httpbin(t: &dyn Transport) {
    let base = env("TIDINGS_INTEROP_HTTPBIN");
    let session = Session::new();
    let value: Value = session
        .get(&format!("{base}/get"))
        .query([("a", "1"), ("a", "2")])
        .send_with(t)
        .expect("get")
        .json()
        .expect("json");
    assert_eq!(value["args"]["a"], serde_json::json!(["1", "2"]));
    let value: Value = session
        .post(&format!("{base}/post"))
        .json(&serde_json::json!({"k": "v"}))
        .send_with(t)
        .expect("post")
        .json()
        .expect("json");
    assert_eq!(value["json"]["k"], "v");
    let value: Value =
        session.post(&format!("{base}/post")).form([("f", "x y")]).send_with(t).expect("form").json().expect("json");
    assert_eq!(value["form"]["f"], "x y");
    for (coding, key) in [("gzip", "gzipped"), ("deflate", "deflated"), ("brotli", "brotli")] {
        let value: Value =
            session.get(&format!("{base}/{coding}")).send_with(t).expect(coding).json().expect("decoded");
        assert_eq!(value[key], true, "{coding}");
    }
    let lines = session.get(&format!("{base}/stream/20")).send_with(t).expect("stream").lines().expect("lines");
    assert_eq!(lines.count(), 20);
    assert_eq!(session.get(&format!("{base}/status/418")).send_with(t).expect("teapot").status().as_u16(), 418);
    let value: Value = session
        .get(&format!("{base}/basic-auth/u/p"))
        .basic_auth("u", Some("p"))
        .send_with(t)
        .expect("auth")
        .json()
        .expect("json");
    assert_eq!(value["authenticated"], true);
    // Digest against httpbin's own check (werkzeug), for each algorithm both implement.
    for algorithm in ["MD5", "SHA-256"] {
        let url = format!("{base}/digest-auth/auth/user/passwd/{algorithm}");
        let response = Session::new().get(&url).digest_auth("user", "passwd").send_with(t).expect("digest");
        assert_eq!(response.status(), StatusCode::OK, "{algorithm}");
        let response = Session::new().get(&url).digest_auth("user", "nope").send_with(t).expect("digest");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{algorithm}");
    }
    let bytes = session.get(&format!("{base}/bytes/102400")).send_with(t).expect("bytes").bytes().expect("body");
    assert_eq!(bytes.len(), 102_400);
    let value: Value = session
        .get(&format!("{base}/encoding/utf8"))
        .send_with(t)
        .map(|r| Value::String(r.text().unwrap_or_default()))
        .expect("utf8");
    assert!(value.as_str().unwrap_or_default().contains("∮"));
    let form = crate::api::Multipart::new().text("field", "value").part(
        "upload",
        crate::api::Part::reader(std::io::Cursor::new(b"streamed file".to_vec()), Some(13)).file_name("a.txt"),
    );
    let value: Value =
        session.post(&format!("{base}/post")).multipart(form).send_with(t).expect("multipart").json().expect("json");
    assert_eq!(value["form"]["field"], "value", "Werkzeug parsed the form");
    assert_eq!(value["files"]["upload"], "streamed file");
    let quick = Session::builder().timeout(Duration::from_millis(800)).build().expect("session");
    let error = quick.get(&format!("{base}/delay/3")).send_with(t).expect_err("too slow");
    assert_eq!(error.kind(), ErrorKind::Timeout);
}

pub fn nginx_keep_alive_and_a_large_file(t: &dyn Transport) {
    let base = env("TIDINGS_INTEROP_NGINX");
    let session = Session::new();
    for round in 0..20 {
        let response = session.get(&format!("{base}/small.txt")).send_with(t).expect("small");
        assert_eq!(response.reused_connection(), round > 0, "round {round}");
        assert_eq!(response.text().expect("text"), "hello from nginx\n");
    }
    let head = session.head(&format!("{base}/large.bin")).send_with(t).expect("head");
    let length: u64 = head.headers().get_str("content-length").and_then(|value| value.parse().ok()).expect("length");
    let expected = std::fs::read(env("TIDINGS_INTEROP_LARGE")).expect("the file nginx serves");
    assert_eq!(length, expected.len() as u64);
    let mut response = session.get(&format!("{base}/large.bin")).send_with(t).expect("large");
    let mut received = Vec::with_capacity(expected.len());
    response.read_to_end(&mut received).expect("download");
    assert!(received == expected, "the 32 MiB body arrived intact");
    assert_eq!(session.get(&format!("{base}/missing")).send_with(t).expect("404").status(), StatusCode::NOT_FOUND);
}

pub fn nginx_https_with_a_local_ca(t: &dyn Transport) {
    let base = env("TIDINGS_INTEROP_NGINX_TLS");
    let error = t.get(&format!("{base}/small.txt")).expect_err("unknown CA");
    assert_eq!(error.kind(), ErrorKind::Tls);
    let session =
        Session::builder().tls(TlsSettings::default().ca_bundle(env("TIDINGS_INTEROP_CA"))).build().expect("session");
    for round in 0..3 {
        let response = session.get(&format!("{base}/small.txt")).send_with(t).expect("verified");
        assert_eq!(response.reused_connection(), round > 0);
        assert_eq!(response.text().expect("text"), "hello from nginx\n");
    }
    let by_ip = base.replace("localhost", "127.0.0.1");
    assert_eq!(session.get(&format!("{by_ip}/small.txt")).send_with(t).expect("IP SAN").status(), StatusCode::OK);
}

/// A session through the proxy the variable names, trusting the interop CA; a plain request
/// through it reaches httpbin in absolute form, and the proxy keeps its credentials.
fn through_proxy(t: &dyn Transport, variable: &str) -> Session {
    let proxy = crate::api::Proxy::parse(&env(variable)).expect("proxy URL");
    let session = Session::builder()
        .proxy(proxy)
        .tls(TlsSettings::default().ca_bundle(env("TIDINGS_INTEROP_CA")))
        .build()
        .expect("session");
    let value: Value = session
        .get(&format!("{}/get", env("TIDINGS_INTEROP_HTTPBIN")))
        .send_with(t)
        .expect("forwarded")
        .json()
        .expect("json");
    assert!(value["headers"].get("Proxy-Authorization").is_none(), "{value}");
    session
}

pub fn tinyproxy_forwards_and_tunnels(t: &dyn Transport) {
    let session = through_proxy(t, "TIDINGS_INTEROP_PROXY");
    // HTTPS through CONNECT, verified end to end against nginx.
    let url = format!("{}/small.txt", env("TIDINGS_INTEROP_NGINX_TLS"));
    assert_eq!(session.get(&url).send_with(t).expect("tunnelled").text().expect("text"), "hello from nginx\n");
    assert!(session.get(&url).send_with(t).expect("again").reused_connection(), "the tunnel is pooled");

    // Wrong credentials: the forward request gets the proxy's refusal as its response
    // (tinyproxy answers 401 to wrong credentials, 407 to none); a tunnel fails to open.
    let proxy_url = env("TIDINGS_INTEROP_PROXY").replace("s3cret", "wrong");
    let refused = Session::builder()
        .proxy(crate::api::Proxy::parse(&proxy_url).expect("proxy URL"))
        .tls(TlsSettings::default().ca_bundle(env("TIDINGS_INTEROP_CA")))
        .build()
        .expect("session");
    let response = refused.get(&format!("{}/get", env("TIDINGS_INTEROP_HTTPBIN"))).send_with(t).expect("407");
    assert!(matches!(response.status().as_u16(), 401 | 407), "{}", response.status());
    let error = refused.get(&url).send_with(t).expect_err("no tunnel");
    assert_eq!(error.kind(), ErrorKind::Connect, "{error}");
}

pub fn microsocks_carries_http_and_https(t: &dyn Transport) {
    let http = format!("{}/small.txt", env("TIDINGS_INTEROP_NGINX"));
    let https = format!("{}/small.txt", env("TIDINGS_INTEROP_NGINX_TLS"));
    for (variable, schemes) in
        [("TIDINGS_INTEROP_SOCKS", ["socks5h", "socks5"]), ("TIDINGS_INTEROP_SOCKS_AUTH", ["socks5h", "socks5"])]
    {
        for scheme in schemes {
            let proxy_url = env(variable).replacen("socks5h", scheme, 1);
            let session = Session::builder()
                .proxy(crate::api::Proxy::parse(&proxy_url).expect("proxy URL"))
                .tls(TlsSettings::default().ca_bundle(env("TIDINGS_INTEROP_CA")))
                .build()
                .expect("session");
            for url in [&http, &https] {
                let response =
                    session.get(url).send_with(t).unwrap_or_else(|error| panic!("{proxy_url} {url}: {error}"));
                assert_eq!(response.text().expect("text"), "hello from nginx\n", "{proxy_url} {url}");
                assert!(session.get(url).send_with(t).expect("again").reused_connection(), "the tunnel is pooled");
            }
        }
    }
    // The password-protected proxy refuses wrong credentials, and none.
    for proxy_url in [
        env("TIDINGS_INTEROP_SOCKS_AUTH").replace(":s3cret@", ":wrong@"),
        env("TIDINGS_INTEROP_SOCKS_AUTH").replace("tidings:s3cret@", ""),
    ] {
        let session = Session::builder()
            .proxy(crate::api::Proxy::parse(&proxy_url).expect("proxy URL"))
            .build()
            .expect("session");
        let error = session.get(&http).send_with(t).expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::Connect, "{proxy_url}: {error}");
    }
}

pub fn stunnel_and_tinyproxy_as_an_https_proxy(t: &dyn Transport) {
    // Plain HTTP forwarded inside TLS to the proxy.
    let session = through_proxy(t, "TIDINGS_INTEROP_HTTPS_PROXY");
    // HTTPS: TLS to nginx inside the CONNECT tunnel inside TLS to the proxy; a large body
    // checks the layering under load.
    let url = format!("{}/small.txt", env("TIDINGS_INTEROP_NGINX_TLS"));
    for round in 0..2 {
        let response = session.get(&url).send_with(t).expect("tls in tls");
        assert_eq!(response.reused_connection(), round > 0);
        assert_eq!(response.text().expect("text"), "hello from nginx\n");
    }
    let large = session.get(&format!("{}/large.bin", env("TIDINGS_INTEROP_NGINX_TLS"))).send_with(t).expect("large");
    let expected = std::fs::read(env("TIDINGS_INTEROP_LARGE")).expect("the file nginx serves");
    assert!(large.bytes().expect("body") == expected, "the large body arrives intact through both TLS layers");
}
