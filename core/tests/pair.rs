//! A client connection and a scripted server in memory, with a simulated clock: timeouts,
//! 100-continue, early responses, keep-alive, stale connections, upgrades.
#![allow(clippy::disallowed_methods)] // the simulated clock starts at an arbitrary instant

use std::time::{Duration, Instant};

use tidings_core::{
    Body, BodyState, CloseReason, Config, Connection, Error, ErrorKind, Event, Headers, Request, TimeBudgets, Timeout,
    TimeoutPhase,
};

/// The client and everything it wrote, under a clock the test moves.
struct Pair {
    client: Connection,
    start: Instant,
    now: Instant,
    /// Bytes the client wrote, as the server would read them.
    wire: Vec<u8>,
}

/// What the client saw of one response.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    informational: Vec<u16>,
    status: Option<u16>,
    body: Vec<u8>,
    ended: bool,
    unconsumed: usize,
}

impl Pair {
    fn new(config: Config) -> Pair {
        let start = Instant::now();
        Pair { client: Connection::new(config), start, now: start, wire: Vec::new() }
    }

    fn at(&mut self, millis: u64) -> Instant {
        self.now = self.start + Duration::from_millis(millis);
        self.now
    }

    fn millis(&self, instant: Option<Instant>) -> Option<u64> {
        instant.map(|instant| (instant - self.start).as_millis() as u64)
    }

    fn send(&mut self, request: &Request) {
        self.client.send_request(self.now, request).expect("valid request");
        self.flush();
    }

    fn flush(&mut self) {
        let mut buf = [0u8; 64];
        loop {
            let count = self.client.poll_transmit(self.now, &mut buf);
            if count == 0 {
                return;
            }
            self.wire.extend_from_slice(&buf[..count]);
        }
    }

    fn body(&mut self, data: &[u8]) -> usize {
        let mut buf = [0u8; 256];
        let sent = self.client.send_body(self.now, data, &mut buf).expect("body accepted");
        self.wire.extend_from_slice(&buf[..sent.written]);
        sent.consumed
    }

    fn receive(&mut self, bytes: &[u8], seen: &mut Seen) -> Result<(), Error> {
        let mut position = 0;
        loop {
            let (used, event) = self.client.handle_input(self.now, &bytes[position..])?;
            position += used;
            match event {
                None => break,
                Some(Event::Informational(head)) => seen.informational.push(head.status()),
                Some(Event::Head(head)) => seen.status = Some(head.status()),
                Some(Event::Data(data)) => seen.body.extend_from_slice(data),
                Some(Event::Trailers(_)) => {}
                Some(Event::End) => {
                    seen.ended = true;
                    break;
                }
            }
        }
        seen.unconsumed = bytes.len() - position;
        Ok(())
    }

    fn wire_text(&self) -> String {
        String::from_utf8_lossy(&self.wire).into_owned()
    }
}

fn post(body: &[u8]) -> Request {
    Request::parse("POST", "http://server.test/upload").expect("valid").body(Body::Bytes(body.to_vec()))
}

#[test]
fn expect_continue_holds_the_body_until_100() {
    let mut pair = Pair::new(Config::default());
    pair.send(&post(b"payload").header("Expect", "100-continue"));
    assert!(!pair.client.wants_body(), "the body waits");
    assert_eq!(pair.millis(pair.client.poll_timeout()), Some(1000), "the 100-continue wait is the next deadline");
    let mut seen = Seen::default();
    pair.at(200);
    pair.receive(b"HTTP/1.1 100 Continue\r\n\r\n", &mut seen).expect("interim");
    assert_eq!(seen.informational, vec![100]);
    assert!(pair.client.wants_body());
    assert_eq!(pair.body(b"payload"), 7);
    assert!(pair.wire_text().ends_with("\r\n\r\npayload"));
    pair.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &mut seen).expect("final");
    assert!(seen.ended && pair.client.is_idle());
}

#[test]
fn expect_continue_sends_the_body_when_its_wait_passes() {
    let mut pair = Pair::new(Config::default());
    pair.send(&post(b"payload").header("Expect", "100-continue"));
    pair.at(999);
    pair.client.handle_timeout(pair.now).expect("nothing due yet");
    assert!(!pair.client.wants_body());
    pair.at(1000);
    pair.client.handle_timeout(pair.now).expect("the wait passing is not an error");
    assert!(pair.client.wants_body());
    assert_eq!(pair.body(b"payload"), 7);
    assert!(pair.client.request_finished());
}

