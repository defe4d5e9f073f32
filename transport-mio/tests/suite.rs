//! The shared scenario suite of tidings-std (`transport-std/tests/scenarios/`) on
//! tidings-mio: every request goes through a `Client` (one per session, so pooling is
//! per session as with tidings-std) and its event loop.

#[path = "../../transport-std/tests/common/mod.rs"]
mod common;
#[path = "../../transport-std/tests/scenarios/mod.rs"]
mod scenarios;

/// The crate the scenarios take their types from: tidings-mio alone, no tidings-std.
use tidings_mio as api;

use std::cell::RefCell;

use scenarios::{Config, Transport};
use tidings_mio::Client;
use tidings_mio::{Error, PreparedRequest, RequestBuilder, Response};

/// One client per session.
#[derive(Default)]
struct EventLoop {
    clients: RefCell<Vec<(Config, Client)>>,
}

impl EventLoop {
    fn with_client<T>(&self, session: &Config, run: impl FnOnce(&mut Client) -> T) -> T {
        let mut clients = self.clients.borrow_mut();
        let index = match clients.iter().position(|(known, _)| known.ptr_eq(session)) {
            Some(index) => index,
            None => {
                let client = Client::new(session.clone()).expect("a mio poll");
                clients.push((session.clone(), client));
                clients.len() - 1
            }
        };
        run(&mut clients[index].1)
    }
}

impl Transport for EventLoop {
    fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        let session = request.session().clone();
        let prepared = request.build()?;
        self.send_prepared(&session, prepared)
    }

    fn send_prepared(&self, session: &Config, request: PreparedRequest) -> Result<Response, Error> {
        self.with_client(session, |client| {
            let id = client.send(request);
            client.wait(id)
        })
    }

    fn send_all(&self, requests: Vec<RequestBuilder>) -> Vec<Result<Response, Error>> {
        let Some(session) = requests.first().map(|request| request.session().clone()) else { return Vec::new() };
        self.with_client(&session, |client| {
            let ids: Vec<_> =
                requests.into_iter().map(|request| request.build().map(|request| client.send(request))).collect();
            ids.into_iter().map(|id| id.and_then(|id| client.wait(id))).collect()
        })
    }

    fn idle_connections(&self, session: &Config) -> usize {
        self.with_client(session, |client| client.idle_connections())
    }

    fn streams_bodies(&self) -> bool {
        false
    }
}

scenario_tests!(EventLoop::default());
