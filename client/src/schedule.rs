//! Scheduling calls under concurrency limits, for transports that run many at once: how many
//! are in flight in all and per host, and which queued call starts next. Calls start in the
//! order they were sent, except that one whose host is at its limit lets later calls for
//! other hosts go first. A redirect hop to another host counts against that host.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

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
    /// Shared with the thread's last pool key ([`shared_host`](crate::pool::shared_host)):
    /// every call makes a key, nearly always for that host.
    host: Arc<str>,
    port: u16,
}

impl HostKey {
    /// `url`'s host (an IPv6 literal keeps its brackets) and port (the scheme's default
    /// when none is written).
    pub fn of(url: &Url) -> HostKey {
        HostKey {
            host: crate::pool::shared_host(url.host_str().unwrap_or_default()),
            port: url.port_or_known_default().unwrap_or(0),
        }
    }

    /// Whether this is `url`'s key, without building one.
    pub fn is_for(&self, url: &Url) -> bool {
        self.port == url.port_or_known_default().unwrap_or(0) && *self.host == *url.host_str().unwrap_or_default()
    }
}

impl std::fmt::Display for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The calls queued and in flight, by the caller's ids (hashed with `S`: a transport whose
/// ids are its own sequential numbers can hash them cheaply).
///
/// Every call has a place in line. Each host keeps its waiting calls in order and counts its
/// calls in flight; the first waiting call of every host with room is in an ordered set, so
/// [`admit`](Self::admit) takes the earliest call whose host has room in O(log hosts), however
/// many calls wait behind a full host (10,000 calls to one host with a per-host limit of 16
/// used to walk the whole line on every admission). Hosts are found in a map hashed with
/// foldhash that holds at most about twice as many hosts as there are calls, so a
/// chosen-collision worst case stays a short scan.
#[derive(Debug)]
pub struct Scheduler<Id, S = RandomState> {
    limits: ConcurrencyLimits,
    /// Hosts by slot; a slot of a host that went away is reused.
    hosts: Vec<Host<Id>>,
    free: Vec<usize>,
    by_key: HashMap<HostKey, usize, foldhash::fast::RandomState>,
    /// The place in line of the first waiting call of each host that has room, and the host.
    ready: BTreeMap<i64, usize>,
    /// Calls in flight and their host's slot.
    running: HashMap<Id, usize, S>,
    /// A call that waits while no other does, its host having room (place, id, host slot):
    /// the usual case, a call admitted as soon as it comes. It stays out of its host's line
    /// and the ready set, whose upkeep cost it ~200 instructions for nothing; any other call
    /// that comes to wait puts it in its line first, so the order stays exact.
    direct: Option<(i64, Id, usize)>,
    /// Calls waiting, `direct` included.
    queued: usize,
    /// The next place at the back of the line (growing) and at its front (shrinking: a hop
    /// to another host queues first in line).
    next_back: i64,
    next_front: i64,
}

