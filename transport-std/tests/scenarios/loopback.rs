//! Scenarios against scripted servers on loopback: the API, pooling, timeouts and hostile
//! responses.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::{SendWith, Transport};
use crate::api::{ErrorKind, Session, StatusCode};
use crate::common::{ok, Action, Server};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).expect("in memory");
    encoder.finish().expect("in memory")
}

pub fn get_text_and_keep_alive_reuse(t: &dyn Transport) {
    let server = Server::always(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Length: 4\r\n\r\ncaf\xe9",
    );
    let session = Session::new();
    let first = session.get(&server.url("/a")).send_with(t).expect("first");
    assert_eq!(first.status(), StatusCode::OK);
    assert!(!first.reused_connection());
    assert_eq!(first.text().expect("text"), "café");
    let second = session.get(&server.url("/b")).send_with(t).expect("second");
    assert!(second.reused_connection());
    assert_eq!(second.bytes().expect("bytes"), b"caf\xe9");
    assert_eq!(server.connection_count(), 1, "one kept-alive connection");
    assert_eq!(t.idle_connections(&session), 1);
}

pub fn connection_close_is_not_reused(t: &dyn Transport) {
    let server = Server::start(|_, _| {
        Action::RespondAndClose(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok".to_vec())
    });
    let session = Session::new();
    for _ in 0..3 {
        let mut response = session.get(&server.url("/")).send_with(t).expect("response");
        assert_eq!(response.read_body().expect("body"), b"ok");
        assert_eq!(response.close_reason().map(|reason| reason.as_str()), Some("server_close"));
    }
    assert_eq!(server.connection_count(), 3);
    assert_eq!(t.idle_connections(&session), 0);
}

pub fn a_stale_pooled_connection_is_replaced_transparently(t: &dyn Transport) {
    // The server answers once per connection, then closes it while it sits in the pool.
    // The close comes a little later, so the client has pooled the connection by then.
    let server = Server::start(|_, _| Action::Stall(ok("fresh"), Duration::from_millis(30)));
    let session = Session::new();
    assert_eq!(session.get(&server.url("/")).send_with(t).expect("first").text().expect("text"), "fresh");
    assert_eq!(t.idle_connections(&session), 1, "kept alive: the server did not say close");
    std::thread::sleep(Duration::from_millis(100));
    // POST is not idempotent, yet nothing was processed: the retry is safe.
    let response = session.post(&server.url("/")).body("x").send_with(t).expect("retried on a new connection");
    assert!(!response.reused_connection());
    assert_eq!(response.text().expect("text"), "fresh");
    assert_eq!(server.connection_count(), 2);
}

pub fn query_form_json_and_auth_reach_the_server(t: &dyn Transport) {
    let server = Server::always(b"HTTP/1.1 204 No Content\r\n\r\n");
    let session = Session::builder().header("X-Session", "1").query([("api", "v1")]).build().expect("session");
    session
        .get(&server.url("/search"))
        .query([("q", "a b&c"), ("q", "ü")])
        .basic_auth("user", Some("pa:ss"))
        .send_with(t)
        .expect("get");
    session.post(&server.url("/form")).form([("name", "J. Doe"), ("x", "1&2")]).send_with(t).expect("form");
    session
        .put(&server.url("/json"))
        .json(&serde_json::json!({"k": [1, 2]}))
        .bearer_auth("tok")
        .send_with(t)
        .expect("json");
    let recorded = server.recorded();
    assert_eq!(recorded[0].request_line(), "GET /search?api=v1&q=a+b%26c&q=%C3%BC HTTP/1.1");
    assert_eq!(recorded[0].header("authorization").as_deref(), Some("Basic dXNlcjpwYTpzcw=="));
    assert_eq!(recorded[0].header("x-session").as_deref(), Some("1"));
    assert_eq!(recorded[1].body, b"name=J.+Doe&x=1%262");
    assert_eq!(recorded[1].header("content-type").as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(recorded[2].body, br#"{"k":[1,2]}"#);
    assert_eq!(recorded[2].header("content-type").as_deref(), Some("application/json"));
    assert_eq!(recorded[2].header("authorization").as_deref(), Some("Bearer tok"));
    assert_eq!(server.connection_count(), 1, "204 responses keep the connection");
}

pub fn streamed_uploads_are_chunked_and_100_continue_is_honoured(t: &dyn Transport) {
    let server = Server::always(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    let session = Session::new();
    let data: Vec<u8> = (0..100_000u32).map(|index| (index % 251) as u8).collect();
    let response = session
        .post(&server.url("/upload"))
        .body_reader(std::io::Cursor::new(data.clone()), None)
        .send_with(t)
        .expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = session
        .put(&server.url("/expect"))
        .header("Expect", "100-continue")
        .body(b"after the interim response".to_vec())
        .send_with(t)
        .expect("upload with expect");
    assert_eq!(response.informational().iter().map(|(status, _)| *status).collect::<Vec<_>>(), vec![100]);
    let recorded = server.recorded();
    assert_eq!(recorded[0].header("transfer-encoding").as_deref(), Some("chunked"));
    assert_eq!(recorded[0].body, data);
    assert_eq!(recorded[1].body, b"after the interim response");
}

pub fn gzip_bodies_are_decoded_and_bombs_capped(t: &dyn Transport) {
    let body = gzip(b"{\"hello\":\"world\"}");
    let mut response_bytes =
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    response_bytes.extend_from_slice(&body);
    let server = Server::start(move |_, _| Action::Respond(response_bytes.clone()));
    let value: serde_json::Value = t.get(&server.url("/gzip")).expect("get").json().expect("json");
    assert_eq!(value["hello"], "world");

    let bomb = gzip(&vec![0u8; 8 << 20]);
    let mut bomb_bytes =
        format!("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n", bomb.len()).into_bytes();
    bomb_bytes.extend_from_slice(&bomb);
    let server = Server::start(move |_, _| Action::Respond(bomb_bytes.clone()));
    let session = Session::builder().max_body(1 << 20).build().expect("session");
    let error = session.get(&server.url("/bomb")).send_with(t).expect("head").bytes().expect_err("capped");
    assert_eq!(error.kind(), ErrorKind::TooLarge, "{error}");
}

pub fn hostile_servers_give_typed_errors(t: &dyn Transport) {
    let truncated =
        Server::start(|_, _| Action::RespondAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf".to_vec()));
    let error = t.get(&truncated.url("/")).expect("head").bytes().expect_err("truncated");
    assert_eq!(error.kind(), ErrorKind::Eof, "{error}");
    assert!(error.to_string().contains("4 of 10"), "{error}");

    let garbage =
        Server::start(|_, _| Action::RespondAndClose(b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n".to_vec()));
    let error = t.get(&garbage.url("/")).expect_err("bad framing");
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert_eq!(error.url().map(|url| url.path()), Some("/"), "errors name the URL");

    let silent = Server::start(|_, _| Action::Close);
    let error = t.get(&silent.url("/")).expect_err("closed");
    assert_eq!(error.kind(), ErrorKind::Eof);

    let injected = Server::always(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let error = crate::api::Session::new()
        .get(&injected.url("/"))
        .header("X-Evil", "a\r\nInjected: 1")
        .send_with(t)
        .expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert!(injected.recorded().is_empty(), "nothing reached the server");
}

pub fn stalls_and_refusals_time_out_or_fail_fast(t: &dyn Transport) {
    let stall = Server::start(|_, _| {
        Action::Stall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab".to_vec(), Duration::from_secs(5))
    });
    let session = Session::builder().read_timeout(Duration::from_millis(300)).build().expect("session");
    let started = Instant::now();
    let mut response = session.get(&stall.url("/")).send_with(t).expect("head arrives");
    let mut body = Vec::new();
    let error = response.read_to_end(&mut body).expect_err("stalled body");
    assert_eq!(crate::api::Error::from(error).kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(3), "the read deadline was honoured");

    let session = Session::builder().timeout(Duration::from_millis(300)).build().expect("session");
    let error =
        session.get(&stall.url("/")).send_with(t).and_then(|response| response.bytes()).expect_err("whole-call limit");
    assert_eq!(error.kind(), ErrorKind::Timeout);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let error = t.get(&format!("http://127.0.0.1:{port}/")).expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Connect);
}

/// The read timeout measures the server's silence, not the caller's: a caller that takes
/// longer than it between two reads of a body still gets the rest, which arrived meanwhile.
pub fn a_caller_that_pauses_between_reads_is_not_timed_out(t: &dyn Transport) {
    let server = Server::start(|_, _| {
        Action::RespondThenLater(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n".to_vec(),
            Duration::from_millis(100),
            b"5\r\nworld\r\n0\r\n\r\n".to_vec(),
        )
    });
    let session = Session::builder().read_timeout(Duration::from_millis(250)).build().expect("session");
    for round in 0..2 {
        let mut response = session.get(&server.url("/")).send_with(t).expect("head arrives");
        let mut first = [0u8; 5];
        response.read_exact(&mut first).expect("the first chunk");
        assert_eq!(&first, b"hello");
        std::thread::sleep(Duration::from_millis(600));
        let mut rest = String::new();
        response.read_to_string(&mut rest).unwrap_or_else(|error| panic!("round {round}: {error}"));
        assert_eq!(rest, "world");
    }
}

pub fn status_errors_prepared_requests_and_head(t: &dyn Transport) {
    let server = Server::start(|request, _| {
        if request.request_line().starts_with("HEAD") {
            Action::Respond(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec())
        } else {
            Action::Respond(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone".to_vec())
        }
    });
    let session = Session::new();
    let response = session.get(&server.url("/missing")).send_with(t).expect("404 is a response");
    assert!(!response.ok());
    let error = response.error_for_status().expect_err("4xx");
    assert_eq!(error.kind(), ErrorKind::HttpStatus);
    assert_eq!(error.status_code(), Some(404));
    assert!(error.to_string().contains("404 Not Found"), "{error}");
    let response = error.into_response().expect("the response is kept");
    assert_eq!(response.text().expect("its body is still readable"), "gone");

    let head = session.head(&server.url("/")).send_with(t).expect("head");
    assert_eq!(head.headers().get("content-length"), Some(&b"1000"[..]));
    drop(head);
    assert_eq!(t.idle_connections(&session), 1, "a HEAD response needs no reading to free its connection");

    let prepared = session.post(&server.url("/p")).query([("a", "1")]).body("data").build().expect("prepared");
    assert_eq!(prepared.url().as_str(), server.url("/p?a=1"));
    assert_eq!(prepared.body(), Some(&b"data"[..]));
    assert_eq!(prepared.method(), crate::api::Method::POST);
    let response = t.send_prepared(&session, prepared).expect("sent");
    assert_eq!(response.request().url().query(), Some("a=1"));
}

pub fn an_early_response_stops_a_large_upload(t: &dyn Transport) {
    // The server reads only the head, answers 413 at once, and never reads the body.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("accept");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).map(|count| count == 1).unwrap_or(false) {
            head.push(byte[0]);
        }
        // Late enough that the client's upload has filled the socket buffers and stalled.
        std::thread::sleep(Duration::from_millis(300));
        let _ = socket.write_all(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\n\r\ntoo large");
        std::thread::sleep(Duration::from_secs(5));
    });
    let started = Instant::now();
    let upload = std::io::repeat(b'x').take(256 << 20);
    let response = Session::new()
        .put(&format!("http://127.0.0.1:{port}/upload"))
        .body_reader(upload, Some(256 << 20))
        .send_with(t)
        .expect("the early response, not a write error");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(started.elapsed() < Duration::from_secs(4), "noticed while uploading, not after the server gave up");
    let mut response = response;
    assert_eq!(response.read_body().expect("body"), b"too large");
    assert_eq!(response.close_reason().map(|reason| reason.as_str()), Some("aborted"), "the upload was cut short");
}

pub fn retries_follow_urllib3_semantics(t: &dyn Transport) {
    let flaky = Server::start(|_, index| {
        if index < 2 {
            Action::Respond(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy".to_vec())
        } else {
            Action::Respond(ok("finally"))
        }
    });
    let policy = crate::api::RetryPolicy::new(3).status_forcelist([503]).backoff_factor(Duration::from_millis(10));
    let session = Session::builder().retries(policy.clone()).build().expect("session");
    let response = session.get(&flaky.url("/")).send_with(t).expect("recovers");
    assert_eq!(response.attempts(), 3);
    assert_eq!(response.text().expect("text"), "finally");
    assert_eq!(flaky.connection_count(), 1, "retried responses were drained and the connection reused");

    let busy = Server::start(|_, _| {
        Action::Respond(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".to_vec())
    });
    let response = session.post(&busy.url("/")).body("x").send_with(t).expect("a response");
    assert_eq!((response.status().as_u16(), response.attempts()), (503, 1), "POST is not retried on a status");
    // Retries that run out are an error carrying the last response (urllib3's
    // raise_on_status), unless the policy asks for that response instead.
    let error = session.get(&busy.url("/")).send_with(t).expect_err("retries run out");
    assert_eq!(error.kind(), ErrorKind::RetriesExhausted);
    assert_eq!(error.status_code(), Some(503));
    assert_eq!(
        error.to_string(),
        format!("503 Service Unavailable: retries exhausted after 4 attempts for url {}", busy.url("/"))
    );
    let last = error.into_response().expect("the last response");
    assert_eq!((last.status().as_u16(), last.attempts()), (503, 4));
    let lenient = Session::builder().retries(policy.clone().raise_on_status(false)).build().expect("session");
    let response = lenient.get(&busy.url("/")).send_with(t).expect("the last response");
    assert_eq!((response.status().as_u16(), response.attempts()), (503, 4), "the last response once retries run out");

    let throttled = Server::start(|_, index| {
        if index == 0 {
            Action::Respond(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n".to_vec())
        } else {
            Action::Respond(ok("ok"))
        }
    });
    let started = Instant::now();
    let response = Session::builder()
        .retries(crate::api::RetryPolicy::new(1))
        .build()
        .expect("session")
        .get(&throttled.url("/"))
        .send_with(t)
        .expect("after waiting");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    // On a status of the forcelist, too (500 is not one that asks for a retry by itself).
    let failing = Server::start(|_, index| {
        if index == 0 {
            Action::Respond(
                b"HTTP/1.1 500 Internal Server Error\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n".to_vec(),
            )
        } else {
            Action::Respond(ok("ok"))
        }
    });
    let started = Instant::now();
    let response = Session::builder()
        .retries(crate::api::RetryPolicy::new(1).status_forcelist([500]))
        .build()
        .expect("session")
        .get(&failing.url("/"))
        .send_with(t)
        .expect("after waiting");
    assert_eq!((response.status(), response.attempts()), (StatusCode::OK, 2));
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured on a forcelist status");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let error = session.post(&format!("http://127.0.0.1:{port}/")).body("x").send_with(t).expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Connect);
    assert!(error.to_string().contains("after 4 attempts"), "connect failures retry any method: {error}");
}

/// A server that challenges every request without `Authorization` (nonce `n1`).
fn digest_server() -> Server {
    Server::start(|request, _| {
        if request.header("authorization").is_some() {
            Action::Respond(ok("in"))
        } else {
            Action::Respond(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", qop=\"auth\"\r\nContent-Length: 0\r\n\r\n"
                    .to_vec(),
            )
        }
    })
}

pub fn digest_challenges_are_remembered_per_session(t: &dyn Transport) {
    let server = digest_server();
    let session = Session::builder().digest_auth("user", "passwd").build().expect("session");
    assert_eq!(session.get(&server.url("/a")).send_with(t).expect("first").text().expect("text"), "in");
    assert_eq!(session.get(&server.url("/b?x=1")).send_with(t).expect("second").text().expect("text"), "in");
    let recorded = server.recorded();
    assert_eq!(recorded.len(), 3, "one challenge, then answered at once: {recorded:?}");
    assert_eq!(recorded[0].header("authorization"), None);
    let first = recorded[1].header("authorization").unwrap_or_default();
    assert!(first.starts_with("Digest username=\"user\", realm=\"r\", uri=\"/a\", algorithm=MD5"), "{first}");
    assert!(first.contains("nc=00000001"));
    let second = recorded[2].header("authorization").unwrap_or_default();
    assert!(second.contains("uri=\"/b?x=1\"") && second.contains("nc=00000002"), "{second}");
}

pub fn credentials_are_never_answered_or_sent_to_another_origin(t: &dyn Transport) {
    let other = digest_server();
    let location = other.url("/elsewhere");
    let first = Server::start(move |request, _| {
        if request.request_line().starts_with("GET /go ") {
            Action::Respond(
                format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").into_bytes(),
            )
        } else {
            Action::Respond(ok("home"))
        }
    });
    for session in [
        Session::builder().digest_auth("user", "passwd").build().expect("session"),
        Session::builder().basic_auth("user", Some("passwd")).build().expect("session"),
    ] {
        let response = session.get(&first.url("/go")).send_with(t).expect("chain");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the other origin's challenge is returned");
    }
    let recorded = other.recorded();
    assert_eq!(recorded.len(), 2, "no answer to the other origin's challenge: {recorded:?}");
    assert!(recorded.iter().all(|request| request.header("authorization").is_none()));
}

pub fn netrc_supplies_credentials_per_host_when_none_are_given(t: &dyn Transport) {
    let directory = std::env::temp_dir().join(format!("tidings-netrc-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("temp dir");
    let path = directory.join("netrc");
    std::fs::write(&path, "machine 127.0.0.1 login numeric password one\nmachine localhost login named password two\n")
        .expect("netrc");
    let second = Server::always(b"HTTP/1.1 204 No Content\r\n\r\n");
    let location = format!("http://localhost:{}/landing", second.port);
    let first = Server::start(move |request, _| {
        if request.request_line().starts_with("GET /hop ") {
            Action::Respond(
                format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n").into_bytes(),
            )
        } else {
            Action::Respond(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec())
        }
    });
    let session = Session::builder().netrc_file(&path).build().expect("session");
    session.get(&first.url("/plain")).send_with(t).expect("plain");
    session.get(&first.url("/explicit")).basic_auth("given", Some("pw")).send_with(t).expect("explicit");
    session.get(&first.url("/hop")).send_with(t).expect("hop");
    Session::builder()
        .netrc_file(&path)
        .netrc(false)
        .build()
        .expect("session")
        .get(&first.url("/off"))
        .send_with(t)
        .expect("off");
    Session::builder()
        .netrc_file(directory.join("missing"))
        .build()
        .expect("session")
        .get(&first.url("/gone"))
        .send_with(t)
        .expect("missing file");

    let basic = |user: &str, password: &str| {
        use base64::Engine as _;
        Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))))
    };
    let recorded = first.recorded();
    assert_eq!(recorded[0].header("authorization"), basic("numeric", "one"));
    assert_eq!(recorded[1].header("authorization"), basic("given", "pw"), "explicit auth wins");
    assert_eq!(recorded[2].header("authorization"), basic("numeric", "one"));
    assert_eq!(recorded[3].header("authorization"), None, "switched off");
    assert_eq!(recorded[4].header("authorization"), None, "a missing file is no credentials");
    assert_eq!(second.recorded()[0].header("authorization"), basic("named", "two"), "re-read for the new host");
    let _ = std::fs::remove_dir_all(&directory);
}

pub fn cookies_stay_with_their_host_across_redirects(t: &dyn Transport) {
    let other = Server::always(b"HTTP/1.1 204 No Content\r\n\r\n");
    let location = format!("http://localhost:{}/landing", other.port);
    let first = Server::start(move |request, _| {
        if request.request_line().starts_with("GET /hop ") {
            Action::Respond(
                format!("HTTP/1.1 302 Found\r\nSet-Cookie: id=secret; Path=/\r\nSet-Cookie: wide=1; Domain=127.0.0.1\r\nSet-Cookie: bad=1; Domain=com\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n")
                    .into_bytes(),
            )
        } else {
            Action::Respond(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec())
        }
    });
    let session = Session::new();
    session.get(&first.url("/hop")).header("Cookie", "mine=1").send_with(t).expect("chain");
    session.get(&first.url("/back")).send_with(t).expect("back home");
    assert_eq!(other.recorded()[0].header("cookie"), None, "neither the caller's nor the jar's cookies cross hosts");
    assert_eq!(first.recorded()[1].header("cookie").as_deref(), Some("id=secret; wide=1"));
    assert_eq!(session.cookies().len(), 2, "a Domain naming another host was refused");
}

pub fn pooled_connections_expire_after_the_idle_timeout(t: &dyn Transport) {
    let server = Server::always(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let session = Session::builder().pool_idle_timeout(Some(Duration::from_millis(100))).build().expect("session");
    assert_eq!(session.get(&server.url("/")).send_with(t).expect("first").text().expect("body"), "ok");
    let soon = session.get(&server.url("/")).send_with(t).expect("soon after");
    assert!(soon.reused_connection());
    assert_eq!(soon.text().expect("body"), "ok", "read to the end: the connection goes back to the pool");
    std::thread::sleep(Duration::from_millis(250));
    let late = session.get(&server.url("/")).send_with(t).expect("after the idle timeout");
    assert!(!late.reused_connection(), "an expired connection is never reused");
    assert_eq!(server.connection_count(), 2);
}

/// `Duration::MAX` anywhere means "no limit": every timeout, the idle pool's, and a retry
/// policy without caps whose `Retry-After` the server sets to u64::MAX seconds.
pub fn durations_beyond_the_clock_mean_no_limit(t: &dyn Transport) {
    let server = Server::start(|_, index| {
        if index == 0 {
            Action::Respond(
                b"HTTP/1.1 503 Busy\r\nRetry-After: 18446744073709551615\r\nContent-Length: 0\r\n\r\n".to_vec(),
            )
        } else {
            Action::Respond(ok("ok"))
        }
    });
    let policy = crate::api::RetryPolicy::new(3)
        .status_forcelist([503])
        .backoff_max(Duration::MAX)
        .respect_retry_after(true, Duration::MAX);
    let session = Session::builder()
        .timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .read_timeout(Duration::MAX)
        .pool_idle_timeout(Some(Duration::MAX))
        .retries(policy)
        .build()
        .expect("session");
    let error = session.get(&server.url("/")).send_with(t).expect_err("a wait no clock can count");
    assert_eq!((error.kind(), error.status_code()), (ErrorKind::RetriesExhausted, Some(503)), "{error}");
    assert!(error.to_string().contains("beyond what the clock can count"), "{error}");
    let response = session.get(&server.url("/")).send_with(t).expect("no limit is no limit");
    assert!(response.reused_connection(), "pooled, with an idle timeout of Duration::MAX");
    assert_eq!(response.text().expect("body"), "ok");
}

pub fn close_delimited_bodies_end_at_the_close_every_time(t: &dyn Transport) {
    // The body and the close arrive together: a client that takes a short read for "drained"
    // must still notice the end, or it sits until its read timeout fires (then the end is
    // found and the response completes, late: hence the clock below, a hang detector).
    let server = Server::start(|_, _| {
        Action::RespondAndClose(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close".to_vec())
    });
    let session = Session::builder().read_timeout(Duration::from_secs(2)).build().expect("session");
    for round in 0..50 {
        let started = Instant::now();
        let response =
            session.get(&server.url("/")).send_with(t).unwrap_or_else(|error| panic!("round {round}: {error}"));
        assert_eq!(response.text().unwrap_or_else(|error| panic!("round {round}: {error}")), "until close");
        assert!(started.elapsed() < Duration::from_secs(1), "round {round} waited for the read timeout");
    }
}

pub fn raw_query_strings_and_per_request_timeouts(t: &dyn Transport) {
    let server = Server::start(|request, _| {
        if request.request_line().contains("/slow") {
            Action::Stall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab".to_vec(), Duration::from_secs(3))
        } else {
            Action::Respond(ok("fine"))
        }
    });
    let session = Session::builder().read_timeout(Duration::from_secs(20)).build().expect("session");
    // A raw query string, as Requests takes `params="..."`, after the URL's own and the pairs.
    let response = session
        .get(&server.url("/q?first=1"))
        .query([("pair", "a b")])
        .query_raw("flag&x=%2F")
        .send_with(t)
        .expect("raw query");
    assert_eq!(response.url().query(), Some("first=1&pair=a+b&flag&x=%2F"));
    assert_eq!(response.text().expect("text"), "fine");
    assert!(server.recorded()[0].request_line().starts_with("GET /q?first=1&pair=a+b&flag&x=%2F "));
    // The request's own read timeout beats the session's, on the pooled connection too.
    let started = Instant::now();
    let response = session
        .get(&server.url("/slow"))
        .read_timeout(Duration::from_millis(300))
        .send_with(t)
        .expect("the head arrives");
    let error = response.bytes().expect_err("the body stalls");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(started.elapsed() < Duration::from_secs(2), "the request's 300 ms, not the session's 20 s");
}

pub fn requests_and_responses_convert_to_and_from_the_http_crate(t: &dyn Transport) {
    let server = Server::always(b"HTTP/1.1 201 Created\r\nX-Made: yes\r\nContent-Length: 2\r\n\r\nok");
    let session = Session::new();
    let request = http::Request::put(server.url("/thing")).header("X-From", "http").body("data").expect("request");
    let response = t.send(session.request_http(request)).expect("sent");
    assert_eq!(response.headers_http()["x-made"], "yes");
    let response = response.into_http().expect("read");
    assert_eq!((response.status().as_u16(), response.body().as_slice()), (201, &b"ok"[..]));
    let recorded = &server.recorded()[0];
    assert_eq!(recorded.request_line(), "PUT /thing HTTP/1.1");
    assert_eq!((recorded.header("x-from").as_deref(), recorded.body.as_slice()), (Some("http"), &b"data"[..]));
}

pub fn the_response_knows_the_request_as_it_went_on_the_wire(t: &dyn Transport) {
    let server = Server::start(|request, index| {
        if index == 0 {
            let location = "HTTP/1.1 302 Found\r\nLocation: /second\r\nSet-Cookie: id=7\r\nContent-Length: 0\r\n\r\n";
            Action::Respond(location.as_bytes().to_vec())
        } else {
            Action::Respond(ok(request.request_line()))
        }
    });
    let session = Session::builder().header("X-Session", "s").build().expect("session");
    let response = session
        .post(&server.url("/first"))
        .header("X-Call", "c")
        .basic_auth("user", "secret")
        .body("data")
        .send_with(t)
        .expect("response");
    let request = response.request();
    assert_eq!((request.method().as_str(), request.url().path()), ("GET", "/second"), "the last hop");
    // Every field as the server read it, in the same order: what the caller and session set
    // and what the client added (Host, User-Agent, Accept, Accept-Encoding, the cookie).
    let recorded = server.recorded();
    let on_wire: Vec<(String, String)> = recorded[1]
        .head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(": ").map(|(name, value)| (name.to_owned(), value.to_owned())))
        .collect();
    let listed: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| (name.to_owned(), String::from_utf8_lossy(value).into_owned()))
        .collect();
    assert_eq!(listed, on_wire);
    let names: Vec<&str> = listed.iter().map(|(name, _)| name.as_str()).collect();
    for name in ["Host", "User-Agent", "Accept", "Accept-Encoding", "X-Session", "X-Call", "Authorization", "Cookie"] {
        assert!(names.iter().any(|seen| seen.eq_ignore_ascii_case(name)), "{name} missing from {names:?}");
    }
    assert!(!names.iter().any(|name| name.eq_ignore_ascii_case("content-length")), "a 302 turned POST into GET");
    // Credentials stay out of Debug.
    let debug = format!("{request:?}");
    assert!(
        debug.contains("\"authorization\": \"[redacted]\"") || debug.contains("\"Authorization\": \"[redacted]\""),
        "{debug}"
    );
    assert!(!debug.contains("dXNlcjpzZWNyZXQ") && !debug.contains("id=7"), "{debug}");
    assert_eq!(response.text().expect("text"), "GET /second HTTP/1.1");

    // A body that went out keeps its framing in the list.
    let response = session.put(&server.url("/third")).body("12345").send_with(t).expect("response");
    let length = response.request().headers().get_str("content-length").map(str::to_owned);
    assert_eq!(length.as_deref(), Some("5"));
    assert_eq!(response.request().body(), Some(&b"12345"[..]), "bytes sent are kept");
    response.bytes().expect("body");
    // A streamed body is not kept, only the length that framed it.
    let response =
        session.put(&server.url("/fourth")).body_reader(&b"678"[..], Some(3)).send_with(t).expect("response");
    let request = response.request();
    assert_eq!((request.body(), request.headers().get_str("content-length")), (None, Some("3")));
    response.bytes().expect("body");
}
