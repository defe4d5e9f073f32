//! Idle kept-alive connections, keyed by everything that makes two connections
//! interchangeable: scheme, host, port, proxy and the full TLS identity.
//!
//! Last in, first out (the most recently used connection is the least likely to have been
//! closed by the server). Idle connections expire on the core's idle deadline; one idle for
//! more than a second is checked before reuse.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::conn::Conn;

/// What must match for a pooled connection to carry a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The TLS configuration's identity (its address while the session holds it), so
    /// verified and unverified traffic, or different roots or client certificates, never
    /// share a connection.
    pub(crate) tls: Option<usize>,
    /// The proxy the connection goes through (with its credentials): a plain connection to
    /// it for `http://`, a CONNECT tunnel for `https://`.
    pub(crate) proxy: Option<tidings_core::proxy::Proxy>,
}

impl PoolKey {
    /// Whether the connection speaks TLS to the origin.
    pub fn https(&self) -> bool {
        self.https
    }

    /// The origin's host (a bracketed IPv6 literal stays bracketed).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The origin's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The proxy the connection goes through, if any.
    pub fn proxy(&self) -> Option<&tidings_core::proxy::Proxy> {
        self.proxy.as_ref()
    }

    /// Where the socket connects: the proxy when there is one, else the origin.
    pub fn socket_address(&self) -> (&str, u16) {
        match &self.proxy {
            Some(proxy) => (proxy.host(), proxy.port()),
            None => (self.host.as_str(), self.port),
        }
    }

    /// Whether the connection is a `CONNECT` tunnel through the proxy (HTTPS through a
    /// proxy); plain HTTP through a proxy is forwarded in absolute form instead.
    pub fn tunnels(&self) -> bool {
        self.https && self.proxy.is_some()
    }
}

/// Limits on idle connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLimits {
    /// Idle connections kept per key (default 16).
    pub max_idle_per_host: usize,
    /// Idle connections kept in all (default 256).
    pub max_idle: usize,
}

impl Default for PoolLimits {
    fn default() -> Self {
        PoolLimits { max_idle_per_host: 16, max_idle: 256 }
    }
}

/// Connections idle for longer than this are probed before reuse.
const PROBE_AFTER: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<Idle>,
}

#[derive(Default)]
struct Idle {
    by_key: HashMap<PoolKey, Vec<Conn>>,
    count: usize,
}

impl Pool {
    /// The most recently returned usable connection for `key`, if any.
    pub(crate) fn take(&self, key: &PoolKey) -> Option<Conn> {
        loop {
            let mut conn = {
                let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let conn = idle.by_key.get_mut(key)?.pop()?;
                idle.count -= 1;
                conn
            };
            let now = Instant::now();
            // The core closes a connection whose idle deadline passed.
            let _ = conn.core.handle_timeout(now);
            let waited = conn.idle_since.map_or(Duration::ZERO, |since| now - since);
            if conn.core.is_idle() && (waited < PROBE_AFTER || conn.looks_alive()) {
                log::debug!("reusing a connection to {}:{}", key.host, key.port);
                conn.idle_since = None;
                return Some(conn);
            }
            log::debug!("dropping a stale pooled connection to {}:{}", key.host, key.port);
        }
    }

    /// Returns a connection after its response ended; kept only if the core says it can
    /// carry another request and the limits allow.
    pub(crate) fn put(&self, mut conn: Conn, limits: PoolLimits) {
        if !conn.core.is_idle() {
            log::debug!("closing connection to {}:{}: {:?}", conn.key.host, conn.key.port, conn.core.close_reason());
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.count >= limits.max_idle {
            return;
        }
        let slot = idle.by_key.entry(conn.key.clone()).or_default();
        if slot.len() >= limits.max_idle_per_host {
            return;
        }
        conn.idle_since = Some(Instant::now());
        slot.push(conn);
        idle.count += 1;
    }

    /// Idle connections held now.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).count
    }
}
