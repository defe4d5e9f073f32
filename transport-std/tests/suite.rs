//! The shared scenario suite (`scenarios/`) on tidings-std: blocking calls, bodies read
//! from the connection on demand.

mod common;
mod scenarios;

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
