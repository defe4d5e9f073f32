//! The client: many calls in flight over non-blocking connections, driven by one
//! `mio::Poll` — its own, or the caller's.
//!
//! # Theory of operation
//!
//! A request becomes a *task* holding its [`Call`] (the policies shared with `tidings-std`).
//! Tasks queue in order until the overall and per-host limits admit them; an admitted task
//! makes attempts, each on a pooled connection of the exact key or a new one (resolved on a
//! resolver thread, connected without blocking, tunnelled through a proxy and wrapped in TLS
//! as its key says). Bytes move between the sockets and each connection's core state
//! machine whenever mio reports readiness; every deadline (the cores' `poll_timeout()`, retry
//! backoffs, the whole-call deadline of queued tasks) sits in one ordered timer set.
//!
//! ```text
//!  send ─▶ Queued ─admit─▶ attempt ─▶ Connecting ─▶ Exchange ─head─▶ Body ─end─▶ completion
//!                             ▲                        │  Again(wait)             │
//!                             └── Backoff ◀── Drain ◀──┘  (drained, or closed)    └─▶ pool
//! ```
//!
//! Edge-triggered readiness: every time a connection is driven, it is read and written
//! until the socket would block, so no readiness is ever lost.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use mio::{Events, Poll, Registry, Token, Waker};
use tidings_client::buffers::{BODY_FRAME, CHUNK_FRAMING, DIRECT_READ, HEAD_FRAME};
use tidings_client::connect::{connect_order, connect_request, tunnel_failed, tunnel_verdict};
use tidings_client::pool::{drain_before_reuse, expire_idle, reuse_verdict, IdleSet};
use tidings_client::{
    Attempt, BufferedBody, Call, Error, ErrorKind, Failure, Next, PoolKey, PreparedRequest, RequestBody,
    RequestBuilder, Response, Session,
};
use tidings_core::{CloseReason, Connection, ContentDecoder, Headers, ResponseHead};

use crate::conn::{Attempts, Conn, Connecting, Phase, Received};
use crate::resolver::{literal, Resolver, ResolverPool, SystemResolver};

/// Hashes the client's own sequential ids (unique, never chosen by a peer) by one
/// multiplication, spreading them over the table's high bits.
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map keyed by the client's request ids.
type ById<V> = HashMap<u64, V, std::hash::BuildHasherDefault<IdHasher>>;

/// Identifies a request sent through a [`Client`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(u64);

impl RequestId {
    /// The number behind the id (unique within its client, increasing).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A finished request: its response (body read whole) or its error.
#[derive(Debug)]
pub struct Completion {
    /// Which request.
    pub id: RequestId,
    /// What came of it.
    pub result: Result<Response, Error>,
}

/// Concurrency limits: tasks beyond them wait in the order they were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests in flight at once (default 64).
    pub max_in_flight: usize,
    /// Requests in flight at once to one host and port (default 16). A redirect to another
    /// host counts against that host from its hop on, waiting for room there if need be.
    pub max_per_host: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_in_flight: 64, max_per_host: 16 }
    }
}

/// Configures a [`Client`].
#[must_use]
pub struct ClientBuilder {
    session: Session,
    limits: Limits,
    resolver: Arc<dyn Resolver>,
    resolver_threads: usize,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Concurrency limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Requests in flight at once.
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.limits.max_in_flight = max.max(1);
        self
    }

    /// Requests in flight at once to one host and port; each redirect hop counts against
    /// the host it goes to.
    pub fn max_per_host(mut self, max: usize) -> Self {
        self.limits.max_per_host = max.max(1);
        self
    }

    /// The resolver names go through (the system's by default).
    pub fn resolver(mut self, resolver: impl Resolver) -> Self {
        self.resolver = Arc::new(resolver);
        self
    }

    /// Threads that run the resolver (default 4, started as lookups need them).
    pub fn resolver_threads(mut self, threads: usize) -> Self {
        self.resolver_threads = threads.max(1);
        self
    }

    /// A client that runs its own `mio::Poll` ([`Client::wait`], [`Client::wait_all`],
    /// [`Client::completions`]).
    pub fn build(self) -> io::Result<Client> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let mut client = self.build_on(registry, 0..usize::MAX)?;
        client.poll = Some(poll);
        Ok(client)
    }

    /// A client living in the caller's event loop: it registers its sockets (and one
    /// waker) in `registry` with tokens from `tokens` — the first for the waker, one per
    /// connection after it. Hand it the events of those tokens with
    /// [`Client::handle_event`], sleep no longer than [`Client::poll_timeout`], and call
    /// [`Client::handle_timeout`].
    pub fn build_embedded(self, registry: &Registry, tokens: Range<usize>) -> io::Result<Client> {
        if tokens.len() < 2 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the token range needs at least two tokens"));
        }
        self.build_on(registry.try_clone()?, tokens)
    }

    fn build_on(self, registry: Registry, tokens: Range<usize>) -> io::Result<Client> {
        let waker = Arc::new(Waker::new(&registry, Token(tokens.start))?);
        let resolver = ResolverPool::new(self.resolver, self.resolver_threads, waker);
        Ok(Client {
            session: self.session,
            poll: None,
            events: Events::with_capacity(256),
            registry,
            tokens,
            resolver,
            conns: Vec::new(),
            free: Vec::new(),
            serial: 0,
            idle: IdleSet::default(),
            tasks: ById::default(),
            next_id: 0,
            queue: VecDeque::new(),
            per_host: HashMap::new(),
            active: 0,
            timers: BTreeSet::new(),
            completions: VecDeque::new(),
            limits: self.limits,
            streams: ById::default(),
            ended_with_trailers: VecDeque::new(),
        })
    }
}

/// A timer: a connection's core deadline or a task's (backoff, or its whole-call deadline
/// while it waits for a slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Conn {
        slot: usize,
        serial: u64,
    },
    Task(u64),
    /// Sorts after every other timer of the same instant (a bound for `split_off`).
    Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for a slot under the limits.
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
    fn conn(self) -> Option<usize> {
        match self {
            Stage::Connecting(slot) | Stage::Exchange(slot) | Stage::Body(slot) | Stage::Drain(slot) => Some(slot),
            Stage::Queued | Stage::Backoff => None,
        }
    }
}

struct Task {
    call: Option<Call>,
    stage: Stage,
    /// The limit key: host and port of the hop it is admitted for (see `host_key`).
    host: String,
    attempt: Option<Attempt>,
    /// How much of an in-memory body went out.
    body_position: usize,
    scratch: Vec<u8>,
    informational: Vec<(u16, Headers)>,
    head: Option<ResponseHead>,
    decoder: Option<ContentDecoder>,
    body: Vec<u8>,
    trailers: Option<Headers>,
    /// When the final head arrived.
    head_at: Option<Instant>,
    reused: bool,
    /// The wait after a drained response.
    then: Duration,
    timer: Option<Instant>,
    /// The body is streamed to the caller ([`Client::send_streaming`]) instead of read whole.
    streaming: bool,
}

