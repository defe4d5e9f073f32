//! One connection: a socket (plain or TLS) and the core state machine that drives it.
//!
//! Everything here is I/O: every protocol decision, deadline included, comes from
//! `tidings_core::Connection` and the client layer. Socket timeouts are set from the core's
//! next deadline before each blocking call, and a timed-out call hands the time to the core.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use tidings_client::buffers::{self, BODY_FRAME, HEAD_FRAME, INITIAL_READ, LARGEST_READ};
use tidings_client::pool::Received;
use tidings_client::{wire, Error, ErrorKind, PoolKey, PoolLimits};
use tidings_core::{BodyLength, BodyState, Connection, Event, Headers, ResponseHead};

use crate::stream::Stream;

/// A connection with its read buffer. Unconsumed received bytes stay in `buffer[start..end]`.
pub(crate) struct Conn {
    pub(crate) key: PoolKey,
    pub(crate) core: Connection,
    stream: Stream,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// Request bytes framed for the socket: kept with the connection, 2 KiB for a head alone,
    /// 16 KiB once a body goes with it (a fresh zeroed 16 KiB per request was a third of a
    /// small request's instructions).
    frame: Vec<u8>,
    /// The idle limits of the key's settings, for when it goes back to the pool.
    pub(crate) pool_limits: PoolLimits,
    /// The socket timeouts last set (read, write), so unchanged ones cost no system call.
    armed: [Option<Option<Duration>>; 2],
    /// The time as of the exchange's start or the last read or write on the socket (the
    /// calls that can block): what the core is told and deadlines are armed from, so a
    /// request costs a clock read per system call instead of one per step.
    pub(crate) now: Instant,
    /// The caller had control since `now` was read (between two reads of the body it may
    /// take any time): [`clock`](Self::clock) reads the clock again and restarts the
    /// between-bytes budget, which counts the server's silence, not the caller's.
    caller_was_away: bool,
}

/// The final head and what came before it.
pub(crate) struct Head {
    pub(crate) head: ResponseHead,
    pub(crate) informational: Vec<(u16, Headers)>,
}

/// Upload bytes between two looks for an early response.
const PROBE_EVERY: usize = 256 * 1024;
/// A write blocked this long looks for an early response before it waits on.
const STALLED_WRITE: Duration = Duration::from_millis(100);

impl Conn {
    /// A connection over `stream` whose core is `core` (connected). Boxed: it moves from
    /// the pool to the exchange to the body reader and back, one pointer instead of ~1 KiB
    /// each time.
    pub(crate) fn new(key: PoolKey, core: Connection, stream: Stream) -> Box<Conn> {
        Box::new(Conn {
            key,
            core,
            stream,
            buffer: vec![0; INITIAL_READ],
            start: 0,
            end: 0,
            frame: Vec::new(),
            pool_limits: PoolLimits::default(),
            armed: [None; 2],
            now: Instant::now(),
            caller_was_away: false,
        })
    }

    /// Reads the clock, after a system call that may have blocked.
    fn tick(&mut self) -> Instant {
        self.now = Instant::now();
        self.now
    }

    /// The time now: `now` when nothing but this connection's own work happened since it was
    /// read; after the caller had control, the clock, from which the server's silence counts
    /// again (as a read timeout per socket read does in urllib3).
    fn clock(&mut self) -> Instant {
        if !self.caller_was_away {
            return self.now;
        }
        self.caller_was_away = false;
        let now = self.tick();
        self.core.resume_reading(now);
        now
    }

    /// The caller is back after having control for an unknown time: the next use of the
    /// time reads the clock. Until then the between-bytes deadline waits (a deadline that
    /// passed while the caller was away is not the server's doing).
    fn caller_returns(&mut self) {
        self.core.pause_reading();
        self.caller_was_away = true;
    }

    /// The connection leaves the pool at `now` for a new exchange.
    pub(crate) fn resume_at(&mut self, now: Instant) {
        self.now = now;
        self.caller_was_away = false;
    }

    /// The socket and TLS layer, to take back out (a tunnel becoming a TLS connection).
    pub(crate) fn into_stream(self) -> Stream {
        self.stream
    }

