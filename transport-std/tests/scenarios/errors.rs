//! Every error kind as a user sees it: `Display` says what was being done and why, `Debug`
//! (what `main` returning the error prints) adds the kind and only causes not already told,
//! and common mistakes carry a hint.

use std::time::Duration;

use super::Transport;
use crate::api::{Error, ErrorKind, Session};
use crate::common::{ok, Action, Server};

/// Checks what a user would see of `error`: its kind, a `Display` starting with `starts`
/// and containing each of `contains`, a `Debug` that is the `Display` with the kind, and a
/// chain whose every level says something the message did not.
fn reads_as(error: &Error, kind: ErrorKind, starts: &str, contains: &[&str]) {
    let shown = error.to_string();
    assert_eq!(error.kind(), kind, "{shown}");
    assert!(shown.starts_with(starts), "{shown:?} should start with {starts:?}");
    for part in contains {
        assert!(shown.contains(part), "{shown:?} should contain {part:?}");
    }
    let debug = format!("{error:?}");
    assert!(debug.starts_with(&format!("{shown} [kind: {}]", kind.as_str())), "{debug}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let told = cause.to_string();
        assert!(!shown.contains(&told), "the chain repeats {told:?}, already in {shown:?}");
        assert!(debug.contains(&told), "Debug shows every cause: {debug}");
        source = cause.source();
    }
}

pub fn every_error_kind_reads_as_a_user_sees_it(t: &dyn Transport) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
    let error = t.get(&format!("http://127.0.0.1:{closed}/")).expect_err("refused");
    reads_as(
        &error,
        ErrorKind::Connect,
        &format!("cannot connect to 127.0.0.1:{closed}: "),
        &["for url http://127.0.0.1:"],
    );

    let via_proxy = Session::builder()
        .proxy(crate::api::Proxy::parse(&format!("http://127.0.0.1:{closed}")).expect("proxy"))
        .build()
        .expect("session");
    let error = t.send(via_proxy.get("http://example.test/")).expect_err("proxy refused");
    reads_as(
        &error,
        ErrorKind::Connect,
        &format!("cannot connect to the proxy 127.0.0.1:{closed} (for example.test:80)"),
        &[],
    );

    let stall = Server::start(|_, _| Action::Stall(Vec::new(), Duration::from_secs(3)));
    let quick = Session::builder().timeout(Duration::from_millis(200)).build().expect("session");
    let error = t.send(quick.get(&stall.url("/"))).expect_err("timeout");
    reads_as(&error, ErrorKind::Timeout, "timed out: whole-call deadline passed for url", &[]);
    assert!(std::error::Error::source(&error).is_none(), "said once, not three times");

    let truncated =
        Server::start(|_, _| Action::RespondAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf".to_vec()));
    let error = t.get(&truncated.url("/")).and_then(|response| response.bytes()).expect_err("eof");
    reads_as(&error, ErrorKind::Eof, "connection closed early: closed after 4 of 10 body bytes", &[]);

    let tls_alert = Server::start(|_, _| Action::Respond(b"\x15\x03\x01\x00\x02\x02\x46".to_vec()));
    let error = t.get(&tls_alert.url("/")).expect_err("TLS on a plain port");
    reads_as(
        &error,
        ErrorKind::Protocol,
        "protocol error: the response does not begin with an HTTP/1.x status line",
        &["an https:// URL?"],
    );

    // A plain HTTP server answers a TLS ClientHello as garbage: with a 400, at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let plain_port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        if let Ok((mut socket, _)) = listener.accept() {
            use std::io::Write;
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let error = t.get(&format!("https://127.0.0.1:{plain_port}/")).expect_err("TLS to a plain port");
    reads_as(
        &error,
        ErrorKind::Tls,
        "TLS handshake with 127.0.0.1 failed",
        &["does not speak TLS on this port (an http:// URL?)"],
    );

    let plain = Server::start(|_, _| Action::Respond(ok("plain")));
    let small = Session::builder().max_body(4).build().expect("session");
    let error = t.send(small.get(&plain.url("/"))).and_then(|response| response.bytes()).expect_err("too large");
    reads_as(&error, ErrorKind::TooLarge, "limit exceeded: decoded body exceeds 4 bytes", &[]);

    let not_json = t.get(&plain.url("/")).expect("response");
    let error = not_json.json::<serde_json::Value>().expect_err("not JSON");
    reads_as(&error, ErrorKind::Decode, "the body is not the JSON expected: expected value at line 1 column 1", &[]);

    let looping = Server::start(|_, _| {
        Action::Respond(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n".to_vec())
    });
    let short = Session::builder().redirect_limit(2).build().expect("session");
    let error = t.send(short.get(&looping.url("/"))).expect_err("redirect limit");
    reads_as(&error, ErrorKind::RedirectLimit, "redirect: more than 2 redirects", &["/again"]);

    let missing =
        Server::start(|_, _| Action::Respond(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()));
    let error = t.get(&missing.url("/nothing")).and_then(|response| response.error_for_status()).expect_err("404");
    reads_as(&error, ErrorKind::HttpStatus, "404 Not Found (client error) for url", &["/nothing"]);

    let busy = Server::start(|_, _| {
        Action::Respond(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".to_vec())
    });
    let patient =
        Session::builder().retries(crate::api::RetryPolicy::new(2).status_forcelist([503])).build().expect("session");
    let error = t.send(patient.get(&busy.url("/busy"))).expect_err("retries run out");
    reads_as(
        &error,
        ErrorKind::RetriesExhausted,
        "503 Service Unavailable: retries exhausted after 3 attempts for url",
        &["/busy"],
    );

    for (url, meant) in [("localhost:8080/get", "http://localhost:8080/get"), ("example.com/x", "http://example.com/x")]
    {
        let error = t.get(url).expect_err("no scheme");
        reads_as(
            &error,
            ErrorKind::InvalidRequest,
            "invalid request: invalid URL",
            &[&format!("did you mean {meant}?")],
        );
    }
}