/// A streamed body: its bytes stay in the connection (the socket, then the connection's
/// read buffer) until its reader asks, so TCP's own flow control holds a slow reader's
/// server back and nothing grows in between.
struct Stream {
    url: url::Url,
    /// The connection delivering it, until it ends or fails.
    slot: Option<usize>,
    /// Received body bytes not yet decoded, as a range of the connection's read buffer.
    pending: Range<usize>,
    /// The core saw the body's end.
    ended: bool,
    error: Option<Error>,
    /// Trailer fields, kept once the body ended (with `slot` gone) until taken.
    trailers: Option<Headers>,
}

/// One step of reading a streamed body.
enum StreamStep {
    Bytes(usize),
    Again,
    /// Nothing until the socket is readable again.
    Wait,
    Done,
    Failed(Error),
}

/// An HTTP/1.1 client with many requests in flight on one thread. Built from a
/// [`Session`], whose defaults, credentials, cookies, timeouts, redirect and retry policies,
/// proxies, TLS settings and pool limits it applies exactly as `tidings-std` does.
///
/// ```no_run
/// let session = tidings_std::Session::new();
/// let mut client = tidings_mio::Client::new(session)?;
/// let first = client.send(client.get("http://127.0.0.1:8080/get").build()?);
/// let second = client.send(client.get("http://127.0.0.1:8080/headers").build()?);
/// for completion in client.wait_all()? {
///     println!("{:?}: {}", completion.id, completion.result?.status());
/// }
/// # let _ = (first, second);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Client {
    session: Session,
    poll: Option<Poll>,
    events: Events,
    registry: Registry,
    tokens: Range<usize>,
    resolver: ResolverPool,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    serial: u64,
    /// Idle connections (their slots) by key, most recent last.
    idle: IdleSet<usize>,
    tasks: ById<Task>,
    next_id: u64,
    queue: VecDeque<u64>,
    per_host: HashMap<String, usize>,
    active: usize,
    timers: BTreeSet<(Instant, Timer)>,
    completions: VecDeque<Completion>,
    limits: Limits,
    streams: ById<Stream>,
    /// Streams that ended with trailers not yet taken, oldest first (ids already taken or
    /// dropped may linger; they are skipped).
    ended_with_trailers: VecDeque<u64>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("in_flight", &self.active)
            .field("queued", &self.queue.len())
            .field("open_connections", &self.open_connections())
            .finish_non_exhaustive()
    }
}

/// Streamed bodies that ended with trailers the caller has not taken
/// ([`Client::take_trailers`]) are kept for this many of the most recent; older ones go.
pub const KEPT_TRAILERS: usize = 64;

impl Client {
    /// A client with its own event loop and the default limits, configured by `session`
    /// (a `tidings_client::Session`, or a `tidings_std::Session`: the same settings).
    pub fn new(session: impl Into<Session>) -> io::Result<Client> {
        Client::builder(session).build()
    }

    /// Configures a client.
    pub fn builder(session: impl Into<Session>) -> ClientBuilder {
        ClientBuilder {
            session: session.into(),
            limits: Limits::default(),
            resolver: Arc::new(SystemResolver),
            resolver_threads: 4,
        }
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
        self.next_id += 1;
        let id = self.next_id;
        let host = host_key(request.url());
        let call = Call::new(&self.session, request, now, SystemTime::now());
        let deadline = call.deadline();
        self.tasks.insert(
            id,
            Task {
                call: Some(call),
                stage: Stage::Queued,
                host,
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
            },
        );
        self.queue.push_back(id);
        self.set_task_timer(id, deadline);
        self.admit(now);
        RequestId(id)
    }

    /// Cancels a request: it is forgotten, and a connection it was using is closed (never
    /// pooled). Returns whether the request was still pending.
    pub fn cancel(&mut self, id: RequestId) -> bool {
        if let Some(stream) = self.streams.remove(&id.0) {
            if let Some(slot) = stream.slot {
                self.close_conn(slot);
            }
            self.forget_task(id.0);
            self.admit(Instant::now());
            return true;
        }
        let Some(task) = self.tasks.get(&id.0) else {
            let before = self.completions.len();
            self.completions.retain(|completion| completion.id != id);
            return before != self.completions.len();
        };
        if let Some(slot) = task.stage.conn() {
            self.close_conn(slot);
        }
        self.queue.retain(|queued| *queued != id.0);
        self.forget_task(id.0);
        self.admit(Instant::now());
        true
    }

    /// Requests admitted and not finished.
    pub fn in_flight(&self) -> usize {
        self.active
    }

    /// Requests waiting for a slot.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Requests not finished (in flight or queued).
    pub fn pending(&self) -> usize {
        self.tasks.len()
    }

    /// Connections open now (busy, idle or being set up).
    pub fn open_connections(&self) -> usize {
        self.conns.iter().flatten().count()
    }

    /// Idle connections in the pool.
    pub fn idle_connections(&self) -> usize {
        self.idle.len()
    }

    /// Buffer bytes held by open connections (read and write buffers; not the kernel's, nor
    /// rustls' own).
    pub fn connection_buffer_bytes(&self) -> usize {
        self.conns.iter().flatten().map(Conn::buffered_capacity).sum()
    }

    /// Body bytes held for callers: bodies being read whole (a streamed body holds none of
    /// its own; its bytes wait in the connection's buffer).
    pub fn body_buffer_bytes(&self) -> usize {
        self.tasks.values().map(|task| task.body.capacity()).sum::<usize>()
    }

    /// Reads a streamed body ([`send_streaming`](Self::send_streaming)) once its head has
    /// been delivered, running the loop until bytes arrive: `Ok(0)` at its end, or the error
    /// that cut it short.
    pub fn read(&mut self, id: RequestId, buf: &mut [u8]) -> Result<usize, Error> {
        loop {
            if let Some(result) = self.try_read(id, buf) {
                return result;
            }
            self.turn(None)?;
        }
    }

    /// [`read`](Self::read) without waiting: `None` when no byte is ready yet (then wait
    /// for the connection's readiness, for a client in the caller's event loop).
    ///
    /// The reader drives its connection: bytes already received are decoded into `buf`;
    /// an identity body framed by its length (or the close) is read from the socket
    /// straight into `buf` when nothing is buffered, one copy fewer for large downloads.
    /// The read timeout runs only while the reader waits for the server.
    pub fn try_read(&mut self, id: RequestId, buf: &mut [u8]) -> Option<Result<usize, Error>> {
        let Some(stream) = self.streams.get_mut(&id.0) else {
            let error = Error::new(ErrorKind::InvalidRequest, format!("request {} has no streamed body to read", id.0));
            return Some(Err(error));
        };
        if let Some(error) = stream.error.take() {
            self.streams.remove(&id.0);
            return Some(Err(error));
        }
        let Some(slot) = stream.slot else {
            self.streams.remove(&id.0);
            return Some(Ok(0));
        };
        if buf.is_empty() {
            return Some(Ok(0));
        }
        let now = Instant::now();
        loop {
            match self.stream_step(id.0, slot, buf, now) {
                StreamStep::Bytes(count) => return Some(Ok(count)),
                StreamStep::Again => {}
                StreamStep::Wait => {
                    // Waiting on the server now: its silence counts.
                    if let Some(conn) = self.conns[slot].as_mut() {
                        conn.core.resume_reading(now);
                    }
                    self.refresh_conn_timer(slot);
                    return None;
                }
                StreamStep::Done => {
                    let trailers = self.tasks.get_mut(&id.0).and_then(|task| task.trailers.take());
                    match trailers {
                        Some(trailers) => self.keep_trailers(id.0, trailers),
                        None => drop(self.streams.remove(&id.0)),
                    }
                    let _ = self.release_from(slot);
                    self.forget_task(id.0);
                    // Its slot under the limits is free for a queued request.
                    self.admit(now);
                    return Some(Ok(0));
                }
                StreamStep::Failed(error) => {
                    let error = match self.streams.remove(&id.0) {
                        Some(stream) => error.at(&stream.url),
                        None => error,
                    };
                    self.close_conn(slot);
                    self.forget_task(id.0);
                    self.admit(now);
                    return Some(Err(error));
                }
            }
        }
    }

