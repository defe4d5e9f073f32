//! The client's connections: slots (a slot is a connection's mio token), each holding one
//! connection or nothing, and the idle ones in the client layer's pool bookkeeping, reused
//! only as its reuse rule allows.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use mio::{Registry, Token};
use rustls::ClientConfig;
use tidings_client::pool::{expire_idle, reuse_verdict, IdleSet};
use tidings_client::{PoolKey, PoolLimits};
use tidings_core::{CloseReason, Config, Connection};

use crate::conn::Conn;
use crate::timers::{Timer, Timers};

pub(crate) struct Connections {
    /// Boxed: a `Conn` is over a kilobyte, and a slot table grown by doubling holds up to
    /// twice as many places as connections, each the size of a `Conn` if unboxed.
    conns: Vec<Option<Box<Conn>>>,
    free: Vec<usize>,
    serial: u64,
    idle: IdleSet<usize>,
    /// The client's tokens: the first is the resolver's waker, then one per slot.
    tokens: Range<usize>,
}

/// How a released connection ended up.
pub(crate) enum Released {
    /// Idle in the pool.
    Pooled,
    /// Closed: it could not carry another request (the reason), or the pool was full (none).
    Closed(Option<CloseReason>),
}

impl Connections {
    pub(crate) fn new(tokens: Range<usize>) -> Connections {
        Connections { conns: Vec::new(), free: Vec::new(), serial: 0, idle: IdleSet::default(), tokens }
    }

    pub(crate) fn get(&self, slot: usize) -> Option<&Conn> {
        self.conns.get(slot).and_then(Option::as_deref)
    }

    pub(crate) fn get_mut(&mut self, slot: usize) -> Option<&mut Conn> {
        self.conns.get_mut(slot).and_then(Option::as_deref_mut)
    }

    /// The connection in `slot` if it is still the one with `serial`.
    pub(crate) fn current(&mut self, slot: usize, serial: u64) -> Option<&mut Conn> {
        self.get_mut(slot).filter(|conn| conn.serial == serial)
    }

    /// The slot a token of a connection names.
    pub(crate) fn slot_of(&self, token: Token) -> Option<usize> {
        (self.tokens.contains(&token.0) && token.0 > self.tokens.start).then(|| token.0 - self.tokens.start - 1)
    }

    /// A new connection for `task`, to be set up; returns its slot.
    pub(crate) fn open(
        &mut self,
        key: PoolKey,
        config: Config,
        tls: Option<Arc<ClientConfig>>,
        pool_limits: PoolLimits,
        task: u64,
        now: Instant,
    ) -> usize {
        self.serial += 1;
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        let token = Token(self.tokens.start.saturating_add(1).saturating_add(slot));
        let mut conn = Conn::new(key, token, self.serial, Connection::connecting(config, now));
        conn.task = Some(task);
        conn.tls_config = tls;
        conn.pool_limits = pool_limits;
        self.conns[slot] = Some(Box::new(conn));
        slot
    }

    /// Whether the connection's token lies within the client's range.
    pub(crate) fn has_token(&self, slot: usize) -> bool {
        self.get(slot).is_some_and(|conn| self.tokens.contains(&conn.token.0))
    }

    /// Closes the connection in `slot` (never pooled again), with its sockets and timer.
    pub(crate) fn close(&mut self, slot: usize, registry: &Registry, timers: &mut Timers) {
        let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) else { return };
        conn.core.abort();
        conn.close_socket(registry);
        timers.reset(Timer::Conn { slot, serial: conn.serial }, conn.timer.take(), None);
        if conn.pooled {
            // A scan of that host's idle list: only for a connection that is in it.
            self.idle.remove(&conn.key, |idle| *idle == slot);
        }
        self.free.push(slot);
    }

    /// Closes every connection (the client is going away): the idle sets are emptied first,
    /// so this is linear in the connections, not quadratic.
    pub(crate) fn close_all(&mut self, registry: &Registry, timers: &mut Timers) {
        let idle: Vec<usize> = self.idle.drain().collect();
        for slot in idle {
            if let Some(conn) = self.get_mut(slot) {
                conn.pooled = false;
            }
        }
        for slot in self.slots() {
            self.close(slot, registry, timers);
        }
    }

    /// The most recently pooled connection for `key` that the reuse rule still allows
    /// (idle deadline not passed; nothing arrived, nor a close, while it was idle); the
    /// others found on the way are closed.
    pub(crate) fn take_idle(
        &mut self,
        key: &PoolKey,
        now: Instant,
        registry: &Registry,
        timers: &mut Timers,
    ) -> Option<usize> {
        loop {
            let (slot, _) = self.idle.take(key)?;
            let Some(conn) = self.get_mut(slot) else { continue };
            conn.pooled = false;
            expire_idle(&mut conn.core, now);
            let arrived = conn.arrived_while_idle();
            match reuse_verdict(&conn.core, arrived) {
                Ok(()) => {
                    log::debug!("reusing a connection to {}:{}", key.host(), key.port());
                    return Some(slot);
                }
                Err(reason) => {
                    log::debug!("dropping a pooled connection to {}:{}: {reason}", key.host(), key.port());
                    self.close(slot, registry, timers);
                }
            }
        }
    }

    /// A connection whose exchange ended (or that was set up for a task now gone): pooled
    /// if the reuse rule and the limits allow, else closed.
    pub(crate) fn release(&mut self, slot: usize, now: Instant, registry: &Registry, timers: &mut Timers) -> Released {
        let Some(conn) = self.get_mut(slot) else { return Released::Closed(None) };
        conn.task = None;
        let arrived = conn.arrived();
        if let Err(reason) = reuse_verdict(&conn.core, arrived) {
            log::debug!("closing connection to {}:{}: {reason}", conn.key.host(), conn.key.port());
            self.close(slot, registry, timers);
            return Released::Closed(Some(reason));
        }
        // The slot table and the idle set are borrowed apart, so the key is not copied.
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_deref_mut) else {
            return Released::Closed(None);
        };
        if self.idle.put(&conn.key, slot, conn.pool_limits, now).is_err() {
            log::debug!("closing connection to {}:{}: the pool is full", conn.key.host(), conn.key.port());
            self.close(slot, registry, timers);
            return Released::Closed(None);
        }
        conn.pooled = true;
        Released::Pooled
    }

    /// Connections open now (busy, idle or being set up).
    pub(crate) fn open_count(&self) -> usize {
        self.conns.iter().flatten().count()
    }

    /// Idle connections in the pool.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.len()
    }

    /// Buffer bytes held by open connections.
    pub(crate) fn buffer_bytes(&self) -> usize {
        self.conns.iter().flatten().map(|conn| conn.buffered_capacity()).sum()
    }

    /// Every slot that may hold a connection.
    pub(crate) fn slots(&self) -> Range<usize> {
        0..self.conns.len()
    }
}
