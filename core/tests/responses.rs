//! Byte-exact response cases, each fed whole, one byte at a time, and followed by trailing
//! bytes that must stay unconsumed.
#![allow(clippy::disallowed_methods)] // tests pick a base instant; the core never reads the clock

mod common;

use common::{every_byte, run, Transcript};
use tidings_core::{Config, Connection, ErrorKind, Leniency, Request};

struct Case {
    name: &'static str,
    method: &'static str,
    bytes: &'static [u8],
    eof: bool,
    events: &'static [&'static str],
    outcome: &'static str,
}

const fn case(
    name: &'static str,
    bytes: &'static [u8],
    events: &'static [&'static str],
    outcome: &'static str,
) -> Case {
    Case { name, method: "GET", bytes, eof: false, events, outcome }
}

fn check(config: &Config, case: &Case) {
    let whole = run(config, case.method, case.bytes, &[], case.eof);
    let bytewise = run(config, case.method, case.bytes, &every_byte(case.bytes.len()), case.eof);
    assert_eq!(whole, bytewise, "{}: whole vs one byte at a time", case.name);
    assert_eq!(whole.events, case.events, "{}", case.name);
    assert!(
        whole.outcome.starts_with(case.outcome),
        "{}: outcome {:?}, expected {:?}",
        case.name,
        whole.outcome,
        case.outcome
    );
    if whole.outcome.starts_with("error") || whole.outcome == "pending" || case.eof {
        return;
    }
    // Trailing bytes (the start of something else) are never eaten by a complete response.
    let mut trailing = case.bytes.to_vec();
    trailing.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    let with_trailing: Transcript = run(config, case.method, &trailing, &every_byte(trailing.len()), false);
    assert_eq!(with_trailing.events, case.events, "{}: with trailing bytes", case.name);
    assert_eq!(with_trailing.unconsumed, 17, "{}: trailing bytes must stay unconsumed", case.name);
}

#[test]
fn heads_and_bodies() {
    let cases = [
        case(
            "content-length",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
            &["head HTTP/1.1 200 \"OK\" [Content-Type=text/plain|Content-Length=5]", "data hello", "end"],
            "keep-alive",
        ),
        case(
            "header case, order and repeats are kept; values trimmed",
            b"HTTP/1.1 200 OK\r\nx-ONE:   a  \r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Length: 0\r\n\r\n",
            &["head HTTP/1.1 200 \"OK\" [x-ONE=a|Set-Cookie=a=1|set-cookie=b=2|Content-Length=0]", "end"],
            "keep-alive",
        ),
        case(
            "empty reason with its space",
            b"HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
            &["head HTTP/1.1 404 \"\" [Content-Length=0]", "end"],
            "keep-alive",
        ),
        case(
            "chunked with extensions and trailers",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Sum: 9\r\n\r\n",
            &["head HTTP/1.1 200 \"OK\" [Transfer-Encoding=chunked]", "data Wikipedia", "trailers [X-Sum=9]", "end"],
            "keep-alive",
        ),
        case(
            "TE and CL: chunked wins, connection not reused",
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
            &["head HTTP/1.1 200 \"OK\" [Content-Length=100|Transfer-Encoding=chunked]", "data ok", "end"],
            "close te_and_cl",
        ),
        case(
            "server close",
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
            &["head HTTP/1.1 200 \"OK\" [Connection=close|Content-Length=2]", "data ok", "end"],
            "close server_close",
        ),
        case(
            "HTTP/1.0 without keep-alive",
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
            &["head HTTP/1.0 200 \"OK\" [Content-Length=2]", "data ok", "end"],
            "close http10",
        ),
        case(
            "HTTP/1.0 with keep-alive and a length",
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
            &["head HTTP/1.0 200 \"OK\" [Connection=keep-alive|Content-Length=2]", "data ok", "end"],
            "keep-alive",
        ),
        case(
            "204 ignores its Content-Length",
            b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
            &["head HTTP/1.1 204 \"No Content\" [Content-Length=10]", "end"],
            "keep-alive",
        ),
        case(
            "304 has no body",
            b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
            &["head HTTP/1.1 304 \"Not Modified\" [Transfer-Encoding=chunked]", "end"],
            "keep-alive",
        ),
        case(
            "100 then 103 then 200",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
            &[
                "info 100 []",
                "info 103 [Link=</a.css>; rel=preload]",
                "head HTTP/1.1 200 \"OK\" [Content-Length=1]",
                "data x",
                "end",
            ],
            "keep-alive",
        ),
        case(
            "obs-text in a value and the reason",
            b"HTTP/1.1 200 \xc4\xe9\r\nX-Latin: caf\xe9\r\nContent-Length: 0\r\n\r\n",
            &["head HTTP/1.1 200 \"\u{fffd}\u{fffd}\" [X-Latin=caf\u{fffd}|Content-Length=0]", "end"],
            "keep-alive",
        ),
    ];
    for case in &cases {
        check(&Config::default(), case);
    }
}

