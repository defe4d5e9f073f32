//! The client's own event loop: waiting for readiness and deadlines on its `mio::Poll`
//! until the completions a caller waits for arrive.

use std::io;
use std::time::Instant;

use mio::Events;
use tidings_client::{Error, ErrorKind, Response};

use crate::completion::{Completion, RequestId};
use crate::event_loop::Client;

impl Client {
    /// A completion that is ready, without waiting.
    pub fn try_completion(&mut self) -> Option<Completion> {
        self.completions.pop_front()
    }

    /// Runs the loop until `id` completes, and returns its result (other completions are
    /// kept for later).
    pub fn wait(&mut self, id: RequestId) -> Result<Response, Error> {
        loop {
            if let Some(position) = self.completions.iter().position(|completion| completion.id == id) {
                if let Some(completion) = self.completions.remove(position) {
                    return completion.result;
                }
            }
            if !self.tasks.contains(id.0) {
                return Err(Error::new(ErrorKind::InvalidRequest, format!("no pending request {}", id.0)));
            }
            self.turn(None)?;
        }
    }

    /// Whether a request has not completed yet (a streamed body still arriving does not
    /// count: its request completed with its head).
    fn unfinished(&self) -> bool {
        self.tasks.ids().any(|id| !self.streams.contains(id))
    }

    /// Runs the loop until every request has completed; returns every completion not yet
    /// taken, in the order they finished. Streamed bodies are read with [`read`](Self::read).
    pub fn wait_all(&mut self) -> Result<Vec<Completion>, Error> {
        while self.unfinished() {
            self.turn(None)?;
        }
        Ok(self.completions.drain(..).collect())
    }

    /// Completions as they finish, running the loop between them, until every request
    /// has completed or `deadline` passes.
    pub fn completions(&mut self, deadline: Option<Instant>) -> Completions<'_> {
        Completions { client: self, deadline }
    }

    /// One turn of the client's own loop: wait for readiness (until the next deadline or
    /// `limit`), handle it, fire passed deadlines.
    pub(crate) fn turn(&mut self, limit: Option<Instant>) -> Result<(), Error> {
        let Some(mut poll) = self.poll.take() else {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "this client lives in the caller's event loop: drive it with handle_event and handle_timeout",
            ));
        };
        let now = Instant::now();
        let wake = [self.poll_timeout(), limit].into_iter().flatten().min();
        let timeout = wake.map(|wake| wake.saturating_duration_since(now));
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        let result = poll.poll(&mut events, timeout);
        self.poll = Some(poll);
        match result {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                self.events = events;
                return Err(Error::io(ErrorKind::Connect, "the event loop failed while waiting for readiness", error));
            }
        }
        for event in events.iter() {
            self.ready(event.token(), event.is_read_closed() || event.is_error());
        }
        self.events = events;
        self.handle_timeout(Instant::now());
        Ok(())
    }
}

/// Completions as they finish (from [`Client::completions`]).
#[derive(Debug)]
pub struct Completions<'a> {
    client: &'a mut Client,
    deadline: Option<Instant>,
}

impl Iterator for Completions<'_> {
    type Item = Completion;

    fn next(&mut self) -> Option<Completion> {
        loop {
            if let Some(completion) = self.client.completions.pop_front() {
                return Some(completion);
            }
            if !self.client.unfinished() || self.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return None;
            }
            if self.client.turn(self.deadline).is_err() {
                return None;
            }
        }
    }
}
