//! Configuring a client: its session, concurrency limits and resolver, and whether it runs
//! its own event loop or lives in the caller's.

use std::io;
use std::ops::Range;
use std::sync::Arc;

use mio::{Poll, Registry};
use tidings_client::{ConcurrencyLimits, Session};

use crate::event_loop::Client;
use crate::resolver::{Resolver, SystemResolver};

/// Concurrency limits (renamed: one name, one meaning across the workspace).
#[deprecated(since = "0.2.0", note = "renamed ConcurrencyLimits (tidings_client::ConcurrencyLimits)")]
pub type Limits = ConcurrencyLimits;

/// Configures a [`Client`].
#[must_use]
pub struct ClientBuilder {
    session: Session,
    limits: ConcurrencyLimits,
    resolver: Arc<dyn Resolver>,
    resolver_threads: usize,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Client {
    /// A client with its own event loop and the default limits, configured by `session`
    /// (a `tidings_client::Session`, or a `tidings_std::Session`: the same settings).
    pub fn new(session: impl Into<Session>) -> io::Result<Client> {
        Client::builder(session).build()
    }

    /// Configures a client.
    pub fn builder(session: impl Into<Session>) -> ClientBuilder {
        ClientBuilder {
            session: session.into(),
            limits: ConcurrencyLimits::default(),
            resolver: Arc::new(SystemResolver),
            resolver_threads: 4,
        }
    }
}

impl ClientBuilder {
    /// Concurrency limits.
    pub fn limits(mut self, limits: ConcurrencyLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Requests in flight at once (at least 1: 0 is refused when the client is built).
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.limits.max_in_flight = max;
        self
    }

    /// Requests in flight at once to one host and port; each redirect hop counts against
    /// the host it goes to (at least 1: 0 is refused when the client is built).
    pub fn max_per_host(mut self, max: usize) -> Self {
        self.limits.max_per_host = max;
        self
    }

    /// The resolver names go through (the system's by default).
    pub fn resolver(mut self, resolver: impl Resolver) -> Self {
        self.resolver = Arc::new(resolver);
        self
    }

    /// Threads that run the resolver (default 4, started as lookups need them).
    pub fn resolver_threads(mut self, threads: usize) -> Self {
        self.resolver_threads = threads.max(1);
        self
    }

    /// A client that runs its own `mio::Poll` ([`Client::wait`], [`Client::wait_all`],
    /// [`Client::completions`]). Limits of 0 are refused (`InvalidInput`): they would queue
    /// every request for ever.
    pub fn build(self) -> io::Result<Client> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        self.build_on(Some(poll), registry, 0..usize::MAX)
    }

    /// A client living in the caller's event loop: it registers its sockets (and one
    /// waker) in `registry` with tokens from `tokens` — the first for the waker, one per
    /// connection after it. Hand it the events of those tokens with
    /// [`Client::handle_event`], sleep no longer than [`Client::poll_timeout`], and call
    /// [`Client::handle_timeout`].
    pub fn build_embedded(self, registry: &Registry, tokens: Range<usize>) -> io::Result<Client> {
        if tokens.len() < 2 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the token range needs at least two tokens"));
        }
        self.build_on(None, registry.try_clone()?, tokens)
    }

    fn build_on(self, poll: Option<Poll>, registry: Registry, tokens: Range<usize>) -> io::Result<Client> {
        let limits =
            self.limits.validate().map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error.to_string()))?;
        Client::assemble(self.session, limits, poll, registry, tokens, self.resolver, self.resolver_threads)
    }
}
