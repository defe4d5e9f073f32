//! The shared scenario suite (`scenarios/`) on tidings-std: blocking calls, bodies read
//! from the connection on demand.

mod common;
mod scenarios;

/// The crate the scenarios take their types from.
use tidings_std as api;

use scenarios::{Config, Transport};
use tidings_std::{Error, PreparedRequest, RequestBuilder, Response};

struct Blocking;

impl Transport for Blocking {
    fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        request.send()
    }

    fn send_prepared(&self, session: &Config, request: PreparedRequest) -> Result<Response, Error> {
        session.send(request)
    }

    fn send_all(&self, requests: Vec<RequestBuilder>) -> Vec<Result<Response, Error>> {
        // One thread per call, all on the same session (and pool).
        let threads: Vec<_> = requests.into_iter().map(|request| std::thread::spawn(move || request.send())).collect();
        threads.into_iter().map(|thread| thread.join().expect("no panic")).collect()
    }

    fn idle_connections(&self, session: &Config) -> usize {
        session.idle_connections()
    }

    fn get(&self, url: &str) -> Result<Response, Error> {
        tidings_std::get(url)
    }

    fn streams_bodies(&self) -> bool {
        true
    }
}

scenario_tests!(Blocking);
