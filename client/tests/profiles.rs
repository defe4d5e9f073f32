//! Profiles mounted on URL prefixes and mounted transports, through an in-memory
//! [`Transport`] double with a simulated clock: no sockets, every attempt recorded.
#![allow(clippy::disallowed_methods)] // tests pick a base instant; the client layer never reads the clock

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tidings_client::{
    Attempt, AttemptError, BufferedBody, ErrorKind, Exchanged, Profile, RequestBody, RetryPolicy, Session, TlsSettings,
    Transport,
};
use tidings_core::{Config, Connection, Event};

/// One attempt as the double saw it: the request head exactly as the core wrote it.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    key_tls: Option<bool>,
}

impl Seen {
    fn line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    fn has(&self, header: &str) -> bool {
        self.head
            .lines()
            .any(|line| line.to_ascii_lowercase().starts_with(&format!("{}:", header.to_ascii_lowercase())))
    }
}

type Script = dyn Fn(&str, usize) -> Vec<u8> + Send + Sync;

/// Answers each attempt with the bytes `script(request line, index)` gives.
#[derive(Clone)]
struct Double {
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<Seen>>>,
    clock: Arc<Mutex<Instant>>,
}

impl Double {
    fn new(script: impl Fn(&str, usize) -> Vec<u8> + Send + Sync + 'static) -> Double {
        Double { script: Arc::new(script), seen: Arc::default(), clock: Arc::new(Mutex::new(Instant::now())) }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen").clone()
    }
}

impl Transport for Double {
    fn exchange(&self, attempt: Attempt, _body: RequestBody<'_>) -> Result<Exchanged, AttemptError> {
        let now = self.now();
        let mut core = Connection::new(Config::default());
        core.send_request(now, &attempt.request).map_err(|error| AttemptError::connect(error.into()))?;
        let mut wire = vec![0u8; 4096];
        let written = core.poll_transmit(now, &mut wire);
        let head = String::from_utf8_lossy(&wire[..written]).into_owned();
        let index = {
            let mut seen = self.seen.lock().expect("seen");
            seen.push(Seen { head: head.clone(), key_tls: attempt.key.https().then(|| attempt.tls.is_some()) });
            seen.len() - 1
        };
        let response = (self.script)(head.lines().next().unwrap_or_default(), index);
        let (mut at, mut found, mut body) = (0, None, Vec::new());
        loop {
            let (used, event) =
                core.handle_input(now, &response[at..]).map_err(|error| AttemptError::exchange(error.into(), false))?;
            at += used;
            match event {
                Some(Event::Head(head)) => found = Some(head.clone()),
                Some(Event::Data(data)) => body.extend_from_slice(data),
                Some(Event::End) | None => break,
                Some(_) => {}
            }
        }
        let head = found.expect("the script answers with a whole response");
        let body = BufferedBody::new(body, None, core.close_reason(), None, None);
        Ok(Exchanged { head, informational: Vec::new(), reused: false, body: Box::new(body) })
    }

    fn now(&self) -> Instant {
        *self.clock.lock().expect("clock")
    }

