//! Many requests at once: a thousand mixed calls over 64 connections, faults that fail only
//! the calls they hit, cancellation, queueing under the limits, and a client embedded in
//! the caller's own `mio::Poll`.

#[path = "../../transport-std/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{ok, Action, Server};
use serde_json::Value;
use tidings_mio::{Client, RequestId};
use tidings_mio::{ErrorKind, PoolLimits, Session, TlsSettings};

/// What each request of the mix should come back as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Echo(usize),
    Status(u16),
    Redirected,
    Lines(usize),
    Gzip,
    Delayed,
    Timeout,
    Bytes(usize),
}

#[test]
fn a_thousand_mixed_requests_over_64_connections() {
    let httpbin = tidings_httpbin::Server::start().expect("httpbin on loopback");
    let session =
        Session::builder().pool_limits(PoolLimits { max_idle_per_host: 64, max_idle: 64 }).build().expect("session");
    let mut client = Client::builder(session).max_in_flight(64).max_per_host(64).build().expect("client");
    let mut expected = HashMap::new();
    for index in 0..1000usize {
        let (request, expect) = match index % 8 {
            0 => (client.get(&httpbin.url("/get")).query([("i", index.to_string())]), Expect::Echo(index)),
            1 => (
                client.get(&httpbin.url(&format!("/status/{}", 400 + index % 5))),
                Expect::Status(400 + (index % 5) as u16),
            ),
            2 => (client.get(&httpbin.url("/redirect/2")), Expect::Redirected),
            3 => (client.get(&httpbin.url("/stream/3")), Expect::Lines(3)),
            4 => (client.get(&httpbin.url("/gzip")), Expect::Gzip),
            5 => (client.get(&httpbin.url("/delay/0.05")), Expect::Delayed),
            6 if index % 48 == 6 => {
                (client.get(&httpbin.url("/delay/3")).timeout(Duration::from_millis(200)), Expect::Timeout)
            }
            6 => (client.post(&httpbin.url("/anything")).body(vec![b'x'; index]), Expect::Echo(index)),
            _ => (
                client.get(&httpbin.url(&format!("/bytes/{}?seed={index}", 1000 + index))),
                Expect::Bytes(1000 + index),
            ),
        };
        let id = client.send(request.build().expect("request"));
        expected.insert(id, (expect, index));
    }
    assert_eq!(client.pending(), 1000);
    assert_eq!(client.in_flight(), 64, "the limit admits 64 at once");
    let started = Instant::now();
    let mut seen = HashMap::new();
    let mut most_connections = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut completions = Vec::new();
    {
        let mut stream = client.completions(Some(deadline));
        for completion in stream.by_ref() {
            completions.push(completion);
        }
    }
    for completion in completions {
        most_connections = most_connections.max(client.open_connections());
        let (expect, index) = expected[&completion.id];
        assert!(seen.insert(completion.id, index).is_none(), "{:?} completed twice", completion.id);
        check(expect, completion.result, index);
    }
    assert_eq!(seen.len(), 1000, "every request accounted for in {:?}", started.elapsed());
    assert_eq!(client.pending(), 0);
    assert_eq!(client.in_flight(), 0);
    assert!(client.open_connections() <= 64, "open connections {}", client.open_connections());
    assert!(client.idle_connections() <= 64);
    assert!(most_connections <= 64 + 1);
    assert_eq!(client.open_connections(), client.idle_connections(), "every open connection is idle in the pool");
}

fn check(expect: Expect, result: Result<tidings_mio::Response, tidings_mio::Error>, index: usize) {
    if expect == Expect::Timeout {
        let error = result.expect_err("a 3 s delay under a 200 ms timeout");
        assert_eq!(error.kind(), ErrorKind::Timeout, "request {index}: {error}");
        return;
    }
    let response = result.unwrap_or_else(|error| panic!("request {index} ({expect:?}): {error}"));
    match expect {
        Expect::Echo(index) => {
            let value: Value = response.json().expect("json");
            let echoed = value["args"]["i"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| value["data"].as_str().map(|data| data.len().to_string()));
            assert_eq!(echoed.as_deref(), Some(index.to_string().as_str()));
        }
        Expect::Status(code) => assert_eq!(response.status().as_u16(), code),
        Expect::Redirected => {
            assert_eq!(response.history().len(), 2);
            assert_eq!(response.url().path(), "/get");
        }
        Expect::Lines(count) => assert_eq!(response.lines().expect("lines").count(), count),
        Expect::Gzip => {
            let value: Value = response.json().expect("gzip json");
            assert_eq!(value["gzipped"], true);
        }
        Expect::Delayed => assert!(response.ok()),
        Expect::Bytes(length) => assert_eq!(response.bytes().expect("bytes").len(), length),
        Expect::Timeout => unreachable!("handled above"),
    }
}

