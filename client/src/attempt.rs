//! One attempt of a call, as a transport receives it: where to connect, what to write, under
//! which limits — and how an attempt that failed is reported back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;

use crate::error::Error;
use crate::pool::{PoolKey, PoolLimits};

/// What the next attempt needs: where to connect and what to write.
#[derive(Debug)]
pub struct Attempt {
    /// The pool key: the connection must match it exactly.
    pub key: PoolKey,
    /// The core's request, with the target form and headers its route needs.
    pub request: tidings_core::Request,
    /// A pooled connection must not be used (the stale-connection retry).
    pub fresh_connection: bool,
    /// The whole call's deadline, if it has one.
    pub deadline: Option<Instant>,
    /// The longest silence while sending or reading, for this attempt: give it to a pooled
    /// connection's core ([`Connection::set_read_timeouts`](tidings_core::Connection::set_read_timeouts))
    /// before the request.
    pub read_timeout: Option<Duration>,
    /// The core configuration for a new connection (its connect budget capped by the call's
    /// deadline).
    pub config: tidings_core::Config,
    /// The TLS configuration, for an `https` origin.
    pub tls: Option<Arc<ClientConfig>>,
    /// The TLS configuration of the connection to an `https://` proxy (the session's, or
    /// its `proxy_tls` settings), verified against the proxy's host name.
    pub proxy_tls: Option<Arc<ClientConfig>>,
    /// The idle limits for this key's connections when they go back to the pool.
    pub pool_limits: PoolLimits,
    /// The cap on the decoded body (`too_large` beyond it).
    pub max_body: u64,
    /// When the attempt was made (the `now` given to [`Call::attempt`](crate::call::Call::attempt)):
    /// a transport may start the exchange at it instead of reading its clock again.
    pub at: Instant,
}

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Resolving, connecting, a proxy tunnel or the TLS handshake: nothing reached the
    /// server, so any method may be sent again.
    Connect,
    /// Sending or waiting for the head. `stale_retry_safe` is the core's
    /// [`is_stale_retry_safe`](tidings_core::Connection::is_stale_retry_safe).
    Exchange {
        /// A pooled connection closed before any response byte.
        stale_retry_safe: bool,
    },
}

/// An attempt that failed: the error, and at which stage (which decides whether the call
/// may try again).
#[derive(Debug)]
pub struct AttemptError {
    /// What went wrong.
    pub error: Error,
    /// Where.
    pub failure: Failure,
}

impl AttemptError {
    /// A failure while connecting (resolve, connect, tunnel, TLS handshake).
    pub fn connect(error: Error) -> AttemptError {
        AttemptError { error, failure: Failure::Connect }
    }

    /// A failure while sending or before the head; `stale_retry_safe` as the core says.
    pub fn exchange(error: Error, stale_retry_safe: bool) -> AttemptError {
        AttemptError { error, failure: Failure::Exchange { stale_retry_safe } }
    }
}
