//! One HTTP/1.1 connection's client side, as a state machine with no I/O and no clock.
//!
//! # Theory of operation
//!
//! A connection carries one exchange at a time (no pipelining). The driver moves bytes and
//! time; the connection decides everything else.
//!
//! ```text
//!   connecting ──handle_connected──▶ idle ──send_request──▶ busy ──End──▶ idle (kept alive)
//!                                     ▲                      │  └──End──▶ closed (reason)
//!                                     └──────────────────────┘  └─error─▶ failed (sticky)
//! ```
//!
//! Within `busy`, sending and receiving run side by side: a final response that arrives while
//! the body is still being sent is surfaced at once, the rest of the body is abandoned, and
//! the connection closes afterwards (reason `aborted`).
//!
//! # Polling order
//!
//! After every input (bytes, EOF, time) the driver:
//! 1. writes what [`poll_transmit`](Connection::poll_transmit) gives (and, while
//!    [`wants_body`](Connection::wants_body), frames body data with
//!    [`send_body`](Connection::send_body) / [`finish_body`](Connection::finish_body));
//! 2. feeds received bytes to [`handle_input`](Connection::handle_input) until it returns
//!    `None`, keeping the unconsumed rest;
//! 3. sleeps until input or [`poll_timeout`](Connection::poll_timeout), then calls
//!    [`handle_timeout`](Connection::handle_timeout).
//!
//! # Deadlines and what moves them
//!
//! | call | deadlines it sets or clears |
//! |---|---|
//! | [`connecting`](Connection::connecting) | connect |
//! | [`handle_connected`](Connection::handle_connected) | clears connect, sets idle |
//! | [`send_request`](Connection::send_request) | clears idle; sets total and send |
//! | `poll_transmit` / `send_body` writing bytes | pushes send forward |
//! | the request fully written | clears send; sets wait-for-head and between-bytes |
//! | `handle_input` with bytes, once reading | pushes between-bytes forward |
//! | the final head | clears wait-for-head |
//! | the response's end | clears the exchange's deadlines; sets idle |
//! | [`pause_reading`](Connection::pause_reading) | clears between-bytes |
//! | [`resume_reading`](Connection::resume_reading) | sets between-bytes from `now` |
//! | [`handle_timeout`](Connection::handle_timeout) | fires any that passed |

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Error, InvalidRequest, Misuse, Timeout, TimeoutPhase};
use crate::framing::{CloseReason, ResponseContext};
use crate::headers::Headers;
use crate::request::{check_trailers, chunk_overhead, write_chunk, Request, RequestFraming, RequestPlan};
use crate::response::{Event, ResponseDecoder, Step};

/// What one call to [`Connection::send_body`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodySent {
    /// Bytes of the data given that were taken (framed into the buffer).
    pub consumed: usize,
    /// Bytes written to the buffer: pending head bytes, chunk framing and data. Write them
    /// out whatever the state.
    pub written: usize,
    /// Where the body stands now.
    pub state: BodyState,
}

/// Where a request body stands after [`Connection::send_body`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyState {
    /// More body data is wanted: call again with the rest.
    Wanted,
    /// The buffer had no room for (all of) the data: write it out, then call again with what
    /// was not consumed.
    BufferFull,
    /// The body waits for `100 Continue` (or the end of its wait): nothing was taken; call
    /// again once [`Connection::wants_body`] says so.
    AwaitingContinue,
    /// Every byte of a body of known length was taken (its end, for a chunked body, is in
    /// the buffer or pending); a body of unknown length ends with
    /// [`Connection::finish_body`].
    Complete,
    /// A final response arrived first: the rest of the body is not sent (the connection
    /// closes afterwards).
    Abandoned,
}

/// The client side of one HTTP/1.1 connection. See the [module docs](self) for the
/// polling order and the deadline table.
#[derive(Debug)]
pub struct Connection {
    config: Config,
    decoder: ResponseDecoder,
    /// Head and framing bytes waiting to be written.
    out: Vec<u8>,
    out_position: usize,
    status: Status,
    exchange: Exchange,
    deadlines: Deadlines,
}