#[test]
fn faults_fail_only_the_requests_they_hit() {
    let server = Server::start(|request, _| {
        let path = request.request_line().split(' ').nth(1).unwrap_or("/").to_owned();
        match path.as_str() {
            "/reset" => Action::Reset(Vec::new()),
            "/reset-mid-body" => Action::Reset(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial".to_vec()),
            "/stall" => Action::Stall(b"HTTP/1.1 200 OK\r\nContent-Le".to_vec(), Duration::from_secs(3)),
            "/early-close" => Action::RespondAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd".to_vec()),
            "/trickle" => Action::Trickle(ok("slow but steady"), Duration::from_millis(2)),
            _ => Action::Respond(ok("fine")),
        }
    });
    let session = Session::builder().read_timeout(Duration::from_millis(400)).build().expect("session");
    let mut client = Client::builder(session).max_in_flight(32).max_per_host(32).build().expect("client");
    let paths = ["/ok", "/reset", "/ok", "/reset-mid-body", "/stall", "/ok", "/early-close", "/trickle"];
    let mut sent = HashMap::new();
    for round in 0..10 {
        for path in paths {
            let id = client.send(client.get(&server.url(path)).build().expect("request"));
            sent.insert(id, (path, round));
        }
    }
    let completions = client.wait_all().expect("loop");
    assert_eq!(completions.len(), sent.len());
    for completion in completions {
        let (path, round) = sent[&completion.id];
        let context = format!("{path} in round {round}");
        match path {
            "/ok" => assert_eq!(completion.result.expect(&context).text().expect(&context), "fine"),
            "/trickle" => assert_eq!(completion.result.expect(&context).text().expect(&context), "slow but steady"),
            "/reset" => {
                let error = completion.result.expect_err(&context);
                assert_eq!(error.kind(), ErrorKind::Eof, "{context}: {error}");
            }
            "/reset-mid-body" => {
                let error = completion.result.expect(&context).bytes().expect_err(&context);
                assert_eq!(error.kind(), ErrorKind::Eof, "{context}: {error}");
            }
            "/early-close" => {
                let error = completion.result.expect(&context).bytes().expect_err(&context);
                assert_eq!(error.kind(), ErrorKind::Eof, "{context}: {error}");
            }
            "/stall" => {
                let error = completion.result.expect_err(&context);
                assert_eq!(error.kind(), ErrorKind::Timeout, "{context}: {error}");
            }
            _ => unreachable!(),
        }
    }
    assert_eq!(client.pending(), 0);
    assert_eq!(client.open_connections(), client.idle_connections());
}

#[test]
fn requests_beyond_the_limits_queue_in_order() {
    let httpbin = tidings_httpbin::Server::start().expect("httpbin on loopback");
    let mut client = Client::builder(Session::new()).max_in_flight(4).max_per_host(2).build().expect("client");
    let ids: Vec<RequestId> =
        (0..6).map(|_| client.send(client.get(&httpbin.url("/delay/0.1")).build().expect("request"))).collect();
    assert_eq!((client.in_flight(), client.queued()), (2, 4), "two per host");
    let order: Vec<RequestId> = client.wait_all().expect("loop").into_iter().map(|completion| completion.id).collect();
    assert_eq!(order.len(), 6);
    // Admitted two at a time, in order: the first pair finishes before the last pair starts.
    let position = |id: &RequestId| order.iter().position(|done| done == id).expect("completed");
    assert!(position(&ids[0]).max(position(&ids[1])) < position(&ids[4]).min(position(&ids[5])));
    assert!(client.open_connections() <= 2);
}

#[test]
fn a_redirect_to_another_host_counts_against_that_hosts_limit() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    // B answers slowly and records how many requests it served at once.
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (busy, peak) = (now.clone(), most.clone());
    let b = common::Server::start(move |_, _| {
        let current = busy.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(current, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(300));
        busy.fetch_sub(1, Ordering::SeqCst);
        Action::Respond(ok("from b"))
    });
    let location = b.url("/landed");
    let a = common::Server::start(move |_, _| {
        Action::Respond(format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").into_bytes())
    });
    let mut client = Client::builder(Session::new()).max_in_flight(8).max_per_host(1).build().expect("client");
    let direct = client.send(client.get(&b.url("/direct")).build().expect("request"));
    let redirected = client.send(client.get(&a.url("/away")).build().expect("request"));
    assert_eq!((client.in_flight(), client.queued()), (2, 0), "one per host, two hosts");
    let mut done = HashMap::new();
    for completion in client.wait_all().expect("loop") {
        done.insert(completion.id, completion.result.expect("response").text().expect("text"));
    }
    assert_eq!(done.get(&direct).map(String::as_str), Some("from b"));
    assert_eq!(done.get(&redirected).map(String::as_str), Some("from b"));
    // The hop to B waited for B's slot instead of running beside B's own request.
    assert_eq!(most.load(Ordering::SeqCst), 1, "B served one request at a time");
    assert_eq!(b.recorded().len(), 2);
    assert_eq!((client.pending(), client.in_flight(), client.queued()), (0, 0, 0));
}

#[test]
fn redirects_crossing_between_two_full_hosts_both_complete() {
    use std::sync::{Arc, OnceLock};
    // A's /x goes to B, B's /y goes to A; each host takes one request at a time.
    let (to_a, to_b) = (Arc::new(OnceLock::<String>::new()), Arc::new(OnceLock::<String>::new()));
    let script = |other: Arc<OnceLock<String>>| {
        move |request: &common::Recorded, _| {
            if request.request_line().contains("/done") {
                return Action::Respond(ok("done"));
            }
            std::thread::sleep(Duration::from_millis(100));
            let location = other.get().cloned().unwrap_or_default();
            Action::Respond(
                format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
                    .into_bytes(),
            )
        }
    };
    let a = common::Server::start(script(to_b.clone()));
    let b = common::Server::start(script(to_a.clone()));
    to_a.set(a.url("/done")).expect("once");
    to_b.set(b.url("/done")).expect("once");
    let mut client = Client::builder(Session::new()).max_per_host(1).build().expect("client");
    // A whole-call timeout, so a hop stuck behind the other fails the test instead of hanging it.
    client.send(client.get(&a.url("/x")).timeout(Duration::from_secs(5)).build().expect("request"));
    client.send(client.get(&b.url("/y")).timeout(Duration::from_secs(5)).build().expect("request"));
    let started = Instant::now();
    let done = client.wait_all().expect("loop");
    assert_eq!(done.len(), 2);
    for completion in done {
        assert_eq!(completion.result.expect("response").text().expect("text"), "done");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "no hop waited on the other for long");
}

#[test]
fn cancelling_closes_the_connection_and_leaves_the_rest() {
    let httpbin = tidings_httpbin::Server::start().expect("httpbin on loopback");
    let mut client = Client::new(Session::new()).expect("client");
    let slow = client.send(client.get(&httpbin.url("/delay/2")).build().expect("request"));
    let fast = client.send(client.get(&httpbin.url("/get")).build().expect("request"));
    let started = Instant::now();
    assert!(client.wait(fast).expect("fast").ok());
    assert!(client.cancel(slow));
    assert!(!client.cancel(slow), "already gone");
    assert_eq!(client.pending(), 0);
    assert!(client.wait_all().expect("loop").is_empty(), "a cancelled request completes nothing");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(client.open_connections(), 1, "the cancelled request's connection was closed, not pooled");
    assert_eq!(client.idle_connections(), 1);
}

#[test]
fn a_client_lives_in_the_callers_poll() {
    let httpbin = tidings_httpbin::Server::start().expect("httpbin on loopback");
    let mut poll = mio::Poll::new().expect("poll");
    let mut events = mio::Events::with_capacity(64);
    // Tokens below 100 are the caller's own.
    let mut client = Client::builder(Session::new()).build_embedded(poll.registry(), 100..200).expect("client");
    let ids: Vec<RequestId> = ["/get", "/headers", "/redirect/1", "/gzip"]
        .iter()
        .map(|path| client.send(client.get(&httpbin.url(path)).build().expect("request")))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut done = Vec::new();
    while done.len() < ids.len() && Instant::now() < deadline {
        let timeout = client.poll_timeout().map(|at| at.saturating_duration_since(Instant::now()));
        poll.poll(&mut events, Some(timeout.unwrap_or(Duration::from_millis(100)).min(Duration::from_millis(100))))
            .expect("poll");
        for event in events.iter() {
            assert!((100..200).contains(&event.token().0), "only the client's tokens are registered");
            client.handle_event(event, Instant::now());
        }
        client.handle_timeout(Instant::now());
        while let Some(completion) = client.try_completion() {
            assert!(completion.result.expect("response").ok());
            done.push(completion.id);
        }
    }
    done.sort();
    assert_eq!(done, ids);
    let extra = client.send(client.get(&httpbin.url("/delay/1")).build().expect("request"));
    let error = client.wait(extra).expect_err("only the caller's loop can drive it");
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert!(client.cancel(extra));
}

#[test]
fn a_slow_reader_of_a_streamed_body_keeps_memory_bounded() {
    const SIZE: usize = 32 << 20;
    let mut large = format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n").into_bytes();
    large.resize(large.len() + SIZE, b'z');
    let server = Server::start(move |request, _| match request.request_line().contains("/large") {
        true => Action::Respond(large.clone()),
        false => Action::Respond(ok("small")),
    });
    // A read timeout shorter than the reader's pauses: a paused connection is not timed out.
    let session = Session::builder().read_timeout(Duration::from_millis(300)).build().expect("session");
    let mut client = Client::new(session).expect("client");
    let id = client.send_streaming(client.get(&server.url("/large")).build().expect("request"));
    let head = client.wait(id).expect("the head completes the request");
    assert!(head.ok());
    assert_eq!(head.headers().get_str("content-length"), Some(SIZE.to_string().as_str()));
    assert!(head.bytes().expect("no body on the head").is_empty(), "the body comes through read");
    let mut buffer = vec![0u8; 64 * 1024];
    let (mut total, mut reads, mut peak) = (0, 0, 0);
    loop {
        let count = client
            .read(id, &mut buffer)
            .unwrap_or_else(|error| panic!("after {total} bytes in {reads} reads: {error}"));
        if count == 0 {
            break;
        }
        assert!(buffer[..count].iter().all(|byte| *byte == b'z'));
        total += count;
        reads += 1;
        peak = peak.max(client.body_buffer_bytes() + client.connection_buffer_bytes());
        if reads == 20 {
            // A slow reader: other requests go on meanwhile.
            let small = client.send(client.get(&server.url("/small")).build().expect("request"));
            assert_eq!(client.wait(small).expect("small").text().expect("text"), "small");
            std::thread::sleep(Duration::from_millis(700));
        } else if reads % 64 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    assert_eq!(total, SIZE);
    assert!(peak < 2 << 20, "memory held for a 32 MiB body read slowly: {peak} bytes");
    assert_eq!(client.read(id, &mut buffer).expect_err("the stream is over").kind(), ErrorKind::InvalidRequest);
    assert_eq!(client.pending(), 0);
    assert_eq!(client.idle_connections(), 2, "both connections went back to the pool");
}

/// A fixed table, recording who asked and on which thread.
struct Table {
    asked: std::sync::Arc<std::sync::Mutex<Vec<(String, std::thread::ThreadId)>>>,
}

impl tidings_mio::Resolver for Table {
    fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<std::net::SocketAddr>> {
        self.asked.lock().expect("log").push((host.to_owned(), std::thread::current().id()));
        match host {
            "tidings.test" => Ok(vec![std::net::SocketAddr::from(([127, 0, 0, 1], port))]),
            _ => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "not in the table")),
        }
    }
}

