//! Faults under load on tidings-mio, in a binary of its own: it counts the process's file
//! descriptors, which other tests running beside it would disturb.
#![cfg(target_os = "linux")]

#[path = "../../transport-std/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::faults::{check, faulty_server, open_fds, settle_fds};
use tidings_mio::{Client, Session};

/// Faults under load: 64 calls in flight against a server that fails a fixed share of its
/// answers. Every call gets exactly its own answer or a typed error, nothing hangs past its
/// deadline, no buffer is left held, and no file descriptor outlives the client.
#[test]
fn faults_under_load_fail_only_their_own_calls() {
    let server = faulty_server();
    let baseline = open_fds();
    let session = Session::builder().read_timeout(Duration::from_millis(300)).build().expect("session");
    let mut client = Client::builder(session).max_in_flight(64).max_per_host(64).build().expect("client");
    let started = Instant::now();
    let mut sent = HashMap::new();
    for n in 0..192 {
        let id = client.send(client.get(&server.url(&format!("/call/{n}"))).build().expect("request"));
        sent.insert(id, n);
    }
    let completions = client.wait_all().expect("loop");
    assert_eq!(completions.len(), sent.len(), "every call completed once");
    for completion in completions {
        let n = sent.remove(&completion.id).expect("a call completed twice, or one never sent");
        let outcome = completion.result.and_then(|response| response.text()).map_err(|error| error.kind().as_str());
        check(n, outcome);
    }
    assert!(started.elapsed() < Duration::from_secs(20), "bounded: {:?}", started.elapsed());
    assert_eq!((client.pending(), client.in_flight()), (0, 0));
    assert_eq!(client.body_buffer_bytes(), 0, "no body is held for a finished call");
    assert_eq!(client.open_connections(), client.idle_connections(), "only idle connections stay open");
    drop(client);
    let settled = settle_fds(baseline);
    assert!(settled <= baseline, "descriptors leaked: {settled} open, {baseline} before");
}