    fn wall_clock(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn sleep(&self, duration: Duration) {
        *self.clock.lock().expect("clock") += duration;
    }
}

fn status(code: u16) -> Vec<u8> {
    format!("HTTP/1.1 {code} X\r\nContent-Length: 2\r\n\r\nok").into_bytes()
}

fn last_response(error: tidings_client::Error) -> tidings_client::Response {
    assert_eq!(error.kind(), tidings_client::ErrorKind::RetriesExhausted, "{error}");
    error.into_response().expect("the last response")
}

#[test]
fn the_longest_mounted_prefix_wins_for_every_hop() {
    let double = Double::new(|line, _| {
        if line.contains("/start") {
            b"HTTP/1.1 302 Found\r\nLocation: http://api.test/v1/moved\r\nContent-Length: 0\r\n\r\n".to_vec()
        } else {
            status(503)
        }
    });
    let session = Session::builder()
        .transport(double.clone())
        .mount(
            "http://API.test/",
            Profile::new().retries(RetryPolicy::new(2).status_forcelist([503])).header("X-Api", "1"),
        )
        .mount("http://api.test/v2/", Profile::new().retries(RetryPolicy::new(0)).header("X-V2", "1"))
        .build()
        .expect("session");

    // Retries that run out fail the call, with the last response kept.
    let v1 = last_response(session.get("http://api.test/v1/x").send().expect_err("v1 retries run out"));
    assert_eq!((v1.status().as_u16(), v1.attempts()), (503, 3), "the api.test profile retries twice");
    let v2 = session.get("http://api.test/v2/x").send().expect("v2");
    assert_eq!((v2.status().as_u16(), v2.attempts()), (503, 1), "the longer prefix's profile wins");

    let seen = double.seen();
    assert_eq!(seen.len(), 4);
    assert!(seen[..3].iter().all(|seen| seen.has("x-api") && !seen.has("x-v2")), "{seen:?}");
    assert!(seen[3].has("x-v2") && !seen[3].has("x-api"), "{:?}", seen[3]);

    // A redirect into a prefix takes that prefix's profile: its headers and its retry budget
    // (one attempt at the start, then three under the profile).
    let moved = last_response(session.get("http://other.test/start").send().expect_err("retries run out"));
    assert_eq!((moved.status().as_u16(), moved.attempts()), (503, 4));
    assert_eq!(moved.history().len(), 1);
    let seen = double.seen();
    assert_eq!(seen[4].line(), "GET /start HTTP/1.1");
    assert!(!seen[4].has("x-api"), "the first hop is not under the prefix");
    assert!(seen[5..].iter().all(|seen| seen.line() == "GET /v1/moved HTTP/1.1" && seen.has("x-api")));
}

#[test]
fn a_mounted_transport_carries_its_prefix_only() {
    let general = Double::new(|_, _| status(200));
    let special = Double::new(|_, _| status(201));
    let session = Session::builder()
        .transport(general.clone())
        .mount("http://special.test", Profile::new().transport(special.clone()))
        .build()
        .expect("session");
    assert_eq!(session.get("http://special.test/a").send().expect("special").status().as_u16(), 201);
    assert_eq!(session.get("http://general.test/b").send().expect("general").status().as_u16(), 200);
    assert_eq!(special.seen().len(), 1);
    assert_eq!(general.seen().len(), 1);
}

#[test]
fn a_profile_with_its_own_tls_settings_gets_its_own_pool_key() {
    let double = Double::new(|_, _| status(200));
    let session = Session::builder()
        .transport(double.clone())
        .mount("https://lab.test/", Profile::new().tls(TlsSettings::default().danger_accept_invalid_certs()))
        .build()
        .expect("session");
    let call = |url: &str| {
        let request = session.get(url).build().expect("request");
        let mut call = tidings_client::Call::new(&session, request, Instant::now(), SystemTime::UNIX_EPOCH);
        call.attempt(Instant::now()).expect("attempt").key
    };
    let (lab, other) = (call("https://lab.test/x"), call("https://www.test/x"));
    assert_eq!((lab.host(), other.host()), ("lab.test", "www.test"));
    let lab_again = call("https://lab.test/y");
    assert_eq!(lab, lab_again, "one profile, one key");
    let same_host_elsewhere = call("https://lab.test.example/x");
    assert_ne!(lab, same_host_elsewhere);
    assert_eq!(session.get("https://lab.test/z").send().expect("sent").status().as_u16(), 200);
    assert_eq!(double.seen()[0].key_tls, Some(true));
}

#[test]
fn a_session_without_a_transport_says_so() {
    let error = Session::new().get("http://127.0.0.1:1/").send().expect_err("no transport");
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert!(error.to_string().contains("no blocking transport"), "{error}");
    let error = Session::builder().mount("", Profile::new()).build().expect_err("empty prefix");
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
}
