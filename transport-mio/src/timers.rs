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
        // Nearly every turn finds nothing due: then nothing is split off (which builds a new
        // tree, and frees the old one, even when everything is later).
        if self.first().is_none_or(|first| first > now) {
            return Vec::new();
        }
        let later = self.set.split_off(&(now, Timer::Last));
        let due = std::mem::replace(&mut self.set, later);
        due.into_iter().map(|(_, timer)| timer).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn due_timers_come_out_earliest_first_and_later_ones_stay() {
        let start = Instant::now();
        let at = |millis| start + Duration::from_millis(millis);
        let mut timers = Timers::default();
        assert!(timers.take_due(at(0)).is_empty(), "nothing registered");
        timers.reset(Timer::Task(1), None, Some(at(20)));
        timers.reset(Timer::Conn { slot: 0, serial: 7 }, None, Some(at(10)));
        timers.reset(Timer::Task(2), None, Some(at(30)));
        assert!(timers.take_due(at(5)).is_empty(), "nothing due yet");
        assert_eq!(timers.first(), Some(at(10)), "and nothing taken");
        assert_eq!(timers.take_due(at(20)), [Timer::Conn { slot: 0, serial: 7 }, Timer::Task(1)], "due at now too");
        assert_eq!(timers.first(), Some(at(30)));
        // Moved later: due only then.
        assert_eq!(timers.reset(Timer::Task(2), Some(at(30)), Some(at(40))), Some(at(40)));
        assert!(timers.take_due(at(35)).is_empty());
        assert_eq!(timers.take_due(at(40)), [Timer::Task(2)]);
        assert_eq!(timers.first(), None);
    }
}