#[test]
fn a_final_response_instead_of_100_abandons_the_body() {
    let mut pair = Pair::new(Config::default());
    pair.send(&post(b"payload").header("Expect", "100-continue"));
    let mut seen = Seen::default();
    pair.receive(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", &mut seen).expect("final");
    assert_eq!(seen.status, Some(401));
    assert!(!pair.wire_text().contains("payload"), "the body was never sent");
    assert_eq!(pair.client.close_reason(), Some(CloseReason::Aborted));
}

#[test]
fn an_early_response_during_an_upload_is_surfaced_and_the_upload_stops() {
    let mut pair = Pair::new(Config::default());
    let request =
        Request::parse("PUT", "http://server.test/big").expect("valid").body(Body::Stream { length: Some(1 << 20) });
    pair.send(&request);
    assert_eq!(pair.body(&[b'x'; 100]), 100);
    let mut seen = Seen::default();
    pair.receive(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 4\r\n\r\nbig!", &mut seen).expect("early final");
    assert_eq!((seen.status, seen.ended), (Some(413), true));
    assert!(!pair.client.wants_body());
    assert_eq!(pair.client.close_reason(), Some(CloseReason::Aborted), "the upload was cut short");
    assert!(pair.client.is_closed());
}

#[test]
fn read_while_sending_keeps_the_connection_when_the_body_was_complete() {
    let mut pair = Pair::new(Config::default());
    pair.send(&post(b"abc"));
    pair.body(b"abc");
    let mut seen = Seen::default();
    pair.receive(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", &mut seen).expect("final");
    assert!(pair.client.is_idle());
}

#[test]
fn a_paused_reader_is_not_timed_out_until_it_resumes() {
    let mut pair = Pair::new(Config::default());
    pair.send(&Request::get("http://server.test/big").expect("valid"));
    let mut seen = Seen::default();
    pair.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", &mut seen).expect("part");
    pair.client.pause_reading();
    assert_eq!(pair.client.poll_timeout(), None, "nothing runs while the driver holds back");
    pair.at(90_000);
    pair.client.handle_timeout(pair.now).expect("a pause is not a stall");
    pair.client.resume_reading(pair.now);
    assert_eq!(pair.millis(pair.client.poll_timeout()), Some(120_000), "silence counts from the resume");
    pair.at(120_000);
    let error = pair.client.handle_timeout(pair.now).expect_err("stalled after resuming");
    assert_eq!(error, Error::Timeout(Timeout { phase: TimeoutPhase::BetweenBytes }));
}

#[test]
fn between_bytes_deadline_moves_with_each_byte_and_fails_sticky() {
    let mut pair = Pair::new(Config::default());
    pair.send(&Request::get("http://server.test/slow").expect("valid"));
    assert_eq!(pair.millis(pair.client.poll_timeout()), Some(30_000));
    let mut seen = Seen::default();
    pair.at(20_000);
    pair.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", &mut seen).expect("part");
    assert_eq!(pair.millis(pair.client.poll_timeout()), Some(50_000), "each byte pushes the read deadline");
    pair.at(49_999);
    pair.client.handle_timeout(pair.now).expect("not yet");
    pair.at(50_000);
    let error = pair.client.handle_timeout(pair.now).expect_err("stalled");
    assert_eq!(error, Error::Timeout(Timeout { phase: TimeoutPhase::BetweenBytes }));
    assert_eq!(pair.client.handle_timeout(pair.now), Err(error.clone()), "idempotent");
    assert_eq!(pair.client.handle_input(pair.now, b"56789").map(|(used, _)| used), Err(error.clone()), "sticky");
    assert_eq!(pair.client.close_reason(), Some(CloseReason::Timeout));
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn wait_for_head_and_total_deadlines() {
    let mut timeouts = TimeBudgets::default();
    timeouts.wait_for_head = Some(Duration::from_secs(5));
    timeouts.total = Some(Duration::from_secs(8));
    let mut config = Config::default();
    config.budgets = timeouts;

    // A server trickling its head: each byte is in time, the head is not.
    let mut pair = Pair::new(config.clone());
    pair.send(&Request::get("http://server.test/").expect("valid"));
    let mut seen = Seen::default();
    for (second, byte) in b"HTTP/1.1 200".iter().enumerate().take(5) {
        pair.at(second as u64 * 1000);
        pair.receive(&[*byte], &mut seen).expect("a byte");
        pair.client.handle_timeout(pair.now).expect("in time");
    }
    pair.at(5000);
    assert_eq!(pair.client.handle_timeout(pair.now), Err(Error::Timeout(Timeout { phase: TimeoutPhase::WaitForHead })));

    // A server trickling its body: the whole exchange runs out.
    let mut pair = Pair::new(config);
    pair.send(&Request::get("http://server.test/").expect("valid"));
    let mut seen = Seen::default();
    pair.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", &mut seen).expect("head");
    for second in 1..8 {
        pair.at(second * 1000);
        pair.receive(b"x", &mut seen).expect("a byte");
        pair.client.handle_timeout(pair.now).expect("in time");
    }
    pair.at(8000);
    assert_eq!(pair.client.handle_timeout(pair.now), Err(Error::Timeout(Timeout { phase: TimeoutPhase::Total })));
}

#[test]
fn a_call_deadline_caps_the_exchange() {
    let mut pair = Pair::new(Config::default());
    pair.send(&Request::get("http://server.test/").expect("valid"));
    pair.client.set_call_deadline(pair.start + Duration::from_secs(2));
    assert_eq!(pair.millis(pair.client.poll_timeout()), Some(2000));
    pair.at(2000);
    assert_eq!(pair.client.handle_timeout(pair.now), Err(Error::Timeout(Timeout { phase: TimeoutPhase::Total })));
}

#[test]
fn send_and_connect_deadlines() {
    let mut pair = Pair::new(Config::default());
    let request = Request::parse("POST", "http://server.test/").expect("valid").body(Body::Stream { length: None });
    pair.send(&request);
    assert_eq!(pair.millis(pair.client.poll_timeout()), Some(30_000));
    pair.at(10_000);
    pair.body(b"some");
    assert_eq!(pair.millis(pair.client.poll_timeout()), Some(40_000), "write progress pushes the send deadline");
    pair.at(40_000);
    assert_eq!(pair.client.handle_timeout(pair.now), Err(Error::Timeout(Timeout { phase: TimeoutPhase::Send })));

    let start = Instant::now();
    let mut connecting = Connection::connecting(Config::default(), start);
    assert_eq!(connecting.poll_timeout(), Some(start + Duration::from_secs(10)));
    let error = connecting.handle_timeout(start + Duration::from_secs(10)).expect_err("connect timed out");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    let mut connected = Connection::connecting(Config::default(), start);
    connected.handle_connected(start + Duration::from_secs(1)).expect("connected");
    assert!(connected.is_idle());
}

#[test]
fn keep_alive_idle_expiry_and_reuse() {
    let mut pair = Pair::new(Config::default());
    let mut seen = Seen::default();
    for round in 0..3u64 {
        pair.at(round * 1000);
        pair.send(&Request::get("http://server.test/").expect("valid"));
        seen = Seen::default();
        pair.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &mut seen).expect("response");
        assert!(seen.ended && pair.client.is_idle(), "round {round}");
    }
    assert_eq!(seen.body, b"ok");
    assert_eq!(pair.client.exchanges_completed(), 3);
    assert_eq!(pair.millis(pair.client.poll_timeout()), Some(2000 + 90_000), "idle expiry is the next deadline");
    pair.at(92_000);
    pair.client.handle_timeout(pair.now).expect("expiry is not an error");
    assert_eq!(pair.client.close_reason(), Some(CloseReason::IdleTimeout));
}

#[test]
fn a_reused_connection_closed_before_any_byte_is_the_safe_retry() {
    let mut pair = Pair::new(Config::default());
    pair.send(&Request::get("http://server.test/").expect("valid"));
    let error = pair.client.handle_eof(pair.now).map(|_| ()).expect_err("closed");
    assert!(!error.is_stale_connection(), "a fresh connection's close is not the stale case");

    let mut pair = Pair::new(Config::default());
    let mut seen = Seen::default();
    pair.send(&Request::get("http://server.test/").expect("valid"));
    pair.receive(b"HTTP/1.1 204 No Content\r\n\r\n", &mut seen).expect("first");
    pair.send(&Request::parse("POST", "http://server.test/").expect("valid"));
    let error = pair.client.handle_eof(pair.now).map(|_| ()).expect_err("closed");
    assert_eq!(error.kind(), ErrorKind::Eof);
    assert!(error.is_stale_connection(), "{error}");

    let mut pair = Pair::new(Config::default());
    pair.send(&Request::get("http://server.test/").expect("valid"));
    pair.receive(b"HTTP/1.1 204 No Content\r\n\r\n", &mut seen).expect("first");
    pair.send(&Request::get("http://server.test/").expect("valid"));
    pair.receive(b"HTTP/1.1 2", &mut seen).expect("a byte");
    let error = pair.client.handle_eof(pair.now).map(|_| ()).expect_err("closed mid-head");
    assert!(!error.is_stale_connection(), "a response had started");
}

#[test]
fn bytes_on_an_idle_connection_close_it() {
    let mut pair = Pair::new(Config::default());
    let mut seen = Seen::default();
    pair.send(&Request::get("http://server.test/").expect("valid"));
    pair.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 408 Request Timeout\r\n\r\n", &mut seen)
        .expect("response");
    assert_eq!(seen.unconsumed, 32, "the stray response is left to the driver");
    pair.receive(b"HTTP/1.1 408 Request Timeout\r\n\r\n", &mut seen).expect("consumed");
    assert_eq!(pair.client.close_reason(), Some(CloseReason::UnsolicitedData));
    assert!(pair.client.send_request(pair.now, &Request::get("http://server.test/").expect("valid")).is_err());
}

#[test]
fn upgrades_and_tunnels_leave_the_rest_to_the_driver() {
    let mut pair = Pair::new(Config::default());
    let upgrade = Request::get("http://server.test/chat")
        .expect("valid")
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket");
    pair.send(&upgrade);
    let mut seen = Seen::default();
    pair.receive(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
        &mut seen,
    )
    .expect("101");
    assert_eq!((seen.status, seen.ended, seen.unconsumed), (Some(101), true, 7));
    assert_eq!(pair.client.close_reason(), Some(CloseReason::Upgraded));

    let mut pair = Pair::new(Config::default());
    pair.send(&Request::connect("https://origin.test").expect("valid"));
    assert!(pair.wire_text().starts_with("CONNECT origin.test:443 HTTP/1.1\r\n"));
    let mut seen = Seen::default();
    pair.receive(b"HTTP/1.1 200 Connection Established\r\nContent-Length: 99\r\n\r\n\x16\x03\x01", &mut seen)
        .expect("tunnel");
    assert_eq!((seen.status, seen.ended, seen.unconsumed), (Some(200), true, 3), "the TLS bytes belong to the tunnel");
}

#[test]
fn misuse_is_reported_not_panicked() {
    let mut pair = Pair::new(Config::default());
    pair.send(&Request::get("http://server.test/").expect("valid"));
    let error =
        pair.client.send_request(pair.now, &Request::get("http://server.test/").expect("valid")).expect_err("busy");
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert!(pair.client.send_body(pair.now, b"x", &mut [0u8; 64]).is_err(), "GET has no body");
    let mut trailers = Headers::new();
    trailers.append("X-T", "1");
    assert!(pair.client.finish_body(pair.now, Some(&trailers)).is_err());
}

#[test]
fn a_misused_send_body_writes_nothing() {
    // Found by the `connection` fuzz target: send_body wrote pending bytes into the buffer
    // and then returned a misuse error, which hands back no count, so those bytes never
    // reached the wire while the connection went on.
    let now = Instant::now();
    let drain = |connection: &mut Connection| {
        let mut wire = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let count = connection.poll_transmit(now, &mut buf);
            if count == 0 {
                return wire;
            }
            wire.extend_from_slice(&buf[..count]);
        }
    };
    // A GET's head is still pending when the body is (wrongly) offered.
    let mut connection = Connection::new(Config::default());
    connection.send_request(now, &Request::get("http://server.test/").expect("valid")).expect("sent");
    let head = connection.pending_output().to_vec();
    let mut buf = [0u8; 512];
    assert!(connection.send_body(now, b"", &mut buf).is_err(), "a GET has no body");
    assert!(connection.send_body(now, b"x", &mut buf).is_err(), "a GET has no body");
    assert_eq!(drain(&mut connection), head, "the head is still whole");

    // A chunked body's last chunk is pending when more data is offered.
    let mut connection = Connection::new(Config::default());
    let upload = Request::parse("PUT", "http://server.test/").expect("valid").body(Body::Stream { length: None });
    connection.send_request(now, &upload).expect("sent");
    drain(&mut connection);
    let sent = connection.send_body(now, b"abc", &mut buf).expect("a chunk");
    assert_eq!(&buf[..sent.written], b"3\r\nabc\r\n");
    connection.finish_body(now, None).expect("finished");
    assert!(connection.send_body(now, b"more", &mut buf).is_err(), "the body ended");
    let flushed = connection.send_body(now, b"", &mut buf).expect("nothing more, the rest flushed");
    assert_eq!((flushed.consumed, flushed.state), (0, BodyState::Complete));
    assert_eq!(&buf[..flushed.written], b"0\r\n\r\n", "the last chunk, once");
    assert!(drain(&mut connection).is_empty());
}

#[test]
fn stale_retry_safety_is_the_cores_decision() {
    let mut pair = Pair::new(Config::default());
    pair.send(&Request::get("http://server.test/").expect("valid"));
    assert!(!pair.client.is_stale_retry_safe(), "a first exchange is never the stale case");
    let mut seen = Seen::default();
    pair.receive(b"HTTP/1.1 204 No Content\r\n\r\n", &mut seen).expect("first");
    pair.send(&Request::parse("POST", "http://server.test/").expect("valid"));
    assert!(pair.client.is_stale_retry_safe(), "reused, and nothing of the response arrived");
    pair.receive(b"HTTP/1.1", &mut seen).expect("a byte");
    assert!(!pair.client.is_stale_retry_safe(), "the server answered: it may have processed the request");
}

/// RFC 9112 §9.8: "A response that has neither chunked transfer coding nor Content-Length is
/// complete only if a valid closure alert has been received." A TLS close without
/// `close_notify` (`handle_incomplete_close`) does not end a body delimited by the close;
/// bodies framed otherwise are judged by their framing, as at any close.
#[test]
fn a_body_delimited_by_the_close_ends_only_at_an_authenticated_close() {
    let delimited = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial";
    let mut pair = Pair::new(Config::default());
    let mut seen = Seen::default();
    pair.send(&Request::get("https://server.test/").expect("valid"));
    pair.receive(delimited, &mut seen).expect("head and data");
    let error = pair.client.handle_incomplete_close(pair.now).map(|_| ()).expect_err("not authenticated");
    assert_eq!(error, Error::Incomplete(tidings_core::IncompleteMessage::CloseWithoutNotify { received: 7 }));
    assert_eq!(error.kind(), ErrorKind::Eof);
    assert!(error.to_string().contains("close_notify"), "{error}");
    assert!(!error.is_stale_connection());
    assert!(pair.client.is_closed());

    // With close_notify first (or over plain TCP) the close is the end.
    let mut pair = Pair::new(Config::default());
    let mut seen = Seen::default();
    pair.send(&Request::get("https://server.test/").expect("valid"));
    pair.receive(delimited, &mut seen).expect("head and data");
    assert!(matches!(pair.client.handle_eof(pair.now), Ok(Some(Event::End))));

    // Named leniency takes the unauthenticated close as the end too.
    let mut config = Config::default();
    config.leniency.allow_close_without_notify = true;
    let mut pair = Pair::new(config);
    pair.send(&Request::get("https://server.test/").expect("valid"));
    pair.receive(delimited, &mut seen).expect("head and data");
    assert!(matches!(pair.client.handle_incomplete_close(pair.now), Ok(Some(Event::End))));

    // A Content-Length body that arrived whole has ended before the close, which then only
    // closes the idle connection; one cut short is cut short either way.
    let mut pair = Pair::new(Config::default());
    let mut seen = Seen::default();
    pair.send(&Request::get("https://server.test/").expect("valid"));
    pair.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", &mut seen).expect("whole");
    assert!(seen.ended);
    assert!(matches!(pair.client.handle_incomplete_close(pair.now), Ok(None)));
    assert_eq!(pair.client.close_reason(), Some(CloseReason::PeerClosed));
    let mut pair = Pair::new(Config::default());
    pair.send(&Request::get("https://server.test/").expect("valid"));
    pair.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok", &mut Seen::default()).expect("part");
    let error = pair.client.handle_incomplete_close(pair.now).map(|_| ()).expect_err("short");
    assert_eq!(error, Error::Incomplete(tidings_core::IncompleteMessage::Body { expected: 9, received: 2 }));

    // A chunked body with its last chunk is whole; one without it is cut short.
    let mut pair = Pair::new(Config::default());
    let mut seen = Seen::default();
    pair.send(&Request::get("https://server.test/").expect("valid"));
    pair.receive(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", &mut seen)
        .expect("whole");
    assert!(seen.ended);
    assert!(matches!(pair.client.handle_incomplete_close(pair.now), Ok(None)));
}