    /// Whether received bytes wait unconsumed here (the read buffer, or the TLS layer).
    pub(crate) fn received(&mut self) -> Received {
        Received { unconsumed: self.start != self.end || self.stream.has_buffered(), peer_closed: false }
    }

    /// What arrived while the connection sat idle in the pool: one non-blocking peek at the
    /// socket (a byte, or the peer's close), besides anything already buffered.
    pub(crate) fn received_while_idle(&mut self) -> Received {
        let mut received = self.received();
        match self.stream.peek_now() {
            Ok(0) => received.peer_closed = true,
            Ok(_) => received.unconsumed = true,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => received.peer_closed = true,
        }
        received
    }

    /// Writes `bytes` fully, under the core's deadline. A write that makes no progress for
    /// a while (the server stopped reading) looks for an early final response, which is
    /// returned at once (an early 413, 401 or redirect ends the upload: see ARCHITECTURE.md, \"read while sending\").
    fn write_all(&mut self, bytes: &[u8], informational: &mut Vec<(u16, Headers)>) -> Result<Option<Head>, Error> {
        let mut written = 0;
        while written < bytes.len() {
            self.arm_within(Direction::Write, Some(STALLED_WRITE))?;
            let written_now = self.stream.write(&bytes[written..]);
            self.tick();
            match written_now {
                Ok(0) => return Err(Error::new(ErrorKind::Eof, "the connection accepted no more bytes")),
                Ok(count) => written += count,
                Err(error) if is_timeout(&error) => {
                    // Fires only a deadline that passed (the send budget).
                    self.core.handle_timeout(self.now)?;
                    self.probe()?;
                    if let Some(head) = self.take_head(informational)? {
                        return Ok(Some(head));
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(Error::io(ErrorKind::Eof, "sending the request", error)),
            }
        }
        self.stream.flush().map_err(|error| Error::io(ErrorKind::Eof, "sending the request", error))?;
        Ok(None)
    }

    /// Sends `request` with its body and reads until the final head, collecting interim
    /// responses. The body waits while the core says so (`Expect: 100-continue`). The
    /// exchange starts at the connection's open or its time out of the pool
    /// ([`resume_at`](Self::resume_at)).
    pub(crate) fn exchange(
        &mut self,
        request: &tidings_core::Request,
        body: &mut BodySource<'_>,
        deadline: Option<Instant>,
    ) -> Result<Head, Error> {
        let now = self.clock();
        self.core.send_request(now, request)?;
        wire::log_request_head(self.core.pending_output());
        if let Some(deadline) = deadline {
            self.core.set_call_deadline(deadline);
        }
        let mut frame = std::mem::take(&mut self.frame);
        if frame.len() < HEAD_FRAME {
            frame.resize(HEAD_FRAME, 0);
        }
        let result = self.exchange_framing(body, &mut frame);
        self.frame = frame;
        result
    }

    /// [`exchange`](Self::exchange)'s loop, framing into `out` (grown for a body).
    fn exchange_framing(&mut self, body: &mut BodySource<'_>, out: &mut Vec<u8>) -> Result<Head, Error> {
        let mut informational = Vec::new();
        let mut since_probe = 0;
        loop {
            if self.core.wants_body() && out.len() < BODY_FRAME {
                out.resize(BODY_FRAME, 0);
            }
            let filled = self.frame_request(body, out)?;
            if filled > 0 {
                match self.write_all(&out[..filled], &mut informational) {
                    Ok(Some(head)) => return Ok(head),
                    Ok(None) => {}
                    Err(error) => {
                        // A server that answered early (413, 401, a redirect) may have
                        // stopped reading; its response, when already here, is the better
                        // outcome.
                        if let Ok(Some(head)) = self.response_after_write_error(&mut informational) {
                            return Ok(head);
                        }
                        self.core.abort();
                        return Err(error);
                    }
                }
                since_probe += filled;
                if since_probe >= PROBE_EVERY && self.core.wants_body() {
                    // Read while sending: look for an early final response while uploading.
                    since_probe = 0;
                    self.probe()?;
                    if let Some(head) = self.take_head(&mut informational)? {
                        return Ok(head);
                    }
                }
                continue;
            }
            if let Some(head) = self.take_head(&mut informational)? {
                return Ok(head);
            }
            if let Filled::Eof = self.fill()? {
                self.peer_closed()?;
                return Err(Error::new(ErrorKind::Eof, "connection closed before the response head"));
            }
        }
    }

    /// Tells the core the peer closed: over TLS without a `close_notify` first, an
    /// incomplete close (RFC 9112 §9.8), which does not end a body delimited by the close.
    fn peer_closed(&mut self) -> Result<Option<Event<'_>>, tidings_core::Error> {
        if self.stream.closed_without_notify() {
            self.core.handle_incomplete_close(self.now)
        } else {
            self.core.handle_eof(self.now)
        }
    }

    /// Feeds buffered bytes to the core: interim responses are collected; the final head is
    /// returned once it is complete.
    fn take_head(&mut self, informational: &mut Vec<(u16, Headers)>) -> Result<Option<Head>, Error> {
        loop {
            // Nothing buffered (as before the first read of every exchange): nothing to feed.
            if self.start == self.end {
                return Ok(None);
            }
            let now = self.clock();
            let (used, event) = self.core.handle_input(now, &self.buffer[self.start..self.end])?;
            self.start += used;
            match event {
                Some(Event::Informational(head)) => {
                    wire::log_response_head(head.raw());
                    informational.push((head.status(), head.headers().to_headers()));
                }
                Some(Event::Head(head)) => {
                    wire::log_response_head(head.raw());
                    return Ok(Some(Head { head: head.clone(), informational: std::mem::take(informational) }));
                }
                Some(_) => return Err(Error::new(ErrorKind::Protocol, "body before the response head")),
                None => return Ok(None),
            }
        }
    }

    /// One non-blocking read, so an early response is noticed while the body is still
    /// going out. Costs three system calls, done once per `PROBE_EVERY` bytes of upload.
    fn probe(&mut self) -> Result<(), Error> {
        self.make_room();
        let socket = self.stream.socket();
        socket.set_nonblocking(true).map_err(|error| Error::io(ErrorKind::Eof, "probing for a response", error))?;
        let result = self.stream.read(&mut self.buffer[self.end..]);
        self.tick();
        self.stream
            .socket()
            .set_nonblocking(false)
            .map_err(|error| Error::io(ErrorKind::Eof, "probing for a response", error))?;
        match result {
            Ok(count) => self.end += count,
            Err(error) if is_timeout(&error) || error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(Error::io(ErrorKind::Eof, "reading the response", error)),
        }
        Ok(())
    }

    /// After a failed write: reads whatever response already arrived (briefly), and returns
    /// its head if it is complete.
    fn response_after_write_error(&mut self, informational: &mut Vec<(u16, Headers)>) -> Result<Option<Head>, Error> {
        let socket = self.stream.socket();
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .map_err(|error| Error::io(ErrorKind::Eof, "setting a socket timeout", error))?;
        self.armed[Direction::Read as usize] = None;
        loop {
            if let Some(head) = self.take_head(informational)? {
                return Ok(Some(head));
            }
            self.make_room();
            let read = self.stream.read(&mut self.buffer[self.end..]);
            self.tick();
            match read {
                Ok(0) | Err(_) => return Ok(None),
                Ok(count) => self.end += count,
            }
        }
    }

    /// Fills `out` with request bytes: pending head or framing, then body data while the
    /// core wants it. Returns how many bytes are ready to write.
    fn frame_request(&mut self, body: &mut BodySource<'_>, out: &mut [u8]) -> Result<usize, Error> {
        let now = self.clock();
        let mut filled = self.core.poll_transmit(now, out);
        while self.core.wants_body() && out.len() - filled > 64 {
            match body {
                BodySource::Empty => break,
                BodySource::Bytes(bytes, position) => {
                    let sent = self.core.send_body(now, &bytes[*position..], &mut out[filled..])?;
                    *position += sent.consumed;
                    filled += sent.written;
                    if sent.state != BodyState::Wanted {
                        break;
                    }
                }
                BodySource::Reader(reader, scratch) => {
                    // Leave room for the chunk framing around the data.
                    let room = (out.len() - filled - buffers::CHUNK_FRAMING).min(scratch.len());
                    let count = match reader.read(&mut scratch[..room]) {
                        Ok(count) => count,
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                        Err(error) => {
                            self.core.abort();
                            return Err(Error::io(ErrorKind::InvalidRequest, "reading the request body", error));
                        }
                    };
                    if count == 0 {
                        self.core.finish_body(now, None)?;
                        filled += self.core.poll_transmit(now, &mut out[filled..]);
                        break;
                    }
                    let sent = self.core.send_body(now, &scratch[..count], &mut out[filled..])?;
                    debug_assert_eq!(sent.consumed, count, "room was left for the whole read");
                    filled += sent.written;
                }
            }
        }
        Ok(filled)
    }

    /// The next body event's data range in the buffer, or `None` at the end of the body.
    /// Trailers, if any, are put in `trailers`.
    pub(crate) fn next_data(
        &mut self,
        trailers: &mut Option<Headers>,
    ) -> Result<Option<std::ops::Range<usize>>, Error> {
        self.caller_returns();
        loop {
            // With nothing buffered the core only learns the body ended (which starts the
            // idle time: an older `now` only ends it sooner) or asks for a read, which reads
            // the clock before it arms the socket.
            let now = if self.start == self.end { self.now } else { self.clock() };
            let base = self.start;
            let (used, event) = self.core.handle_input(now, &self.buffer[self.start..self.end])?;
            let found = match event {
                Some(Event::Data(data)) => {
                    let offset = data.as_ptr() as usize - self.buffer[base..].as_ptr() as usize;
                    Some(Some(base + offset..base + offset + data.len()))
                }
                Some(Event::Trailers(fields)) => {
                    *trailers = Some(fields.to_headers());
                    None
                }
                Some(Event::End) => Some(None),
                Some(_) => None,
                None => {
                    if let Filled::Eof = self.fill()? {
                        if let Some(Event::End) = self.peer_closed()? {
                            return Ok(None);
                        }
                        return Err(Error::new(ErrorKind::Eof, "connection closed before the body ended"));
                    }
                    None
                }
            };
            self.start += used;
            if let Some(found) = found {
                return Ok(found);
            }
        }
    }

    /// Whether the next body bytes can be read straight into the caller's buffer: nothing is
    /// buffered, and the body is framed by Content-Length or the close, so its bytes on the
    /// wire are the body itself.
    pub(crate) fn can_read_direct(&self) -> bool {
        let decoder = self.core.decoder();
        self.start == self.end
            && !decoder.is_done()
            && match decoder.framing().map(|framing| framing.length) {
                Some(BodyLength::ContentLength(length)) => decoder.body_received() < length,
                Some(BodyLength::CloseDelimited) => true,
                _ => false,
            }
    }

    /// Reads body bytes straight into `out` (see [`can_read_direct`](Self::can_read_direct))
    /// and has the core check them in place: one copy fewer for large downloads. Returns how
    /// many body bytes `out` now starts with, or `None` at the end of the body.
    pub(crate) fn read_direct(&mut self, out: &mut [u8]) -> Result<Option<usize>, Error> {
        self.caller_returns();
        let count = loop {
            self.arm(Direction::Read)?;
            let read = self.stream.read(out);
            self.tick();
            match read {
                Ok(0) => {
                    return match self.peer_closed()? {
                        Some(Event::End) => Ok(None),
                        _ => Err(Error::new(ErrorKind::Eof, "connection closed before the body ended")),
                    };
                }
                Ok(count) => break count,
                Err(error) if is_timeout(&error) => self.core.handle_timeout(self.now)?,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(Error::io(ErrorKind::Eof, "reading the response", error)),
            }
        };
        let (used, event) = self.core.handle_input(self.now, &out[..count])?;
        let body = match event {
            // Content-Length and close-delimited data is a prefix of the input.
            Some(Event::Data(data)) => data.len(),
            _ => 0,
        };
        // Bytes past the body's end (a server that sent too much) stay for the core to judge.
        self.make_room();
        let extra = &out[used..count];
        if self.buffer.len() - self.end < extra.len() {
            self.buffer.resize(self.end + extra.len(), 0);
        }
        self.buffer[self.end..self.end + extra.len()].copy_from_slice(extra);
        self.end += extra.len();
        Ok(Some(body))
    }

    /// The received bytes in `range` (from [`next_data`](Self::next_data)).
    pub(crate) fn bytes(&self, range: std::ops::Range<usize>) -> &[u8] {
        &self.buffer[range]
    }

    /// Reads more bytes under the core's deadline. Returns early (`Wake`) when a deadline
    /// that passed lets the request body go (the `100-continue` wait).
    fn fill(&mut self) -> Result<Filled, Error> {
        self.make_room();
        loop {
            self.arm(Direction::Read)?;
            if self.core.wants_body() {
                return Ok(Filled::Wake);
            }
            let space = self.buffer.len() - self.end;
            let read = self.stream.read(&mut self.buffer[self.end..]);
            self.tick();
            match read {
                Ok(0) => return Ok(Filled::Eof),
                Ok(count) => {
                    self.end += count;
                    buffers::grow_after_read(&mut self.buffer, count, space);
                    return Ok(Filled::Bytes);
                }
                Err(error) if is_timeout(&error) => self.core.handle_timeout(self.now)?,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(Error::io(ErrorKind::Eof, "reading the response", error)),
            }
        }
    }

    /// Makes space after the unconsumed bytes: rewind, compact, or grow.
    fn make_room(&mut self) {
        buffers::make_room(&mut self.buffer, &mut self.start, &mut self.end, LARGEST_READ);
    }

    /// Sets the socket's timeout to the core's next deadline, firing it if it has passed.
    fn arm(&mut self, direction: Direction) -> Result<(), Error> {
        self.arm_within(direction, None)
    }

    /// [`arm`](Self::arm), waiting at most `cap` before the call returns a timeout.
    fn arm_within(&mut self, direction: Direction, cap: Option<Duration>) -> Result<(), Error> {
        loop {
            let now = self.clock();
            let wait = match self.core.poll_timeout() {
                None => None,
                Some(deadline) if deadline <= now => {
                    self.core.handle_timeout(now)?;
                    continue;
                }
                Some(deadline) => Some(deadline - now),
            };
            let wait = match (wait, cap) {
                (Some(wait), Some(cap)) => Some(wait.min(cap)),
                (wait, cap) => wait.or(cap),
            };
            let slot = &mut self.armed[direction as usize];
            if !needs_arming(*slot, wait) {
                return Ok(());
            }
            *slot = Some(wait);
            let socket = self.stream.socket();
            let result = match direction {
                Direction::Read => socket.set_read_timeout(wait),
                Direction::Write => socket.set_write_timeout(wait),
            };
            return result.map_err(|error| Error::io(ErrorKind::Eof, "setting a socket timeout", error));
        }
    }
}

#[derive(Clone, Copy)]
enum Direction {
    Read = 0,
    Write = 1,
}

/// Whether the socket timeout must be set again. A timeout within 1 ms below or 100 ms above
/// the one already set is left alone: a moving between-bytes deadline then costs no system
/// call per read, and a wake-up slightly early only hands the core a time it ignores.
fn needs_arming(armed: Option<Option<Duration>>, wait: Option<Duration>) -> bool {
    match (armed, wait) {
        (Some(Some(armed)), Some(wait)) => {
            wait + Duration::from_millis(1) < armed || wait > armed + Duration::from_millis(100)
        }
        (Some(None), None) => false,
        _ => true,
    }
}

/// What a read produced.
enum Filled {
    Bytes,
    Eof,
    /// Nothing read: a passed deadline changed what the connection wants (the body may go).
    Wake,
}

/// Where the request body comes from while it is being sent.
pub(crate) enum BodySource<'a> {
    Empty,
    /// Bytes in memory and how many were sent.
    Bytes(&'a [u8], usize),
    /// A reader streamed through a scratch buffer.
    Reader(Box<dyn Read + Send + 'a>, Vec<u8>),
}

/// Whether an I/O error is a socket timeout (a passed deadline, for the core to judge).
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}
