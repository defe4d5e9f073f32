//! The pool's bookkeeping, the same for every transport: what makes two connections
//! interchangeable (the key), the idle sets with their limits, and **the one rule** for
//! whether a connection may carry another request.
//!
//! A transport keeps its connections however it likes (`tidings-std` in a mutex shared by
//! threads, `tidings-mio` in slots of its event loop) and calls [`reuse_verdict`] when a
//! response ends and again when it takes an idle connection out: a connection is reused only
//! if the core says it may be kept alive *and* nothing arrived beyond the response — any byte
//! past its end (a second, unsolicited response; body bytes after a response to HEAD, a 204
//! or a 304) or the peer's close makes it unusable, so one response can never answer another
//! request (response smuggling, desync).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;
use tidings_core::proxy::ProxyKind;
use tidings_core::socks::SocksVersion;

use tidings_core::{BodyLength, CloseReason, Connection, Framing};

thread_local! {
    static LAST_HOST: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// `host` as a pool key holds it. Every attempt makes a key, nearly always for the host the
/// thread made its last one for: that one is shared (a count goes up) instead of copying the
/// name into a new allocation each time.
pub(crate) fn shared_host(host: &str) -> Arc<str> {
    LAST_HOST.with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return Arc::from(host);
        };
        match last.as_ref() {
            Some(shared) if **shared == *host => shared.clone(),
            _ => last.insert(Arc::from(host)).clone(),
        }
    })
}

/// What must match for a pooled connection to carry a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub(crate) https: bool,
    /// Shared, not copied per attempt: see [`shared_host`].
    pub(crate) host: Arc<str>,
    pub(crate) port: u16,
    /// The TLS configuration's identity (its address while the session holds it), so
    /// verified and unverified traffic, or different roots or client certificates, never
    /// share a connection.
    pub(crate) tls: Option<usize>,
    /// The proxy the connection goes through (with its credentials): for an HTTP proxy, a
    /// plain connection to it for `http://` and a CONNECT tunnel for `https://`; for a
    /// SOCKS proxy, a SOCKS tunnel for both.
    pub(crate) proxy: Option<tidings_core::proxy::Proxy>,
    /// For an `https://` proxy, the identity of the TLS configuration the connection to it
    /// uses.
    pub(crate) proxy_tls: Option<usize>,
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
            None => (&*self.host, self.port),
        }
    }

    /// Whether the connection is a `CONNECT` tunnel through an HTTP proxy (HTTPS through
    /// it); plain HTTP through it is forwarded in absolute form instead.
    pub fn tunnels(&self) -> bool {
        self.https && self.proxy.as_ref().is_some_and(|proxy| proxy.kind().is_http())
    }

    /// Whether the connection to the proxy itself runs TLS (an `https://` proxy).
    pub fn proxy_over_tls(&self) -> bool {
        self.proxy.as_ref().is_some_and(|proxy| proxy.kind() == ProxyKind::Https)
    }

    /// The SOCKS dialect of the tunnel the connection goes through, for every scheme.
    pub fn socks(&self) -> Option<SocksVersion> {
        match self.proxy.as_ref().map(tidings_core::proxy::Proxy::kind) {
            Some(ProxyKind::Socks(version)) => Some(version),
            _ => None,
        }
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

/// What a transport knows of a connection's receiving side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    /// Bytes arrived that the core has not consumed (plaintext in the read buffer, or
    /// ciphertext waiting in the TLS layer).
    pub unconsumed: bool,
    /// The peer closed its side (or reset it), as far as the transport has seen.
    pub peer_closed: bool,
}

/// The reuse rule: `Ok(())` when the connection may carry another request, else why not.
///
/// Call it when a response has ended (before pooling the connection) and when taking an idle
/// connection out of the pool (after [`expire_idle`]). The core must say the connection is
/// idle and kept alive (RFC 9112 §9.3); then any byte beyond the response, or the peer's
/// close, ends it — bytes nobody asked for are never read as the next request's response.
pub fn reuse_verdict(core: &Connection, received: Received) -> Result<(), CloseReason> {
    if !core.is_idle() {
        return Err(core.close_reason().unwrap_or(CloseReason::Aborted));
    }
    if received.unconsumed {
        return Err(CloseReason::UnsolicitedData);
    }
    if received.peer_closed {
        return Err(CloseReason::PeerClosed);
    }
    Ok(())
}

/// Hands `now` to an idle connection's core, which closes it once its idle deadline passed.
pub fn expire_idle(core: &mut Connection, now: Instant) {
    // An idle connection's only deadline is its idle one; its expiry is no error.
    let _ = core.handle_timeout(now);
}