    /// One step of a streamed body's reader on connection `slot`: decode what is pending,
    /// finish at the end, feed the core, or read from the socket.
    fn stream_step(&mut self, id: u64, slot: usize, buf: &mut [u8], now: Instant) -> StreamStep {
        let (Some(stream), Some(task), Some(conn)) =
            (self.streams.get_mut(&id), self.tasks.get_mut(&id), self.conns.get_mut(slot).and_then(Option::as_mut))
        else {
            return StreamStep::Failed(Error::new(ErrorKind::Io, "the connection of the streamed body is gone"));
        };
        let Some(decoder) = task.decoder.as_mut() else {
            return StreamStep::Failed(Error::new(ErrorKind::Decode, "no decoder for the streamed body"));
        };
        if !stream.pending.is_empty() {
            return match decoder.decode(conn.bytes(stream.pending.clone()), buf) {
                Ok((0, 0)) => StreamStep::Failed(Error::new(ErrorKind::Decode, "the body's decoder made no progress")),
                Ok((used, written)) => {
                    stream.pending.start += used;
                    if written > 0 {
                        StreamStep::Bytes(written)
                    } else {
                        StreamStep::Again
                    }
                }
                Err(error) => StreamStep::Failed(error.into()),
            };
        }
        if stream.ended {
            return match decoder.finish(buf) {
                Ok(0) => StreamStep::Done,
                Ok(written) => StreamStep::Bytes(written),
                Err(error) => StreamStep::Failed(error.into()),
            };
        }
        if !conn.unconsumed().is_empty() || conn.eof || conn.feed_pending {
            conn.feed_pending = false;
            let at_eof = conn.eof && conn.unconsumed().is_empty();
            match conn.feed(now) {
                Ok(Some(received)) => {
                    match received {
                        Received::Data(range) => stream.pending = range,
                        Received::Trailers(trailers) => task.trailers = Some(trailers),
                        Received::End => stream.ended = true,
                        Received::Informational(..) | Received::Head(_) => {}
                    }
                    // The core may have another event for no further input (the end).
                    conn.feed_pending = true;
                    return StreamStep::Again;
                }
                Ok(None) if at_eof => {
                    return StreamStep::Failed(Error::new(ErrorKind::Eof, "connection closed before the body ended"))
                }
                Ok(None) if !conn.unconsumed().is_empty() => return StreamStep::Again,
                Ok(None) => {}
                Err(error) => return StreamStep::Failed(error.into()),
            }
        }
        if !conn.readable {
            return StreamStep::Wait;
        }
        let room = usize::try_from(decoder.room()).unwrap_or(usize::MAX);
        if decoder.is_identity() && buf.len() >= DIRECT_READ && room > 0 && conn.can_read_direct() {
            let limit = buf.len().min(room);
            return match conn.read_into(&mut buf[..limit]) {
                Ok(0) => StreamStep::Again,
                Ok(count) => match conn.feed_direct(now, &buf[..count]) {
                    Ok(0) => StreamStep::Again,
                    Ok(body) => match decoder.pass_through(body) {
                        Ok(()) => StreamStep::Bytes(body),
                        Err(error) => StreamStep::Failed(error.into()),
                    },
                    Err(error) => StreamStep::Failed(error.into()),
                },
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => StreamStep::Wait,
                Err(error) => StreamStep::Failed(Error::io(ErrorKind::Io, "reading the response", error)),
            };
        }
        match conn.read_some() {
            Ok(_) => StreamStep::Again,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => StreamStep::Wait,
            Err(error) => StreamStep::Failed(Error::io(ErrorKind::Io, "reading the response", error)),
        }
    }

    /// The trailer fields of a streamed body, once [`read`](Self::read) returned its end
    /// (`Ok(0)`); taken once. `None` before the end, for a body without trailers, and after
    /// another read past the end. Trailers not taken are kept for the [`KEPT_TRAILERS`]
    /// streams that most recently ended with some.
    pub fn take_trailers(&mut self, id: RequestId) -> Option<Headers> {
        let stream = self.streams.get_mut(&id.0)?;
        if stream.slot.is_some() {
            return None;
        }
        let trailers = stream.trailers.take()?;
        self.streams.remove(&id.0);
        Some(trailers)
    }

    /// The body of `id` ended with trailers: its stream stays, without a connection, until
    /// they are taken or read past; beyond [`KEPT_TRAILERS`] such streams the oldest go.
    fn keep_trailers(&mut self, id: u64, trailers: Headers) {
        if let Some(stream) = self.streams.get_mut(&id) {
            stream.slot = None;
            stream.trailers = Some(trailers);
            self.ended_with_trailers.push_back(id);
        }
        while self.ended_with_trailers.len() > KEPT_TRAILERS {
            let Some(oldest) = self.ended_with_trailers.pop_front() else { break };
            if self.streams.get(&oldest).is_some_and(|stream| stream.slot.is_none() && stream.trailers.is_some()) {
                self.streams.remove(&oldest);
            }
        }
    }

    /// A completion that is ready, without waiting.
    pub fn try_completion(&mut self) -> Option<Completion> {
        self.completions.pop_front()
    }

    /// Runs the loop until `id` completes, and returns its result (other completions are
    /// kept for later).
    pub fn wait(&mut self, id: RequestId) -> Result<Response, Error> {
        loop {
            if let Some(position) = self.completions.iter().position(|completion| completion.id == id) {
                if let Some(completion) = self.completions.remove(position) {
                    return completion.result;
                }
            }
            if !self.tasks.contains_key(&id.0) {
                return Err(Error::new(ErrorKind::InvalidRequest, format!("no pending request {}", id.0)));
            }
            self.turn(None)?;
        }
    }

    /// Whether a request has not completed yet (a streamed body still arriving does not
    /// count: its request completed with its head).
    fn unfinished(&self) -> bool {
        self.tasks.iter().any(|(id, _)| !self.streams.contains_key(id))
    }

    /// Runs the loop until every request has completed; returns every completion not yet
    /// taken, in the order they finished. Streamed bodies are read with [`read`](Self::read).
    pub fn wait_all(&mut self) -> Result<Vec<Completion>, Error> {
        while self.unfinished() {
            self.turn(None)?;
        }
        Ok(self.completions.drain(..).collect())
    }