/// Where the connection is in its life; kept apart from the decoder so the decoder can be
/// borrowed while the status changes.
#[derive(Debug, Clone)]
struct Status {
    phase: Phase,
    close_reason: Option<CloseReason>,
    error: Option<Error>,
    exchanges_completed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Idle,
    Busy,
    Closed,
    Failed,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Connecting => "connecting",
            Phase::Idle => "idle",
            Phase::Busy => "an exchange is in progress",
            Phase::Closed => "the connection is closed",
            Phase::Failed => "the connection has failed",
        }
    }
}

/// The current exchange's sending side.
#[derive(Debug, Clone, Copy)]
struct Exchange {
    send: Sending,
    plan: Option<RequestPlan>,
    body_sent: u64,
    response_started: bool,
    final_head: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sending {
    /// The head (and any framing already decided) is in `out`.
    Head,
    /// The head is written; the body waits for `100 Continue` or its deadline.
    WaitContinue,
    /// The driver is sending body data.
    Body,
    /// The chunked terminator and trailers are in `out`.
    Finishing,
    /// The whole request was written.
    Done,
    /// A final response arrived before the request was written; the rest is not sent.
    Abandoned,
}

#[derive(Debug, Clone, Copy, Default)]
struct Deadlines {
    connect: Option<Instant>,
    send: Option<Instant>,
    wait_for_head: Option<Instant>,
    between_bytes: Option<Instant>,
    total: Option<Instant>,
    expect_continue: Option<Instant>,
    idle: Option<Instant>,
}

impl Deadlines {
    fn clear_exchange(&mut self) {
        *self = Deadlines { connect: self.connect, ..Deadlines::default() };
    }

    fn failing(&self) -> [(Option<Instant>, TimeoutPhase); 5] {
        [
            (self.connect, TimeoutPhase::Connect),
            (self.total, TimeoutPhase::Total),
            (self.send, TimeoutPhase::Send),
            (self.wait_for_head, TimeoutPhase::WaitForHead),
            (self.between_bytes, TimeoutPhase::BetweenBytes),
        ]
    }
}

fn after(now: Instant, budget: Option<Duration>) -> Option<Instant> {
    budget.and_then(|budget| now.checked_add(budget))
}

impl Status {
    fn fail(&mut self, error: Error, reason: CloseReason) -> Error {
        self.phase = Phase::Failed;
        self.close_reason.get_or_insert(reason);
        self.error = Some(error.clone());
        error
    }

    fn close(&mut self, reason: CloseReason) {
        self.phase = Phase::Closed;
        self.close_reason.get_or_insert(reason);
    }

    fn check(&self) -> Result<(), Error> {
        match &self.error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn misuse(&self, operation: &'static str) -> Error {
        Misuse { operation, state: self.phase.name() }.into()
    }
}

fn close_reason_for(error: &Error) -> CloseReason {
    match error {
        Error::Timeout(_) => CloseReason::Timeout,
        Error::Incomplete(_) => CloseReason::PeerClosed,
        Error::InvalidRequest(_) | Error::Misuse(_) => CloseReason::Aborted,
        _ => CloseReason::ProtocolError,
    }
}

impl Connection {
    /// A connection that is already established (for example, one the caller connected).
    pub fn new(config: Config) -> Connection {
        let decoder = ResponseDecoder::new(config.limits.clone(), config.leniency.clone());
        Connection {
            config,
            decoder,
            out: Vec::new(),
            out_position: 0,
            status: Status { phase: Phase::Idle, close_reason: None, error: None, exchanges_completed: 0 },
            exchange: Exchange {
                send: Sending::Done,
                plan: None,
                body_sent: 0,
                response_started: false,
                final_head: false,
            },
            deadlines: Deadlines::default(),
        }
    }

    /// A connection being established now; the connect deadline starts.
    pub fn connecting(config: Config, now: Instant) -> Connection {
        let mut connection = Connection::new(config);
        connection.status.phase = Phase::Connecting;
        connection.deadlines.connect = after(now, connection.config.budgets.connect);
        connection
    }