#[test]
fn close_delimited_and_eof() {
    let cases = [
        Case {
            name: "read to close",
            method: "GET",
            bytes: b"HTTP/1.1 200 OK\r\n\r\nuntil close",
            eof: true,
            events: &["head HTTP/1.1 200 \"OK\" []", "data until close", "end"],
            outcome: "close close_delimited",
        },
        Case {
            name: "TE not ending in chunked reads to close",
            method: "GET",
            bytes: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw",
            eof: true,
            events: &["head HTTP/1.1 200 \"OK\" [Transfer-Encoding=gzip]", "data raw", "end"],
            outcome: "close close_delimited",
        },
        Case {
            name: "truncated content-length body",
            method: "GET",
            bytes: b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello",
            eof: true,
            events: &["head HTTP/1.1 200 \"OK\" [Content-Length=9]", "data hello"],
            outcome: "error eof connection closed early: closed after 5 of 9 body bytes",
        },
        Case {
            name: "truncated chunked body",
            method: "GET",
            bytes: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            eof: true,
            events: &["head HTTP/1.1 200 \"OK\" [Transfer-Encoding=chunked]", "data hel"],
            outcome: "error eof connection closed early: closed inside a chunked body after 3 data bytes",
        },
        Case {
            name: "closed inside the head",
            method: "GET",
            bytes: b"HTTP/1.1 200 OK\r\nContent-Le",
            eof: true,
            events: &[],
            outcome: "error eof connection closed early: closed inside the response head after 27 bytes",
        },
        Case {
            name: "closed before any byte",
            method: "GET",
            bytes: b"",
            eof: true,
            events: &[],
            outcome: "error eof connection closed early: closed before any response byte",
        },
        Case {
            name: "HEAD with a Content-Length has no body",
            method: "HEAD",
            bytes: b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            eof: false,
            events: &["head HTTP/1.1 200 \"OK\" [Content-Length=5]", "end"],
            outcome: "keep-alive",
        },
        Case {
            name: "incomplete without EOF waits",
            method: "GET",
            bytes: b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello",
            eof: false,
            events: &["head HTTP/1.1 200 \"OK\" [Content-Length=9]", "data hello"],
            outcome: "pending",
        },
    ];
    for case in &cases {
        // A gzip transfer coding needs the gzip feature (without it, the coding is refused).
        if case.bytes.windows(4).any(|window| window == b"gzip") && !cfg!(feature = "gzip") {
            continue;
        }
        check(&Config::default(), case);
    }
}

