//! What hostile or unusual servers put on the wire: transfer codings are undone in order or
//! refused — a body is never handed out still transfer-coded —, a coded stream cut short
//! inside a complete message is a decode error, and bytes that are not HTTP/1.x fail at once.

use std::io::Write;

use super::Transport;
use crate::api::ErrorKind;
use crate::common::{Action, Server};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("in memory");
    encoder.finish().expect("in memory")
}

fn chunked(data: &[u8]) -> Vec<u8> {
    let mut framed = Vec::new();
    for piece in data.chunks(100) {
        framed.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        framed.extend_from_slice(piece);
        framed.extend_from_slice(b"\r\n");
    }
    framed.extend_from_slice(b"0\r\n\r\n");
    framed
}

const TEXT: &[u8] = b"transfer-coded text, which must come out as it went in, whatever the framing around it";

pub fn transfer_codings_are_undone_in_order_or_refused(t: &dyn Transport) {
    // gzip as the only transfer coding: the body runs to the close, then is gunzipped.
    let close_delimited = Server::start(|_, _| {
        Action::RespondAndClose([&b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"[..], &gzip(TEXT)].concat())
    });
    let response = t.get(&close_delimited.url("/")).expect("gzip to the close");
    assert_eq!(response.bytes().expect("decoded"), TEXT);

    // gzip, then chunked as the final coding.
    let chunked_gzip = Server::start(|_, _| {
        let head = &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"[..];
        Action::Respond([head, &chunked(&gzip(TEXT))].concat())
    });
    assert_eq!(t.get(&chunked_gzip.url("/")).expect("chunked gzip").bytes().expect("decoded"), TEXT);

    // A coding the client cannot undo, chunked twice or not last, a name that merely
    // contains "chunked": protocol errors, never the raw body.
    for coding in ["snappy, chunked", "xchunked", "chunked, chunked", "chunked, gzip"] {
        let server = Server::start(move |_, _| {
            let head = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {coding}\r\n\r\n");
            Action::RespondAndClose([head.as_bytes(), &chunked(b"raw bytes")].concat())
        });
        let error = t.get(&server.url("/")).and_then(|response| response.bytes()).expect_err(coding);
        assert_eq!(error.kind(), ErrorKind::Protocol, "{coding}: {error}");
    }
}

pub fn a_truncated_content_coding_is_a_decode_error(t: &dyn Transport) {
    // The message is complete (its Content-Length arrives), the gzip stream inside is not.
    let encoded = gzip(TEXT);
    let cut = encoded[..encoded.len() - 8].to_vec();
    let server = Server::start(move |_, _| {
        let head = format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", cut.len());
        Action::Respond([head.as_bytes(), &cut].concat())
    });
    let error = t.get(&server.url("/")).and_then(|response| response.bytes()).expect_err("truncated gzip");
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
}

pub fn what_is_not_http_fails_at_once(t: &dyn Transport) {
    // Each server writes its bytes and keeps the connection open: only the bytes themselves
    // can end the wait (the read timeout is the default 30 s).
    for (bytes, looks_like) in [
        (&b"\x15\x03\x01\x00\x02\x02\x46"[..], "TLS"),
        (b"\x00\x00\x12\x04\x00\x00\x00\x00\x00", "HTTP/2"),
        (b"SSH-2.0-OpenSSH_9.6\r\n", "not HTTP"),
    ] {
        let server = Server::start(move |_, _| Action::Respond(bytes.to_vec()));
        let started = std::time::Instant::now();
        let error = t.get(&server.url("/")).expect_err("not HTTP/1.x");
        assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
        assert!(error.to_string().contains(looks_like), "{error}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "failed at once, not at a deadline");
    }
}

pub fn redirects_never_leave_http_and_https(t: &dyn Transport) {
    for location in ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hi", "javascript:alert(1)"] {
        let server = Server::start(move |_, _| {
            let head = format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
            Action::Respond(head.into_bytes())
        });
        let error = t.get(&server.url("/")).expect_err(location);
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{location}: {error}");
        assert_eq!(error.response().map(|response| response.status().as_u16()), Some(302), "the 3xx is kept");
        assert_eq!(server.recorded().len(), 1, "{location}: nothing followed it");
        // Not following redirects, the 3xx is the answer.
        let manual = crate::api::Session::builder().no_redirects().build().expect("session");
        let response = t.send(manual.get(&server.url("/"))).expect("the 3xx as is");
        assert_eq!(response.status().as_u16(), 302);
    }
}
