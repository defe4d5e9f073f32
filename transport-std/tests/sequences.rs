//! A session driven by random sequences of what a program does with responses whose bodies
//! are still on the wire — send a request and keep its response open, read some of an open
//! body, read one to its end, drop one part-read or unread — against the in-process httpbin
//! over plain HTTP and over TLS, with a small pool drawn per sequence and a retry policy.
//! Requests are GET, HEAD and POST with bodies up to 70 KB; up to six responses are open at
//! once, each holding its connection. Each sequence comes from a seed (printed when it fails).
//!
//! Never a panic; no request and no read fails but by the retry policy's end; every body
//! read to its end is its own request's (bytes of a length and seed drawn per request
//! compared whole, an echo of the request's own path found in it, nothing after HEAD), over
//! connections the pool hands from one response to the next (a body read to its end gives
//! its connection back; a dropped one closes it), also between four threads sharing one
//! session; the pool stays within its limits; and a last request on whatever the pool holds
//! gets its own body.

#[path = "common/sequence.rs"]
mod sequence;

use std::io::Read;
use std::time::Duration;

use sequence::{draw, each_seed, Body, Dice};
use tidings_std::{ErrorKind, PoolLimits, Response, RetryPolicy, Session, TlsSettings};

/// An open response: its index in the sequence, the body read so far, what it must be.
struct Open {
    index: usize,
    response: Response,
    read: Vec<u8>,
    body: Body,
}

impl Open {
    /// Reads up to `size` bytes; `true` at the end of the body (checked then).
    fn read_some(&mut self, size: usize, seed: u64) -> bool {
        let mut buffer = vec![0u8; size.max(1)];
        match self.response.read(&mut buffer) {
            Ok(0) => {
                self.body.check(&self.read, &format!("seed {seed}: request {}", self.index));
                true
            }
            Ok(count) => {
                self.read.extend_from_slice(&buffer[..count]);
                false
            }
            Err(error) => panic!("seed {seed}: reading request {}: {error}", self.index),
        }
    }

    fn read_to_end(&mut self, seed: u64) {
        while !self.read_some(16 * 1024, seed) {}
    }
}

/// A session with a pool drawn from `dice`, the retry policy, and `tls` when given.
fn session(dice: &mut Dice, tls: Option<&TlsSettings>) -> (Session, PoolLimits) {
    let limits = PoolLimits { max_idle_per_host: 1 + dice.below(3) as usize, max_idle: 1 + dice.below(4) as usize };
    let policy = RetryPolicy::new(1).status_forcelist([503]).backoff_factor(Duration::from_millis(20));
    let mut session = Session::builder().retries(policy).timeout(Duration::from_secs(10)).pool_limits(limits);
    if let Some(tls) = tls {
        session = session.tls(tls.clone());
    }
    (session.build().expect("session"), limits)
}

fn run(seed: u64, base: &str, tls: Option<&TlsSettings>) {
    let mut dice = Dice::new(seed);
    let (session, limits) = session(&mut dice, tls);
    steps(&session, &mut dice, base, seed);
    assert!(session.idle_connections() <= limits.max_idle, "seed {seed}: the pool is over its limit");
    last_request(&session, &mut dice, base, seed);
}

/// A sequence of 40 steps on `session`, every response dropped or read at the end.
fn steps(session: &Session, dice: &mut Dice, base: &str, seed: u64) {
    let mut open: Vec<Open> = Vec::new();
    let mut sent = 0;
    for _ in 0..40 {
        let choice = dice.below(5);
        if choice < 2 {
            if open.len() >= 6 {
                continue;
            }
            let drawn = draw(dice, sent);
            sent += 1;
            let mut request = session.request(drawn.method, &format!("{base}{}", drawn.path));
            if let Some(upload) = drawn.upload {
                request = request.body(upload);
            }
            match request.send() {
                Ok(response) => open.push(Open { index: sent - 1, response, read: Vec::new(), body: drawn.body }),
                // A 503 twice over ends its retries with this error; nothing else fails.
                Err(error) => {
                    assert_eq!(error.kind(), ErrorKind::RetriesExhausted, "seed {seed}: request {}: {error}", sent - 1);
                }
            }
            continue;
        }
        if open.is_empty() {
            continue;
        }
        let pick = dice.below(open.len() as u64) as usize;
        match choice {
            2 => {
                if open[pick].read_some(1 + dice.below(4096) as usize, seed) {
                    open.swap_remove(pick);
                }
            }
            3 => {
                open[pick].read_to_end(seed);
                open.swap_remove(pick);
            }
            // Dropped part-read or unread: its connection closes.
            _ => drop(open.swap_remove(pick)),
        }
    }
    for mut response in open {
        if dice.below(2) == 0 {
            response.read_to_end(seed);
        }
    }
}

/// A last request, on whatever connection the pool gives, gets its own body.
fn last_request(session: &Session, dice: &mut Dice, base: &str, seed: u64) {
    let (count, bytes_seed) = (1 + dice.below(20_000) as usize, dice.below(1 << 32));
    let last = session.get(&format!("{base}/bytes/{count}?seed={bytes_seed}")).send().expect("the last request");
    let body = last.bytes().expect("the last body");
    Body::Exact(tidings_httpbin::pseudo_random(count, bytes_seed))
        .check(&body, &format!("seed {seed}: the last request"));
}

#[test]
fn random_sequences_of_open_responses_keep_every_body_its_own() {
    each_seed(false, 24, run);
}

/// Four threads at once on one session (one pool), each its own sequence: connections pass
/// between threads through the pool.
#[test]
fn random_sequences_on_four_threads_sharing_a_session_keep_every_body_its_own() {
    each_seed(false, 8, |seed, base, _| {
        let mut dice = Dice::new(seed);
        let (session, limits) = session(&mut dice, None);
        std::thread::scope(|scope| {
            for thread in 0..4u64 {
                let session = &session;
                scope.spawn(move || {
                    let seed = seed * 10 + thread;
                    let mut dice = Dice::new(seed);
                    steps(session, &mut dice, base, seed);
                });
            }
        });
        assert!(session.idle_connections() <= limits.max_idle, "seed {seed}: the pool is over its limit");
        last_request(&session, &mut dice, base, seed);
    });
}

#[test]
fn random_sequences_of_open_responses_over_tls_keep_every_body_its_own() {
    each_seed(true, 12, run);
}