    /// Completions as they finish, running the loop between them, until every request
    /// has completed or `deadline` passes.
    pub fn completions(&mut self, deadline: Option<Instant>) -> Completions<'_> {
        Completions { client: self, deadline }
    }

    /// One turn of the client's own loop: wait for readiness (until the next deadline or
    /// `limit`), handle it, fire passed deadlines.
    fn turn(&mut self, limit: Option<Instant>) -> Result<(), Error> {
        let Some(mut poll) = self.poll.take() else {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "this client lives in the caller's event loop: drive it with handle_event and handle_timeout",
            ));
        };
        let now = Instant::now();
        let wake = [self.poll_timeout(), limit].into_iter().flatten().min();
        let timeout = wake.map(|wake| wake.saturating_duration_since(now));
        let mut events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        let result = poll.poll(&mut events, timeout);
        self.poll = Some(poll);
        match result {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                self.events = events;
                return Err(Error::io(ErrorKind::Io, "waiting for readiness", error));
            }
        }
        let now = Instant::now();
        for event in events.iter() {
            self.handle_token(event.token(), event.is_read_closed() || event.is_error(), now);
        }
        self.events = events;
        self.handle_timeout(Instant::now());
        Ok(())
    }

    /// Handles a readiness event for one of the client's tokens (from the caller's poll).
    /// Events for other tokens are ignored.
    pub fn handle_event(&mut self, event: &mio::event::Event, now: Instant) {
        self.handle_token(event.token(), event.is_read_closed() || event.is_error(), now);
        self.admit(now);
    }

    fn handle_token(&mut self, token: Token, closed: bool, now: Instant) {
        if token.0 == self.tokens.start {
            for answer in self.resolver.answers() {
                self.resolved(answer, now);
            }
        } else if self.tokens.contains(&token.0) {
            let slot = token.0 - self.tokens.start - 1;
            if let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) {
                conn.readable = true;
                conn.read_closed |= closed;
                self.drive(slot, now);
            }
        }
        self.admit(now);
    }

    /// The next deadline the client must be woken for.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|(deadline, _)| *deadline)
    }

    /// Fires every deadline at or before `now`: timeouts fail their request (only theirs),
    /// backoffs start the next attempt, idle connections expire.
    pub fn handle_timeout(&mut self, now: Instant) {
        // The deadlines passed now; any set again while handling them wait for the next call.
        let later = self.timers.split_off(&(now, Timer::Last));
        let passed = std::mem::replace(&mut self.timers, later);
        for (_, timer) in passed {
            match timer {
                Timer::Conn { slot, serial } => {
                    let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else { continue };
                    if conn.serial != serial {
                        continue;
                    }
                    conn.timer = None;
                    if conn.next_attempt_at().is_some_and(|at| at <= now) {
                        // Happy Eyeballs: the next address joins the race.
                        self.connect(slot, now);
                    }
                    let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else { continue };
                    if conn.serial != serial {
                        continue;
                    }
                    let reader_driven = conn.task.is_some_and(|id| self.streams.contains_key(&id));
                    if matches!(conn.phase, Phase::Ready) && !reader_driven {
                        // Bytes that wait in the socket count before the deadline.
                        conn.readable = true;
                        self.drive(slot, now);
                    }
                    let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else { continue };
                    if conn.serial != serial {
                        continue;
                    }
                    let result = match &mut conn.phase {
                        Phase::Tunnelling { tunnel, .. } => tunnel.handle_timeout(now),
                        _ => conn.core.handle_timeout(now),
                    };
                    match result {
                        Ok(()) => self.drive(slot, now),
                        Err(error) => self.conn_failed(slot, Error::from(error), now),
                    }
                }
                Timer::Last => {}
                Timer::Task(id) => {
                    let Some(task) = self.tasks.get_mut(&id) else { continue };
                    task.timer = None;
                    match task.stage {
                        Stage::Backoff => self.next_attempt(id, now),
                        Stage::Queued => {
                            self.queue.retain(|queued| *queued != id);
                            let error = Error::new(
                                ErrorKind::Timeout,
                                "the call's timeout passed while it waited for a connection slot",
                            );
                            let url = task.call.as_ref().map(|call| call.url().clone());
                            let error = match url {
                                Some(url) => error.at(&url),
                                None => error,
                            };
                            self.complete(id, Err(error));
                        }
                        _ => {}
                    }
                }
            }
        }
        self.admit(now);
    }

    /// Starts queued tasks, in order, while the limits allow.
    fn admit(&mut self, now: Instant) {
        if self.queue.is_empty() || self.active >= self.limits.max_in_flight {
            return;
        }
        let mut index = 0;
        while index < self.queue.len() && self.active < self.limits.max_in_flight {
            let id = self.queue[index];
            let Some(task) = self.tasks.get(&id) else {
                self.queue.remove(index);
                continue;
            };
            let busy = self.per_host.get(&task.host).copied().unwrap_or(0);
            if busy >= self.limits.max_per_host {
                index += 1;
                continue;
            }
            self.queue.remove(index);
            match self.per_host.get_mut(&task.host) {
                Some(count) => *count += 1,
                None => {
                    self.per_host.insert(task.host.clone(), 1);
                }
            }
            self.active += 1;
            self.set_task_timer(id, None);
            self.start_attempt(id, now);
        }
    }

    /// The next attempt of a task: a pooled connection when one fits, else a new one.
    fn start_attempt(&mut self, id: u64, now: Instant) {
        let Some(task) = self.tasks.get_mut(&id) else { return };
        let Some(call) = task.call.as_mut() else { return };
        let attempt = match call.attempt(now) {
            Ok(attempt) => attempt,
            Err(error) => return self.complete(id, Err(error)),
        };
        // Rewinds a seekable body; the body is then read as the connection wants it.
        let rewound = call.body().map(drop);
        if let Err(error) = rewound {
            let error = error.at(call.url());
            return self.complete(id, Err(error));
        }
        task.body_position = 0;
        task.informational.clear();
        task.head = None;
        task.decoder = None;
        task.body = Vec::new();
        task.trailers = None;
        let key = attempt.key.clone();
        let fresh = attempt.fresh_connection;
        let (config, tls, pool_limits) = (attempt.config.clone(), attempt.tls.clone(), attempt.pool_limits);
        task.attempt = Some(attempt);
        if !fresh {
            if let Some(slot) = self.take_idle(&key, now) {
                let Some(task) = self.tasks.get_mut(&id) else {
                    let _ = self.release(slot);
                    return;
                };
                task.stage = Stage::Exchange(slot);
                task.reused = true;
                if let Some(conn) = self.conns[slot].as_mut() {
                    conn.task = Some(id);
                    conn.reused = true;
                    conn.pool_limits = pool_limits;
                }
                self.begin_exchange(slot, now);
                return;
            }
        }
        let slot = self.open_conn(key, config, tls, id, now);
        if let Some(conn) = self.conns[slot].as_mut() {
            conn.pool_limits = pool_limits;
        }
        if let Some(task) = self.tasks.get_mut(&id) {
            task.stage = Stage::Connecting(slot);
            task.reused = false;
        }
        self.setup(slot, now);
    }

    /// The most recently pooled usable connection for `key`.
    fn take_idle(&mut self, key: &PoolKey, now: Instant) -> Option<usize> {
        loop {
            let (slot, _) = self.idle.take(key)?;
            let verdict = match self.conns[slot].as_mut() {
                Some(conn) => {
                    expire_idle(&mut conn.core, now);
                    let arrived = conn.arrived_while_idle();
                    reuse_verdict(&conn.core, arrived)
                }
                None => continue,
            };
            match verdict {
                Ok(()) => {
                    log::debug!("reusing a connection to {}:{}", key.host(), key.port());
                    return Some(slot);
                }
                Err(reason) => {
                    log::debug!("dropping a pooled connection to {}:{}: {reason}", key.host(), key.port());
                    self.close_conn(slot);
                }
            }
        }
    }

    /// A new connection slot for `task`, resolving or connecting.
    fn open_conn(
        &mut self,
        key: PoolKey,
        config: tidings_core::Config,
        tls: Option<Arc<rustls::ClientConfig>>,
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
        let token = Token(self.tokens.start + 1 + slot);
        let mut conn = Conn::new(key, token, self.serial, Connection::connecting(config, now));
        conn.task = Some(task);
        conn.tls_config = tls;
        self.conns[slot] = Some(conn);
        slot
    }

    /// Starts resolving (or, for an IP literal, connecting) a new connection.
    fn setup(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.conns[slot].as_mut() else { return };
        if !self.tokens.contains(&conn.token.0) {
            let error = Error::new(ErrorKind::Connect, "the client's token range has no token left for a connection");
            return self.conn_failed(slot, error, now);
        }
        let (host, port) = conn.key.socket_address();
        match literal(host, port) {
            Some(address) => {
                conn.phase = Phase::Connecting(Box::new(Attempts::new(vec![address])));
                self.connect(slot, now);
            }
            None => {
                let (host, port, serial) = (host.to_owned(), port, conn.serial);
                if let Err(error) = self.resolver.lookup(slot, serial, &host, port) {
                    let error = Error::io(ErrorKind::Connect, &format!("cannot resolve {host}"), error);
                    return self.conn_failed(slot, error, now);
                }
                self.refresh_conn_timer(slot);
            }
        }
    }

    fn resolved(&mut self, answer: crate::resolver::Answer, now: Instant) {
        let Some(conn) = self.conns.get_mut(answer.slot).and_then(Option::as_mut) else { return };
        if conn.serial != answer.serial || !matches!(conn.phase, Phase::Resolving) {
            return;
        }
        let host = conn.key.socket_address().0.to_owned();
        match answer.result {
            Ok(addresses) if !addresses.is_empty() => {
                conn.phase = Phase::Connecting(Box::new(Attempts::new(connect_order(&addresses))));
                self.connect(answer.slot, now);
            }
            Ok(_) => {
                let error = Error::new(ErrorKind::Connect, format!("cannot resolve {host}: no address"));
                self.conn_failed(answer.slot, error, now);
            }
            Err(error) => {
                let error = Error::io(ErrorKind::Connect, &format!("cannot resolve {host}"), error);
                self.conn_failed(answer.slot, error, now);
            }
        }
    }

    /// Starts a connect to the next address (beside any under way).
    fn connect(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.conns[slot].as_mut() else { return };
        match conn.connect_next(&self.registry, now) {
            Ok(true) => self.refresh_conn_timer(slot),
            // Nothing new started: the ones under way (if any) decide.
            Ok(false) => self.drive(slot, now),
            Err(error) => {
                let (host, port) = conn.key.socket_address();
                let error = Error::io(ErrorKind::Connect, &format!("cannot connect to {host}:{port}"), error);
                self.conn_failed(slot, error, now);
            }
        }
    }

    /// Moves a connection on after readiness (or a change of state): setup steps, then the
    /// exchange's bytes both ways.
    fn drive(&mut self, slot: usize, now: Instant) {
        loop {
            let Some(conn) = self.conns[slot].as_mut() else { return };
            match &conn.phase {
                Phase::Resolving => return,
                Phase::Connecting(_) => match conn.poll_connects(&self.registry) {
                    // All under way failed: the next address starts at once.
                    Connecting::Pending if conn.connects_idle() => return self.connect(slot, now),
                    Connecting::Pending => return self.refresh_conn_timer(slot),
                    Connecting::Connected => {
                        log::debug!("connected to {}:{}", conn.key.host(), conn.key.port());
                        if conn.key.tunnels() {
                            let tunnel = Connection::connecting(conn.core.config().clone(), now);
                            conn.phase = Phase::Tunnelling { tunnel: Box::new(tunnel), sent: false };
                        } else if let Some(tls) = conn.tls_config.clone() {
                            if let Err(error) = conn.start_tls(tls) {
                                return self.conn_failed(slot, error, now);
                            }
                            conn.phase = Phase::Handshaking;
                        } else {
                            conn.phase = Phase::Ready;
                            return self.connected(slot, now);
                        }
                    }
                    Connecting::Failed(error) => {
                        let (host, port) = conn.key.socket_address();
                        log::debug!("connect to {host}:{port} failed: {error}");
                        let error = Error::io(ErrorKind::Connect, &format!("cannot connect to {host}:{port}"), error);
                        return self.conn_failed(slot, error, now);
                    }
                },
                Phase::Tunnelling { .. } => {
                    match tunnel_step(conn, now) {
                        Ok(false) => return self.refresh_conn_timer(slot),
                        Ok(true) => {
                            let Some(tls) = conn.tls_config.clone() else { return };
                            if let Err(error) = conn.start_tls(tls) {
                                return self.conn_failed(slot, error, now);
                            }
                            conn.phase = Phase::Handshaking;
                        }
                        Err(error) => return self.conn_failed(slot, error, now),
                    };
                }
                Phase::Handshaking => match conn.handshake() {
                    Ok(true) => {
                        conn.phase = Phase::Ready;
                        return self.connected(slot, now);
                    }
                    Ok(false) => return,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                    Err(error) => {
                        let error = tidings_client::tls::handshake_error(conn.key.host(), error);
                        return self.conn_failed(slot, error, now);
                    }
                },
                Phase::Ready => return self.exchange_io(slot, now),
            }
        }
    }

    /// A new connection is ready: its task's exchange starts, or (the task is gone) it
    /// joins the pool.
    fn connected(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.conns[slot].as_mut() else { return };
        if let Err(error) = conn.core.handle_connected(now) {
            return self.conn_failed(slot, Error::from(error), now);
        }
        match conn.task.and_then(|id| self.tasks.get_mut(&id)) {
            Some(task) if task.stage == Stage::Connecting(slot) => {
                task.stage = Stage::Exchange(slot);
                self.begin_exchange(slot, now);
            }
            _ => {
                conn.task = None;
                let _ = self.release(slot);
            }
        }
    }

    /// Hands the task's request to the connection's core and starts writing.
    fn begin_exchange(&mut self, slot: usize, now: Instant) {
        let Some(conn) = self.conns[slot].as_mut() else { return };
        let Some(id) = conn.task else { return };
        let Some(task) = self.tasks.get_mut(&id) else { return };
        let Some(attempt) = task.attempt.as_ref() else { return };
        // A pooled connection takes this request's read timeout.
        conn.core.set_read_timeouts(attempt.read_timeout, attempt.read_timeout);
        if let Err(error) = conn.core.send_request(now, &attempt.request) {
            let error = Error::from(error);
            return self.attempt_failed(id, error, Failure::Exchange { stale_retry_safe: false }, now);
        }
        tidings_client::wire::log_request_head(conn.core.pending_output());
        if let Some(deadline) = attempt.deadline {
            conn.core.set_call_deadline(deadline);
        }
        conn.sent = 0;
        conn.filled = 0;
        conn.write_failed = None;
        self.exchange_io(slot, now);
    }

    /// Writes what the core has framed (and body data it asks for), then reads and handles
    /// what arrived, until the socket would block both ways.
    fn exchange_io(&mut self, slot: usize, now: Instant) {
        loop {
            let mut progress = false;
            // Write.
            {
                let Some(conn) = self.conns[slot].as_mut() else { return };
                if conn.write_failed.is_none() && conn.task.is_some() {
                    loop {
                        if !conn.output_pending() {
                            let task = conn.task.and_then(|id| self.tasks.get_mut(&id));
                            match frame(conn, task, now) {
                                Ok(0) => {
                                    if conn.tls_pending() {
                                        let _ = conn.write_pending();
                                    }
                                    break;
                                }
                                Ok(_) => {}
                                Err(error) => {
                                    let Some(id) = conn.task else { return };
                                    let failure = Failure::Exchange { stale_retry_safe: false };
                                    return self.attempt_failed(id, error, failure, now);
                                }
                            }
                        }
                        match conn.write_pending() {
                            Ok(_) => progress = true,
                            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                            Err(error) => {
                                conn.write_failed = Some(error);
                                break;
                            }
                        }
                    }
                }
            }
            // Read and handle (unless a streamed body's reader is behind).
            loop {
                let Some(conn) = self.conns[slot].as_mut() else { return };
                if conn.task.is_some_and(|id| self.streams.contains_key(&id)) {
                    // A streamed body's reader reads its own bytes; until it asks, the
                    // silence is the reader's, not the server's.
                    conn.core.pause_reading();
                    break;
                }
                if !conn.unconsumed().is_empty() || conn.eof || conn.feed_pending {
                    conn.feed_pending = false;
                    if !self.handle_input(slot, now) {
                        return;
                    }
                    let Some(conn) = self.conns[slot].as_ref() else { return };
                    if conn.eof || (conn.task.is_none() && conn.core.is_closed()) {
                        break;
                    }
                }
                let Some(conn) = self.conns[slot].as_mut() else { return };
                if !conn.readable {
                    break;
                }
                match conn.read_some() {
                    Ok(0) => progress = true,
                    Ok(_) => progress = true,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                    Err(error) => {
                        let error = Error::io(ErrorKind::Io, "reading the response", error);
                        return self.conn_failed(slot, error, now);
                    }
                }
            }
            let Some(conn) = self.conns[slot].as_mut() else { return };
            if conn.task.is_none() {
                if conn.core.is_closed() || conn.eof {
                    log::debug!("an idle connection to {}:{} closed", conn.key.host(), conn.key.port());
                    self.close_conn(slot);
                } else {
                    self.refresh_conn_timer(slot);
                }
                return;
            }
            // A failed write with no response to show for it fails the attempt.
            if let Some(error) = conn.write_failed.take() {
                let head_seen = conn.task.and_then(|id| self.tasks.get(&id)).is_some_and(|task| task.head.is_some());
                if !head_seen {
                    let stale_retry_safe = conn.reused && conn.core.is_stale_retry_safe();
                    let Some(id) = conn.task else { return };
                    let error = Error::io(ErrorKind::Io, "sending the request", error);
                    return self.attempt_failed(id, error, Failure::Exchange { stale_retry_safe }, now);
                }
            }
            if !progress {
                self.refresh_conn_timer(slot);
                return;
            }
        }
    }

    /// Feeds received bytes (and the end of the stream) to the core and routes its events
    /// to the connection's task. Returns false when the connection is gone or changed hands.
    fn handle_input(&mut self, slot: usize, now: Instant) -> bool {
        loop {
            let Some(conn) = self.conns[slot].as_mut() else { return false };
            let owner = conn.task;
            let at_eof = conn.eof && conn.unconsumed().is_empty();
            let received = match conn.feed(now) {
                Ok(received) => received,
                Err(error) => {
                    self.conn_failed(slot, Error::from(error), now);
                    return false;
                }
            };
            let Some(received) = received else {
                if at_eof && owner.is_some() && conn.core.is_closed() && !conn.core.is_idle() {
                    // The core did not finish the exchange at the end of the stream.
                    let error = Error::new(ErrorKind::Eof, "connection closed before the response ended");
                    self.conn_failed(slot, error, now);
                    return false;
                }
                return true;
            };
            let Some(id) = owner else { continue };
            if !self.route(slot, id, received, now) {
                return false;
            }
            if self.conns[slot].as_ref().is_none_or(|conn| conn.task != Some(id)) {
                return self.conns[slot].is_some();
            }
            if at_eof || self.streams.contains_key(&id) {
                // A streamed body's reader takes it from here.
                return true;
            }
        }
    }

    /// Handles one event for task `id` on connection `slot`. Returns false when the
    /// connection was closed.
    fn route(&mut self, slot: usize, id: u64, received: Received, now: Instant) -> bool {
        let max_body = self.session.max_body();
        let Some(task) = self.tasks.get_mut(&id) else {
            self.close_conn(slot);
            return false;
        };
        match received {
            Received::Informational(status, headers) => task.informational.push((status, headers)),
            Received::Head(head) => {
                task.head_at = Some(now);
                let Some(call) = task.call.as_mut() else { return true };
                let next = call.after_head(&head, now);
                log::debug!("{} {} -> {}", call.method(), call.url(), head.status());
                match next {
                    Next::Finish => {
                        match ContentDecoder::for_response(head.headers(), max_body) {
                            Ok(decoder) => task.decoder = Some(decoder),
                            Err(error) => {
                                let error = Error::from(error).at(call.url());
                                self.close_conn(slot);
                                self.complete(id, Err(error));
                                return false;
                            }
                        }
                        task.head = Some(head);
                        task.stage = Stage::Body(slot);
                        if task.streaming {
                            return self.deliver_head(id, slot);
                        }
                    }
                    Next::Again(wait) => {
                        task.head = Some(head);
                        task.then = wait;
                        let cheap = self.conns[slot]
                            .as_ref()
                            .is_some_and(|conn| drain_before_reuse(conn.core.decoder().framing()));
                        if cheap {
                            task.stage = Stage::Drain(slot);
                        } else {
                            self.close_conn(slot);
                            self.again(id, wait, now);
                            return false;
                        }
                    }
                    Next::Fail(error) => {
                        self.close_conn(slot);
                        self.complete(id, Err(error));
                        return false;
                    }
                }
            }
            Received::Data(range) => {
                if let (Stage::Body(_), Some(decoder)) = (task.stage, task.decoder.as_mut()) {
                    let Some(conn) = self.conns[slot].as_ref() else { return false };
                    if let Err(error) = decoder.decode_into(conn.bytes(range), &mut task.body) {
                        self.close_conn(slot);
                        self.deliver(id, None, Some(Error::from(error)));
                        return false;
                    }
                }
            }
            Received::Trailers(trailers) => task.trailers = Some(trailers),
            Received::End => match task.stage {
                Stage::Body(_) => {
                    let finished = match task.decoder.as_mut() {
                        Some(decoder) => decoder.finish_into(&mut task.body).err().map(Error::from),
                        None => None,
                    };
                    let close_reason = self.release_from(slot);
                    self.deliver(id, close_reason, finished);
                }
                Stage::Drain(_) => {
                    let wait = task.then;
                    let _ = self.release_from(slot);
                    self.again(id, wait, now);
                }
                _ => {}
            },
        }
        true
    }

    /// Builds the response of a finished task and completes it.
    /// A body cut short (`body_error`) is delivered as far as it came, with its error
    /// returned when the response is read — as `tidings-std` returns it.
    fn deliver(&mut self, id: u64, close_reason: Option<CloseReason>, body_error: Option<Error>) {
        let Some(task) = self.tasks.get_mut(&id) else { return };
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
        let parts = task_parts(task, &call, head);
        let result = call.finish(Response::new(parts, Box::new(body)));
        self.complete(id, result);
    }

    /// A streamed request completes with its head; its body follows through `read`.
    fn deliver_head(&mut self, id: u64, slot: usize) -> bool {
        let Some(task) = self.tasks.get_mut(&id) else { return false };
        let (Some(call), Some(head)) = (task.call.take(), task.head.clone()) else { return false };
        let url = call.url().clone();
        let parts = task_parts(task, &call, head);
        let empty = BufferedBody::new(Vec::new(), None, None, None, None);
        let result = call.finish(Response::new(parts, Box::new(empty)));
        let failed = result.is_err();
        self.completions.push_back(Completion { id: RequestId(id), result });
        if failed {
            // The call ended in an error (a redirect limit): its body is not wanted.
            self.close_conn(slot);
            self.forget_task(id);
            return false;
        }
        if let Some(conn) = self.conns[slot].as_mut() {
            // The body waits for its reader; so does the read timeout.
            conn.core.pause_reading();
        }
        self.streams
            .insert(id, Stream { url, slot: Some(slot), pending: 0..0, ended: false, error: None, trailers: None });
        true
    }

    /// The next attempt after `wait`.
    fn again(&mut self, id: u64, wait: Duration, now: Instant) {
        let Some(task) = self.tasks.get_mut(&id) else { return };
        task.stage = Stage::Backoff;
        if wait.is_zero() {
            self.next_attempt(id, now);
        } else {
            self.set_task_timer(id, Some(now + wait));
        }
    }

    /// The next attempt of an admitted task. A hop to another host (a redirect) counts
    /// against that host's limit, not the first one's: the task gives up its slot and queues
    /// first in line, starting at once if that host has room. (Giving up the old host before
    /// waiting for the new one means two hops waiting on each other's host cannot deadlock.)
    fn next_attempt(&mut self, id: u64, now: Instant) {
        let Some(task) = self.tasks.get_mut(&id) else { return };
        let Some(call) = task.call.as_ref() else { return };
        let host = host_key(call.url());
        if host == task.host {
            return self.start_attempt(id, now);
        }
        let deadline = call.deadline();
        let previous = std::mem::replace(&mut task.host, host);
        task.stage = Stage::Queued;
        self.active -= 1;
        if let Some(count) = self.per_host.get_mut(&previous) {
            *count -= 1;
        }
        self.queue.push_front(id);
        self.set_task_timer(id, deadline);
        self.admit(now);
    }

    /// An attempt failed: the call decides between another attempt and failing.
    fn attempt_failed(&mut self, id: u64, error: Error, failure: Failure, now: Instant) {
        let Some(task) = self.tasks.get_mut(&id) else { return };
        if let Some(slot) = task.stage.conn() {
            self.close_conn(slot);
        }
        let Some(task) = self.tasks.get_mut(&id) else { return };
        let Some(call) = task.call.as_mut() else { return };
        match call.after_failure(error, failure, now) {
            Ok(wait) => self.again(id, wait, now),
            Err(error) => self.complete(id, Err(error)),
        }
    }

    /// A connection failed: its task's attempt failed (while connecting, before the head,
    /// or in the body, which fails the call), and the connection closes.
    fn conn_failed(&mut self, slot: usize, error: Error, now: Instant) {
        let Some(conn) = self.conns[slot].as_mut() else { return };
        let stale_retry_safe = conn.reused && conn.core.is_stale_retry_safe();
        let connecting = !matches!(conn.phase, Phase::Ready);
        let owner = conn.task;
        self.close_conn(slot);
        let Some(id) = owner else { return };
        let Some(task) = self.tasks.get(&id) else { return };
        match task.stage {
            Stage::Connecting(_) | Stage::Exchange(_) => {
                let failure = if connecting { Failure::Connect } else { Failure::Exchange { stale_retry_safe } };
                self.attempt_failed(id, error, failure, now);
            }
            Stage::Body(_) => match self.streams.get_mut(&id) {
                Some(stream) => {
                    stream.error = Some(error.at(&stream.url));
                    stream.slot = None;
                    self.forget_task(id);
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

    /// The connection's exchange ended: it leaves its task and goes to the pool (or closes).
    /// Returns why it could not carry another request, if it could not.
    fn release_from(&mut self, slot: usize) -> Option<CloseReason> {
        if let Some(conn) = self.conns[slot].as_mut() {
            conn.task = None;
        }
        self.release(slot)
    }

    /// Pools a connection if the reuse rule and the limits allow, else closes it. Returns
    /// why it could not carry another request, if it could not.
    fn release(&mut self, slot: usize) -> Option<CloseReason> {
        let conn = self.conns[slot].as_mut()?;
        let arrived = conn.arrived();
        if let Err(reason) = reuse_verdict(&conn.core, arrived) {
            log::debug!("closing connection to {}:{}: {reason}", conn.key.host(), conn.key.port());
            self.close_conn(slot);
            return Some(reason);
        }
        if self.idle.put(&conn.key, slot, conn.pool_limits, Instant::now()).is_err() {
            log::debug!("closing connection to {}:{}: the pool is full", conn.key.host(), conn.key.port());
            self.close_conn(slot);
            return None;
        }
        self.refresh_conn_timer(slot);
        None
    }

    /// Closes a connection and frees its slot.
    fn close_conn(&mut self, slot: usize) {
        let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) else { return };
        conn.core.abort();
        conn.close_socket(&self.registry);
        if let Some(deadline) = conn.timer.take() {
            self.timers.remove(&(deadline, Timer::Conn { slot, serial: conn.serial }));
        }
        self.idle.remove(&conn.key, |idle| *idle == slot);
        self.free.push(slot);
    }

    /// Completes a task: its slot under the limits is freed.
    fn complete(&mut self, id: u64, result: Result<Response, Error>) {
        if self.forget_task(id) {
            self.completions.push_back(Completion { id: RequestId(id), result });
        }
    }

    fn forget_task(&mut self, id: u64) -> bool {
        let Some(task) = self.tasks.remove(&id) else { return false };
        if let Some(deadline) = task.timer {
            self.timers.remove(&(deadline, Timer::Task(id)));
        }
        if task.stage != Stage::Queued {
            self.active -= 1;
            if let Some(count) = self.per_host.get_mut(&task.host) {
                *count -= 1;
                // A host's entry stays at zero while others are busy (no churn per request).
                if *count == 0 && self.active == 0 {
                    self.per_host.clear();
                }
            }
        }
        true
    }

    fn set_task_timer(&mut self, id: u64, deadline: Option<Instant>) {
        let Some(task) = self.tasks.get_mut(&id) else { return };
        if let Some(old) = task.timer.take() {
            self.timers.remove(&(old, Timer::Task(id)));
        }
        if let Some(deadline) = deadline {
            task.timer = Some(deadline);
            self.timers.insert((deadline, Timer::Task(id)));
        }
    }

    /// Keeps the connection's entry in the timer set equal to its core's next deadline.
    fn refresh_conn_timer(&mut self, slot: usize) {
        let Some(conn) = self.conns[slot].as_mut() else { return };
        let deadline = match &conn.phase {
            Phase::Tunnelling { tunnel, .. } => {
                [tunnel.poll_timeout(), conn.core.poll_timeout()].into_iter().flatten().min()
            }
            _ => [conn.core.poll_timeout(), conn.next_attempt_at()].into_iter().flatten().min(),
        };
        if deadline == conn.timer {
            return;
        }
        let timer = Timer::Conn { slot, serial: conn.serial };
        if let Some(old) = conn.timer.take() {
            self.timers.remove(&(old, timer));
        }
        if let Some(deadline) = deadline {
            conn.timer = Some(deadline);
            self.timers.insert((deadline, timer));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        for slot in 0..self.conns.len() {
            self.close_conn(slot);
        }
    }
}

/// Completions as they finish (from [`Client::completions`]).
#[derive(Debug)]
pub struct Completions<'a> {
    client: &'a mut Client,
    deadline: Option<Instant>,
}

impl Iterator for Completions<'_> {
    type Item = Completion;

    fn next(&mut self) -> Option<Completion> {
        loop {
            if let Some(completion) = self.client.completions.pop_front() {
                return Some(completion);
            }
            if !self.client.unfinished() || self.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return None;
            }
            if self.client.turn(self.deadline).is_err() {
                return None;
            }
        }
    }
}

