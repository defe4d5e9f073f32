//! Scheduling calls under concurrency limits, for transports that run many at once: how many
//! are in flight in all and per host, and which queued call starts next. Calls start in the
//! order they were sent, except that one whose host is at its limit lets later calls for
//! other hosts go first. A redirect hop to another host counts against that host.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};

use url::Url;

use crate::error::{Error, ErrorKind};

/// Concurrency limits: calls beyond them wait, in the order they were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcurrencyLimits {
    /// Calls in flight at once (default 64).
    pub max_in_flight: usize,
    /// Calls in flight at once to one host and port (default 16). A redirect to another
    /// host counts against that host from its hop on, waiting for room there if need be.
    pub max_per_host: usize,
}

impl Default for ConcurrencyLimits {
    fn default() -> Self {
        ConcurrencyLimits { max_in_flight: 64, max_per_host: 16 }
    }
}

impl ConcurrencyLimits {
    /// Checks that the limits can admit a call: a limit of 0 would queue every call for
    /// ever.
    pub fn validate(self) -> Result<ConcurrencyLimits, Error> {
        if self.max_in_flight == 0 || self.max_per_host == 0 {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "concurrency limits must admit at least one call (max_in_flight {}, max_per_host {})",
                    self.max_in_flight, self.max_per_host
                ),
            ));
        }
        Ok(self)
    }
}

/// What the per-host limit counts by: the URL's host and port (a proxy, if any, is not part
/// of it: the limit is there for the server's sake).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostKey {
    host: String,
    port: u16,
}

impl HostKey {
    /// `url`'s host (an IPv6 literal keeps its brackets) and port (the scheme's default
    /// when none is written).
    pub fn of(url: &Url) -> HostKey {
        HostKey { host: url.host_str().unwrap_or_default().to_owned(), port: url.port_or_known_default().unwrap_or(0) }
    }

    /// Whether this is `url`'s key, without building one.
    pub fn is_for(&self, url: &Url) -> bool {
        self.port == url.port_or_known_default().unwrap_or(0) && self.host == url.host_str().unwrap_or_default()
    }
}

impl std::fmt::Display for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The calls queued and in flight, by the caller's ids (hashed with `S`: a transport whose
/// ids are its own sequential numbers can hash them cheaply). Hosts are counted in a map
/// hashed with foldhash (a lookup or two per call; SipHash cost several hundred
/// instructions each) that holds at most about twice as many hosts as there are calls, so a
/// chosen-collision worst case stays a short scan.
#[derive(Debug)]
pub struct Scheduler<Id, S = RandomState> {
    limits: ConcurrencyLimits,
    queue: VecDeque<(Id, HostKey)>,
    running: HashMap<Id, HostKey, S>,
    per_host: HashMap<HostKey, usize, foldhash::fast::RandomState>,
}

impl<Id: Copy + Eq + Hash> Scheduler<Id> {
    /// A scheduler with these (validated) limits.
    pub fn new(limits: ConcurrencyLimits) -> Scheduler<Id> {
        Scheduler::with_hasher(limits, RandomState::new())
    }
}

impl<Id: Copy + Eq + Hash, S: BuildHasher> Scheduler<Id, S> {
    /// A scheduler whose ids are hashed with `hasher`.
    pub fn with_hasher(limits: ConcurrencyLimits, hasher: S) -> Scheduler<Id, S> {
        Scheduler {
            limits,
            queue: VecDeque::new(),
            running: HashMap::with_hasher(hasher),
            per_host: HashMap::default(),
        }
    }

    /// The limits.
    pub fn limits(&self) -> ConcurrencyLimits {
        self.limits
    }

    /// Queues call `id` for `url` behind every call queued before it.
    pub fn queue(&mut self, id: Id, url: &Url) {
        self.queue.push_back((id, HostKey::of(url)));
    }

    /// The next queued call the limits admit, now counted in flight: the first in order
    /// whose host has room. `None` when none can start.
    pub fn admit(&mut self) -> Option<Id> {
        if self.running.len() >= self.limits.max_in_flight {
            return None;
        }
        let position = self
            .queue
            .iter()
            .position(|(_, host)| self.per_host.get(host).copied().unwrap_or(0) < self.limits.max_per_host)?;
        let (id, host) = self.queue.remove(position)?;
        match self.per_host.get_mut(&host) {
            Some(count) => *count += 1,
            None => {
                self.per_host.insert(host.clone(), 1);
            }
        }
        self.running.insert(id, host);
        Some(id)
    }

    /// A call in flight makes its next hop to `url`. On the same host it keeps its place;
    /// to another host it gives up its place and queues first in line for the new host
    /// (giving up the old host before waiting for the new one means two hops waiting on each
    /// other's host cannot deadlock). Returns whether it must wait for [`admit`](Self::admit).
    pub fn next_hop(&mut self, id: Id, url: &Url) -> bool {
        // Compared in place: every attempt asks, and nearly every answer is "same host".
        if self.running.get(&id).is_none_or(|current| current.is_for(url)) {
            return false;
        }
        self.release(id);
        self.queue.push_front((id, HostKey::of(url)));
        true
    }

