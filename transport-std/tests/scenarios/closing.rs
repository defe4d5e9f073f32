//! Redirect and retry hops whose previous connection the server closed (`Connection: close`,
//! or a close without a response): each hop opens a new connection, and every call still gets
//! its own answer — one at a time, and 64 calls in flight at once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::Transport;
use crate::api::{RequestBuilder, RetryPolicy, Session};
use crate::common::{Action, Server};

fn closing(status: &str, headers: &str, body: &str) -> Action {
    Action::RespondAndClose(
        format!("HTTP/1.1 {status}\r\n{headers}Connection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len())
            .into_bytes(),
    )
}

/// A server whose every answer closes its connection: `/hop/N/CODE` redirects with CODE to
/// `/hop/N-1/CODE` and `/hop/0/..` answers `done METHOD BODY`; `/cross/CODE` redirects to
/// `other`; `/flaky/I` closes without a word the first time, `/busy/I` answers 503 the first
/// time.
fn closing_server(other: String) -> Server {
    let seen = Arc::new(Mutex::new(HashSet::new()));
    Server::start(move |request, _| {
        let line = request.request_line().to_owned();
        let mut words = line.split(' ');
        let method = words.next().unwrap_or_default().to_owned();
        let path = words.next().unwrap_or_default().to_owned();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let first_time = seen.lock().expect("seen").insert(path.clone());
        match parts.as_slice() {
            ["hop", "0", _] => {
                closing("200 OK", "", &format!("done {method} {}", String::from_utf8_lossy(&request.body)))
            }
            ["hop", n, code] => {
                let next = n.parse::<u32>().unwrap_or(1) - 1;
                closing(&format!("{code} Moved"), &format!("Location: /hop/{next}/{code}\r\n"), "")
            }
            ["cross", code] => closing(&format!("{code} Moved"), &format!("Location: {other}\r\n"), ""),
            ["flaky", _] if first_time => Action::Close,
            ["busy", _] if first_time => closing("503 Busy", "", ""),
            _ => closing("200 OK", "", "done"),
        }
    })
}

/// The requests of one round, each with the body its final answer must have.
fn round(session: &Session, server: &Server, round: usize) -> Vec<(RequestBuilder, String)> {
    let mut requests = Vec::new();
    for code in ["301", "302", "307", "308"] {
        requests.push((session.get(&server.url(&format!("/hop/1/{code}"))), "done GET ".to_owned()));
        let expected = if matches!(code, "307" | "308") { "done POST payload" } else { "done GET " };
        let post = session.post(&server.url(&format!("/hop/1/{code}"))).body("payload");
        requests.push((post, expected.to_owned()));
        requests.push((session.get(&server.url(&format!("/cross/{code}"))), "other".to_owned()));
    }
    requests.push((session.get(&server.url("/hop/5/302")), "done GET ".to_owned()));
    requests.push((session.get(&server.url(&format!("/flaky/{round}"))), "done".to_owned()));
    requests.push((session.get(&server.url(&format!("/busy/{round}"))), "done".to_owned()));
    requests
}

pub fn redirect_and_retry_hops_on_closed_connections(t: &dyn Transport) {
    let other = Server::start(|_, _| closing("200 OK", "", "other"));
    let server = closing_server(other.url("/end"));
    let session = Session::builder().retries(RetryPolicy::new(2).status_forcelist([503])).build().expect("session");

    // One at a time.
    for (request, expected) in round(&session, &server, 0) {
        let response = t.send(request).unwrap_or_else(|error| panic!("{expected}: {error}"));
        assert_eq!(response.text().expect("text"), expected);
    }

    // 64 calls in flight: rounds of the same mix, each call its own answer.
    let mut all = Vec::new();
    let mut round_number = 1;
    while all.len() < 64 {
        all.extend(round(&session, &server, round_number));
        round_number += 1;
    }
    all.truncate(64);
    let (requests, expected): (Vec<RequestBuilder>, Vec<String>) = all.into_iter().unzip();
    let results = t.send_all(requests);
    assert_eq!(results.len(), 64);
    for (index, (result, expected)) in results.into_iter().zip(expected).enumerate() {
        let response = result.unwrap_or_else(|error| panic!("call {index} ({expected}): {error}"));
        assert_eq!(response.text().expect("text"), expected, "call {index}");
    }
    assert_eq!(t.idle_connections(&session), 0, "every connection was closed by the server");
}