#[test]
fn names_resolve_off_the_loop_through_a_replaceable_resolver() {
    let httpbin = tidings_httpbin::Server::start().expect("httpbin on loopback");
    let port = url::Url::parse(&httpbin.url("/")).expect("url").port().expect("port");
    let asked = std::sync::Arc::default();
    let session = Session::builder().no_proxy().build().expect("session");
    let mut client =
        Client::builder(session).resolver(Table { asked: std::sync::Arc::clone(&asked) }).build().expect("client");
    let found = client.send(client.get(&format!("http://tidings.test:{port}/headers")).build().expect("request"));
    let missing = client.send(client.get("http://nowhere.test/").build().expect("request"));
    let literal = client.send(client.get(&httpbin.url("/get")).build().expect("request"));
    let value: Value = client.wait(found).expect("resolved by the table").json().expect("json");
    assert_eq!(value["headers"]["Host"], format!("tidings.test:{port}"));
    let error = client.wait(missing).expect_err("not in the table");
    assert_eq!(error.kind(), ErrorKind::Connect, "{error}");
    assert!(client.wait(literal).expect("an IP literal").ok());
    let asked = asked.lock().expect("log").clone();
    let hosts: Vec<&str> = asked.iter().map(|(host, _)| host.as_str()).collect();
    assert_eq!(hosts.len(), 2, "IP literals need no lookup: {hosts:?}");
    assert!(hosts.contains(&"tidings.test") && hosts.contains(&"nowhere.test"));
    assert!(asked.iter().all(|(_, thread)| *thread != std::thread::current().id()), "lookups run off the loop");
}