/// Bodies of redirects and retried responses at most this long are read off so the
/// connection can be reused; a longer or unknown one costs more than a new connection.
pub const DRAIN_AT_MOST: u64 = 64 * 1024;

/// Whether a response the call drops (a redirect hop, a retried status) is read off to keep
/// its connection, or the connection is closed instead. Its body is never content-decoded.
pub fn drain_before_reuse(framing: Option<Framing>) -> bool {
    match framing.map(|framing| framing.length) {
        Some(BodyLength::Empty) => true,
        Some(BodyLength::ContentLength(length)) => length <= DRAIN_AT_MOST,
        _ => false,
    }
}

/// Idle connections (or whatever a transport keeps for them: `tidings-mio` keeps slot
/// numbers) by key, most recently returned last, within [`PoolLimits`]. Each key's list is a
/// deque: reuse takes the newest from the back, and the ones that leave on their own (expired,
/// or closed by the server) are mostly the oldest, found first from the front and taken out
/// without shifting the rest.
///
/// The lists are found by key with foldhash, not the standard library's SipHash: a lookup
/// happens twice per request, SipHash cost ~590 instructions each on a pool key, foldhash a
/// fraction of that. Its weaker resistance to chosen collisions costs little here: the map
/// holds at most about twice `max_idle` keys (see [`IdleSet::put`]), so even a worst case
/// stays a short scan.
#[derive(Debug)]
pub struct IdleSet<T> {
    by_key: HashMap<PoolKey, VecDeque<Idle<T>>, foldhash::fast::RandomState>,
    count: usize,
}

#[derive(Debug)]
struct Idle<T> {
    item: T,
    since: Instant,
}

impl<T> Default for IdleSet<T> {
    fn default() -> Self {
        IdleSet { by_key: HashMap::default(), count: 0 }
    }
}

impl<T> IdleSet<T> {
    /// Keeps `item` for `key` from `now`, unless `limits` are reached: then it comes back
    /// (to be closed).
    ///
    /// A key whose items have all been taken keeps its (empty) list, so the next `put` for
    /// that host allocates nothing; once the map holds twice `max_idle` keys, the empty lists
    /// go, so a client that visits many hosts keeps lists for at most that many.
    pub fn put(&mut self, key: &PoolKey, item: T, limits: PoolLimits, now: Instant) -> Result<(), T> {
        if self.count >= limits.max_idle || limits.max_idle_per_host == 0 {
            return Err(item);
        }
        let idle = match self.by_key.get_mut(key) {
            Some(idle) => idle,
            None => {
                if self.by_key.len() >= limits.max_idle.saturating_mul(2) {
                    self.by_key.retain(|_, idle| !idle.is_empty());
                }
                self.by_key.entry(key.clone()).or_default()
            }
        };
        if idle.len() >= limits.max_idle_per_host {
            return Err(item);
        }
        idle.push_back(Idle { item, since: now });
        self.count += 1;
        Ok(())
    }

    /// [`put`](Self::put) for an item that holds its own key (`key_of` finds it): the key is
    /// copied only when its host gets a new list.
    pub fn put_own(
        &mut self,
        item: T,
        key_of: impl Fn(&T) -> &PoolKey,
        limits: PoolLimits,
        now: Instant,
    ) -> Result<(), T> {
        let Some(idle) = self.by_key.get_mut(key_of(&item)) else {
            let key = key_of(&item).clone();
            return self.put(&key, item, limits, now);
        };
        // `max_idle_per_host == 0` refuses here too: no list is shorter than 0.
        if self.count >= limits.max_idle || idle.len() >= limits.max_idle_per_host {
            return Err(item);
        }
        idle.push_back(Idle { item, since: now });
        self.count += 1;
        Ok(())
    }

    /// The most recently returned item for `key` (the least likely to have been closed by
    /// the server), with when it went idle.
    pub fn take(&mut self, key: &PoolKey) -> Option<(T, Instant)> {
        let idle = self.by_key.get_mut(key)?.pop_back()?;
        self.count -= 1;
        Some((idle.item, idle.since))
    }

    /// Takes out the item for `key` that `matches` picks, if it is idle.
    pub fn remove(&mut self, key: &PoolKey, matches: impl Fn(&T) -> bool) -> Option<T> {
        let idle = self.by_key.get_mut(key)?;
        let position = idle.iter().position(|entry| matches(&entry.item))?;
        self.count -= 1;
        idle.remove(position).map(|entry| entry.item)
    }

