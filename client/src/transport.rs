//! The blocking transport a session sends through: a trait with one job — carry one attempt
//! of a call — so that `tidings-std`, a user's own transport (`examples/src/bin/embed.rs`),
//! an in-memory double for tests or a Unix socket can be mounted on a session (for all its
//! URLs, or on a prefix with a [`Profile`](crate::Profile)). The call around the attempts —
//! redirects, retries, auth challenges, cookies — is the client layer's, the same for all.

use std::time::{Duration, Instant, SystemTime};

use tidings_core::{Headers, ResponseHead};

use crate::attempt::{Attempt, AttemptError};
use crate::body::RequestBody;
use crate::response::ResponseBody;

/// Carries attempts over some I/O, blocking the caller's thread.
///
/// The client layer calls [`exchange`](Self::exchange) once per attempt, in order, and
/// decides everything around it; it reads no clock itself, so it asks the transport for the
/// time ([`now`](Self::now), [`wall_clock`](Self::wall_clock)) and to wait out a retry's
/// backoff ([`sleep`](Self::sleep)) — a test double may answer with a simulated clock.
pub trait Transport: Send + Sync + 'static {
    /// One attempt: take a pooled connection of exactly `attempt.key` (unless
    /// `attempt.fresh_connection`) or open one as the key says (through its proxy, with TLS
    /// for `https`), send `attempt.request` with `body`, and read until the final head.
    /// Interim (1xx) responses go in the result; the body stays to be read through
    /// [`Exchanged::body`].
    fn exchange(&self, attempt: Attempt, body: RequestBody<'_>) -> Result<Exchanged, AttemptError>;

    /// The monotonic time now (deadlines).
    fn now(&self) -> Instant;

    /// The wall-clock time now (cookie expiry, `Retry-After` dates).
    fn wall_clock(&self) -> SystemTime;

    /// Waits `duration` (a retry's backoff) before the next attempt.
    fn sleep(&self, duration: Duration);

    /// Idle connections in the transport's pool now.
    fn idle_connections(&self) -> usize {
        0
    }
}

/// An attempt that reached its final head.
pub struct Exchanged {
    /// The final head.
    pub head: ResponseHead,
    /// Interim responses before it, in order.
    pub informational: Vec<(u16, Headers)>,
    /// Whether the connection came from the pool.
    pub reused: bool,
    /// The body, still to be read.
    pub body: Box<dyn ResponseBody>,
}

impl std::fmt::Debug for Exchanged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchanged")
            .field("status", &self.head.status())
            .field("informational", &self.informational.len())
            .field("reused", &self.reused)
            .finish_non_exhaustive()
    }
}