    /// The transport finished connecting (TCP and, where used, TLS).
    pub fn handle_connected(&mut self, now: Instant) -> Result<(), Error> {
        self.status.check()?;
        if self.status.phase != Phase::Connecting {
            return Err(self.status.misuse("handle_connected"));
        }
        self.deadlines.connect = None;
        self.status.phase = Phase::Idle;
        self.deadlines.idle = after(now, self.config.budgets.idle);
        Ok(())
    }

    /// Sets the send and between-bytes budgets for the exchanges to come (a pooled
    /// connection carrying a request with its own read timeout). Deadlines already running
    /// keep their instant.
    pub fn set_read_timeouts(&mut self, send: Option<Duration>, between_bytes: Option<Duration>) {
        self.config.budgets.send = send;
        self.config.budgets.between_bytes = between_bytes;
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Starts an exchange: validates `request` and prepares its head. Nothing is written if
    /// the request is invalid, and the connection stays usable. The body's bytes (if any)
    /// are passed to [`send_body`](Self::send_body) afterwards.
    pub fn send_request(&mut self, now: Instant, request: &Request) -> Result<RequestPlan, Error> {
        self.status.check()?;
        if self.status.phase != Phase::Idle {
            return Err(self.status.misuse("send_request"));
        }
        self.out.clear();
        self.out_position = 0;
        let plan = request.write_head(&mut self.out).inspect_err(|_| self.out.clear())?;
        let mut send = Sending::Head;
        if plan.framing == (RequestFraming::Chunked { known_length: Some(0) }) {
            self.out.extend_from_slice(b"0\r\n\r\n");
            send = Sending::Finishing;
        }
        self.exchange = Exchange { send, plan: Some(plan), body_sent: 0, response_started: false, final_head: false };
        self.decoder.start(ResponseContext {
            is_head: plan.is_head,
            is_connect: plan.is_connect,
            upgrade: plan.upgrade,
        });
        self.status.phase = Phase::Busy;
        let timeouts = self.config.budgets;
        self.deadlines.clear_exchange();
        self.deadlines.total = after(now, timeouts.total);
        self.deadlines.send = after(now, timeouts.send);
        Ok(plan)
    }

    /// Caps the current exchange at an absolute deadline (a transport's whole-call budget
    /// that spans redirects and retries). The earlier of this and the `total` budget wins.
    pub fn set_call_deadline(&mut self, deadline: Instant) {
        if self.status.phase == Phase::Busy {
            self.deadlines.total = Some(self.deadlines.total.map_or(deadline, |total| total.min(deadline)));
        }
    }

    /// Writes pending request bytes (head, chunk terminator, trailers) into `buf`; returns
    /// how many. Resumes where it stopped when `buf` is small.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> usize {
        if self.status.phase != Phase::Busy || self.out_position == self.out.len() {
            return 0;
        }
        let pending = &self.out[self.out_position..];
        let count = pending.len().min(buf.len());
        buf[..count].copy_from_slice(&pending[..count]);
        self.out_position += count;
        if count > 0 {
            self.deadlines.send = after(now, self.config.budgets.send);
        }
        if self.out_position == self.out.len() {
            self.out.clear();
            self.out_position = 0;
            self.flushed(now);
        }
        count
    }

    /// Everything in `out` was handed to the driver: move the send side on.
    fn flushed(&mut self, now: Instant) {
        let Some(plan) = self.exchange.plan else { return };
        match self.exchange.send {
            Sending::Head => {
                let empty = matches!(plan.framing, RequestFraming::None | RequestFraming::ContentLength(0));
                if empty {
                    self.request_sent(now);
                } else if plan.expect_continue && !self.exchange.final_head {
                    self.exchange.send = Sending::WaitContinue;
                    self.deadlines.expect_continue = now.checked_add(self.config.budgets.expect_continue);
                } else {
                    self.exchange.send = Sending::Body;
                }
            }
            Sending::Finishing => self.request_sent(now),
            _ => {}
        }
    }

    fn request_sent(&mut self, now: Instant) {
        self.exchange.send = Sending::Done;
        self.deadlines.send = None;
        self.deadlines.expect_continue = None;
        if !self.exchange.final_head {
            self.deadlines.wait_for_head = after(now, self.config.budgets.wait_for_head);
        }
        self.deadlines.between_bytes = after(now, self.config.budgets.between_bytes);
    }

