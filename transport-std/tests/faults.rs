//! Faults under load: 16 threads on one session against a server that fails a fixed share of
//! its answers (resets, closes mid-body, stalls past the read timeout, garbage). Every call
//! gets exactly its own answer or a typed error, none hangs past its deadline, and no file
//! descriptor outlives the session.
#![cfg(target_os = "linux")]

mod common;

use std::time::{Duration, Instant};

use common::faults::{check, faulty_server, open_fds, settle_fds};
use tidings_std::Session;

const CALLS: usize = 192;
const THREADS: usize = 16;

#[test]
fn faults_under_load_fail_only_their_own_calls() {
    let server = faulty_server();
    let baseline = open_fds();
    let session = Session::builder().read_timeout(Duration::from_millis(300)).build().expect("session");
    let started = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (session, base) = (session.clone(), server.url("/call"));
            std::thread::spawn(move || {
                (thread..CALLS)
                    .step_by(THREADS)
                    .map(|n| {
                        let begun = Instant::now();
                        let outcome = session
                            .get(&format!("{base}/{n}"))
                            .send()
                            .and_then(|response| response.text())
                            .map_err(|error| error.kind().as_str());
                        (n, outcome, begun.elapsed())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seen = 0;
    for thread in threads {
        for (n, outcome, elapsed) in thread.join().expect("no panic") {
            check(n, outcome);
            // A stalled call ends at its read deadline (and one stale retry at most).
            assert!(elapsed < Duration::from_secs(3), "call {n} took {elapsed:?}");
            seen += 1;
        }
    }
    assert_eq!(seen, CALLS);
    assert!(started.elapsed() < Duration::from_secs(30), "bounded: {:?}", started.elapsed());
    drop(session);
    let settled = settle_fds(baseline);
    assert!(settled <= baseline, "descriptors leaked: {settled} open, {baseline} before");
}
