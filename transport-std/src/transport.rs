//! The blocking transport: one attempt at a time on the caller's thread — a pooled
//! connection or a new one, the request written, the response read up to its final head —
//! for the client layer's call, which decides everything around it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tidings_client::{Attempt, AttemptError, Exchanged, RequestBody, Transport};

use crate::body::BodyReader;
use crate::conn::{BodySource, Conn};
use crate::pool::Pool;

/// `tidings-std`'s [`Transport`]: blocking sockets on the caller's thread, rustls for TLS,
/// socket timeouts from the core's deadlines, and a pool of kept-alive connections shared by
/// every clone of the session that holds it. [`Session`](crate::Session) mounts one of its
/// own; mount another (on a prefix, with a [`Profile`](tidings_client::Profile)) to give
/// those URLs a separate pool.
#[derive(Default, Clone)]
pub struct BlockingTransport {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for BlockingTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingTransport").field("idle_connections", &self.pool.idle_count()).finish()
    }
}

impl BlockingTransport {
    /// A transport with an empty pool.
    pub fn new() -> BlockingTransport {
        BlockingTransport::default()
    }
}

impl Transport for BlockingTransport {
    fn exchange(&self, attempt: Attempt, body: RequestBody<'_>) -> Result<Exchanged, AttemptError> {
        let pooled = if attempt.fresh_connection { None } else { self.pool.take(&attempt.key, attempt.at) };
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => Conn::open(attempt.key, attempt.config, attempt.tls, attempt.proxy_tls, attempt.at)
                .map_err(AttemptError::connect)?,
        };
        conn.pool_limits = attempt.pool_limits;
        // A pooled connection takes this request's read timeout.
        conn.core.set_read_timeouts(attempt.read_timeout, attempt.read_timeout);
        let mut source = match body {
            RequestBody::Empty => BodySource::Empty,
            RequestBody::Bytes(bytes) => BodySource::Bytes(bytes, 0),
            RequestBody::Reader(reader) => BodySource::Reader(reader, vec![0; 16 * 1024]),
        };
        match conn.exchange(&attempt.request, &mut source, attempt.deadline) {
            Ok(head) => {
                let body = BodyReader::new(self.pool.clone(), conn, &head.head, attempt.max_body);
                Ok(Exchanged { head: head.head, informational: head.informational, reused, body: Box::new(body) })
            }
            Err(error) => {
                let stale_retry_safe = reused && conn.core.is_stale_retry_safe();
                Err(AttemptError::exchange(error, stale_retry_safe))
            }
        }
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall_clock(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn idle_connections(&self) -> usize {
        self.pool.idle_count()
    }
}