/// One host's calls: in flight, and waiting in line (places ascending).
#[derive(Debug)]
struct Host<Id> {
    key: HostKey,
    running: usize,
    waiting: VecDeque<(i64, Id)>,
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
            hosts: Vec::new(),
            free: Vec::new(),
            by_key: HashMap::default(),
            ready: BTreeMap::new(),
            running: HashMap::with_hasher(hasher),
            direct: None,
            queued: 0,
            next_back: 0,
            next_front: -1,
        }
    }

    /// The limits.
    pub fn limits(&self) -> ConcurrencyLimits {
        self.limits
    }

    /// Queues call `id` for `url` behind every call queued before it.
    pub fn queue(&mut self, id: Id, url: &Url) {
        let place = self.next_back;
        self.next_back += 1;
        self.wait(id, url, place);
    }

    /// The next queued call the limits admit, now counted in flight: the first in order
    /// whose host has room. `None` when none can start.
    pub fn admit(&mut self) -> Option<Id> {
        if self.running.len() >= self.limits.max_in_flight {
            return None;
        }
        if let Some((_, id, slot)) = self.direct.take() {
            // The only waiting call, and its host has room.
            self.hosts[slot].running += 1;
            self.queued -= 1;
            self.running.insert(id, slot);
            return Some(id);
        }
        let (_, slot) = self.ready.pop_first()?;
        let host = &mut self.hosts[slot];
        let (_, id) = host.waiting.pop_front()?;
        host.running += 1;
        self.queued -= 1;
        self.running.insert(id, slot);
        self.ready_if_room(slot);
        Some(id)
    }

    /// A call in flight makes its next hop to `url`. On the same host it keeps its place;
    /// to another host it gives up its place and queues first in line for the new host
    /// (giving up the old host before waiting for the new one means two hops waiting on each
    /// other's host cannot deadlock). Returns whether it must wait for [`admit`](Self::admit).
    pub fn next_hop(&mut self, id: Id, url: &Url) -> bool {
        // Compared in place: every attempt asks, and nearly every answer is "same host".
        match self.running.get(&id) {
            Some(&slot) if !self.hosts[slot].key.is_for(url) => {}
            _ => return false,
        }
        self.release(id);
        let place = self.next_front;
        self.next_front -= 1;
        self.wait(id, url, place);
        true
    }

    /// Call `id` is over (finished, failed or cancelled), queued or in flight: its place
    /// goes to the next. Returns whether it was known.
    pub fn finish(&mut self, id: Id) -> bool {
        if self.release(id) {
            return true;
        }
        if self.direct.is_some_and(|(_, direct, _)| direct == id) {
            self.direct = None;
            self.queued -= 1;
            return true;
        }
        // A queued call cancelled (rare): found in its host's line.
        for slot in 0..self.hosts.len() {
            let Some(position) = self.hosts[slot].waiting.iter().position(|&(_, queued)| queued == id) else {
                continue;
            };
            self.unready(slot);
            self.hosts[slot].waiting.remove(position);
            self.queued -= 1;
            self.ready_if_room(slot);
            return true;
        }
        false
    }

    /// Whether `id` waits in the queue.
    pub fn is_queued(&self, id: Id) -> bool {
        self.direct.is_some_and(|(_, direct, _)| direct == id)
            || self.hosts.iter().any(|host| host.waiting.iter().any(|&(_, queued)| queued == id))
    }

    /// Calls in flight.
    pub fn in_flight(&self) -> usize {
        self.running.len()
    }

    /// Calls waiting for room.
    pub fn queued(&self) -> usize {
        self.queued
    }

    fn release(&mut self, id: Id) -> bool {
        let Some(slot) = self.running.remove(&id) else { return false };
        let host = &mut self.hosts[slot];
        let was_full = host.running >= self.limits.max_per_host;
        host.running -= 1;
        // A host that had room already has its first waiting call in the set.
        if was_full {
            self.ready_if_room(slot);
        }
        true
    }

    /// Puts call `id` at `place` in `url`'s host's line (a place below every other goes
    /// first).
    fn wait(&mut self, id: Id, url: &Url, place: i64) {
        // Before the host map may sweep hosts without calls (the direct call's among them).
        self.flush_direct();
        let slot = self.host_slot(url);
        if self.queued == 0 && self.hosts[slot].running < self.limits.max_per_host {
            self.direct = Some((place, id, slot));
            self.queued = 1;
            return;
        }
        self.queued += 1;
        let waiting = &mut self.hosts[slot].waiting;
        match waiting.front() {
            // Behind the host's first call: the set, which holds only firsts, is unchanged.
            Some(&(first, _)) if first < place => waiting.push_back((place, id)),
            _ => {
                self.unready(slot);
                self.hosts[slot].waiting.push_front((place, id));
                self.ready_if_room(slot);
            }
        }
    }

    /// The slot of `url`'s host, made if it has none. A host stays while it has no calls
    /// (no churn per call), until such hosts outnumber the calls: then they all go, so a
    /// client always busy with ever new hosts keeps a bounded map.
    fn host_slot(&mut self, url: &Url) -> usize {
        let key = HostKey::of(url);
        if let Some(&slot) = self.by_key.get(&key) {
            return slot;
        }
        if self.by_key.len() > 2 * (self.running.len() + self.queued) + 16 {
            let (hosts, free) = (&mut self.hosts, &mut self.free);
            self.by_key.retain(|_, &mut slot| {
                let host = &mut hosts[slot];
                let gone = host.running == 0 && host.waiting.is_empty();
                if gone {
                    host.waiting = VecDeque::new();
                    free.push(slot);
                }
                !gone
            });
        }
        let host = Host { key: key.clone(), running: 0, waiting: VecDeque::new() };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.hosts[slot] = host;
                slot
            }
            None => {
                self.hosts.push(host);
                self.hosts.len() - 1
            }
        };
        self.by_key.insert(key, slot);
        slot
    }

    /// Puts the direct call, if any, where it would wait otherwise: first in its host's line
    /// (no other call waited when it came) and in the ready set (its host has room: no call
    /// of that host was admitted since).
    fn flush_direct(&mut self) {
        if let Some((place, id, slot)) = self.direct.take() {
            self.hosts[slot].waiting.push_front((place, id));
            self.ready_if_room(slot);
        }
    }

    /// Takes the host's first waiting call out of the ready set (before its line or count
    /// changes).
    fn unready(&mut self, slot: usize) {
        if let Some(&(place, _)) = self.hosts[slot].waiting.front() {
            self.ready.remove(&place);
        }
    }

    /// Puts the host's first waiting call in the ready set if the host has room.
    fn ready_if_room(&mut self, slot: usize) {
        let host = &self.hosts[slot];
        if host.running < self.limits.max_per_host {
            if let Some(&(place, _)) = host.waiting.front() {
                self.ready.insert(place, slot);
            }
        }
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
            assert!(scheduler.by_key.len() <= 2 * 2 + 16 + 1, "{} hosts counted", scheduler.by_key.len());
            assert!(scheduler.hosts.len() <= 2 * 2 + 16 + 1, "{} host slots", scheduler.hosts.len());
        }
        // The busy host's count survived every sweep.
        scheduler.queue(9_000, &url("http://always-busy/"));
        scheduler.queue(9_001, &url("http://always-busy/"));
        assert_eq!((scheduler.admit(), scheduler.admit()), (Some(9_000), None), "two per host");
    }

    #[test]
    fn a_call_admitted_at_once_keeps_its_host_through_a_sweep_of_idle_hosts() {
        let mut scheduler = Scheduler::new(ConcurrencyLimits { max_in_flight: 10, max_per_host: 1 });
        // Three long calls raise the bound on hosts kept without calls; 20 hosts come and go.
        for id in 0..3 {
            scheduler.queue(id, &url(&format!("http://busy-{id}/")));
            assert_eq!(scheduler.admit(), Some(id));
        }
        for id in 10..30 {
            scheduler.queue(id, &url(&format!("http://host-{id}/")));
            assert_eq!(scheduler.admit(), Some(id));
            assert!(scheduler.finish(id));
        }
        for id in 0..3 {
            assert!(scheduler.finish(id));
        }
        // 100 waits alone (the direct place); 101 comes for a new host, whose lookup sweeps
        // the hosts without calls — which must not take 100's host from under it.
        scheduler.queue(100, &url("http://host-10/"));
        scheduler.queue(101, &url("http://new/"));
        assert_eq!((scheduler.admit(), scheduler.admit()), (Some(100), Some(101)), "one each on two hosts");
        assert!(scheduler.by_key.len() < 23, "the sweep ran: {} hosts", scheduler.by_key.len());
        // host-10 still counts 100 in flight: a second call there waits.
        scheduler.queue(102, &url("http://host-10/"));
        assert_eq!(scheduler.admit(), None, "one per host");
        assert!(scheduler.finish(100));
        assert_eq!(scheduler.admit(), Some(102));
    }

    /// The rule as first written: one line for all hosts, walked from the front.
    #[derive(Default)]
    struct Model {
        queue: VecDeque<(u32, HostKey)>,
        running: HashMap<u32, HostKey>,
        per_host: HashMap<HostKey, usize>,
    }

    impl Model {
        fn admit(&mut self, limits: ConcurrencyLimits) -> Option<u32> {
            if self.running.len() >= limits.max_in_flight {
                return None;
            }
            let position = self
                .queue
                .iter()
                .position(|(_, host)| self.per_host.get(host).copied().unwrap_or(0) < limits.max_per_host)?;
            let (id, host) = self.queue.remove(position)?;
            *self.per_host.entry(host.clone()).or_insert(0) += 1;
            self.running.insert(id, host);
            Some(id)
        }

        fn release(&mut self, id: u32) -> bool {
            let Some(host) = self.running.remove(&id) else { return false };
            *self.per_host.get_mut(&host).expect("counted") -= 1;
            true
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Queue(usize),
        Admit,
        Finish(usize),
        Hop(usize, usize),
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn admits_the_same_calls_in_the_same_order_as_one_line_walked_from_the_front(
            max_in_flight in 1usize..6,
            max_per_host in 1usize..4,
            ops in proptest::collection::vec(
                prop_oneof![
                    (0usize..4).prop_map(Op::Queue),
                    Just(Op::Admit),
                    (0usize..64).prop_map(Op::Finish),
                    ((0usize..64), (0usize..4)).prop_map(|(id, host)| Op::Hop(id, host)),
                ],
                0..200,
            ),
        ) {
            let hosts = ["http://a/", "http://b:8080/", "https://a/", "http://[::1]/"].map(url);
            let limits = ConcurrencyLimits { max_in_flight, max_per_host };
            let mut scheduler = Scheduler::new(limits);
            let mut model = Model::default();
            let mut next = 0u32;
            for op in ops {
                match op {
                    Op::Queue(host) => {
                        scheduler.queue(next, &hosts[host]);
                        model.queue.push_back((next, HostKey::of(&hosts[host])));
                        next += 1;
                    }
                    Op::Admit => prop_assert_eq!(scheduler.admit(), model.admit(limits)),
                    Op::Finish(id) => {
                        let id = id as u32;
                        let known = model.release(id) || {
                            let before = model.queue.len();
                            model.queue.retain(|(queued, _)| *queued != id);
                            before != model.queue.len()
                        };
                        prop_assert_eq!(scheduler.finish(id), known);
                    }
                    Op::Hop(id, host) => {
                        let id = id as u32;
                        let moves = model.running.get(&id).is_some_and(|current| !current.is_for(&hosts[host]));
                        if moves {
                            model.release(id);
                            model.queue.push_front((id, HostKey::of(&hosts[host])));
                        }
                        prop_assert_eq!(scheduler.next_hop(id, &hosts[host]), moves);
                    }
                }
                prop_assert_eq!((scheduler.in_flight(), scheduler.queued()), (model.running.len(), model.queue.len()));
                for id in 0..next {
                    prop_assert_eq!(scheduler.is_queued(id), model.queue.iter().any(|(queued, _)| *queued == id));
                }
            }
        }
    }

    #[test]
    fn limits_of_zero_are_refused() {
        assert!(ConcurrencyLimits { max_in_flight: 0, max_per_host: 1 }.validate().is_err());
        assert!(ConcurrencyLimits { max_in_flight: 1, max_per_host: 0 }.validate().is_err());
        assert!(ConcurrencyLimits::default().validate().is_ok());
    }
}