    /// Idle items held now.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether nothing is idle.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Takes every item out.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.count = 0;
        self.by_key.drain().flat_map(|(_, idle)| idle.into_iter().map(|entry| entry.item))
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests pick a base instant; the client layer never reads the clock
mod tests {
    use std::time::Duration;

    use tidings_core::{Config, Event, Request};

    use super::*;

    #[test]
    fn a_host_is_shared_with_the_last_key_of_the_thread_and_only_with_the_same_name() {
        let first = shared_host("example.com");
        let again = shared_host("example.com");
        assert!(Arc::ptr_eq(&first, &again), "the same host is shared");
        let other = shared_host("example.org");
        assert_eq!(&*other, "example.org");
        assert!(!Arc::ptr_eq(&first, &other));
        // Case and brackets are the URL's: a different spelling is a different key.
        assert_eq!(&*shared_host("Example.com"), "Example.com");
        assert_eq!(&*shared_host("[::1]"), "[::1]");
        let back = shared_host("example.com");
        assert_eq!(&*back, "example.com");
        assert_eq!(PoolKey { host: back, ..key("x") }, PoolKey { host: first, ..key("x") });
    }

    fn key(host: &str) -> PoolKey {
        PoolKey { https: false, host: host.into(), port: 80, tls: None, proxy: None, proxy_tls: None }
    }

    /// A core that carried one GET answered by `response`; returns it and the bytes left over.
    fn after(response: &[u8], method: &str) -> (Connection, usize) {
        let now = Instant::now();
        let mut core = Connection::new(Config::default());
        let request = Request::parse(method, "http://example.com/").expect("request");
        core.send_request(now, &request).expect("send");
        let mut wire = [0u8; 512];
        while core.poll_transmit(now, &mut wire) > 0 {}
        let mut at = 0;
        loop {
            let (used, event) = core.handle_input(now, &response[at..]).expect("input");
            at += used;
            if matches!(event, Some(Event::End) | None) {
                break;
            }
        }
        (core, response.len() - at)
    }