    /// Frames body data into `buf` (after any pending head bytes): says how much of `data` it
    /// took, how many bytes it wrote to `buf`, and where the body stands ([`BodySent`]). A
    /// known-length body ends by itself after its last byte; a chunked one ends with
    /// [`finish_body`](Self::finish_body). Once the body ended, an empty `data` only writes
    /// what is pending ([`BodyState::Complete`]), and more data is misuse, as is any call on
    /// a request without a body; a body that ends as its head goes out (`Content-Length: 0`)
    /// takes none of `data` (`consumed` 0, `Complete`). An error never writes to `buf`.
    pub fn send_body(&mut self, now: Instant, data: &[u8], buf: &mut [u8]) -> Result<BodySent, Error> {
        self.status.check()?;
        let plan = match (self.status.phase, self.exchange.plan) {
            (Phase::Busy, Some(plan)) => plan,
            _ => return Err(self.status.misuse("send_body")),
        };
        // Misuse is refused before anything is framed into `buf`: an error hands back no
        // count, so bytes written before it (the head, the last chunk) would be lost to the
        // wire while the connection went on (found by the `connection` fuzz target).
        if plan.framing == RequestFraming::None {
            return Err(self.status.misuse("send_body on a request without a body"));
        }
        if !data.is_empty() && matches!(self.exchange.send, Sending::Finishing | Sending::Done) {
            return Err(self.status.misuse("send_body after the body ended"));
        }
        let mut written = self.poll_transmit(now, buf);
        let state = match self.exchange.send {
            Sending::Body => None,
            Sending::Head => Some(BodyState::BufferFull),
            Sending::WaitContinue => Some(BodyState::AwaitingContinue),
            Sending::Abandoned => Some(BodyState::Abandoned),
            // The body had ended (or was empty, and ended as its head went out): what was
            // pending is written, nothing more is taken.
            Sending::Finishing | Sending::Done => Some(BodyState::Complete),
        };
        if let Some(state) = state {
            return Ok(BodySent { consumed: 0, written, state });
        }
        let space = &mut buf[written..];
        let consumed = match plan.framing {
            RequestFraming::None => 0,
            RequestFraming::ContentLength(declared) => {
                self.check_length(declared, data.len())?;
                let take = data.len().min(space.len());
                space[..take].copy_from_slice(&data[..take]);
                written += take;
                take
            }
            RequestFraming::Chunked { known_length } => {
                if let Some(declared) = known_length {
                    self.check_length(declared, data.len())?;
                }
                let take = write_chunk(data, space);
                written += if take > 0 { take + chunk_overhead(take) } else { 0 };
                take
            }
        };
        self.exchange.body_sent += consumed as u64;
        if written > 0 {
            self.deadlines.send = after(now, self.config.budgets.send);
        }
        let state = match plan.framing {
            RequestFraming::ContentLength(declared) if self.exchange.body_sent == declared => {
                self.request_sent(now);
                BodyState::Complete
            }
            RequestFraming::Chunked { known_length: Some(declared) } if self.exchange.body_sent == declared => {
                self.out.extend_from_slice(b"0\r\n\r\n");
                self.exchange.send = Sending::Finishing;
                written += self.poll_transmit(now, &mut buf[written..]);
                BodyState::Complete
            }
            _ if consumed < data.len() => BodyState::BufferFull,
            _ => BodyState::Wanted,
        };
        Ok(BodySent { consumed, written, state })
    }

    fn check_length(&mut self, declared: u64, more: usize) -> Result<(), Error> {
        let sent = self.exchange.body_sent + more as u64;
        if sent > declared {
            let error = InvalidRequest::BodyLength { declared, sent }.into();
            return Err(self.status.fail(error, CloseReason::Aborted));
        }
        Ok(())
    }

