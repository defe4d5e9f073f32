//! The client driven by random sequences of its calls — send, send a streamed one, cancel,
//! run the loop for a while, take a completion, read a streamed body — against the
//! in-process httpbin over plain HTTP and over TLS, under tight limits (drawn per sequence)
//! so that requests queue, and a retry policy so that some wait out a backoff. Requests are
//! GET, HEAD (a body-less response) and POST with bodies up to 70 KB. Each sequence comes
//! from a seed (printed when it fails).
//!
//! Never a panic; no request and no body read fails but by the retry policy's end (the
//! server answers all of them well within the timeout: another failure is the client's, as
//! a streamed body that never ended was); every body is its own request's — bytes of a
//! length and seed drawn per request compared whole, an echo of the request's own path
//! found in it, nothing after HEAD — whether read whole or streamed; each request completes
//! at most once, and never once cancelled; `cancel` answers `true` exactly for a request
//! still pending or a body still open; and when every request is waited for and every body
//! read to its end or cancelled, nothing is left pending, in flight, queued, holding a
//! connection or buffered.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

#[path = "../../transport-std/tests/common/sequence.rs"]
mod sequence;

use sequence::{draw, each_seed, Body, Dice};
use tidings_mio::{Client, Completion, ErrorKind, RequestId, RetryPolicy, Session, TlsSettings};

/// What the sequence has seen of each request.
#[derive(Default)]
struct Seen {
    expect: HashMap<RequestId, Body>,
    /// Streamed bodies as read so far.
    bodies: HashMap<RequestId, Vec<u8>>,
    /// Every request sent, and whether its body is streamed.
    sent: Vec<(RequestId, bool)>,
    cancelled: HashSet<RequestId>,
    completed: HashSet<RequestId>,
    /// Streamed bodies whose head arrived, and whether they ended.
    readable: HashMap<RequestId, bool>,
}

impl Seen {
    fn complete(&mut self, completion: Completion, seed: u64) {
        let id = completion.id;
        if let Err(error) = &completion.result {
            // A 503 twice over ends its retries with this error (as Requests raises
            // MaxRetryError); nothing else fails.
            assert_eq!(error.kind(), ErrorKind::RetriesExhausted, "seed {seed}: {id:?} failed: {error}");
        }
        assert!(!self.cancelled.contains(&id), "seed {seed}: {id:?} completed after it was cancelled");
        assert!(self.completed.insert(id), "seed {seed}: {id:?} completed twice");
        let streamed = self.sent.iter().any(|&(sent, streamed)| sent == id && streamed);
        let Ok(response) = completion.result else { return };
        if streamed {
            self.readable.insert(id, false);
        } else {
            self.check(id, &response.bytes().unwrap_or_else(|error| panic!("seed {seed}: {id:?}: {error}")), seed);
        }
    }

    fn check(&self, id: RequestId, body: &[u8], seed: u64) {
        if let Some(expected) = self.expect.get(&id) {
            expected.check(body, &format!("seed {seed}: {id:?}"));
        }
    }

    /// Reads once from a streamed body that has not ended; its end (or error) ends it.
    fn read(&mut self, client: &mut Client, id: RequestId, size: usize, seed: u64) {
        let Some(ended) = self.readable.get_mut(&id).filter(|ended| !**ended) else { return };
        let mut buffer = vec![0u8; size.max(1)];
        match client.read(id, &mut buffer) {
            Ok(0) => {
                *ended = true;
                let body = self.bodies.remove(&id).unwrap_or_default();
                self.check(id, &body, seed);
            }
            Ok(count) => {
                assert!(count <= buffer.len(), "seed {seed}");
                self.bodies.entry(id).or_default().extend_from_slice(&buffer[..count]);
            }
            Err(error) => panic!("seed {seed}: reading {id:?}: {error}"),
        }
    }
}