    #[test]
    fn a_connection_is_reused_only_when_nothing_follows_the_response() {
        let (core, left) = after(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "GET");
        assert_eq!(reuse_verdict(&core, Received { unconsumed: left > 0, peer_closed: false }), Ok(()));
        assert_eq!(
            reuse_verdict(&core, Received { unconsumed: false, peer_closed: true }),
            Err(CloseReason::PeerClosed)
        );

        let cases: [(&[u8], &str); 4] = [
            (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET"),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody", "HEAD"),
            (b"HTTP/1.1 204 No Content\r\n\r\nbody", "GET"),
            (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 4\r\n\r\nbody", "GET"),
        ];
        for (response, method) in cases {
            let (core, left) = after(response, method);
            assert!(left > 0, "{method} {:?} leaves bytes", String::from_utf8_lossy(response));
            assert_eq!(
                reuse_verdict(&core, Received { unconsumed: left > 0, peer_closed: false }),
                Err(CloseReason::UnsolicitedData)
            );
        }

        let (core, _) = after(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", "GET");
        assert_eq!(reuse_verdict(&core, Received::default()), Err(CloseReason::ServerClose));
    }

    #[test]
    fn idle_connections_expire_on_the_cores_idle_deadline() {
        let mut config = Config::default();
        config.budgets.idle = Some(Duration::from_secs(5));
        let start = Instant::now();
        let mut core = Connection::connecting(config, start);
        core.handle_connected(start).expect("connected");
        expire_idle(&mut core, start + Duration::from_secs(4));
        assert_eq!(reuse_verdict(&core, Received::default()), Ok(()));
        expire_idle(&mut core, start + Duration::from_secs(5));
        assert_eq!(reuse_verdict(&core, Received::default()), Err(CloseReason::IdleTimeout));
    }

    #[test]
    fn idle_sets_are_last_in_first_out_within_their_limits() {
        let now = Instant::now();
        let limits = PoolLimits { max_idle_per_host: 2, max_idle: 3 };
        let mut idle = IdleSet::default();
        assert_eq!(idle.put(&key("a"), 1, limits, now), Ok(()));
        assert_eq!(idle.put(&key("a"), 2, limits, now), Ok(()));
        assert_eq!(idle.put(&key("a"), 3, limits, now), Err(3), "per host");
        assert_eq!(idle.put(&key("b"), 4, limits, now), Ok(()));
        assert_eq!(idle.put(&key("c"), 5, limits, now), Err(5), "in all");
        assert_eq!(idle.len(), 3);
        assert_eq!(idle.take(&key("a")).map(|(item, _)| item), Some(2));
        assert_eq!(idle.remove(&key("a"), |item| *item == 1), Some(1));
        assert_eq!(idle.take(&key("a")), None);
        assert_eq!(idle.drain().collect::<Vec<_>>(), [4]);
        assert!(idle.is_empty());
    }

    #[test]
    fn items_that_hold_their_key_are_kept_under_the_same_limits() {
        let now = Instant::now();
        let limits = PoolLimits { max_idle_per_host: 2, max_idle: 3 };
        let mut idle = IdleSet::default();
        let own = |name: &str, number: u32| (key(name), number);
        fn key_of(item: &(PoolKey, u32)) -> &PoolKey {
            &item.0
        }
        assert_eq!(idle.put_own(own("a", 1), key_of, limits, now), Ok(()), "a new list");
        assert_eq!(idle.put_own(own("a", 2), key_of, limits, now), Ok(()), "the list there");
        assert_eq!(idle.put_own(own("a", 3), key_of, limits, now), Err(own("a", 3)), "per host");
        assert_eq!(idle.put_own(own("b", 4), key_of, limits, now), Ok(()));
        assert_eq!(idle.put_own(own("b", 5), key_of, limits, now), Err(own("b", 5)), "in all");
        assert_eq!(idle.take(&key("a")).map(|(item, _)| item.1), Some(2));
        let none = PoolLimits { max_idle_per_host: 0, max_idle: 3 };
        assert_eq!(idle.put_own(own("a", 6), key_of, none, now), Err(own("a", 6)), "no room per host");
        assert_eq!(idle.len(), 2);
    }

    #[test]
    fn a_client_that_visits_many_hosts_keeps_lists_for_a_bounded_number() {
        let now = Instant::now();
        let limits = PoolLimits { max_idle_per_host: 4, max_idle: 8 };
        let mut idle = IdleSet::default();
        for host in 0..10_000 {
            let key = key(&format!("host-{host}.example"));
            assert_eq!(idle.put(&key, host, limits, now), Ok(()));
            assert_eq!(idle.take(&key).map(|(item, _)| item), Some(host));
            assert!(idle.by_key.len() <= 2 * limits.max_idle, "{} lists after {host} hosts", idle.by_key.len());
        }
        // Items still idle are never dropped to make room.
        for host in 0..8 {
            assert_eq!(idle.put(&key(&format!("kept-{host}")), host, limits, now), Ok(()));
        }
        for host in 0..100 {
            let key = key(&format!("more-{host}.example"));
            assert_eq!(idle.put(&key, host, limits, now), Err(host), "the pool is full");
        }
        assert_eq!(idle.len(), 8);
        assert!((0..8).all(|host| idle.take(&key(&format!("kept-{host}"))).is_some()));
        // No idle room at all: nothing is kept and no list is made.
        let mut none = IdleSet::default();
        assert_eq!(none.put(&key("a"), 1, PoolLimits { max_idle_per_host: 0, max_idle: 8 }, now), Err(1));
        assert!(none.by_key.is_empty());
    }

    #[test]
    fn removing_keeps_the_order_of_the_rest() {
        let now = Instant::now();
        let limits = PoolLimits { max_idle_per_host: 8, max_idle: 8 };
        let mut idle = IdleSet::default();
        for item in 1..=5 {
            assert_eq!(idle.put(&key("a"), item, limits, now), Ok(()));
        }
        // The oldest (an expiry), one in the middle, and one that is not there.
        assert_eq!(idle.remove(&key("a"), |item| *item == 1), Some(1));
        assert_eq!(idle.remove(&key("a"), |item| *item == 3), Some(3));
        assert_eq!(idle.remove(&key("a"), |item| *item == 9), None);
        assert_eq!(idle.remove(&key("b"), |_| true), None);
        assert_eq!(idle.len(), 3);
        let taken: Vec<_> = std::iter::from_fn(|| idle.take(&key("a")).map(|(item, _)| item)).collect();
        assert_eq!(taken, [5, 4, 2], "newest first");
        assert!(idle.is_empty());
    }

    #[test]
    fn small_dropped_bodies_are_drained_and_large_ones_closed() {
        let framing = |length| Some(Framing { length, close: None });
        assert!(drain_before_reuse(framing(BodyLength::Empty)));
        assert!(drain_before_reuse(framing(BodyLength::ContentLength(DRAIN_AT_MOST))));
        assert!(!drain_before_reuse(framing(BodyLength::ContentLength(DRAIN_AT_MOST + 1))));
        assert!(!drain_before_reuse(framing(BodyLength::Chunked)));
        assert!(!drain_before_reuse(framing(BodyLength::CloseDelimited)));
        assert!(!drain_before_reuse(None));
    }

    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum IdleOp {
        Put(usize),
        /// A put and a take for one key: a request to that host, done.
        Visit(usize),
        PutOwn(usize),
        Take(usize),
        Remove(usize, u32),
        Drain,
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// The idle set against a model (a list of items per key, newest last): the same
        /// answers to every call, never past its limits, and a bounded number of lists
        /// however many hosts come and go.
        #[test]
        fn idle_sets_match_a_list_per_key(
            max_idle_per_host in 0usize..4,
            max_idle in 0usize..6,
            ops in proptest::collection::vec(
                prop_oneof![
                    (0usize..8).prop_map(IdleOp::Put),
                    (0usize..8).prop_map(IdleOp::Visit),
                    (0usize..8).prop_map(IdleOp::PutOwn),
                    (0usize..8).prop_map(IdleOp::Take),
                    ((0usize..8), (0u32..64)).prop_map(|(key, item)| IdleOp::Remove(key, item)),
                    Just(IdleOp::Drain),
                ],
                0..120,
            ),
        ) {
            let now = Instant::now();
            let limits = PoolLimits { max_idle_per_host, max_idle };
            let keys: Vec<PoolKey> = (0..8).map(|index| key(&format!("host-{index}"))).collect();
            // Items hold their key (as `put_own` wants) and a number.
            let mut idle: IdleSet<(PoolKey, u32)> = IdleSet::default();
            let mut model: Vec<Vec<u32>> = vec![Vec::new(); keys.len()];
            let numbered = |(key, item): (PoolKey, u32)| (keys.iter().position(|known| *known == key), item);
            let mut next = 0u32;
            for op in ops {
                let count: usize = model.iter().map(Vec::len).sum();
                match op {
                    IdleOp::Put(at) | IdleOp::PutOwn(at) => {
                        let item = (keys[at].clone(), next);
                        next += 1;
                        let kept = count < max_idle && model[at].len() < max_idle_per_host;
                        let result = if matches!(op, IdleOp::Put(_)) {
                            idle.put(&keys[at], item.clone(), limits, now)
                        } else {
                            idle.put_own(item.clone(), |item| &item.0, limits, now)
                        };
                        prop_assert_eq!(result, if kept { Ok(()) } else { Err(item.clone()) });
                        if kept {
                            model[at].push(item.1);
                        }
                    }
                    IdleOp::Visit(at) => {
                        let kept = count < max_idle && model[at].len() < max_idle_per_host;
                        let item = (keys[at].clone(), next);
                        next += 1;
                        prop_assert_eq!(idle.put(&keys[at], item.clone(), limits, now).is_ok(), kept);
                        let taken = idle.take(&keys[at]).map(|(item, _)| numbered(item));
                        let expected = if kept { Some(item.1) } else { model[at].pop() };
                        prop_assert_eq!(taken, expected.map(|item| (Some(at), item)));
                    }
                    IdleOp::Take(at) => {
                        let taken = idle.take(&keys[at]).map(|(item, _)| numbered(item));
                        prop_assert_eq!(taken, model[at].pop().map(|item| (Some(at), item)));
                    }
                    IdleOp::Remove(at, item) => {
                        let removed = idle.remove(&keys[at], |entry| entry.1 == item).map(numbered);
                        let position = model[at].iter().position(|&kept| kept == item);
                        prop_assert_eq!(removed, position.map(|position| (Some(at), model[at].remove(position))));
                    }
                    IdleOp::Drain => {
                        let mut drained: Vec<(Option<usize>, u32)> = idle.drain().map(numbered).collect();
                        drained.sort_unstable();
                        let mut expected: Vec<(Option<usize>, u32)> = model
                            .iter_mut()
                            .enumerate()
                            .flat_map(|(at, items)| items.drain(..).map(move |item| (Some(at), item)))
                            .collect();
                        expected.sort_unstable();
                        prop_assert_eq!(drained, expected);
                    }
                }
                prop_assert_eq!(idle.len(), model.iter().map(Vec::len).sum::<usize>());
                prop_assert!(idle.len() <= max_idle);
                prop_assert!(idle.by_key.values().all(|list| list.len() <= max_idle_per_host));
                prop_assert!(idle.by_key.len() <= (2 * max_idle).max(max_idle + 1), "{} lists", idle.by_key.len());
            }
        }
    }
}
