//! The request side: byte-exact heads, validation that refuses before a byte is written,
//! framing, resumable output, the chunked encoder, and a round-trip property through httparse.
#![allow(clippy::disallowed_methods)] // tests pick a base instant; the core never reads the clock

use std::time::Instant;

use proptest::prelude::*;
use tidings_core::{
    accept_encoding, Body, BodySent, BodyState, Config, Connection, ErrorKind, Headers, InvalidRequest, Method,
    Request, TargetForm, USER_AGENT,
};

/// Everything the connection writes for `request` with `body`, using a buffer of `buffer`
/// bytes per call.
fn wire(request: &Request, body: &[u8], buffer: usize, trailers: Option<&Headers>) -> Vec<u8> {
    let now = Instant::now();
    let mut connection = Connection::new(Config::default());
    connection.send_request(now, request).expect("valid request");
    let mut out = Vec::new();
    let mut buf = vec![0u8; buffer];
    loop {
        let count = connection.poll_transmit(now, &mut buf);
        out.extend_from_slice(&buf[..count]);
        if count == 0 {
            break;
        }
    }
    let mut rest = body;
    while connection.wants_body() && !rest.is_empty() {
        let sent = connection.send_body(now, rest, &mut buf).expect("body accepted");
        out.extend_from_slice(&buf[..sent.written]);
        rest = &rest[sent.consumed..];
    }
    if connection.wants_body() {
        connection.finish_body(now, trailers).expect("finish");
    }
    loop {
        let count = connection.poll_transmit(now, &mut buf);
        out.extend_from_slice(&buf[..count]);
        if count == 0 {
            break;
        }
    }
    assert!(connection.request_finished(), "the whole request was written");
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `Accept-Encoding` line: absent when no coding is compiled in.
fn accept_encoding_line() -> String {
    match accept_encoding() {
        "" => String::new(),
        codings => format!("Accept-Encoding: {codings}\r\n"),
    }
}

fn defaults() -> String {
    format!("User-Agent: {USER_AGENT}\r\nAccept: */*\r\n{}", accept_encoding_line())
}

#[test]
fn get_head_is_byte_exact() {
    let request =
        Request::get("http://example.com/a%20b?q=1&r=%E2%9C%93#frag").expect("valid").header("X-Trace", "abc");
    assert_eq!(
        text(&wire(&request, b"", 4096, None)),
        format!("GET /a%20b?q=1&r=%E2%9C%93 HTTP/1.1\r\nHost: example.com\r\n{}X-Trace: abc\r\n\r\n", defaults())
    );
}

#[test]
fn host_carries_the_port_only_when_not_default() {
    let cases = [
        ("http://example.com:80/", "example.com"),
        ("https://example.com:443/", "example.com"),
        ("http://example.com:8080/", "example.com:8080"),
        ("https://example.com:80/", "example.com:80"),
        ("http://[::1]:3000/", "[::1]:3000"),
        ("http://Bücher.example/", "xn--bcher-kva.example"),
    ];
    for (url, host) in cases {
        let head = text(&wire(&Request::get(url).expect("valid"), b"", 4096, None));
        assert!(head.contains(&format!("\r\nHost: {host}\r\n")), "{url}: {head}");
    }
}

#[test]
fn caller_headers_keep_case_and_order_and_replace_defaults() {
    let request = Request::get("http://h/")
        .expect("valid")
        .header("accept", "text/html")
        .header("X-B", "2")
        .header("x-a", "1")
        .header("user-agent", "me/1")
        .header("Host", "virtual.example");
    let head = text(&wire(&request, b"", 4096, None));
    assert_eq!(
        head,
        format!(
            "GET / HTTP/1.1\r\nHost: virtual.example\r\n{}accept: text/html\r\nX-B: 2\r\nx-a: 1\r\nuser-agent: me/1\r\n\r\n",
            accept_encoding_line()
        )
    );
}

#[test]
fn userinfo_becomes_basic_auth_unless_auth_is_given() {
    let request = Request::get("http://us%40r:p%3Ass@h/").expect("valid");
    let head = text(&wire(&request, b"", 4096, None));
    // base64("us@r:p:ss")
    assert!(head.contains("\r\nAuthorization: Basic dXNAcjpwOnNz\r\n"), "{head}");
    assert!(head.starts_with("GET / HTTP/1.1\r\nHost: h\r\n"), "userinfo never in the target or Host: {head}");
    let explicit = Request::get("http://user:pass@h/").expect("valid").header("Authorization", "Bearer t");
    let head = text(&wire(&explicit, b"", 4096, None));
    assert!(head.contains("Authorization: Bearer t\r\n") && !head.contains("Basic"), "{head}");
}

#[test]
fn wire_headers_list_what_write_head_writes() {
    let request = Request::new(Method::POST, "http://user:p%40ss@example.com:8080/x")
        .expect("valid")
        .header("X-One", "1")
        .body(Body::Bytes(b"hello".to_vec()));
    let listed: Vec<String> = request
        .wire_headers()
        .expect("valid")
        .iter()
        .map(|(name, value)| format!("{name}: {}", String::from_utf8_lossy(value)))
        .collect();
    let mut head = Vec::new();
    request.write_head(&mut head).expect("valid");
    let written: Vec<String> =
        text(&head).lines().skip(1).take_while(|line| !line.is_empty()).map(str::to_owned).collect();
    assert_eq!(listed, written);
    assert_eq!(listed[0], "Host: example.com:8080");
    assert_eq!(listed[listed.len() - 2], "Authorization: Basic dXNlcjpwQHNz");
    assert_eq!(listed[listed.len() - 1], "Content-Length: 5");
    let invalid = Request::get("http://example.com/").expect("valid").header("X-Bad", "a\r\nb");
    assert!(invalid.wire_headers().is_err(), "checked as write_head checks");
}

#[test]
fn target_forms() {
    let proxied =
        Request::get("http://user:pw@example.com:8080/p?q#f").expect("valid").target_form(TargetForm::Absolute);
    assert!(text(&wire(&proxied, b"", 4096, None))
        .starts_with("GET http://example.com:8080/p?q HTTP/1.1\r\nHost: example.com:8080\r\n"));
    let connect = Request::connect("https://example.com").expect("valid");
    assert!(text(&wire(&connect, b"", 4096, None))
        .starts_with("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"));
}

#[test]
fn framing_follows_rfc_9112_section_6() {
    let head = |method: &str, body: Body| {
        let request = Request::parse(method, "http://h/").expect("valid").body(body.clone());
        let bytes = match &body {
            Body::Bytes(bytes) => bytes.clone(),
            _ => Vec::new(),
        };
        text(&wire(&request, &bytes, 4096, None))
    };
    assert!(!head("GET", Body::Empty).contains("Content-Length"));
    assert!(!head("HEAD", Body::Empty).contains("Content-Length"));
    assert!(!head("DELETE", Body::Empty).contains("Content-Length"));
    for method in ["POST", "PUT", "PATCH"] {
        assert!(head(method, Body::Empty).ends_with("Content-Length: 0\r\n\r\n"), "{method}");
    }
    assert!(head("POST", Body::Bytes(b"abc".to_vec())).ends_with("Content-Length: 3\r\n\r\nabc"));
    assert!(head("GET", Body::Bytes(b"abc".to_vec())).ends_with("Content-Length: 3\r\n\r\nabc"));
}

#[test]
fn streamed_bodies_are_chunked_with_trailers() {
    let request = Request::parse("POST", "http://h/upload").expect("valid").body(Body::Stream { length: None });
    let mut trailers = Headers::new();
    trailers.append("X-Checksum", "abc");
    let bytes = wire(&request, b"hello world", 12, Some(&trailers));
    let text = text(&bytes);
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    assert!(head.ends_with("Transfer-Encoding: chunked"), "{head}");
    // A 12-byte buffer fits at most 7 data bytes per chunk ("7\r\n" + 7 + "\r\n").
    assert_eq!(body, "7\r\nhello w\r\n4\r\norld\r\n0\r\nX-Checksum: abc\r\n\r\n");
}

#[test]
fn small_buffers_give_the_same_bytes() {
    let request = Request::parse("PUT", "http://example.com/x").expect("valid").header("X-Long", "v".repeat(300));
    let whole = wire(&request.clone().body(Body::Bytes(b"payload".to_vec())), b"payload", 8192, None);
    for size in [1, 2, 3, 7, 64] {
        let pieces = wire(&request.clone().body(Body::Bytes(b"payload".to_vec())), b"payload", size, None);
        assert_eq!(pieces, whole, "buffer of {size}");
    }
}

#[test]
fn validation_refuses_before_anything_is_written() {
    let base = || Request::get("http://h/").expect("valid");
    let cases: Vec<(&str, Request)> = vec![
        ("CR LF in a value", base().header("X-Evil", "a\r\nInjected: 1")),
        ("LF in a value", base().header("X-Evil", "a\nb")),
        ("NUL in a value", base().header("X-Evil", "a\0b")),
        ("DEL in a value", base().header("X-Evil", "a\x7fb")),
        ("space in a name", base().header("X Evil", "1")),
        ("colon in a name", base().header("X:Evil", "1")),
        ("empty name", base().header("", "1")),
        ("CR in a name", base().header("X-A\r\n", "1")),
        ("duplicate Host", base().header("Host", "a").header("host", "b")),
        (
            "duplicate Content-Length",
            base().body(Body::Bytes(b"ab".to_vec())).header("Content-Length", "2").header("content-length", "2"),
        ),
        (
            "Content-Length disagreeing with the body",
            base().body(Body::Bytes(b"ab".to_vec())).header("Content-Length", "3"),
        ),
        ("signed Content-Length", base().body(Body::Stream { length: None }).header("Content-Length", "+3")),
        ("TE other than chunked", base().header("Transfer-Encoding", "gzip")),
        ("TE with CL", base().header("Transfer-Encoding", "chunked").header("Content-Length", "1")),
    ];
    for (name, request) in cases {
        let now = Instant::now();
        let mut connection = Connection::new(Config::default());
        let error = connection.send_request(now, &request).expect_err(name);
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{name}: {error}");
        assert_eq!(connection.poll_transmit(now, &mut [0u8; 256]), 0, "{name}: nothing written");
        assert!(connection.is_idle(), "{name}: the connection is still usable");
    }
    assert!(matches!(Request::parse("GE T", "http://h/"), Err(InvalidRequest::Method { .. })));
    assert!(matches!(Request::parse("GET\r\n", "http://h/"), Err(InvalidRequest::Method { .. })));
    assert!(matches!(Request::get("ftp://h/"), Err(InvalidRequest::UnsupportedScheme { .. })));
    assert!(matches!(Request::get("not a url"), Err(InvalidRequest::Url { .. })));
    assert!(matches!(Request::get("http://exa mple.com/"), Err(InvalidRequest::Url { .. })));
}

#[test]
fn a_declared_length_is_enforced() {
    let now = Instant::now();
    let mut connection = Connection::new(Config::default());
    let request = Request::parse("POST", "http://h/").expect("valid").body(Body::Stream { length: Some(4) });
    connection.send_request(now, &request).expect("valid");
    let mut buf = [0u8; 256];
    connection.poll_transmit(now, &mut buf);
    let error = connection.send_body(now, b"too long", &mut buf).expect_err("more than declared");
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(connection.close_reason().map(|reason| reason.as_str()), Some("aborted"));

    let mut connection = Connection::new(Config::default());
    connection.send_request(now, &request).expect("valid");
    connection.send_body(now, b"ab", &mut buf).expect("within the length");
    let error = connection.finish_body(now, None).expect_err("short body");
    assert_eq!(error.to_string(), "invalid request: body length mismatch: declared 4 bytes, sent 2");
    assert!(connection.is_closed(), "a short body poisons the connection");
}

#[test]
fn send_body_says_what_happened() {
    let now = Instant::now();
    let post =
        |length: u64| Request::parse("POST", "http://h/").expect("valid").body(Body::Stream { length: Some(length) });
    let sent = |consumed, written, state| BodySent { consumed, written, state };

    // The head does not fit yet: nothing is taken, the head's bytes go first.
    let mut connection = Connection::new(Config::default());
    connection.send_request(now, &post(4)).expect("valid");
    let mut small = [0u8; 8];
    assert_eq!(connection.send_body(now, b"body", &mut small).expect("head first"), sent(0, 8, BodyState::BufferFull));
    let mut buf = [0u8; 256];
    while connection.poll_transmit(now, &mut buf) > 0 {}
    // Room for part of the data, then the rest, which completes a known length.
    assert_eq!(connection.send_body(now, b"body", &mut buf[..3]).expect("part"), sent(3, 3, BodyState::BufferFull));
    assert_eq!(connection.send_body(now, b"y", &mut buf).expect("rest"), sent(1, 1, BodyState::Complete));

    // A chunked body stays wanted until finish_body.
    let mut connection = Connection::new(Config::default());
    let chunked = Request::parse("POST", "http://h/").expect("valid").body(Body::Stream { length: None });
    connection.send_request(now, &chunked).expect("valid");
    while connection.poll_transmit(now, &mut buf) > 0 {}
    assert_eq!(connection.send_body(now, b"ab", &mut buf).expect("chunk"), sent(2, 7, BodyState::Wanted));

    // Expect: 100-continue: the body waits; an early final response abandons it.
    let mut connection = Connection::new(Config::default());
    connection.send_request(now, &post(4).header("Expect", "100-continue")).expect("valid");
    while connection.poll_transmit(now, &mut buf) > 0 {}
    assert_eq!(connection.send_body(now, b"body", &mut buf).expect("wait"), sent(0, 0, BodyState::AwaitingContinue));
    connection.handle_input(now, b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n").expect("early 413");
    assert_eq!(connection.send_body(now, b"body", &mut buf).expect("abandoned"), sent(0, 0, BodyState::Abandoned));
}

#[test]
fn trailers_may_not_carry_framing_fields() {
    let now = Instant::now();
    let mut connection = Connection::new(Config::default());
    let request = Request::parse("POST", "http://h/").expect("valid").body(Body::Stream { length: None });
    connection.send_request(now, &request).expect("valid");
    connection.poll_transmit(now, &mut [0u8; 512]);
    let mut trailers = Headers::new();
    trailers.append("Content-Length", "5");
    assert_eq!(
        connection.finish_body(now, Some(&trailers)).map_err(|error| error.kind()),
        Err(ErrorKind::InvalidRequest)
    );
    let mut trailers = Headers::new();
    trailers.append("X-Bad", "a\r\nb");
    assert!(connection.finish_body(now, Some(&trailers)).is_err());
    connection.finish_body(now, None).expect("still finishable without them");
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn field_value() -> impl Strategy<Value = Vec<u8>> {
    // VCHAR, obs-text, SP and HTAB, not starting or ending with whitespace.
    proptest::collection::vec(prop_oneof![0x21u8..0x7f, 0x80u8..=0xff, Just(b' '), Just(b'\t')], 0..24).prop_map(
        |mut value| {
            while value.last().is_some_and(|byte| *byte == b' ' || *byte == b'\t') {
                value.pop();
            }
            while value.first().is_some_and(|byte| *byte == b' ' || *byte == b'\t') {
                value.remove(0);
            }
            value
        },
    )
}

proptest! {
    /// Serialize, parse back with httparse: same method, target and fields; the body
    /// reassembles, whatever the buffer size.
    #[test]
    fn round_trip_through_httparse(
        method in token(),
        path in "(/[a-zA-Z0-9._~%-]{0,8}){1,3}",
        fields in proptest::collection::vec((token(), field_value()), 0..8),
        body in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
        streamed in any::<bool>(),
        buffer in 24usize..300,
    ) {
        let fields: Vec<(String, Vec<u8>)> = fields
            .into_iter()
            .filter(|(name, _)| !["host", "content-length", "transfer-encoding", "expect"].contains(&name.to_ascii_lowercase().as_str()))
            .collect();
        let method_value = Method::from_bytes(method.as_bytes()).expect("token");
        let mut request = Request::new(method_value, &format!("http://example.com{path}")).expect("valid URL");
        for (name, value) in &fields {
            request.headers_mut().append(name.clone(), value);
        }
        let body_bytes = body.clone().unwrap_or_default();
        let request = match (&body, streamed) {
            (None, _) => request,
            (Some(bytes), false) => request.body(Body::Bytes(bytes.clone())),
            (Some(_), true) => request.body(Body::Stream { length: None }),
        };
        let bytes = wire(&request, &body_bytes, buffer, None);

        let mut headers = vec![httparse::EMPTY_HEADER; fields.len() + 8];
        let mut parsed = httparse::Request::new(&mut headers);
        let head_length = match parsed.parse(&bytes).expect("valid HTTP/1.1") {
            httparse::Status::Complete(length) => length,
            httparse::Status::Partial => panic!("incomplete head"),
        };
        prop_assert_eq!(parsed.method, Some(method.as_str()));
        let target = request.target();
        prop_assert_eq!(parsed.path, Some(target.as_ref()));
        let parsed_fields: Vec<(String, Vec<u8>)> =
            parsed.headers.iter().map(|header| (header.name.to_owned(), header.value.to_vec())).collect();
        // The caller's fields appear in order, byte for byte, after the defaults.
        let mut position = 0;
        for field in &fields {
            let found = parsed_fields[position..].iter().position(|candidate| candidate == field);
            prop_assert!(found.is_some(), "field {:?} missing from {:?}", field, parsed_fields);
            position += found.unwrap_or(0) + 1;
        }
        // `wire_headers` lists exactly what went on the wire, in order.
        let listed: Vec<(String, Vec<u8>)> =
            request.wire_headers().expect("valid").iter().map(|(name, value)| (name.to_owned(), value.to_vec())).collect();
        prop_assert_eq!(&listed, &parsed_fields);
        let chunked = parsed_fields.iter().any(|(name, value)| name == "Transfer-Encoding" && value == b"chunked");
        let rest = &bytes[head_length..];
        let received = if chunked { dechunk(rest) } else { rest.to_vec() };
        prop_assert_eq!(received, body_bytes);
    }
}

/// An independent, minimal dechunker for the property above.
fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|window| window == b"\r\n").expect("size line");
        let size = usize::from_str_radix(std::str::from_utf8(&bytes[..line_end]).expect("ascii"), 16).expect("hex");
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            assert_eq!(bytes, b"\r\n", "no trailers were given");
            return body;
        }
        body.extend_from_slice(&bytes[..size]);
        assert_eq!(&bytes[size..size + 2], b"\r\n");
        bytes = &bytes[size + 2..];
    }
}

#[test]
fn http_crate_interop() {
    let (parts, ()) = http::Request::builder()
        .method("PATCH")
        .uri("https://example.com/items/7?x=1")
        .header("X-Trace", "abc")
        .body(())
        .expect("valid")
        .into_parts();
    let request = Request::from_http(&parts).expect("absolute URI");
    assert_eq!(request.method(), Method::PATCH);
    assert_eq!(request.target(), "/items/7?x=1");
    assert_eq!(request.headers().get("X-TRACE"), Some(&b"abc"[..]));
    let (relative, ()) = http::Request::builder().uri("/no-authority").body(()).expect("valid").into_parts();
    assert!(Request::from_http(&relative).is_err(), "a relative URI names no server");

    let mut decoder = tidings_core::ResponseDecoder::default();
    let bytes = b"HTTP/1.0 404 Not Found\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
    let (_, event) = decoder.decode(bytes).expect("valid head");
    let Some(tidings_core::Event::Head(head)) = event else { panic!("a head") };
    let response = head.to_http();
    assert_eq!(response.status(), http::StatusCode::NOT_FOUND);
    assert_eq!(response.version(), http::Version::HTTP_10);
    assert_eq!(response.headers().get_all("x-a").iter().count(), 2);
}
