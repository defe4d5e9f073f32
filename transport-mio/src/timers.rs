//! One ordered set of every deadline the client must wake for: each connection's (its core's
//! next deadline, or the next Happy Eyeballs attempt) and each task's (a retry's backoff, or
//! its whole-call deadline while it waits for a place). Entries are keyed so a stale one (a
//! slot reused by a newer connection) is recognised and skipped.

use std::collections::BTreeSet;
use std::time::Instant;

/// What a deadline belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// The connection in `slot`, if it is still the one with `serial`.
    Conn { slot: usize, serial: u64 },
    /// A task.
    Task(u64),
    /// Sorts after every other timer of the same instant (a bound for `split_off`).
    Last,
}

#[derive(Debug, Default)]
pub(crate) struct Timers {
    set: BTreeSet<(Instant, Timer)>,
}

impl Timers {
    /// Moves `timer` from `old` (where it was registered, if anywhere) to `new`; returns what
    /// is registered now.
    pub(crate) fn reset(&mut self, timer: Timer, old: Option<Instant>, new: Option<Instant>) -> Option<Instant> {
        if old == new {
            return new;
        }
        if let Some(old) = old {
            self.set.remove(&(old, timer));
        }
        if let Some(new) = new {
            self.set.insert((new, timer));
        }
        new
    }

    /// The earliest deadline.
    pub(crate) fn first(&self) -> Option<Instant> {
        self.set.first().map(|(deadline, _)| *deadline)
    }

    /// Takes out every timer due at or before `now`, earliest first; any set again while
    /// they are handled waits for the next call.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<Timer> {
        let later = self.set.split_off(&(now, Timer::Last));
        let due = std::mem::replace(&mut self.set, later);
        due.into_iter().map(|(_, timer)| timer).collect()
    }
}