#[test]
fn idle_connections_expire_on_the_loops_timers() {
    let first = tidings_httpbin::Server::start().expect("httpbin on loopback");
    let second = tidings_httpbin::Server::start().expect("httpbin on loopback");
    let session = Session::builder().pool_idle_timeout(Some(Duration::from_millis(150))).build().expect("session");
    let mut client = Client::new(session).expect("client");
    let id = client.send(client.get(&first.url("/get")).build().expect("request"));
    assert!(client.wait(id).expect("first").ok());
    assert_eq!((client.open_connections(), client.idle_connections()), (1, 1));
    // While the loop serves a slow request elsewhere, the idle connection's deadline passes.
    let slow = client.send(client.get(&second.url("/delay/0.5")).build().expect("request"));
    assert!(client.wait(slow).expect("slow").ok());
    assert_eq!((client.open_connections(), client.idle_connections()), (1, 1), "only the second is left");
    let again = client.send(client.get(&first.url("/get")).build().expect("request"));
    assert!(!client.wait(again).expect("again").reused_connection(), "the expired one was closed");
}

#[test]
fn retry_backoff_waits_on_a_timer_while_others_run() {
    // The first answer is a 503 with Retry-After: 1; the retry waits a second on the loop's
    // timers, during which other requests complete.
    let throttled = Server::start(|_, index| match index {
        0 => {
            Action::Respond(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n".to_vec())
        }
        _ => Action::Respond(ok("after the wait")),
    });
    let quick = Server::always(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nquick");
    let policy = tidings_mio::RetryPolicy::new(2).status_forcelist([503]);
    let session = Session::builder().retries(policy).build().expect("session");
    let mut client = Client::new(session).expect("client");
    let started = Instant::now();
    let slow = client.send(client.get(&throttled.url("/")).build().expect("request"));
    let mut quick_done = Vec::new();
    for _ in 0..20 {
        let id = client.send(client.get(&quick.url("/")).build().expect("request"));
        assert_eq!(client.wait(id).expect("quick").text().expect("text"), "quick");
        quick_done.push(started.elapsed());
    }
    assert!(
        quick_done.iter().all(|elapsed| *elapsed < Duration::from_millis(900)),
        "nothing waited for the backoff: {quick_done:?}"
    );
    let response = client.wait(slow).expect("retried");
    assert!(started.elapsed() >= Duration::from_millis(950), "Retry-After was honoured");
    assert_eq!((response.attempts(), response.text().expect("text").as_str()), (2, "after the wait"));
    assert_eq!(throttled.connection_count(), 1, "the drained 503 kept its connection");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("in memory");
    encoder.finish().expect("in memory")
}

#[test]
fn streamed_bodies_decode_as_read_and_time_out_only_while_waiting() {
    const DECODED: usize = 16 << 20;
    let compressed = gzip(&vec![0u8; DECODED]);
    let mut zipped =
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", compressed.len())
            .into_bytes();
    zipped.extend_from_slice(&compressed);
    let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in 0..100 {
        chunked.extend_from_slice(
            format!("400\r\n{}\r\n", char::from(b'a' + (piece % 26) as u8).to_string().repeat(1024)).as_bytes(),
        );
    }
    chunked.extend_from_slice(b"0\r\nX-Checksum: done\r\n\r\n");
    let server = Server::start(move |request, _| {
        let line = request.request_line().to_owned();
        if line.contains("/zipped") {
            Action::Respond(zipped.clone())
        } else if line.contains("/chunked") {
            Action::Respond(chunked.clone())
        } else {
            Action::Stall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this".to_vec(), Duration::from_secs(3))
        }
    });
    let session =
        Session::builder().read_timeout(Duration::from_millis(300)).max_body(DECODED as u64).build().expect("session");
    let mut client = Client::new(session).expect("client");
    let mut buffer = vec![0u8; 64 * 1024];

    // 16 MiB of zeros from a ~16 KiB gzip body: decoded a buffer at a time, never held whole.
    let id = client.send_streaming(client.get(&server.url("/zipped")).build().expect("request"));
    client.wait(id).expect("head");
    let (mut total, mut peak) = (0, 0);
    loop {
        let count = client.read(id, &mut buffer).expect("decoded");
        if count == 0 {
            break;
        }
        assert!(buffer[..count].iter().all(|byte| *byte == 0));
        total += count;
        peak = peak.max(client.body_buffer_bytes() + client.connection_buffer_bytes());
    }
    assert_eq!(total, DECODED);
    assert!(peak < 1 << 20, "decoding as read holds little: {peak} bytes");

    // Chunked, read in small pieces, trailers at the end.
    let id = client.send_streaming(client.get(&server.url("/chunked")).build().expect("request"));
    client.wait(id).expect("head");
    let mut body = Vec::new();
    let mut small = [0u8; 700];
    loop {
        match client.read(id, &mut small).expect("chunked") {
            0 => break,
            count => body.extend_from_slice(&small[..count]),
        }
    }
    assert_eq!(body.len(), 100 * 1024);
    assert!(body[..1024].iter().all(|byte| *byte == b'a') && body[1024..2048].iter().all(|byte| *byte == b'b'));
    let trailers = client.take_trailers(id).expect("trailers after the end");
    assert_eq!(trailers.get("x-checksum"), Some(&b"done"[..]));
    assert!(client.take_trailers(id).is_none(), "taken once");
    // Read past the end instead of taking them: they are dropped with the stream.
    let id = client.send_streaming(client.get(&server.url("/chunked")).build().expect("request"));
    client.wait(id).expect("head");
    assert!(client.take_trailers(id).is_none(), "not before the end");
    while client.read(id, &mut small).expect("chunked") > 0 {}
    assert_eq!(client.read(id, &mut small).expect("past the end"), 0);
    assert!(client.take_trailers(id).is_none(), "dropped by the read past the end");
    // Trailers never taken are kept for the most recent streams only.
    let ids: Vec<RequestId> = (0..tidings_mio::KEPT_TRAILERS + 2)
        .map(|_| {
            let id = client.send_streaming(client.get(&server.url("/chunked")).build().expect("request"));
            client.wait(id).expect("head");
            while client.read(id, &mut small).expect("chunked") > 0 {}
            id
        })
        .collect();
    assert!(client.take_trailers(ids[0]).is_none() && client.take_trailers(ids[1]).is_none(), "the oldest went");
    assert!(ids[2..].iter().all(|id| client.take_trailers(*id).is_some()), "the rest were kept");

    // A server that stalls while the reader waits: the read timeout fires on read.
    let id = client.send_streaming(client.get(&server.url("/stall")).build().expect("request"));
    client.wait(id).expect("head");
    let started = Instant::now();
    let mut received = 0;
    let error = loop {
        match client.read(id, &mut buffer) {
            Ok(count) => received += count,
            Err(error) => break error,
        }
    };
    assert_eq!(received, "only this".len());
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(client.pending(), 0);
}

#[test]
fn a_finished_stream_frees_its_slot_for_the_queue() {
    let server = Server::always(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nstream");
    let mut client = Client::builder(Session::new()).max_in_flight(1).build().expect("client");
    let streamed = client.send_streaming(client.get(&server.url("/a")).build().expect("request"));
    let queued = client.send(client.get(&server.url("/b")).build().expect("request"));
    client.wait(streamed).expect("head");
    assert_eq!((client.in_flight(), client.queued()), (1, 1), "the stream holds the only slot");
    let mut buffer = [0u8; 64];
    let mut body = Vec::new();
    loop {
        match client.read(streamed, &mut buffer).expect("body") {
            0 => break,
            count => body.extend_from_slice(&buffer[..count]),
        }
    }
    assert_eq!(body, b"stream");
    assert_eq!(client.queued(), 0, "reading the stream to its end admitted the queued request");
    assert_eq!(client.wait(queued).expect("queued").text().expect("text"), "stream");
}

#[test]
fn a_streamed_response_without_a_body_ends_at_its_head() {
    // RFC 9112 §6.3: a response to HEAD, a 204 or a 304 ends at its head whatever its
    // Content-Length says, and so does one with `Content-Length: 0`. Its reader gets its end
    // at once, and the connection goes back to the pool for the next request.
    let server = Server::start(|request, _| {
        let path = request.request_line().split(' ').nth(1).unwrap_or_default().to_owned();
        Action::Respond(match path.as_str() {
            "/head" => b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n".to_vec(),
            "/204" => b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(),
            "/304" => b"HTTP/1.1 304 Not Modified\r\nContent-Length: 6\r\n\r\n".to_vec(),
            "/empty" => b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
            _ => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
        })
    });
    let session = Session::builder().timeout(Duration::from_secs(5)).build().expect("session");
    let mut client = Client::new(session).expect("client");
    for path in ["/head", "/204", "/304", "/empty", "/chunked-empty"] {
        let method = if path == "/head" { tidings_mio::Method::HEAD } else { tidings_mio::Method::GET };
        let id = client.send_streaming(client.request(method, &server.url(path)).build().expect("request"));
        client.wait(id).expect("head");
        let started = Instant::now();
        let mut buffer = [0u8; 64];
        assert_eq!(client.read(id, &mut buffer).unwrap_or_else(|error| panic!("{path}: {error}")), 0, "{path}");
        assert!(started.elapsed() < Duration::from_secs(1), "{path}: the end came only after {:?}", started.elapsed());
        assert_eq!((client.in_flight(), client.idle_connections()), (0, 1), "{path}: the connection is pooled");
    }
    assert_eq!(server.connection_count(), 1, "one connection carried all five");
}

/// A loopback address whose connects hang: a listener with a backlog of 0 that never
/// accepts, its queue filled, so further SYNs are dropped.
fn blackhole() -> (socket2::Socket, Vec<std::net::TcpStream>, std::net::SocketAddr) {
    let listener = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    listener.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind");
    listener.listen(0).expect("listen");
    let address = listener.local_addr().expect("address").as_socket().expect("inet");
    let fillers = (0..4)
        .filter_map(|_| std::net::TcpStream::connect_timeout(&address, Duration::from_millis(100)).ok())
        .collect();
    (listener, fillers, address)
}

/// Maps `race.test` to a fixed list of addresses.
struct Fixed(Vec<std::net::SocketAddr>);

impl tidings_mio::Resolver for Fixed {
    fn resolve(&self, _host: &str, port: u16) -> std::io::Result<Vec<std::net::SocketAddr>> {
        Ok(self
            .0
            .iter()
            .map(|address| {
                std::net::SocketAddr::new(address.ip(), if address.port() == 0 { port } else { address.port() })
            })
            .collect())
    }
}

#[test]
fn a_hanging_address_does_not_hold_up_the_next_one() {
    let (_listener, _fillers, hole) = blackhole();
    // Sanity: the hole really hangs.
    assert!(std::net::TcpStream::connect_timeout(&hole, Duration::from_millis(200)).is_err(), "the blackhole answered");
    let httpbin = tidings_httpbin::Server::start().expect("httpbin on loopback");
    let good: std::net::SocketAddr =
        url::Url::parse(&httpbin.url("/")).expect("url").socket_addrs(|| None).expect("address")[0];
    let session = Session::builder().no_proxy().connect_timeout(Duration::from_secs(5)).build().expect("session");
    let mut client = Client::builder(session).resolver(Fixed(vec![hole, good])).build().expect("client");
    let started = Instant::now();
    let id = client.send(client.get("http://race.test/get").build().expect("request"));
    assert!(client.wait(id).expect("the second address won the race").ok());
    assert!(started.elapsed() < Duration::from_secs(2), "the hanging address held the connect up");

    // Every address hanging: the connect timeout, as a timeout.
    let session = Session::builder().no_proxy().connect_timeout(Duration::from_millis(600)).build().expect("session");
    let mut client = Client::builder(session).resolver(Fixed(vec![hole, hole])).build().expect("client");
    let id = client.send(client.get("http://race.test/get").build().expect("request"));
    let error = client.wait(id).expect_err("nothing answers");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
}

/// A response that trickles in for several read timeouts, each byte well within one, completes.
/// And one whose first bytes move the deadline past the connection's timer entry, which then
/// fires early, and whose server then falls silent, times out at the moved deadline: the entry
/// is registered again there even though nothing else happens on the connection (the whole
/// call's 3 s timeout is only a backstop).
#[test]
fn a_deadline_that_keeps_moving_later_is_kept_and_one_that_passes_fires() {
    let body = "x".repeat(40);
    let trickled = ok(&body);
    let server = Server::start(move |request, _| match request.request_line().split(' ').nth(1).unwrap_or("/") {
        "/trickle" => Action::Trickle(trickled.clone(), Duration::from_millis(10)),
        "/then-silence" => Action::Trickle(b"HTTP/".to_vec(), Duration::from_millis(15)),
        _ => Action::Respond(ok("fine")),
    });
    let read_timeout = Duration::from_millis(100);
    let session = Session::builder().read_timeout(read_timeout).build().expect("session");
    let mut client = Client::builder(session).max_in_flight(1).build().expect("client");
    let started = Instant::now();
    client.send(client.get(&server.url("/trickle")).build().expect("request"));
    let completion = client.wait_all().expect("loop").into_iter().next().expect("one");
    assert_eq!(completion.result.expect("trickled").text().expect("text"), body);
    assert!(started.elapsed() > 3 * read_timeout, "the response outlived several read timeouts");
    let started = Instant::now();
    let request = client.get(&server.url("/then-silence")).timeout(Duration::from_secs(3)).build().expect("request");
    client.send(request);
    let completion = client.wait_all().expect("loop").into_iter().next().expect("one");
    let error = completion.result.expect_err("silent");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    let waited = started.elapsed();
    assert!(waited > read_timeout + Duration::from_millis(50), "the deadline moved with the bytes: {waited:?}");
    assert!(waited < Duration::from_secs(2), "the read timeout, not the call's: {waited:?}");
}

#[test]
fn connections_waiting_or_pooled_hold_no_buffers_of_their_own() {
    // A read buffer and request frame each (4 KiB), and over TLS a record buffer (16.5 KiB).
    buffers_held_by_32_connections(false, 32 * 4 * 1024);
    buffers_held_by_32_connections(true, 32 * (4 * 1024 + 16 * 1024 + 512));
}

/// 32 requests at once on 32 connections, each answered after a pause: while they wait, and
/// once they are all idle in the pool, the client holds one set of buffers between them (lent
/// to the connection being stepped), not a set each (`per_connection_set` in all).
fn buffers_held_by_32_connections(tls: bool, per_connection_set: usize) {
    let httpbin = if tls { tidings_httpbin::Server::start_tls() } else { tidings_httpbin::Server::start() }
        .expect("httpbin on loopback");
    let mut builder = Session::builder().pool_limits(PoolLimits { max_idle_per_host: 32, max_idle: 32 });
    let ca_path = std::env::temp_dir().join(format!("tidings-mio-buffers-ca-{}.pem", std::process::id()));
    if let Some(pem) = httpbin.ca_pem() {
        std::fs::write(&ca_path, pem).expect("CA file");
        builder = builder.tls(TlsSettings::default().ca_bundle(&ca_path));
    }
    let session = builder.build().expect("session");
    let mut client = Client::builder(session).max_in_flight(32).max_per_host(32).build().expect("client");
    for _ in 0..32 {
        client.send(client.get(&httpbin.url("/delay/0.3")).build().expect("request"));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut done, mut waiting) = (0, None);
    while done < 32 && Instant::now() < deadline {
        // Turns of the loop until the next completion (or 10 ms).
        if let Some(completion) = client.completions(Some(Instant::now() + Duration::from_millis(10))).next() {
            assert!(completion.result.expect("response").ok());
            done += 1;
        }
        if client.open_connections() == 32 && done == 0 {
            waiting = Some(client.connection_buffer_bytes());
        }
    }
    let _ = std::fs::remove_file(&ca_path);
    assert_eq!(done, 32);
    assert_eq!(client.idle_connections(), 32, "every request had its own connection");
    let waiting = waiting.expect("all 32 connections were open while their requests waited");
    let pooled = client.connection_buffer_bytes();
    let bound = per_connection_set / 16;
    assert!(waiting <= bound, "buffers held while 32 requests wait (TLS: {tls}): {waiting} bytes");
    assert!(pooled <= bound, "buffers held by 32 pooled connections (TLS: {tls}): {pooled} bytes");
}

/// Responses trickled a byte at a time on 8 connections at once, every read of each stepped
/// on the one lent buffer (the core keeps a head cut between reads itself), and every request
/// still gets its own body — then again on the same connections from the pool, answered at
/// once. (A connection keeping the buffer because bytes wait in it is the streamed bodies'
/// case: their tests fail if it is handed back.)
#[test]
fn responses_cut_into_bytes_on_many_connections_each_reach_their_own_request() {
    let server = Server::start(|request, _| {
        let path = request.request_line().split(' ').nth(1).unwrap_or("/").to_owned();
        let body = format!("body of {path} {}", "-".repeat(path.len() * 3));
        match path.starts_with("/trickle") {
            true => Action::Trickle(ok(&body), Duration::from_millis(1)),
            false => Action::Respond(ok(&body)),
        }
    });
    let session =
        Session::builder().pool_limits(PoolLimits { max_idle_per_host: 8, max_idle: 8 }).build().expect("session");
    let mut client = Client::builder(session).max_in_flight(8).max_per_host(8).build().expect("client");
    for round in ["trickle", "again"] {
        let ids: Vec<(RequestId, String)> = (0..8)
            .map(|index| {
                let path = format!("/{round}/{index}");
                (client.send(client.get(&server.url(&path)).build().expect("request")), path)
            })
            .collect();
        for (id, path) in ids {
            let body = client.wait(id).expect("response").text().expect("text");
            assert_eq!(body, format!("body of {path} {}", "-".repeat(path.len() * 3)));
        }
        assert_eq!(client.idle_connections(), 8, "round {round}");
        assert!(client.connection_buffer_bytes() <= 8 * 1024, "round {round}: {}", client.connection_buffer_bytes());
    }
    assert_eq!(server.connections.load(std::sync::atomic::Ordering::SeqCst), 8, "the second round reused them");
}