    /// Ends a streamed body. For a chunked body, writes the last chunk and `trailers`
    /// (which must be valid fields and not framing or routing fields, RFC 9110 §6.5.1) to be
    /// collected with [`poll_transmit`](Self::poll_transmit). A known-length body must have
    /// been sent in full.
    pub fn finish_body(&mut self, now: Instant, trailers: Option<&Headers>) -> Result<(), Error> {
        self.status.check()?;
        let plan = match (self.status.phase, self.exchange.plan) {
            (Phase::Busy, Some(plan)) => plan,
            _ => return Err(self.status.misuse("finish_body")),
        };
        if let Some(trailers) = trailers {
            check_trailers(trailers, plan.framing)?;
        }
        match (plan.framing, self.exchange.send) {
            (_, Sending::Abandoned) => Ok(()),
            (RequestFraming::ContentLength(_) | RequestFraming::None, Sending::Done) => Ok(()),
            (RequestFraming::ContentLength(declared), _) => {
                let error = InvalidRequest::BodyLength { declared, sent: self.exchange.body_sent }.into();
                Err(self.status.fail(error, CloseReason::Aborted))
            }
            (RequestFraming::Chunked { known_length }, Sending::Body) => {
                if let Some(declared) = known_length.filter(|&declared| declared != self.exchange.body_sent) {
                    let error = InvalidRequest::BodyLength { declared, sent: self.exchange.body_sent }.into();
                    return Err(self.status.fail(error, CloseReason::Aborted));
                }
                self.out.extend_from_slice(b"0\r\n");
                for (name, value) in trailers.into_iter().flat_map(Headers::iter) {
                    self.out.extend_from_slice(name.as_bytes());
                    self.out.extend_from_slice(b": ");
                    self.out.extend_from_slice(value);
                    self.out.extend_from_slice(b"\r\n");
                }
                self.out.extend_from_slice(b"\r\n");
                self.exchange.send = Sending::Finishing;
                self.deadlines.send = after(now, self.config.budgets.send);
                Ok(())
            }
            (RequestFraming::Chunked { .. }, Sending::Finishing | Sending::Done) => Ok(()),
            _ => Err(self.status.misuse("finish_body before the body started")),
        }
    }

    /// The driver gave up on this exchange (its body source failed, the caller dropped the
    /// request): the connection is closed with reason `aborted` and never reused.
    pub fn abort(&mut self) {
        if matches!(self.status.phase, Phase::Busy | Phase::Idle | Phase::Connecting) {
            self.status.close(CloseReason::Aborted);
        }
    }

    /// Feeds received bytes: returns how many were consumed and at most one event. `None`
    /// means every byte given was consumed, or the response is over. Call again with the
    /// unconsumed rest until `None`.
    ///
    /// Bytes arriving while no request is outstanding close the connection (reason
    /// `unsolicited_data`) and are consumed.
    pub fn handle_input<'a>(&'a mut self, now: Instant, input: &'a [u8]) -> Result<(usize, Option<Event<'a>>), Error> {
        self.status.check()?;
        match self.status.phase {
            Phase::Busy => {}
            Phase::Idle | Phase::Closed if input.is_empty() => return Ok((0, None)),
            Phase::Idle | Phase::Closed => {
                self.status.close(CloseReason::UnsolicitedData);
                self.deadlines = Deadlines::default();
                return Ok((input.len(), None));
            }
            Phase::Connecting | Phase::Failed => return Err(self.status.misuse("handle_input")),
        }
        if !input.is_empty() {
            self.exchange.response_started = true;
            if self.deadlines.between_bytes.is_some() {
                self.deadlines.between_bytes = after(now, self.config.budgets.between_bytes);
            }
        }
        let (used, step) = match self.decoder.advance(input) {
            Ok(result) => result,
            Err(error) => {
                let reason = close_reason_for(&error);
                return Err(self.status.fail(error, reason));
            }
        };
        match &step {
            Some(Step::Informational)
                if self.decoder.head().status() == 100 && self.exchange.send == Sending::WaitContinue =>
            {
                self.exchange.send = Sending::Body;
                self.deadlines.expect_continue = None;
            }
            Some(Step::Head) => self.final_head(now),
            Some(Step::End) => self.end_exchange(now),
            _ => {}
        }
        Ok((used, step.map(|step| self.decoder.event(step))))
    }

