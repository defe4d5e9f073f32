//! The core's `Connection` driven by arbitrary sequences of its public calls, as an embedder
//! in its own runtime might make them — right, out of order or plain wrong: requests with
//! bodies of each framing (`Content-Length`, chunked, `Expect: 100-continue`), body pieces
//! into buffers of any size, trailers, server bytes in any pieces, EOF (with or without TLS
//! close_notify), time passing,
//! reading paused and resumed, aborts.
//!
//! Never a panic, and:
//! - what goes on the wire for each request is its head, then exactly the body bytes the
//!   connection said it took, framed as the head declares (never more than a
//!   `Content-Length`; chunks that decode back to those bytes, then at most the last chunk);
//! - each response gives its final head once, data only after it, and ends at most once;
//!   `exchanges_completed` counts the ends;
//! - after `handle_timeout(now)`, no deadline is left at or before `now` (an event loop
//!   that waits for `poll_timeout` never spins);
//! - once closed, the connection stays closed;
//! - a close without TLS close_notify (`handle_incomplete_close`) never ends a body delimited
//!   by the close (RFC 9112 §9.8).
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tidings_core::{Body, BodyLength, Config, Connection, Event, Headers, Method, Request, RequestFraming};

/// One request as the wire should carry it.
struct Sent {
    /// The head as the connection framed it (`pending_output` right after `send_request`).
    head: Vec<u8>,
    framing: RequestFraming,
    /// Every byte transmitted after `send_request`, in order.
    wire: Vec<u8>,
    /// The body bytes the connection took (`BodySent::consumed`), in order.
    body: Vec<u8>,
}

/// The request for `choice`: method, body framing and the fields that change the plan.
fn request(choice: u8, length: u8) -> Request {
    let length = u64::from(length % 64);
    let (method, body) = match choice % 6 {
        0 => (Method::GET, Body::Empty),
        1 => (Method::HEAD, Body::Empty),
        2 => (Method::POST, Body::Stream { length: Some(length) }),
        3 => (Method::PUT, Body::Stream { length: None }),
        4 => (Method::POST, Body::Bytes(vec![b'x'; length as usize])),
        _ => (Method::PATCH, Body::Stream { length: Some(length) }),
    };
    let mut request = Request::new(method, "http://fuzz.invalid/path").expect("a valid request").body(body);
    if choice & 0x10 != 0 {
        request = request.header("Expect", "100-continue");
    }
    if choice & 0x20 != 0 {
        request = request.header("Transfer-Encoding", "chunked");
    }
    if choice & 0x40 != 0 {
        request = request.header("Connection", "close");
    }
    request
}