#[test]
fn protocol_errors() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("bad content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello", "error protocol"),
        ("signed content-length", b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", "error protocol"),
        (
            "disagreeing content-lengths",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
            "error protocol",
        ),
        (
            "overflowing content-length",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "error protocol",
        ),
        ("TE in HTTP/1.0", b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "error protocol"),
        ("bare LF in the head", b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "error protocol"),
        ("bare LF after a field", b"HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 0\r\n\r\n", "error protocol"),
        ("bare LF after a blank", b"HTTP/1.1 200 OK\r\nX-A: 1 \nContent-Length: 0\r\n\r\n", "error protocol"),
        ("bare LF after the last field", b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", "error protocol"),
        ("bare LF as the blank line", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n", "error protocol"),
        ("bare LF after an empty value", b"HTTP/1.1 200 OK\r\nX-A:\nContent-Length: 0\r\n\r\n", "error protocol"),
        ("missing reason", b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", "error protocol"),
        (
            "obs-fold in a framing field",
            b"HTTP/1.1 200 OK\r\nContent-Length:\r\n 0\r\n\r\n",
            "error protocol",
        ),
        ("obs-fold in Transfer-Encoding", b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", "error protocol"),
        ("obs-fold in Connection", b"HTTP/1.1 200 OK\r\nConnection: keep-alive,\r\n close\r\nContent-Length: 0\r\n\r\n", "error protocol"),
        ("empty lines after 100, seventeen", b"HTTP/1.1 100 Continue\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", "error protocol"),
        ("a bare CR after 100", b"HTTP/1.1 100 Continue\r\n\r\n\rHTTP/1.1 200 OK\r\n\r\n", "error protocol"),
        ("space before colon", b"HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n", "error protocol"),
        ("HTTP/2 status line", b"HTTP/2 200 OK\r\n\r\n", "error protocol"),
        ("not HTTP at all", b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "error protocol"),
        ("a TLS alert on a plain port", b"\x15\x03\x01\x00\x02\x02\x46", "error protocol"),
        ("an HTTP/2 SETTINGS frame", b"\x00\x00\x12\x04\x00\x00\x00\x00\x00", "error protocol"),
        ("lower-case http", b"http/1.1 200 OK\r\n\r\n", "error protocol"),
        ("two-digit status", b"HTTP/1.1 20 OK\r\n\r\n", "error protocol"),
        ("status 000", b"HTTP/1.1 000 Zero\r\n\r\n", "error protocol"),
        ("NUL in a value", b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", "error protocol"),
        ("empty line first", b"\r\nHTTP/1.1 200 OK\r\n\r\n", "error protocol"),
        // Two empty lines put the status line's SP where an unshifted one has it.
        ("two empty lines first", b"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "error protocol"),
        ("four bare LFs first", b"\n\n\n\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "error protocol"),
        ("101 without an upgrade", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "error protocol"),
        ("bad chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "error protocol"),
        (
            "chunk data without CRLF",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n",
            "error protocol",
        ),
    ];
    for (name, bytes, outcome) in cases {
        let whole = run(&Config::default(), "GET", bytes, &[], true);
        let bytewise = run(&Config::default(), "GET", bytes, &every_byte(bytes.len()), true);
        assert_eq!(whole, bytewise, "{name}: whole vs one byte at a time");
        assert!(whole.outcome.starts_with(outcome), "{name}: {}", whole.outcome);
    }
}

/// Bytes that cannot begin a status line fail at once: no EOF and no deadline is needed to
/// see that a TLS record, an HTTP/2 frame or junk is not HTTP/1.x.
#[test]
fn what_is_not_http_fails_on_its_first_bytes() {
    let now = std::time::Instant::now();
    for (bytes, looks_like) in [
        (&b"\x16\x03\x01\x02"[..], "TLS"),
        (b"\x15\x03", "TLS"),
        (b"\x00\x00\x12\x04", "HTTP/2"),
        (b"HTTP/2 200 OK", "another HTTP version"),
        (b"SSH-", "not HTTP"),
        (b"HTTX", "not HTTP"),
    ] {
        let mut connection = Connection::new(Config::default());
        connection.send_request(now, &Request::get("http://h/").expect("valid")).expect("send");
        let mut wire = [0u8; 256];
        while connection.poll_transmit(now, &mut wire) > 0 {}
        let error = connection.handle_input(now, bytes).expect_err("not HTTP/1.x");
        assert_eq!(error.kind(), ErrorKind::Protocol);
        assert!(error.to_string().contains(looks_like), "{:?}: {error}", bytes);
    }
    // A prefix of a real status line waits for more.
    let mut connection = Connection::new(Config::default());
    connection.send_request(now, &Request::get("http://h/").expect("valid")).expect("send");
    assert!(matches!(connection.handle_input(now, b"HTTP/1"), Ok((6, None))));
}

/// Where RFC 9112 asks a client to be forgiving, the default is: obs-fold in an ordinary
/// field is unfolded (§5.2), and empty lines between an interim response and the next status
/// line are skipped (a bounded number). `Leniency::strict()` refuses the fold.
#[test]
fn the_default_forgives_what_rfc_9112_asks_a_client_to_forgive() {
    let cases = [
        case(
            "obs-fold becomes spaces",
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 0\r\n\r\n",
            &["head HTTP/1.1 200 \"OK\" [X-A=1    2|Content-Length=0]", "end"],
            "keep-alive",
        ),
        case(
            "empty lines between 100 and 200",
            b"HTTP/1.1 100 Continue\r\n\r\n\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
            &["info 100 []", "head HTTP/1.1 200 \"OK\" [Content-Length=1]", "data x", "end"],
            "keep-alive",
        ),
    ];
    for case in &cases {
        check(&Config::default(), case);
    }
    let mut strict = Config::default();
    strict.leniency = Leniency::strict();
    let folded = b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 0\r\n\r\n";
    assert!(run(&strict, "GET", folded, &[], true).outcome.starts_with("error protocol"));
}

#[test]
fn named_leniency_accepts_what_real_servers_send() {
    let mut config = Config::default();
    config.leniency = Leniency::permissive();
    let cases = [
        case(
            "missing reason",
            b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
            &["head HTTP/1.1 200 \"\" [Content-Length=0]", "end"],
            "keep-alive",
        ),
        case(
            "obs-fold becomes spaces",
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 0\r\n\r\n",
            &["head HTTP/1.1 200 \"OK\" [X-A=1    2|Content-Length=0]", "end"],
            "keep-alive",
        ),
        case(
            "space before colon",
            b"HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n",
            &["head HTTP/1.1 200 \"OK\" [X-A=1|Content-Length=0]", "end"],
            "keep-alive",
        ),
        case(
            "bare LF everywhere",
            b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nok\n0\n\n",
            &["head HTTP/1.1 200 \"OK\" [Transfer-Encoding=chunked]", "data ok", "end"],
            "keep-alive",
        ),
    ];
    for case in &cases {
        check(&config, case);
    }
}

#[test]
fn limits_are_typed_errors() {
    let mut config = Config::default();
    config.limits.max_head_bytes = 64;
    config.limits.max_headers = 2;
    config.limits.max_body_bytes = Some(4);
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "head too large",
            b"HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
            "error too_large limit exceeded: response head exceeds 64 bytes",
        ),
        (
            "too many headers",
            b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
            "error too_large limit exceeded: response has more than 2 header fields",
        ),
        (
            "declared body too large",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            "error too_large limit exceeded: body exceeds 4 bytes",
        ),
        (
            "chunked body too large",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "error too_large limit exceeded: body exceeds 4 bytes",
        ),
    ];
    for (name, bytes, outcome) in cases {
        let whole = run(&config, "GET", bytes, &[], true);
        let bytewise = run(&config, "GET", bytes, &every_byte(bytes.len()), true);
        assert!(whole.outcome.starts_with(outcome), "{name}: {}", whole.outcome);
        assert_eq!(whole.outcome, bytewise.outcome, "{name}");
    }
}

#[test]
fn an_endless_head_is_cut_at_the_limit() {
    let mut bytes = b"HTTP/1.1 200 OK\r\n".to_vec();
    while bytes.len() < 70 * 1024 {
        bytes.extend_from_slice(b"X-Filler: 0123456789abcdef\r\n");
    }
    let transcript = run(&Config::default(), "GET", &bytes, &[], false);
    assert!(transcript.outcome.starts_with("error too_large"), "{}", transcript.outcome);
}

/// The decoder alone, as an embedder without a `Connection` drives it: a close-delimited body
/// ends at `decode_eof` (an authenticated close) and not at `decode_incomplete_close` (a TLS
/// close without close_notify, RFC 9112 §9.8) unless the leniency is named.
#[test]
fn the_decoder_ends_a_close_delimited_body_only_at_an_authenticated_close() {
    use tidings_core::{Event, IncompleteMessage, ResponseContext, ResponseDecoder};
    let bytes = b"HTTP/1.1 200 OK\r\n\r\nabc";
    for (authenticated, lenient) in [(true, false), (false, false), (false, true)] {
        let mut leniency = Leniency::default();
        leniency.allow_close_without_notify = lenient;
        let mut decoder = ResponseDecoder::new(tidings_core::Limits::default(), leniency);
        decoder.start(ResponseContext::default());
        let mut position = 0;
        while let (used, Some(_)) = decoder.decode(&bytes[position..]).expect("valid") {
            position += used;
        }
        assert_eq!(decoder.body_received(), 3);
        let ended = if authenticated { decoder.decode_eof(false) } else { decoder.decode_incomplete_close(false) };
        match ended {
            Ok(event) => {
                assert!(authenticated || lenient, "ended with {event:?}");
                assert!(matches!(event, Some(Event::End)), "{event:?}");
            }
            Err(error) => {
                assert!(!authenticated && !lenient, "{error}");
                assert_eq!(
                    error,
                    tidings_core::Error::Incomplete(IncompleteMessage::CloseWithoutNotify { received: 3 })
                );
            }
        }
    }
}