fn run(seed: u64, base: &str, tls: Option<&TlsSettings>) {
    let policy = RetryPolicy::new(1).status_forcelist([503]).backoff_factor(Duration::from_millis(20));
    let mut session = Session::builder().retries(policy).timeout(Duration::from_secs(10));
    if let Some(tls) = tls {
        session = session.tls(tls.clone());
    }
    let session = session.build().expect("session");
    let mut dice = Dice::new(seed);
    let (in_flight, per_host) = (1 + dice.below(4) as usize, 1 + dice.below(3) as usize);
    let mut client = Client::builder(session).max_in_flight(in_flight).max_per_host(per_host).build().expect("client");
    let mut seen = Seen::default();
    for _ in 0..40 {
        match dice.below(6) {
            0 | 1 => {
                let streamed = dice.below(2) == 0;
                let drawn = draw(&mut dice, seen.sent.len());
                let mut request = client.request(drawn.method, &format!("{base}{}", drawn.path));
                if let Some(upload) = drawn.upload {
                    request = request.body(upload);
                }
                let request = request.build().expect("request");
                let id = if streamed { client.send_streaming(request) } else { client.send(request) };
                seen.sent.push((id, streamed));
                seen.expect.insert(id, drawn.body);
            }
            2 if !seen.sent.is_empty() => {
                let (id, _) = seen.sent[dice.below(seen.sent.len() as u64) as usize];
                let pending = !seen.completed.contains(&id) && !seen.cancelled.contains(&id);
                let streaming = seen.readable.get(&id).is_some_and(|&ended| !ended);
                let cancelled = client.cancel(id);
                if cancelled {
                    assert!(pending || streaming, "seed {seed}: cancel({id:?}) found a request already over");
                    seen.cancelled.insert(id);
                    seen.readable.remove(&id);
                } else {
                    assert!(!pending, "seed {seed}: cancel({id:?}) missed a pending request");
                }
            }
            3 => {
                let until = Instant::now() + Duration::from_millis(dice.below(40));
                let completions: Vec<Completion> = client.completions(Some(until)).collect();
                for completion in completions {
                    seen.complete(completion, seed);
                }
            }
            4 => {
                if let Some(completion) = client.try_completion() {
                    seen.complete(completion, seed);
                }
            }
            _ => {
                let readable: Vec<RequestId> = seen.readable.keys().copied().collect();
                if !readable.is_empty() {
                    let id = readable[dice.below(readable.len() as u64) as usize];
                    seen.read(&mut client, id, 1 + dice.below(4096) as usize, seed);
                }
            }
        }
    }
    // Take every completion left, reading or cancelling each body as its head arrives (a
    // body left unread holds its place under the limits, and requests queued behind it wait).
    let stuck = Instant::now() + Duration::from_secs(30);
    loop {
        let open: Vec<RequestId> = seen.readable.iter().filter(|(_, &ended)| !ended).map(|(&id, _)| id).collect();
        for id in open {
            if dice.below(2) == 0 {
                assert!(client.cancel(id), "seed {seed}: a stream being read is cancellable");
                seen.cancelled.insert(id);
                seen.readable.remove(&id);
            } else {
                while seen.readable.get(&id).is_some_and(|&ended| !ended) {
                    seen.read(&mut client, id, 4096, seed);
                }
            }
        }
        let left = seen.sent.iter().any(|(id, _)| !seen.completed.contains(id) && !seen.cancelled.contains(id));
        if !left {
            break;
        }
        assert!(Instant::now() < stuck, "seed {seed}: requests left that never complete");
        let completions: Vec<Completion> =
            client.completions(Some(Instant::now() + Duration::from_millis(50))).collect();
        for completion in completions {
            seen.complete(completion, seed);
        }
    }
    assert!(client.wait_all().expect("loop").is_empty(), "seed {seed}: nothing completes twice");
    assert_eq!((client.pending(), client.in_flight(), client.queued()), (0, 0, 0), "seed {seed}");
    assert_eq!(client.open_connections(), client.idle_connections(), "seed {seed}: a connection left busy");
    assert_eq!(client.body_buffer_bytes(), 0, "seed {seed}: a body left in memory");
}

#[test]
fn random_sequences_of_calls_leave_nothing_behind() {
    each_seed(false, 24, run);
}

/// Over TLS, a streamed body's bytes also wait as ciphertext in the TLS layer, and a
/// connection's record buffer is lent and returned.
#[test]
fn random_sequences_of_calls_over_tls_leave_nothing_behind() {
    each_seed(true, 12, run);
}