/// Checks one request's wire bytes against its head, framing and the body taken.
fn check_wire(sent: &Sent) {
    let Sent { head, framing, wire, body } = sent;
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut fields);
    let Ok(httparse::Status::Complete(head_len)) = parsed.parse(head) else { panic!("an invalid head: {head:?}") };
    let shown = wire.len().min(head_len);
    assert_eq!(&wire[..shown], &head[..shown], "the head goes out as framed");
    if wire.len() < head_len {
        // Cut short (the exchange ended before everything went out): no body went before it.
        assert!(body.is_empty(), "body bytes taken before the head went out");
        return;
    }
    let rest = &wire[head_len..];
    match framing {
        RequestFraming::None => assert!(rest.is_empty(), "bytes after a head without a body: {rest:?}"),
        RequestFraming::ContentLength(declared) => {
            assert!(rest.len() as u64 <= *declared, "more than Content-Length: {} > {declared}", rest.len());
            assert_eq!(rest, &body[..], "the body goes out as taken");
        }
        RequestFraming::Chunked { known_length } => {
            let mut at = 0;
            let mut data = Vec::new();
            loop {
                let Ok(httparse::Status::Complete((used, size))) = httparse::parse_chunk_size(&rest[at..]) else {
                    break;
                };
                if size == 0 {
                    // The last chunk: trailers (valid fields), then the empty line.
                    let tail = &rest[at + used..];
                    let mut trailers = [httparse::EMPTY_HEADER; 16];
                    match httparse::parse_headers(tail, &mut trailers) {
                        Ok(httparse::Status::Complete((end, _))) => {
                            assert_eq!(end, tail.len(), "bytes after the last chunk")
                        }
                        Ok(httparse::Status::Partial) => {}
                        Err(error) => panic!("invalid trailers {error}: {tail:?}"),
                    }
                    at = rest.len();
                    break;
                }
                let start = at + used;
                let end = start + size as usize;
                assert!(end + 2 <= rest.len(), "a chunk is written whole");
                data.extend_from_slice(&rest[start..end]);
                assert_eq!(&rest[end..end + 2], b"\r\n", "CR LF after a chunk's data");
                at = end + 2;
            }
            // Whatever is left is the beginning of the last chunk, not yet sent.
            assert!(b"0\r\n\r\n".starts_with(&rest[at..]), "stray bytes after the chunks: {rest:?}");
            assert_eq!(data, *body, "the chunks decode to the body taken");
            if let Some(known) = known_length {
                assert!(data.len() as u64 <= *known, "more than the known length");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut config = Config::default();
    config.limits.max_head_bytes = 2048;
    config.budgets.expect_continue = Duration::from_millis(300);
    config.budgets.idle = Some(Duration::from_secs(5));
    config.budgets.between_bytes = Some(Duration::from_secs(2));
    config.budgets.total = Some(Duration::from_secs(20));
    let mut now = Instant::now();
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let mut connection = match next() {
        Some(first) if first & 1 == 1 => Connection::connecting(config, now),
        Some(_) => Connection::new(config),
        None => return,
    };
    let mut sent: Vec<Sent> = Vec::new();
    let mut pending_input: Vec<u8> = Vec::new();
    // The current response: final head seen, ended.
    let (mut head_seen, mut ended, mut ends) = (false, true, 0u64);
    let mut was_closed = false;
    let mut buf = [0u8; 300];
    while let Some(op) = next() {
        let arg = next().unwrap_or(0);
        match op % 12 {
            0 => {
                let request = request(arg, next().unwrap_or(0));
                if let Ok(plan) = connection.send_request(now, &request) {
                    assert!(ended, "a second request while the first is outstanding");
                    sent.push(Sent {
                        head: connection.pending_output().to_vec(),
                        framing: plan.framing,
                        wire: Vec::new(),
                        body: Vec::new(),
                    });
                    (head_seen, ended) = (false, false);
                }
            }
            1 => {
                let size = usize::from(arg) % buf.len();
                let count = connection.poll_transmit(now, &mut buf[..size]);
                assert!(count <= size);
                if count > 0 {
                    sent.last_mut().expect("bytes only for a request").wire.extend_from_slice(&buf[..count]);
                }
            }
            2 => {
                let piece = vec![b'a' + arg % 26; usize::from(arg) % 48];
                let size = usize::from(next().unwrap_or(0)) % buf.len();
                if let Ok(body) = connection.send_body(now, &piece, &mut buf[..size]) {
                    assert!(body.consumed <= piece.len() && body.written <= size);
                    if body.written > 0 || body.consumed > 0 {
                        let last = sent.last_mut().expect("a body only for a request");
                        last.wire.extend_from_slice(&buf[..body.written]);
                        last.body.extend_from_slice(&piece[..body.consumed]);
                    }
                }
            }
            3 => {
                let mut trailers = Headers::new();
                if arg & 1 == 1 {
                    trailers.append("X-Checksum", "abc");
                }
                let _ = connection.finish_body(now, (arg & 2 == 2).then_some(&trailers));
            }
            4 => {
                // Server bytes: `arg` of them from the input, offered with what is left.
                for _ in 0..arg % 64 {
                    pending_input.push(next().unwrap_or(b'\n'));
                }
                loop {
                    let before = connection.exchanges_completed();
                    match connection.handle_input(now, &pending_input) {
                        Err(_) => {
                            pending_input.clear();
                            break;
                        }
                        Ok((used, event)) => {
                            assert!(used <= pending_input.len());
                            let done = event.is_none();
                            match event {
                                Some(Event::Head(_)) => {
                                    assert!(!head_seen && !ended, "a second final head");
                                    head_seen = true;
                                }
                                Some(Event::Data(_)) | Some(Event::Trailers(_)) => {
                                    assert!(head_seen && !ended, "body before the head")
                                }
                                Some(Event::End) => {
                                    assert!(head_seen && !ended, "an end without a head, or twice");
                                    ended = true;
                                    ends += 1;
                                }
                                Some(Event::Informational(_)) => assert!(!head_seen && !ended),
                                None => {}
                            }
                            assert!(connection.exchanges_completed() - before <= 1);
                            pending_input.drain(..used);
                            if done {
                                break;
                            }
                        }
                    }
                }
            }
            5 => {
                let delimited =
                    connection.decoder().framing().is_some_and(|framing| framing.length == BodyLength::CloseDelimited);
                let authenticated = arg % 2 == 0;
                let closed =
                    if authenticated { connection.handle_eof(now) } else { connection.handle_incomplete_close(now) };
                if let Ok(Some(Event::End)) = closed {
                    assert!(authenticated || !delimited, "a close without close_notify ended a body delimited by it");
                    assert!(head_seen && !ended, "an end without a head, or twice");
                    ended = true;
                    ends += 1;
                }
            }
            6 => {
                now += Duration::from_millis(u64::from(arg) * 13);
                let _ = connection.handle_timeout(now);
                if let Some(deadline) = connection.poll_timeout() {
                    assert!(deadline > now, "a deadline at or before now after handle_timeout: the loop would spin");
                }
            }
            7 => connection.pause_reading(),
            8 => connection.resume_reading(now),
            9 => {
                if arg % 8 == 0 {
                    connection.abort();
                }
            }
            10 => {
                let _ = connection.handle_connected(now);
            }
            _ => connection.set_read_timeouts(
                (arg & 1 == 1).then(|| Duration::from_millis(u64::from(arg) * 7)),
                (arg & 2 == 2).then(|| Duration::from_millis(u64::from(arg) * 11)),
            ),
        }
        assert!(!(was_closed && !connection.is_closed()), "a closed connection opened again");
        was_closed = connection.is_closed();
        if connection.is_closed() {
            ended = true;
        }
    }
    assert_eq!(connection.exchanges_completed(), ends, "one completed exchange per end");
    for request in &sent {
        check_wire(request);
    }
});