/// The parts of a task's response, its final head in.
fn task_parts(task: &mut Task, call: &Call, head: ResponseHead) -> tidings_client::ResponseParts {
    let head_at = task.head_at.unwrap_or_else(|| call.started());
    call.response_parts(head, std::mem::take(&mut task.informational), task.reused, head_at)
}

/// What the per-host limit counts by: the URL's host and port (a proxy, if any, is not part
/// of it: the limit is there for the server's sake).
fn host_key(url: &url::Url) -> String {
    format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or(0))
}

/// Frames request bytes into the connection's output: what the core holds (head, chunk
/// framing, trailers), then body data while the core wants it. Returns how many.
fn frame(conn: &mut Conn, task: Option<&mut Task>, now: Instant) -> Result<usize, Error> {
    // Small to start (a head fits, and the core resumes a longer one); a body gets more.
    if conn.output.is_empty() {
        conn.output.resize(HEAD_FRAME, 0);
    }
    conn.sent = 0;
    conn.filled = 0;
    let mut filled = conn.core.poll_transmit(now, &mut conn.output);
    if let Some(task) = task {
        let Task { call, body_position, scratch, .. } = task;
        if let Some(call) = call.as_mut() {
            if conn.core.wants_body() && conn.output.len() < BODY_FRAME {
                conn.output.resize(BODY_FRAME, 0);
            }
            while conn.core.wants_body() && conn.output.len() - filled > 64 {
                match call.body_resume() {
                    RequestBody::Empty => break,
                    RequestBody::Bytes(bytes) => {
                        let (used, written) =
                            conn.core.send_body(now, &bytes[*body_position..], &mut conn.output[filled..])?;
                        *body_position += used;
                        filled += written;
                        if used == 0 {
                            break;
                        }
                    }
                    RequestBody::Reader(mut reader) => {
                        // Leave room for the chunk framing around the data.
                        let room = conn.output.len() - filled - CHUNK_FRAMING;
                        scratch.resize(room, 0);
                        let count = match reader.read(&mut scratch[..room]) {
                            Ok(count) => count,
                            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                            Err(error) => {
                                conn.core.abort();
                                return Err(Error::io(ErrorKind::InvalidRequest, "reading the request body", error));
                            }
                        };
                        if count == 0 {
                            conn.core.finish_body(now, None)?;
                            filled += conn.core.poll_transmit(now, &mut conn.output[filled..]);
                            break;
                        }
                        let (_, written) = conn.core.send_body(now, &scratch[..count], &mut conn.output[filled..])?;
                        filled += written;
                    }
                }
            }
        }
    }
    conn.filled = filled;
    Ok(filled)
}

