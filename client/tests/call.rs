//! The call driven by hand, as a transport drives it, with no IO: the cases the `call` fuzz
//! target found, kept as tests.
#![allow(clippy::disallowed_methods)] // tests pick a base instant; the client layer never reads the clock

use std::io::Cursor;
use std::time::{Duration, Instant, SystemTime};

use tidings_client::{BufferedBody, Call, Error, ErrorKind, Next, Response, RetryPolicy, Session};
use tidings_core::{Event, ResponseContext, ResponseDecoder, ResponseHead};

fn head(text: &str) -> ResponseHead {
    let mut decoder = ResponseDecoder::default();
    decoder.start(ResponseContext::default());
    match decoder.decode(text.as_bytes()) {
        Ok((_, Some(Event::Head(head)))) => head.clone(),
        other => panic!("not a head: {other:?}"),
    }
}

/// Ends the call with `head` and an empty body, as a transport does on `Next::Finish`.
fn finish(call: Call, head: ResponseHead, now: Instant) -> Result<Response, Error> {
    call.finish(head, Vec::new(), false, now, |parts| {
        Response::buffered(parts, BufferedBody::new(Vec::new(), None, None, None, None))
    })
}

fn uncapped(timeout: Duration) -> Session {
    let policy = RetryPolicy::new(5)
        .status_forcelist([503])
        .backoff_factor(Duration::from_secs(1 << 40))
        .backoff_max(Duration::MAX)
        .respect_retry_after(true, Duration::MAX);
    Session::builder().trust_env(false).retries(policy).timeout(timeout).build().expect("a session")
}

#[test]
fn a_timeout_beyond_the_clock_is_no_deadline() {
    let session = uncapped(Duration::MAX);
    let request = session.get("http://a.test/").build().expect("a request");
    let now = Instant::now();
    let mut call = Call::new(&session, request, now, SystemTime::now());
    assert_eq!(call.deadline(), None);
    assert!(call.attempt(now).is_ok());
}

#[test]
fn a_wait_beyond_the_clock_ends_the_retries() {
    // A Retry-After of u64::MAX seconds, which a policy without caps takes as it is: the
    // call may not hand a transport a wait it cannot add to its clock.
    for timeout in [Duration::MAX, Duration::from_secs(30)] {
        let session = uncapped(timeout);
        let request = session.get("http://a.test/").build().expect("a request");
        let now = Instant::now();
        let mut call = Call::new(&session, request, now, SystemTime::now());
        call.attempt(now).expect("an attempt");
        let answer = head("HTTP/1.1 503 Busy\r\nRetry-After: 18446744073709551615\r\n\r\n");
        match call.after_head(&answer, now) {
            Next::Finish => {}
            Next::Again(wait) => panic!("a wait of {wait:?}"),
            Next::Fail(error) => panic!("{error}"),
        }
        let error = finish(call, answer, now).expect_err("retries stopped");
        assert_eq!(error.kind(), ErrorKind::RetriesExhausted, "{error}");
        assert!(error.to_string().contains("retries stopped"), "{error}");
    }
}

#[test]
fn a_streamed_put_is_not_sent_again_after_a_301() {
    let session = Session::builder().trust_env(false).build().expect("a session");
    for status in [301, 302, 307, 308] {
        let request = session
            .put("http://a.test/upload")
            .body_reader(Cursor::new(b"streamed".to_vec()), None)
            .build()
            .expect("a request");
        let now = Instant::now();
        let mut call = Call::new(&session, request, now, SystemTime::now());
        call.attempt(now).expect("an attempt");
        let moved = head(&format!("HTTP/1.1 {status} Moved\r\nLocation: /elsewhere\r\n\r\n"));
        assert!(matches!(call.after_head(&moved, now), Next::Finish), "{status}: the chain stops here");
        let error = finish(call, moved, now).expect_err("a streamed body cannot be replayed");
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{status}: {error}");
        assert_eq!(error.response().map(|response| response.status().as_u16()), Some(status));
    }
}