    fn final_head(&mut self, now: Instant) {
        self.exchange.final_head = true;
        self.deadlines.wait_for_head = None;
        if !matches!(self.exchange.send, Sending::Done) {
            // RFC 9110 §15: an early final response ends the upload (read while sending).
            self.exchange.send = Sending::Abandoned;
            self.out.clear();
            self.out_position = 0;
            self.deadlines.send = None;
            self.deadlines.expect_continue = None;
            self.deadlines.between_bytes = after(now, self.config.budgets.between_bytes);
        }
    }

    fn end_exchange(&mut self, now: Instant) {
        self.status.exchanges_completed += 1;
        let plan = self.exchange.plan;
        let reason = self
            .decoder
            .framing()
            .and_then(|framing| framing.close)
            .or_else(|| (self.exchange.send != Sending::Done).then_some(CloseReason::Aborted))
            .or_else(|| plan.filter(|plan| plan.close).map(|_| CloseReason::ClientClose));
        self.deadlines.clear_exchange();
        match reason {
            Some(reason) => self.status.close(reason),
            None => {
                self.status.phase = Phase::Idle;
                self.deadlines.idle = after(now, self.config.budgets.idle);
            }
        }
    }

    /// The peer closed its side. Completes a close-delimited body (`Some(End)`), or returns
    /// the `eof` error saying what was cut short; on an idle connection it just closes.
    ///
    /// Over TLS, call it only for a close the peer authenticated (a `close_notify` alert
    /// came first), and [`handle_incomplete_close`](Self::handle_incomplete_close) for one
    /// without; a plain TCP close is the only close there is, and comes here.
    pub fn handle_eof(&mut self, now: Instant) -> Result<Option<Event<'_>>, Error> {
        self.peer_closed(now, true)
    }

