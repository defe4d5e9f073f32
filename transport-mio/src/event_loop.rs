//! The client: many calls in flight over non-blocking connections, driven by one
//! `mio::Poll` — its own, or the caller's.
//!
//! # Theory of operation
//!
//! A request becomes a *task* holding its [`Call`] (the client layer's policies, shared with
//! every transport). Tasks queue in order until the client layer's [`Scheduler`] admits them
//! under the overall and per-host limits; an admitted task makes attempts, each on a pooled
//! connection of the exact key or a new one (resolved on a resolver thread, connected without
//! blocking, tunnelled through a proxy and wrapped in TLS as its key says). Bytes move
//! between the sockets and each connection's core state machine whenever mio reports
//! readiness; every deadline (the cores' `poll_timeout()`, retry backoffs, the whole-call
//! deadline of queued tasks) sits in one ordered timer set.
//!
//! ```text
//!  send ─▶ Queued ─admit─▶ Attempt ─▶ Connecting ─▶ Exchange ─head─▶ Body ─end─▶ completion
//!                             ▲                        │  Again(wait)             │
//!                             └── Backoff ◀── Drain ◀──┘  (drained, or closed)    └─▶ pool
//! ```
//!
//! The state is split by owner: the [`Scheduler`] (limits and order), [`Tasks`] (per request),
//! [`Connections`] (slots and the pool), [`Streams`] (bodies read by their readers) and
//! [`Timers`]. Connection setup (`setup.rs`) and a connection's exchange (`exchange.rs`) work
//! on one connection at a time and report what follows.
//!
//! # The order of events
//!
//! Every input — readiness, a resolver's answer, a passed deadline, a request sent or
//! cancelled — becomes an [`Outcome`] in one queue, and [`Client::process`] handles them in
//! order. A handler acts on its own connection and task; anything that would start work
//! elsewhere (the next attempt of a task, admitting a queued one) is queued as an outcome,
//! never done by re-entering the loop. So a connection's events are handled to the end before
//! another attempt can take its slot, and the order in which things happen is the order of
//! the queue.
//!
//! Edge-triggered readiness: every time a connection is driven, it is read and written
//! until the socket would block, so no readiness is ever lost.

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mio::{Events, Poll, Registry, Token, Waker};
use tidings_client::schedule::Scheduler;
use tidings_client::{
    BufferedBody, Call, ConcurrencyLimits, Error, ErrorKind, Failure, PreparedRequest, RequestBuilder, Response,
    Session,
};
use tidings_core::{CloseReason, Headers};

use crate::completion::{ById, Completion, RequestId};
use crate::conn::{Conn, Phase, Spare};
use crate::connections::{Connections, Released};
use crate::exchange::{self, Step};
use crate::resolver::{Answer, Resolver, ResolverPool};
use crate::setup::{self, Setup};
use crate::streams::Streams;
use crate::task::{Stage, Task, Tasks};
use crate::timers::{Timer, Timers};

/// Something the client must handle, in the order it happened.
enum Outcome {
    /// The resolver answered for a connection.
    Resolved(Answer),
    /// A connection has something to do: readiness, or a change of its state.
    Drive { slot: usize, serial: u64 },
    /// A connection's deadline passed.
    ConnDeadline { slot: usize, serial: u64 },
    /// A task's deadline passed: its backoff is over, or it waited too long for a place.
    TaskDeadline(u64),
    /// A task makes its next attempt (it was admitted, or goes again).
    Attempt(u64),
}

