//! The reuse rule (tidings-client's `pool::reuse_verdict`, on every transport): a connection
//! carries another request only if nothing arrived beyond its last response. Bytes past a
//! response's end — a second, unsolicited response; a body after HEAD or 204 — or bytes a
//! server writes to an idle connection must never be read as the next request's response
//! (response smuggling, desync).

use std::time::Duration;

use super::{SendWith, Transport};
use crate::api::{Session, StatusCode};
use crate::common::{ok, Action, Recorded, Server};

const INJECTED: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected";

/// Two requests on one session: the second must get its own answer ("fresh"), on a new
/// connection, whatever the first connection carried after its response.
fn second_request_gets_its_own_response(t: &dyn Transport, server: &Server, session: &Session) {
    let second = session.get(&server.url("/second")).send_with(t).expect("second");
    assert!(!second.reused_connection(), "the poisoned connection is not reused");
    assert_eq!(second.text().expect("text"), "fresh");
    assert_eq!(server.connection_count(), 2);
}

fn fresh_after(first: impl Fn(&Recorded) -> Action + Send + Sync + 'static) -> Server {
    Server::start(move |request, index| if index == 0 { first(request) } else { Action::Respond(ok("fresh")) })
}

pub fn an_unsolicited_second_response_is_never_read_as_the_next(t: &dyn Transport) {
    let server = fresh_after(|_| Action::Respond([ok("first"), INJECTED.to_vec()].concat()));
    let session = Session::new();
    let mut first = session.get(&server.url("/first")).send_with(t).expect("first");
    assert_eq!(first.read_body().expect("body"), b"first");
    assert_eq!(first.close_reason().map(|reason| reason.as_str()), Some("unsolicited_data"));
    assert_eq!(t.idle_connections(&session), 0);
    second_request_gets_its_own_response(t, &server, &session);
}

pub fn a_body_after_a_response_to_head_closes_the_connection(t: &dyn Transport) {
    let server = fresh_after(|request| {
        assert!(request.request_line().starts_with("HEAD "));
        Action::Respond(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec())
    });
    let session = Session::new();
    let head = session.head(&server.url("/first")).send_with(t).expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.bytes().expect("no body"), b"");
    second_request_gets_its_own_response(t, &server, &session);
}

pub fn a_body_after_a_204_closes_the_connection(t: &dyn Transport) {
    let server =
        fresh_after(|_| Action::Respond(b"HTTP/1.1 204 No Content\r\n\r\njunkHTTP/1.1 200 OK\r\n\r\n".to_vec()));
    let session = Session::new();
    let first = session.get(&server.url("/first")).send_with(t).expect("204");
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(first.bytes().expect("no body"), b"");
    second_request_gets_its_own_response(t, &server, &session);
}

pub fn bytes_written_to_an_idle_connection_discard_it(t: &dyn Transport) {
    let server = fresh_after(|_| Action::RespondThenLater(ok("first"), Duration::from_millis(50), INJECTED.to_vec()));
    let session = Session::new();
    let first = session.get(&server.url("/first")).send_with(t).expect("first");
    assert_eq!(first.text().expect("text"), "first");
    // The injected response reaches the pooled connection while it sits idle.
    std::thread::sleep(Duration::from_millis(200));
    second_request_gets_its_own_response(t, &server, &session);
}
