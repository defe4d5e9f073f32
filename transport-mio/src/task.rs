//! Per-request state: one task per request sent, from its queueing to its completion — the
//! call's policies, the attempt under way, and the response as it arrives.

use std::time::{Duration, Instant};

use tidings_client::{Attempt, BufferedBody, Call, Error, Response};
use tidings_core::{ContentDecoder, Headers, ResponseHead};

use crate::completion::ByIdMap;

/// Where a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Waiting for a place under the limits.
    Queued,
    /// Waiting out a retry backoff.
    Backoff,
    /// A new connection is being set up for this task.
    Connecting(usize),
    /// The request is going out; the head is awaited.
    Exchange(usize),
    /// The response is the call's; its body is being read.
    Body(usize),
    /// The response is dropped (drained) before the next attempt.
    Drain(usize),
}

impl Stage {
    /// The connection slot the task is using, if any.
    pub(crate) fn slot(self) -> Option<usize> {
        match self {
            Stage::Connecting(slot) | Stage::Exchange(slot) | Stage::Body(slot) | Stage::Drain(slot) => Some(slot),
            Stage::Queued | Stage::Backoff => None,
        }
    }
}

pub(crate) struct Task {
    /// The call's policies; taken when the task completes.
    pub(crate) call: Option<Box<Call>>,
    pub(crate) stage: Stage,
    pub(crate) attempt: Option<Attempt>,
    /// How much of an in-memory body went out.
    pub(crate) body_position: usize,
    pub(crate) scratch: Vec<u8>,
    pub(crate) informational: Vec<(u16, Headers)>,
    pub(crate) head: Option<ResponseHead>,
    pub(crate) decoder: Option<ContentDecoder>,
    pub(crate) body: Vec<u8>,
    pub(crate) trailers: Option<Headers>,
    /// When the final head arrived.
    pub(crate) head_at: Option<Instant>,
    pub(crate) reused: bool,
    /// The wait after a drained response.
    pub(crate) then: Duration,
    /// The deadline registered for the task (a backoff, or its call's while it is queued).
    pub(crate) timer: Option<Instant>,
    /// The body is streamed to the caller instead of read whole.
    pub(crate) streaming: bool,
}

impl Task {
    pub(crate) fn new(call: Call, streaming: bool) -> Task {
        Task {
            call: Some(Box::new(call)),
            stage: Stage::Queued,
            attempt: None,
            body_position: 0,
            scratch: Vec::new(),
            informational: Vec::new(),
            head: None,
            decoder: None,
            body: Vec::new(),
            trailers: None,
            head_at: None,
            reused: false,
            then: Duration::ZERO,
            timer: None,
            streaming,
        }
    }

    /// Forgets what an earlier attempt received.
    pub(crate) fn reset_for_attempt(&mut self) {
        self.body_position = 0;
        self.informational.clear();
        self.head = None;
        self.decoder = None;
        self.body = Vec::new();
        self.trailers = None;
    }

    /// Ends the task's call with the response whose final `head` is in, its body `body`.
    pub(crate) fn finish(
        &mut self,
        call: Box<Call>,
        head: ResponseHead,
        body: BufferedBody,
    ) -> Result<Response, Error> {
        let head_at = self.head_at.unwrap_or_else(|| call.started());
        let informational = std::mem::take(&mut self.informational);
        (*call).finish(head, informational, self.reused, head_at, |parts| Response::buffered(parts, body))
    }
}

/// Every task, by request id.
#[derive(Default)]
pub(crate) struct Tasks {
    /// Boxed: a `Task` is over a kilobyte, and a hash table holds up to twice as many places as
    /// entries (`valgrind --tool=massif`: the unboxed table was 3.3 KiB per request in flight
    /// at 1,000).
    map: ByIdMap<Box<Task>>,
    next_id: u64,
}

impl Tasks {
    /// Adds a task; returns its id.
    pub(crate) fn insert(&mut self, task: Task) -> u64 {
        self.next_id += 1;
        self.map.insert(self.next_id, Box::new(task));
        self.next_id
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Task> {
        self.map.get(&id).map(|task| &**task)
    }

    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut Task> {
        self.map.get_mut(&id).map(|task| &mut **task)
    }

    /// Takes a task out, still boxed (moving it out of its box copies over a kilobyte).
    pub(crate) fn remove(&mut self, id: u64) -> Option<Box<Task>> {
        self.map.remove(&id)
    }

    pub(crate) fn contains(&self, id: u64) -> bool {
        self.map.contains_key(&id)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.map.keys().copied()
    }

    /// Body bytes held for callers (bodies being read whole).
    pub(crate) fn body_bytes(&self) -> usize {
        self.map.values().map(|task| task.body.capacity()).sum()
    }
}
