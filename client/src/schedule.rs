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
pub fn host_key(url: &Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0))
}

/// Whether `key` (a [`host_key`]) is `url`'s, without building the key.
fn same_host(key: &str, url: &Url) -> bool {
    let (host, port) = key.rsplit_once(':').unwrap_or((key, ""));
    host == url.host_str().unwrap_or_default() && port.parse() == Ok(url.port_or_known_default().unwrap_or(0))
}

/// The calls queued and in flight, by the caller's ids (hashed with `S`: a transport whose
/// ids are its own sequential numbers can hash them cheaply).
#[derive(Debug)]
pub struct Scheduler<Id, S = RandomState> {
    limits: ConcurrencyLimits,
    queue: VecDeque<(Id, String)>,
    running: HashMap<Id, String, S>,
    per_host: HashMap<String, usize>,
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
        Scheduler { limits, queue: VecDeque::new(), running: HashMap::with_hasher(hasher), per_host: HashMap::new() }
    }

    /// The limits.
    pub fn limits(&self) -> ConcurrencyLimits {
        self.limits
    }

    /// Queues call `id` for `url` behind every call queued before it.
    pub fn queue(&mut self, id: Id, url: &Url) {
        self.queue.push_back((id, host_key(url)));
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
        *self.per_host.entry(host.clone()).or_insert(0) += 1;
        self.running.insert(id, host);
        Some(id)
    }

    /// A call in flight makes its next hop to `url`. On the same host it keeps its place;
    /// to another host it gives up its place and queues first in line for the new host
    /// (giving up the old host before waiting for the new one means two hops waiting on each
    /// other's host cannot deadlock). Returns whether it must wait for [`admit`](Self::admit).
    pub fn next_hop(&mut self, id: Id, url: &Url) -> bool {
        // Compared in place: every attempt asks, and nearly every answer is "same host".
        if self.running.get(&id).is_none_or(|current| same_host(current, url)) {
            return false;
        }
        self.release(id);
        self.queue.push_front((id, host_key(url)));
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
            // A host's entry stays at zero while others are busy (no churn per call).
            if *count == 0 && self.running.is_empty() {
                self.per_host.clear();
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
        assert!(same_host("[::1]:8080", &url("http://[::1]:8080/")), "IPv6 literals keep their brackets");
        assert!(!same_host("a:80", &url("http://a:8080/")));
        // 1 redirects to b, where 2 holds the only place; a's place goes to 3.
        assert!(scheduler.next_hop(1, &url("http://b/")));
        assert_eq!(scheduler.admit(), Some(3));
        assert_eq!(scheduler.admit(), None, "b is full");
        scheduler.finish(2);
        assert_eq!(scheduler.admit(), Some(1));
    }

    #[test]
    fn limits_of_zero_are_refused() {
        assert!(ConcurrencyLimits { max_in_flight: 0, max_per_host: 1 }.validate().is_err());
        assert!(ConcurrencyLimits { max_in_flight: 1, max_per_host: 0 }.validate().is_err());
        assert!(ConcurrencyLimits::default().validate().is_ok());
    }
}
