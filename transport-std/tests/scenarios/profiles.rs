//! Profiles mounted on URL prefixes (Requests' `session.mount`), honoured by every transport:
//! retries, headers and pool limits per prefix, the longest prefix winning.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{SendWith, Transport};
use crate::api::{PoolLimits, Profile, RetryPolicy, Session};
use crate::common::{ok, Action, Server};

pub fn mounted_profiles_apply_per_prefix(t: &dyn Transport) {
    let failures = Arc::new(AtomicUsize::new(0));
    let counter = failures.clone();
    let server = Server::start(move |request, _| {
        let path = request.request_line().split(' ').nth(1).unwrap_or_default().to_owned();
        if path.starts_with("/api/") && counter.fetch_add(1, Ordering::SeqCst) < 2 {
            return Action::Respond(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n".to_vec());
        }
        if path.starts_with("/other") {
            return Action::Respond(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n".to_vec());
        }
        Action::Respond(ok("fine"))
    });
    let session = Session::builder()
        .mount(
            server.url("/api/"),
            Profile::new().retries(RetryPolicy::new(2).status_forcelist([503])).header("X-Api", "1"),
        )
        .mount(server.url("/nopool/"), Profile::new().pool_limits(PoolLimits { max_idle_per_host: 0, max_idle: 0 }))
        .build()
        .expect("session");

    let api = session.get(&server.url("/api/x")).send_with(t).expect("api");
    assert_eq!(api.attempts(), 3, "the /api/ profile retries");
    assert_eq!(api.text().expect("text"), "fine");
    let other = session.get(&server.url("/other")).send_with(t).expect("other");
    assert_eq!((other.status().as_u16(), other.attempts()), (503, 1), "no retries outside the prefix");
    other.bytes().expect("body");
    let recorded = server.recorded();
    assert!(recorded[..3].iter().all(|request| request.header("x-api").as_deref() == Some("1")));
    assert_eq!(recorded[3].header("x-api"), None);

    assert_eq!(t.idle_connections(&session), 1);
    let unpooled = session.get(&server.url("/nopool/a")).send_with(t).expect("nopool");
    assert_eq!(unpooled.text().expect("text"), "fine");
    assert_eq!(t.idle_connections(&session), 0, "the /nopool/ profile keeps no idle connection");
}
