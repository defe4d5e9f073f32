//! The blocking transport's pool: the client layer's idle sets behind a mutex (threads share
//! a session), and its reuse rule applied on the way in and on the way out.
//!
//! A connection goes back only if the core keeps it alive and nothing arrived beyond its
//! response; taken out again, it must still be quiet — one non-blocking peek shows whether
//! the server wrote or closed meanwhile — and within its idle deadline.

use std::sync::Mutex;
use std::time::Instant;

use tidings_client::pool::{expire_idle, reuse_verdict, IdleSet};
use tidings_client::PoolKey;
use tidings_core::CloseReason;

use crate::conn::Conn;

#[derive(Default)]
pub(crate) struct Pool {
    idle: Mutex<IdleSet<Box<Conn>>>,
}

impl Pool {
    fn idle(&self) -> std::sync::MutexGuard<'_, IdleSet<Box<Conn>>> {
        // The idle set is consistent whatever a panicking thread did with it.
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The most recently returned usable connection for `key`, if any.
    pub(crate) fn take(&self, key: &PoolKey, now: Instant) -> Option<Box<Conn>> {
        loop {
            let (mut conn, _) = self.idle().take(key)?;
            conn.resume_at(now);
            expire_idle(&mut conn.core, now);
            let received = conn.received_while_idle();
            match reuse_verdict(&conn.core, received) {
                Ok(()) => {
                    log::debug!("reusing a connection to {}:{}", key.host(), key.port());
                    return Some(conn);
                }
                Err(reason) => log::debug!("dropping a pooled connection to {}:{}: {reason}", key.host(), key.port()),
            }
        }
    }

    /// Returns a connection whose response ended: kept if the reuse rule and the limits
    /// allow. Returns why the connection could not carry another request, if it could not.
    pub(crate) fn put(&self, mut conn: Box<Conn>) -> Option<CloseReason> {
        let received = conn.received();
        if let Err(reason) = reuse_verdict(&conn.core, received) {
            log::debug!("closing connection to {}:{}: {reason}", conn.key.host(), conn.key.port());
            return Some(reason);
        }
        let limits = conn.pool_limits;
        // The time of the connection's last read or write (its body's end): no clock read.
        let now = conn.now;
        if let Err(conn) = self.idle().put_own(conn, |conn| &conn.key, limits, now) {
            log::debug!("closing connection to {}:{}: the pool is full", conn.key.host(), conn.key.port());
        }
        None
    }

    /// Idle connections held now.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle().len()
    }
}