/// One step of a `CONNECT` exchange with the proxy: `Ok(true)` once the tunnel is open.
fn tunnel_step(conn: &mut Conn, now: Instant) -> Result<bool, Error> {
    let key = conn.key.clone();
    let Phase::Tunnelling { tunnel, sent } = &mut conn.phase else { return Ok(false) };
    if !*sent {
        tunnel.handle_connected(now)?;
        let request = connect_request(&key)?;
        tunnel.send_request(now, &request)?;
        tidings_client::wire::log_request_head(tunnel.pending_output());
        let mut output = vec![0; 4096];
        let mut filled = 0;
        loop {
            let count = tunnel.poll_transmit(now, &mut output[filled..]);
            if count == 0 {
                break;
            }
            filled += count;
            if filled == output.len() {
                output.resize(output.len() * 2, 0);
            }
        }
        conn.output = output;
        conn.sent = 0;
        conn.filled = filled;
        *sent = true;
    }
    match conn.write_pending() {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
        Err(error) => return Err(tunnel_failed(&key, Error::io(ErrorKind::Io, "writing to the proxy", error))),
    }
    loop {
        match conn.read_some() {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(tunnel_failed(&key, Error::io(ErrorKind::Io, "reading from the proxy", error))),
        }
        let head = match conn.feed(now) {
            Ok(Some(Received::Head(head))) => Some(head),
            Ok(_) => None,
            Err(error) if conn.eof => return Err(tunnel_failed(&key, Error::from(error))),
            Err(error) => return Err(Error::from(error)),
        };
        match head {
            Some(head) => {
                tunnel_verdict(&key, &head, !conn.unconsumed().is_empty())?;
                conn.sent = 0;
                conn.filled = 0;
                return Ok(true);
            }
            None if conn.eof => {
                let closed = Error::new(ErrorKind::Eof, "the proxy closed the connection before answering");
                return Err(tunnel_failed(&key, closed));
            }
            None if conn.unconsumed().is_empty() => return Ok(false),
            None => {}
        }
    }
}