/// An HTTP/1.1 client with many requests in flight on one thread. Built from a
/// [`Session`], whose defaults, credentials, cookies, timeouts, redirect and retry policies,
/// proxies, TLS settings, mounted profiles and pool limits it applies exactly as
/// `tidings-std` does.
///
/// ```
/// # let _httpbin = tidings_httpbin::Server::start()?;
/// # std::env::set_var("http_proxy", _httpbin.url("")); // httpbin.test is the in-process httpbin
/// let session = tidings_mio::Session::new();
/// let mut client = tidings_mio::Client::new(session)?;
/// let first = client.send(client.get("http://httpbin.test/get").build()?);
/// let second = client.send(client.get("http://httpbin.test/status/204").build()?);
/// for completion in client.wait_all()? {
///     let expected = if completion.id == first { 200 } else { 204 };
///     assert_eq!(completion.result?.status(), expected);
/// }
/// # let _ = second;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Client {
    session: Session,
    pub(crate) poll: Option<Poll>,
    pub(crate) events: Events,
    registry: Registry,
    /// The resolver's waker.
    waker: Token,
    resolver: ResolverPool,
    scheduler: Scheduler<u64, ById>,
    pub(crate) tasks: Tasks,
    pub(crate) conns: Connections,
    pub(crate) streams: Streams,
    timers: Timers,
    outcomes: VecDeque<Outcome>,
    pub(crate) completions: VecDeque<Completion>,
    /// The buffers lent to the connection being stepped.
    spare: Spare,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("in_flight", &self.scheduler.in_flight())
            .field("queued", &self.scheduler.queued())
            .field("open_connections", &self.conns.open_count())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client over `registry`, its connections' tokens taken from `tokens` after the
    /// first (the resolver's waker).
    pub(crate) fn assemble(
        session: Session,
        limits: ConcurrencyLimits,
        poll: Option<Poll>,
        registry: Registry,
        tokens: Range<usize>,
        resolver: Arc<dyn Resolver>,
        resolver_threads: usize,
    ) -> io::Result<Client> {
        let waker = Token(tokens.start);
        let resolver = ResolverPool::new(resolver, resolver_threads, Arc::new(Waker::new(&registry, waker)?));
        Ok(Client {
            session,
            poll,
            events: Events::with_capacity(256),
            registry,
            waker,
            resolver,
            scheduler: Scheduler::with_hasher(limits, ById::default()),
            tasks: Tasks::default(),
            conns: Connections::new(tokens),
            streams: Streams::default(),
            timers: Timers::default(),
            outcomes: VecDeque::new(),
            spare: Spare::default(),
            completions: VecDeque::new(),
        })
    }

    /// The session whose configuration the client applies.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// A request builder on the client's session (`.build()` it, then [`send`](Self::send)).
    pub fn request(&self, method: tidings_client::Method, url: &str) -> RequestBuilder {
        self.session.request(method, url)
    }

    /// A `GET` builder on the client's session.
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.session.get(url)
    }

    /// A `POST` builder on the client's session.
    pub fn post(&self, url: &str) -> RequestBuilder {
        self.session.post(url)
    }

    /// Submits a request; it starts when the limits allow. Its whole-call timeout counts
    /// from now, queueing included.
    pub fn send(&mut self, request: PreparedRequest) -> RequestId {
        self.submit(request, false)
    }

    /// Submits a request whose body is streamed: its completion comes as soon as the final
    /// head is in (after redirects, retries and auth, as with [`send`](Self::send)), with a
    /// response whose own body is empty; the body is then read with [`read`](Self::read) or
    /// [`try_read`](Self::try_read). Its bytes wait in the connection until they are read,
    /// so a slow reader costs bounded memory whatever the body's size or coding.
    pub fn send_streaming(&mut self, request: PreparedRequest) -> RequestId {
        self.submit(request, true)
    }

    fn submit(&mut self, request: PreparedRequest, streaming: bool) -> RequestId {
        let now = Instant::now();
        let call = Call::new(&self.session, request, now, SystemTime::now());
        let deadline = call.deadline();
        let id = self.tasks.insert(Task::new(call, streaming));
        if let Some(call) = self.tasks.get(id).and_then(|task| task.call.as_ref()) {
            self.scheduler.queue(id, call.url());
        }
        self.set_task_timer(id, deadline);
        self.process(now);
        RequestId(id)
    }

    /// Cancels a request: it is forgotten, and a connection it was using is closed (never
    /// pooled); nothing completes for it afterwards (a completion not taken yet is dropped).
    /// Returns whether the request was still pending, or its streamed body still open.
    pub fn cancel(&mut self, id: RequestId) -> bool {
        let now = Instant::now();
        if let Some(stream) = self.streams.remove(id.0) {
            if let Some(slot) = stream.slot {
                self.close_conn(slot);
            }
            // Its head may be waiting in the completions, not taken yet: it goes too.
            self.completions.retain(|completion| completion.id != id);
            self.forget(id.0);
            self.process(now);
            return true;
        }
        let Some(task) = self.tasks.get(id.0) else {
            let before = self.completions.len();
            self.completions.retain(|completion| completion.id != id);
            return before != self.completions.len();
        };
        if let Some(slot) = task.stage.slot() {
            self.close_conn(slot);
        }
        self.forget(id.0);
        self.process(now);
        true
    }

    /// Requests admitted and not finished.
    pub fn in_flight(&self) -> usize {
        self.scheduler.in_flight()
    }

    /// Requests waiting for a place.
    pub fn queued(&self) -> usize {
        self.scheduler.queued()
    }

    /// Requests not finished (in flight or queued).
    pub fn pending(&self) -> usize {
        self.tasks.len()
    }

    /// Connections open now (busy, idle or being set up).
    pub fn open_connections(&self) -> usize {
        self.conns.open_count()
    }

    /// Idle connections in the pool.
    pub fn idle_connections(&self) -> usize {
        self.conns.idle_count()
    }

    /// Buffer bytes held for open connections: those a connection keeps while bytes wait in
    /// them, and the set the client lends to the connection it steps (read buffer, request
    /// frame, TLS record buffer; not the kernel's buffers, nor rustls' own).
    pub fn connection_buffer_bytes(&self) -> usize {
        self.conns.buffer_bytes() + self.spare.capacity()
    }

    /// Body bytes held for callers: bodies being read whole (a streamed body holds none of
    /// its own; its bytes wait in the connection's buffer).
    pub fn body_buffer_bytes(&self) -> usize {
        self.tasks.body_bytes()
    }

    /// Handles a readiness event for one of the client's tokens (from the caller's poll).
    /// Events for other tokens are ignored.
    pub fn handle_event(&mut self, event: &mio::event::Event, now: Instant) {
        self.ready(event.token(), event.is_read_closed() || event.is_error());
        self.process(now);
    }

    /// Readiness for `token`: the resolver has answers, or a connection may read or write.
    pub(crate) fn ready(&mut self, token: Token, closed: bool) {
        if token == self.waker {
            self.outcomes.extend(self.resolver.answers().into_iter().map(Outcome::Resolved));
        } else if let Some(slot) = self.conns.slot_of(token) {
            if let Some(conn) = self.conns.get_mut(slot) {
                conn.readable = true;
                conn.read_closed |= closed;
                self.outcomes.push_back(Outcome::Drive { slot, serial: conn.serial });
            }
        }
    }

    /// The next deadline the client must be woken for.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first()
    }

    /// Fires every deadline at or before `now`: timeouts fail their request (only theirs),
    /// backoffs start the next attempt, idle connections expire.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in self.timers.take_due(now) {
            match timer {
                Timer::Conn { slot, serial } => {
                    let Some(conn) = self.conns.current(slot, serial) else { continue };
                    conn.timer = None;
                    // An entry left early (see `refresh_conn_timer`): registered again at the
                    // deadline, or gone if there is none.
                    if conn_deadline(conn).is_some_and(|deadline| deadline <= now) {
                        self.outcomes.push_back(Outcome::ConnDeadline { slot, serial });
                    } else {
                        self.refresh_conn_timer(slot);
                    }
                }
                Timer::Task(id) => {
                    if let Some(task) = self.tasks.get_mut(id) {
                        task.timer = None;
                        self.outcomes.push_back(Outcome::TaskDeadline(id));
                    }
                }
                Timer::Last => {}
            }
        }
        self.process(now);
    }

    /// Handles every queued outcome in order, admitting queued tasks as places free up.
    /// The one place where the order of events is decided.
    pub(crate) fn process(&mut self, now: Instant) {
        loop {
            while let Some(outcome) = self.outcomes.pop_front() {
                match outcome {
                    Outcome::Resolved(answer) => self.on_resolved(answer, now),
                    Outcome::Drive { slot, serial } => {
                        if self.conns.current(slot, serial).is_some() {
                            self.drive(slot, now);
                        }
                    }
                    Outcome::ConnDeadline { slot, serial } => self.on_conn_deadline(slot, serial, now),
                    Outcome::TaskDeadline(id) => self.on_task_deadline(id),
                    Outcome::Attempt(id) => self.on_attempt(id, now),
                }
            }
            let Some(id) = self.scheduler.admit() else { return };
            // Admitted: the call's deadline is now the connection's to keep.
            self.set_task_timer(id, None);
            self.outcomes.push_back(Outcome::Attempt(id));
        }
    }

    /// The next attempt of an admitted task: a pooled connection when one fits, else a new
    /// one. A hop to another host first waits for a place there.
    fn on_attempt(&mut self, id: u64, now: Instant) {
        let Some(task) = self.tasks.get_mut(id) else { return };
        let Some(call) = task.call.as_mut() else { return };
        if self.scheduler.next_hop(id, call.url()) {
            task.stage = Stage::Queued;
            let deadline = call.deadline();
            self.set_task_timer(id, deadline);
            return;
        }
        let attempt = match call.attempt(now) {
            Ok(attempt) => attempt,
            Err(error) => return self.complete(id, Err(error)),
        };
        // Rewinds a seekable body; the body is then read as the connection wants it.
        if let Err(error) = call.body().map(drop) {
            let error = error.at(call.url());
            return self.complete(id, Err(error));
        }
        task.reset_for_attempt();
        let attempt = task.attempt.insert(attempt);
        if !attempt.fresh_connection {
            if let Some(slot) = self.conns.take_idle(&attempt.key, now, &self.registry, &mut self.timers) {
                let pool_limits = attempt.pool_limits;
                task.stage = Stage::Exchange(slot);
                task.reused = true;
                if let Some(conn) = self.conns.get_mut(slot) {
                    conn.task = Some(id);
                    conn.reused = true;
                    conn.pool_limits = pool_limits;
                }
                return self.begin_exchange(slot, now);
            }
        }
        // A new connection keeps its own copies of what the attempt says about it.
        let (key, config, tls, pool_limits) =
            (attempt.key.clone(), attempt.config.clone(), attempt.tls.clone(), attempt.pool_limits);
        let proxy_tls = attempt.proxy_tls.clone();
        let slot = self.conns.open(key, config, tls, pool_limits, id, now);
        if let Some(conn) = self.conns.get_mut(slot) {
            conn.proxy_tls_config = proxy_tls;
        }
        task.stage = Stage::Connecting(slot);
        task.reused = false;
        if !self.conns.has_token(slot) {
            let error = Error::new(ErrorKind::Connect, "the client's token range has no token left for a connection");
            return self.conn_failed(slot, error, now);
        }
        let Some(conn) = self.conns.get_mut(slot) else { return };
        let progress = setup::begin(conn, slot, &mut self.resolver, &self.registry, now);
        self.after_setup(slot, progress, now);
    }

    fn on_resolved(&mut self, answer: Answer, now: Instant) {
        let Some(conn) = self.conns.current(answer.slot, answer.serial) else { return };
        if !matches!(conn.phase, Phase::Resolving | Phase::ResolvingTarget) {
            return;
        }
        let progress = setup::resolved(conn, answer.slot, answer.result, &mut self.resolver, &self.registry, now);
        self.after_setup(answer.slot, progress, now);
    }

    /// Moves a connection on: its setup, or its exchange's bytes both ways.
    fn drive(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(slot) else { return };
        if matches!(conn.phase, Phase::Ready) {
            return self.run_exchange(slot, now);
        }
        let progress = setup::advance(conn, &self.registry, now);
        self.after_setup(slot, progress, now);
    }

    fn after_setup(&mut self, slot: usize, progress: Setup, now: Instant) {
        match progress {
            Setup::Waiting => self.refresh_conn_timer(slot),
            Setup::Ready => self.connected(slot, now),
            Setup::Failed(error) => self.conn_failed(slot, error, now),
        }
    }

    /// A new connection is ready: its task's exchange starts, or (the task is gone) it
    /// joins the pool.
    fn connected(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(slot) else { return };
        if let Err(error) = conn.core.handle_connected(now) {
            return self.conn_failed(slot, Error::from(error), now);
        }
        match conn.task.and_then(|id| self.tasks.get_mut(id)) {
            Some(task) if task.stage == Stage::Connecting(slot) => {
                task.stage = Stage::Exchange(slot);
                self.begin_exchange(slot, now);
            }
            _ => {
                let _ = self.release(slot, now);
            }
        }
    }

    /// Hands the connection's task's request to its core and starts writing.
    fn begin_exchange(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(slot) else { return };
        let Some(id) = conn.task else { return };
        let Some(task) = self.tasks.get_mut(id) else { return };
        if let Err(error) = exchange::begin(conn, task, now) {
            return self.attempt_failed(id, error, Failure::Exchange { stale_retry_safe: false }, now);
        }
        self.run_exchange(slot, now);
    }

    /// Runs the connection's exchange as far as it goes and acts on where it stopped.
    fn run_exchange(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(slot) else { return };
        let id = conn.task;
        let streamed = id.is_some_and(|id| self.streams.contains(id));
        let task = id.and_then(|id| self.tasks.get_mut(id));
        // A streamed body's reader keeps ranges of its connection's buffer between reads:
        // that connection keeps its own.
        if !streamed {
            conn.borrow_buffers(&mut self.spare);
        }
        let step = exchange::run(conn, task, streamed, now);
        if !streamed {
            conn.return_buffers(&mut self.spare);
        }
        let Some(id) = id else {
            return match step {
                Step::IdleClosed | Step::ConnFailed(_) => self.close_conn(slot),
                _ => self.refresh_conn_timer(slot),
            };
        };
        match step {
            Step::Waiting => self.refresh_conn_timer(slot),
            Step::StreamHead => self.deliver_head(id, slot),
            Step::Ended(body_error) => {
                let close_reason = self.release(slot, now);
                self.deliver(id, close_reason, body_error);
            }
            Step::Drained => {
                let _ = self.release(slot, now);
                let wait = self.tasks.get(id).map_or(Duration::ZERO, |task| task.then);
                self.again(id, wait, now);
            }
            Step::Again(wait) => {
                self.close_conn(slot);
                self.again(id, wait, now);
            }
            Step::CallFailed(error) => {
                self.close_conn(slot);
                self.complete(id, Err(error));
            }
            Step::BodyFailed(error) => {
                self.close_conn(slot);
                self.deliver(id, None, Some(error));
            }
            Step::AttemptFailed(error, failure) => self.attempt_failed(id, error, failure, now),
            Step::ConnFailed(error) => self.conn_failed(slot, error, now),
            Step::IdleClosed => self.close_conn(slot),
        }
    }

    fn on_conn_deadline(&mut self, slot: usize, serial: u64, now: Instant) {
        let Some(conn) = self.conns.current(slot, serial) else { return };
        if conn.next_attempt_at().is_some_and(|at| at <= now) {
            // Happy Eyeballs: the next address joins the race.
            let progress = setup::connect_next(conn, &self.registry, now);
            self.after_setup(slot, progress, now);
        }
        let Some(conn) = self.conns.current(slot, serial) else { return };
        let streamed = conn.task.is_some_and(|id| self.streams.contains(id));
        if matches!(conn.phase, Phase::Ready) && !streamed {
            // Bytes that wait in the socket count before the deadline.
            conn.readable = true;
            self.run_exchange(slot, now);
        }
        let Some(conn) = self.conns.current(slot, serial) else { return };
        let result = match &mut conn.phase {
            Phase::Tunnelling { tunnel, .. } => tunnel.handle_timeout(now),
            _ => conn.core.handle_timeout(now),
        };
        let socks = matches!(conn.phase, Phase::Socks(_));
        match result {
            Ok(()) => self.drive(slot, now),
            // Past the deadline mid-handshake: say with which proxy.
            Err(error) if socks => {
                let (host, port) = conn.key.socket_address();
                let error = Error::from(error).context(&format!("SOCKS handshake with {host}:{port}"));
                self.conn_failed(slot, error, now);
            }
            Err(error) => self.conn_failed(slot, Error::from(error), now),
        }
    }

    fn on_task_deadline(&mut self, id: u64) {
        let Some(task) = self.tasks.get_mut(id) else { return };
        match task.stage {
            Stage::Backoff => self.outcomes.push_back(Outcome::Attempt(id)),
            Stage::Queued => {
                let error =
                    Error::new(ErrorKind::Timeout, "the call's timeout passed while it waited for a connection slot");
                let error = match task.call.as_ref() {
                    Some(call) => error.at(call.url()),
                    None => error,
                };
                self.complete(id, Err(error));
            }
            _ => {}
        }
    }

    /// Builds the response of a finished task and completes it. A body cut short
    /// (`body_error`) is delivered as far as it came, with its error returned when the
    /// response is read — as `tidings-std` returns it.
    fn deliver(&mut self, id: u64, close_reason: Option<CloseReason>, body_error: Option<Error>) {
        let Some(task) = self.tasks.get_mut(id) else { return };
        let (Some(call), Some(head)) = (task.call.take(), task.head.take()) else { return };
        let close_reason = match body_error {
            Some(_) => Some(close_reason.unwrap_or(CloseReason::ProtocolError)),
            None => close_reason,
        };
        let body_error = body_error.map(|error| error.at(call.url()));
        let body = BufferedBody::new(
            std::mem::take(&mut task.body),
            task.trailers.take(),
            close_reason,
            task.decoder.as_ref(),
            body_error,
        );
        let result = task.finish(call, head, body);
        self.complete(id, result);
    }

    /// A streamed request completes with its head; its body follows through `read`.
    fn deliver_head(&mut self, id: u64, slot: usize) {
        let Some(task) = self.tasks.get_mut(id) else { return };
        let (Some(call), Some(head)) = (task.call.take(), task.head.clone()) else { return };
        let url = call.url().clone();
        let empty = BufferedBody::new(Vec::new(), None, None, None, None);
        let result = task.finish(call, head, empty);
        let failed = result.is_err();
        self.completions.push_back(Completion { id: RequestId(id), result });
        if failed {
            // The call ended in an error (a redirect limit): its body is not wanted.
            self.close_conn(slot);
            self.forget(id);
            return;
        }
        if let Some(conn) = self.conns.get_mut(slot) {
            // The body waits for its reader; so does the read timeout.
            conn.core.pause_reading();
        }
        self.streams.start(id, url, slot);
        self.refresh_conn_timer(slot);
    }

    /// The next attempt after `wait`.
    fn again(&mut self, id: u64, wait: Duration, now: Instant) {
        let Some(task) = self.tasks.get_mut(id) else { return };
        task.stage = Stage::Backoff;
        if wait.is_zero() {
            self.outcomes.push_back(Outcome::Attempt(id));
        } else {
            self.set_task_timer(id, Some(now + wait));
        }
    }

    /// An attempt failed: its connection closes, and the call decides between another
    /// attempt and failing.
    fn attempt_failed(&mut self, id: u64, error: Error, failure: Failure, now: Instant) {
        let Some(task) = self.tasks.get(id) else { return };
        if let Some(slot) = task.stage.slot() {
            if self.conns.get(slot).is_some_and(|conn| conn.task == Some(id)) {
                self.close_conn(slot);
            }
        }
        let Some(call) = self.tasks.get_mut(id).and_then(|task| task.call.as_mut()) else { return };
        match call.after_failure(error, failure, now) {
            Ok(wait) => self.again(id, wait, now),
            Err(error) => self.complete(id, Err(error)),
        }
    }

    /// A connection failed: it closes, and its task's attempt fails (while connecting or
    /// before the head), or its body does (which ends the call with what it has).
    fn conn_failed(&mut self, slot: usize, error: Error, now: Instant) {
        let Some(conn) = self.conns.get(slot) else { return };
        let stale_retry_safe = conn.reused && conn.core.is_stale_retry_safe();
        let connecting = !matches!(conn.phase, Phase::Ready);
        let owner = conn.task;
        self.close_conn(slot);
        let Some(id) = owner else { return };
        let Some(task) = self.tasks.get(id) else { return };
        match task.stage {
            Stage::Connecting(_) | Stage::Exchange(_) => {
                let failure = if connecting { Failure::Connect } else { Failure::Exchange { stale_retry_safe } };
                self.attempt_failed(id, error, failure, now);
            }
            Stage::Body(_) => match self.streams.get_mut(id) {
                Some(stream) => {
                    stream.error = Some(error.at(&stream.url));
                    stream.slot = None;
                    self.forget(id);
                }
                None => self.deliver(id, None, Some(error)),
            },
            Stage::Drain(_) => {
                let wait = task.then;
                self.again(id, wait, now);
            }
            Stage::Queued | Stage::Backoff => {}
        }
    }

    /// A connection's exchange ended: it is pooled if the reuse rule and the limits allow,
    /// else closed. Returns why it could not carry another request, if it could not.
    pub(crate) fn release(&mut self, slot: usize, now: Instant) -> Option<CloseReason> {
        match self.conns.release(slot, now, &self.registry, &mut self.timers) {
            Released::Pooled => {
                // An idle connection still reads: bytes or a close arriving now end it.
                if let Some(conn) = self.conns.get(slot).filter(|conn| conn.readable) {
                    self.outcomes.push_back(Outcome::Drive { slot, serial: conn.serial });
                }
                self.refresh_conn_timer(slot);
                None
            }
            Released::Closed(reason) => reason,
        }
    }

    /// Closes a connection and frees its slot.
    pub(crate) fn close_conn(&mut self, slot: usize) {
        self.conns.close(slot, &self.registry, &mut self.timers);
    }

    /// Completes a task: its place under the limits is freed.
    fn complete(&mut self, id: u64, result: Result<Response, Error>) {
        if self.forget(id) {
            self.completions.push_back(Completion { id: RequestId(id), result });
        }
    }

    /// Forgets a task (completed, cancelled, or its body streamed to the end): its timer
    /// and its place under the limits go.
    pub(crate) fn forget(&mut self, id: u64) -> bool {
        let Some(task) = self.tasks.remove(id) else { return false };
        self.timers.reset(Timer::Task(id), task.timer, None);
        self.scheduler.finish(id);
        true
    }

    fn set_task_timer(&mut self, id: u64, deadline: Option<Instant>) {
        let Some(task) = self.tasks.get_mut(id) else { return };
        task.timer = self.timers.reset(Timer::Task(id), task.timer, deadline);
    }

    /// Keeps the connection's entry in the timer set no later than its next deadline.
    ///
    /// An entry already registered at or before the deadline stays where it is: a request
    /// moves its connection's deadline later at every step (sent, head read, back in the
    /// pool), and moving the entry each time was two operations on the ordered set per step.
    /// An entry that fires before the deadline is registered again at it
    /// ([`handle_timeout`](Self::handle_timeout)), so a deadline is never missed, and a
    /// connection holds one entry at most.
    pub(crate) fn refresh_conn_timer(&mut self, slot: usize) {
        let Some(conn) = self.conns.get_mut(slot) else { return };
        let deadline = conn_deadline(conn);
        if conn.timer.is_some_and(|registered| deadline.is_none_or(|deadline| registered <= deadline)) {
            return;
        }
        conn.timer = self.timers.reset(Timer::Conn { slot, serial: conn.serial }, conn.timer, deadline);
    }

    /// The trailer fields of a streamed body, once [`read`](Self::read) returned its end
    /// (`Ok(0)`); taken once. `None` before the end, for a body without trailers, and after
    /// another read past the end. Trailers not taken are kept for the
    /// [`KEPT_TRAILERS`](crate::KEPT_TRAILERS) streams that most recently ended with some.
    pub fn take_trailers(&mut self, id: RequestId) -> Option<Headers> {
        self.streams.take_trailers(id.0)
    }
}

/// The next moment the connection must be woken for: its core's deadline, its tunnel's,
/// or the next Happy Eyeballs attempt.
fn conn_deadline(conn: &Conn) -> Option<Instant> {
    match &conn.phase {
        Phase::Tunnelling { tunnel, .. } => {
            [tunnel.poll_timeout(), conn.core.poll_timeout()].into_iter().flatten().min()
        }
        _ => [conn.core.poll_timeout(), conn.next_attempt_at()].into_iter().flatten().min(),
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.conns.close_all(&self.registry, &mut self.timers);
    }
}