    /// Call `id` is over (finished, failed or cancelled), queued or in flight: its place
    /// goes to the next. Returns whether it was known.
    pub fn finish(&mut self, id: Id) -> bool {
        if self.release(id) {
            return true;
        }
        let before = self.queue.len();
        self.queue.retain(|(queued, _)| *queued != id);
        before != self.queue.len()
    }

    /// Whether `id` waits in the queue.
    pub fn is_queued(&self, id: Id) -> bool {
        self.queue.iter().any(|(queued, _)| *queued == id)
    }

    /// Calls in flight.
    pub fn in_flight(&self) -> usize {
        self.running.len()
    }

    /// Calls waiting for room.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    fn release(&mut self, id: Id) -> bool {
        let Some(host) = self.running.remove(&id) else { return false };
        if let Some(count) = self.per_host.get_mut(&host) {
            *count -= 1;
            // A host's entry stays at zero while others are busy (no churn per call), until
            // the idle ones outnumber the calls: a client that always has something in
            // flight, to ever new hosts, keeps a bounded map.
            if *count == 0 {
                if self.running.is_empty() {
                    self.per_host.clear();
                } else if self.per_host.len() > 2 * (self.running.len() + self.queue.len()) + 16 {
                    self.per_host.retain(|_, count| *count > 0);
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    #[test]
    fn calls_start_in_order_within_both_limits() {
        let mut scheduler = Scheduler::new(ConcurrencyLimits { max_in_flight: 3, max_per_host: 2 });
        for (id, host) in [(1, "a"), (2, "a"), (3, "a"), (4, "b"), (5, "b")] {
            scheduler.queue(id, &url(&format!("http://{host}/")));
        }
        assert_eq!([scheduler.admit(), scheduler.admit(), scheduler.admit()], [Some(1), Some(2), Some(4)]);
        assert_eq!(scheduler.admit(), None, "three in flight");
        assert!(scheduler.finish(1));
        assert_eq!(scheduler.admit(), Some(3), "a has room again, and 3 was sent before 5");
        assert_eq!((scheduler.in_flight(), scheduler.queued()), (3, 1));
        assert!(scheduler.finish(5), "a queued call can be cancelled");
        assert!(!scheduler.is_queued(5));
        assert!(!scheduler.finish(5));
    }

    #[test]
    fn a_hop_to_another_host_queues_first_for_it() {
        let mut scheduler = Scheduler::new(ConcurrencyLimits { max_in_flight: 2, max_per_host: 1 });
        scheduler.queue(1, &url("http://a/"));
        scheduler.queue(2, &url("http://b/"));
        scheduler.queue(3, &url("http://a/"));
        assert_eq!((scheduler.admit(), scheduler.admit()), (Some(1), Some(2)));
        assert!(!scheduler.next_hop(1, &url("http://a:80/other")), "same host and port: keeps its place");
        assert!(HostKey::of(&url("http://[::1]:8080/")).is_for(&url("http://[::1]:8080/x")));
        assert_eq!(
            HostKey::of(&url("http://[::1]:8080/")).to_string(),
            "[::1]:8080",
            "IPv6 literals keep their brackets"
        );
        assert!(!HostKey::of(&url("http://a/")).is_for(&url("http://a:8080/")));
        assert!(HostKey::of(&url("http://a/")).is_for(&url("http://a:80/")), "the default port is the port");
        // 1 redirects to b, where 2 holds the only place; a's place goes to 3.
        assert!(scheduler.next_hop(1, &url("http://b/")));
        assert_eq!(scheduler.admit(), Some(3));
        assert_eq!(scheduler.admit(), None, "b is full");
        scheduler.finish(2);
        assert_eq!(scheduler.admit(), Some(1));
    }

    #[test]
    fn a_client_always_busy_with_new_hosts_counts_a_bounded_number() {
        let mut scheduler = Scheduler::new(ConcurrencyLimits { max_in_flight: 4, max_per_host: 2 });
        scheduler.queue(0, &url("http://always-busy/"));
        assert_eq!(scheduler.admit(), Some(0));
        for id in 1..5_000 {
            scheduler.queue(id, &url(&format!("http://host-{id}.example/")));
            assert_eq!(scheduler.admit(), Some(id));
            assert!(scheduler.finish(id));
            assert!(scheduler.per_host.len() <= 2 * 2 + 16 + 1, "{} hosts counted", scheduler.per_host.len());
        }
        // The busy host's count survived every sweep.
        scheduler.queue(9_000, &url("http://always-busy/"));
        scheduler.queue(9_001, &url("http://always-busy/"));
        assert_eq!((scheduler.admit(), scheduler.admit()), (Some(9_000), None), "two per host");
    }

    #[test]
    fn limits_of_zero_are_refused() {
        assert!(ConcurrencyLimits { max_in_flight: 0, max_per_host: 1 }.validate().is_err());
        assert!(ConcurrencyLimits { max_in_flight: 1, max_per_host: 0 }.validate().is_err());
        assert!(ConcurrencyLimits::default().validate().is_ok());
    }
}