    /// The peer closed a TLS connection without a `close_notify` alert first (RFC 9112 §9.8,
    /// an "incomplete close"; rustls reports it as an `UnexpectedEof` error). As
    /// [`handle_eof`](Self::handle_eof) — a response framed by `Content-Length` or chunked
    /// that arrived whole has already ended, and one that did not is cut short either way —
    /// except for a body delimited by the close: "A response that has neither chunked
    /// transfer coding nor Content-Length is complete only if a valid closure alert has been
    /// received", so it fails with [`IncompleteMessage::CloseWithoutNotify`](crate::IncompleteMessage::CloseWithoutNotify)
    /// instead of ending, unless [`Leniency::allow_close_without_notify`](crate::Leniency::allow_close_without_notify) is on.
    pub fn handle_incomplete_close(&mut self, now: Instant) -> Result<Option<Event<'_>>, Error> {
        self.peer_closed(now, false)
    }

    fn peer_closed(&mut self, now: Instant, authenticated: bool) -> Result<Option<Event<'_>>, Error> {
        self.status.check()?;
        match self.status.phase {
            Phase::Busy => {}
            Phase::Idle | Phase::Connecting => {
                self.status.close(CloseReason::PeerClosed);
                self.deadlines = Deadlines::default();
                return Ok(None);
            }
            Phase::Closed | Phase::Failed => return Ok(None),
        }
        let reused = self.status.exchanges_completed > 0;
        match self.decoder.advance_eof(reused, authenticated) {
            Ok(Some(Step::End)) => {
                self.end_exchange(now);
                self.status.close(CloseReason::PeerClosed);
                Ok(Some(Event::End))
            }
            Ok(step) => Ok(step.map(|step| self.decoder.event(step))),
            Err(error) => Err(self.status.fail(error, CloseReason::PeerClosed)),
        }
    }

    /// The earliest deadline the driver must wake up for, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.status.phase, Phase::Closed | Phase::Failed) {
            return None;
        }
        let d = &self.deadlines;
        [d.connect, d.send, d.wait_for_head, d.between_bytes, d.total, d.expect_continue, d.idle]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires every deadline at or before `now`. A passed `100-continue` wait lets the body
    /// go; a passed idle deadline closes an idle connection; any other fails the connection
    /// with a `timeout` error, which sticks. Calling it again with the same `now` changes
    /// nothing more.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.status.check()?;
        if matches!(self.status.phase, Phase::Closed) {
            return Ok(());
        }
        if self.deadlines.expect_continue.is_some_and(|deadline| deadline <= now) {
            self.deadlines.expect_continue = None;
            if self.exchange.send == Sending::WaitContinue {
                self.exchange.send = Sending::Body;
                self.deadlines.send = after(now, self.config.budgets.send);
            }
        }
        if self.status.phase == Phase::Idle && self.deadlines.idle.is_some_and(|deadline| deadline <= now) {
            self.status.close(CloseReason::IdleTimeout);
            self.deadlines = Deadlines::default();
            return Ok(());
        }
        let passed = self
            .deadlines
            .failing()
            .into_iter()
            .filter_map(|(deadline, phase)| {
                deadline.filter(|&deadline| deadline <= now).map(|deadline| (deadline, phase))
            })
            .min_by_key(|&(deadline, _)| deadline);
        if let Some((_, phase)) = passed {
            return Err(self.status.fail(Timeout { phase }.into(), CloseReason::Timeout));
        }
        Ok(())
    }

    /// The driver stops reading for a while (flow control: whoever consumes the body is
    /// slower than the server). The between-bytes deadline is suspended — the silence is
    /// the driver's choice, not the server's — while the whole-call deadline keeps running.
    /// Call [`resume_reading`](Self::resume_reading) when reading again.
    pub fn pause_reading(&mut self) {
        if self.status.phase == Phase::Busy {
            self.deadlines.between_bytes = None;
        }
    }

    /// The driver reads again after [`pause_reading`](Self::pause_reading): silence counts
    /// from `now`.
    pub fn resume_reading(&mut self, now: Instant) {
        if self.status.phase == Phase::Busy && self.request_finished() && self.deadlines.between_bytes.is_none() {
            self.deadlines.between_bytes = after(now, self.config.budgets.between_bytes);
        }
    }

    /// The bytes framed and not yet taken by [`poll_transmit`](Self::poll_transmit): right
    /// after [`send_request`](Self::send_request), the request head exactly as it will go on
    /// the wire (for a driver's wire log or `-v` output).
    pub fn pending_output(&self) -> &[u8] {
        &self.out[self.out_position.min(self.out.len())..]
    }

    /// Whether request bytes are waiting for [`poll_transmit`](Self::poll_transmit).
    pub fn wants_write(&self) -> bool {
        self.status.phase == Phase::Busy && self.out_position < self.out.len()
    }

    /// Whether the request body should be sent now with [`send_body`](Self::send_body).
    pub fn wants_body(&self) -> bool {
        self.status.phase == Phase::Busy && self.exchange.send == Sending::Body
    }

    /// Whether the whole request has been written (or abandoned after an early response).
    pub fn request_finished(&self) -> bool {
        matches!(self.exchange.send, Sending::Done | Sending::Abandoned)
    }

    /// Whether a new request can be sent now.
    pub fn is_idle(&self) -> bool {
        self.status.phase == Phase::Idle
    }

    /// Whether the connection can never carry another request.
    pub fn is_closed(&self) -> bool {
        matches!(self.status.phase, Phase::Closed | Phase::Failed)
    }

    /// Why the connection cannot be reused, once that is known.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.status.close_reason
    }

    /// The sticky error, if the connection failed.
    pub fn error(&self) -> Option<&Error> {
        self.status.error.as_ref()
    }

    /// How many exchanges completed on this connection.
    pub fn exchanges_completed(&self) -> u64 {
        self.status.exchanges_completed
    }

    /// Whether any byte of the current response has arrived.
    pub fn response_started(&self) -> bool {
        self.exchange.response_started
    }

    /// Whether the current request may be sent again on a fresh connection whatever its
    /// method: this connection had carried an earlier exchange (it came from a pool) and not
    /// one byte of the response arrived, so the server cannot have processed the request —
    /// it closed an idle connection as the request went out (RFC 9112 §9.3.1). The body must
    /// still be replayable; that is the driver's to know.
    pub fn is_stale_retry_safe(&self) -> bool {
        self.status.exchanges_completed > 0 && !self.exchange.response_started
    }

    /// The response decoder (framing, the last head, counts).
    pub fn decoder(&self) -> &ResponseDecoder {
        &self.decoder
    }
}
