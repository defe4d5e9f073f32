//! One connection: a socket (plain or TLS) and the core state machine that drives it.
//!
//! Everything here is I/O: every protocol decision, deadline included, comes from
//! `tidings_core::Connection`. Socket timeouts are set from the core's next deadline before
//! each blocking call, and a timed-out call hands the time to the core.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection};
use tidings_core::{BodyLength, Config, Connection, Event, Headers, ResponseHead};

use crate::error::{Error, ErrorKind};
use crate::pool::PoolKey;

/// A byte stream to the server.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

/// rustls over a socket, reading ciphertext in large pieces (see
/// [`CiphertextBuffer`](crate::driver::CiphertextBuffer)); rustls itself only ever writes to
/// the socket.
pub(crate) struct TlsStream {
    tls: ClientConnection,
    socket: TcpStream,
    cipher: crate::driver::CiphertextBuffer,
}

impl Stream {
    fn socket(&self) -> &TcpStream {
        match self {
            Stream::Plain(socket) => socket,
            Stream::Tls(tls) => &tls.socket,
        }
    }

    /// Whether received bytes wait inside the TLS layer.
    fn has_buffered(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(tls) => !tls.cipher.is_empty(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.read(buf),
            // A peer that closes without close_notify ends the stream (`Ok(0)`); the core
            // decides whether that completes the message (RFC 9112 §9.8).
            Stream::Tls(tls) => tls.cipher.read_plaintext(&mut tls.tls, &mut tls.socket, buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.write(buf),
            Stream::Tls(tls) => {
                // Records from earlier writes go first: an error here has accepted nothing.
                tls.send_records()?;
                let count = tls.tls.writer().write(buf)?;
                // Accepted: a stalled socket now surfaces at the next write or flush.
                let _ = tls.send_records();
                Ok(count)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(socket) => socket.flush(),
            Stream::Tls(tls) => tls.send_records(),
        }
    }
}

impl TlsStream {
    /// Writes every TLS record rustls holds.
    fn send_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.socket) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

/// A connection with its read buffer. Unconsumed received bytes stay in `buffer[start..end]`.
pub(crate) struct Conn {
    pub(crate) key: PoolKey,
    pub(crate) core: Connection,
    stream: Stream,
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// When it went back to the pool (for the liveness check on reuse).
    pub(crate) idle_since: Option<Instant>,
    /// The socket timeouts last set (read, write), so unchanged ones cost no system call.
    armed: [Option<Option<Duration>>; 2],
}

/// The final head and what came before it.
pub(crate) struct Head {
    pub(crate) head: ResponseHead,
    pub(crate) informational: Vec<(u16, Headers)>,
}

const INITIAL_BUFFER: usize = 8 * 1024;
const LARGEST_BUFFER: usize = 256 * 1024;
/// Upload bytes between two looks for an early response.
const PROBE_EVERY: usize = 256 * 1024;
/// A write blocked this long looks for an early response before it waits on.
const STALLED_WRITE: Duration = Duration::from_millis(100);

impl Conn {
    /// Resolves, connects within the core's connect deadline, and completes TLS.
    pub(crate) fn open(
        key: PoolKey,
        config: Config,
        tls: Option<Arc<ClientConfig>>,
        now: Instant,
    ) -> Result<Conn, Error> {
        let mut core = Connection::connecting(config.clone(), now);
        // Through a proxy, the socket goes to the proxy.
        let (host, port) = key.socket_address();
        let addresses: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|error| Error::io(ErrorKind::Connect, &format!("cannot resolve {host}"), error))?
            .collect();
        let deadline = core.poll_timeout();
        let socket = connect_racing(&addresses, deadline)
            .map_err(|error| Error::io(ErrorKind::Connect, &format!("cannot connect to {host}:{port}"), error))?;
        socket.set_nodelay(true).map_err(|error| Error::io(ErrorKind::Connect, "TCP_NODELAY", error))?;
        let socket = match (&key.proxy, &tls) {
            (Some(proxy), Some(_)) => tunnel(&key, proxy, socket, config, now)?,
            _ => socket,
        };
        let stream = match tls {
            None => Stream::Plain(socket),
            Some(config) => Stream::Tls(Box::new(handshake(&key, config, socket, &core)?)),
        };
        core.handle_connected(Instant::now())?;
        log::debug!("connected to {}:{} ({})", key.host, key.port, if key.tls.is_some() { "tls" } else { "plain" });
        Ok(Conn {
            key,
            core,
            stream,
            buffer: vec![0; INITIAL_BUFFER],
            start: 0,
            end: 0,
            idle_since: None,
            armed: [None; 2],
        })
    }

    /// Whether a pooled connection still looks usable: not closed by the server and with no
    /// stray bytes. One non-blocking peek, done only after the connection sat idle a while.
    pub(crate) fn looks_alive(&mut self) -> bool {
        if self.start != self.end || self.stream.has_buffered() {
            return false;
        }
        let socket = self.stream.socket();
        if socket.set_nonblocking(true).is_err() {
            return false;
        }
        let mut probe = [0u8; 1];
        let alive = matches!(socket.peek(&mut probe), Err(error) if error.kind() == io::ErrorKind::WouldBlock);
        alive && socket.set_nonblocking(false).is_ok()
    }

    /// Writes `bytes` fully, under the core's deadline. A write that makes no progress for
    /// a while (the server stopped reading) looks for an early final response, which is
    /// returned at once (DESIGN point 9: an early 413, 401 or redirect ends the upload).
    fn write_all(&mut self, bytes: &[u8], informational: &mut Vec<(u16, Headers)>) -> Result<Option<Head>, Error> {
        let mut written = 0;
        while written < bytes.len() {
            self.arm_within(Direction::Write, Some(STALLED_WRITE))?;
            match self.stream.write(&bytes[written..]) {
                Ok(0) => return Err(Error::new(ErrorKind::Io, "the connection accepted no more bytes")),
                Ok(count) => written += count,
                Err(error) if is_timeout(&error) => {
                    // Fires only a deadline that passed (the send budget).
                    self.core.handle_timeout(Instant::now())?;
                    self.probe()?;
                    if let Some(head) = self.take_head(informational)? {
                        return Ok(Some(head));
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(Error::io(ErrorKind::Io, "sending the request", error)),
            }
        }
        self.stream.flush().map_err(|error| Error::io(ErrorKind::Io, "sending the request", error))?;
        Ok(None)
    }

    /// Sends `request` with its body and reads until the final head, collecting interim
    /// responses. The body waits while the core says so (`Expect: 100-continue`).
    pub(crate) fn exchange(
        &mut self,
        request: &tidings_core::Request,
        body: &mut BodySource<'_>,
        deadline: Option<Instant>,
    ) -> Result<Head, Error> {
        self.core.send_request(Instant::now(), request)?;
        crate::driver::log_request_head(self.core.pending_output());
        if let Some(deadline) = deadline {
            self.core.set_call_deadline(deadline);
        }
        let mut out = vec![0u8; 16 * 1024];
        let mut informational = Vec::new();
        let mut since_probe = 0;
        loop {
            let filled = self.frame_request(body, &mut out)?;
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
                    // DESIGN point 9: look for an early final response while uploading.
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
                self.core.handle_eof(Instant::now())?;
                return Err(Error::new(ErrorKind::Eof, "connection closed before the response head"));
            }
        }
    }

    /// Feeds buffered bytes to the core: interim responses are collected; the final head is
    /// returned once it is complete.
    fn take_head(&mut self, informational: &mut Vec<(u16, Headers)>) -> Result<Option<Head>, Error> {
        loop {
            let (used, event) = self.core.handle_input(Instant::now(), &self.buffer[self.start..self.end])?;
            self.start += used;
            match event {
                Some(Event::Informational(head)) => {
                    crate::driver::log_response_head(head.raw());
                    informational.push((head.status(), head.headers().to_headers()));
                }
                Some(Event::Head(head)) => {
                    crate::driver::log_response_head(head.raw());
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
        socket.set_nonblocking(true).map_err(|error| Error::io(ErrorKind::Io, "probing for a response", error))?;
        let result = self.stream.read(&mut self.buffer[self.end..]);
        self.stream
            .socket()
            .set_nonblocking(false)
            .map_err(|error| Error::io(ErrorKind::Io, "probing for a response", error))?;
        match result {
            Ok(count) => self.end += count,
            Err(error) if is_timeout(&error) || error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(Error::io(ErrorKind::Io, "reading the response", error)),
        }
        Ok(())
    }

    /// After a failed write: reads whatever response already arrived (briefly), and returns
    /// its head if it is complete.
    fn response_after_write_error(&mut self, informational: &mut Vec<(u16, Headers)>) -> Result<Option<Head>, Error> {
        let socket = self.stream.socket();
        socket
            .set_read_timeout(Some(Duration::from_millis(500)))
            .map_err(|error| Error::io(ErrorKind::Io, "socket", error))?;
        self.armed[Direction::Read as usize] = None;
        loop {
            if let Some(head) = self.take_head(informational)? {
                return Ok(Some(head));
            }
            self.make_room();
            match self.stream.read(&mut self.buffer[self.end..]) {
                Ok(0) | Err(_) => return Ok(None),
                Ok(count) => self.end += count,
            }
        }
    }

    /// Fills `out` with request bytes: pending head or framing, then body data while the
    /// core wants it. Returns how many bytes are ready to write.
    fn frame_request(&mut self, body: &mut BodySource<'_>, out: &mut [u8]) -> Result<usize, Error> {
        let now = Instant::now();
        let mut filled = self.core.poll_transmit(now, out);
        while self.core.wants_body() && out.len() - filled > 64 {
            match body {
                BodySource::Empty => break,
                BodySource::Bytes(bytes, position) => {
                    let (used, written) = self.core.send_body(now, &bytes[*position..], &mut out[filled..])?;
                    *position += used;
                    filled += written;
                    if used == 0 {
                        break;
                    }
                }
                BodySource::Reader(reader, scratch) => {
                    // Leave room for the chunk framing around the data.
                    let room = (out.len() - filled - 32).min(scratch.len());
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
                    let (used, written) = self.core.send_body(now, &scratch[..count], &mut out[filled..])?;
                    debug_assert_eq!(used, count, "room was left for the whole read");
                    filled += written;
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
        loop {
            let now = Instant::now();
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
                        if let Some(Event::End) = self.core.handle_eof(Instant::now())? {
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
        let count = loop {
            self.arm(Direction::Read)?;
            match self.stream.read(out) {
                Ok(0) => {
                    return match self.core.handle_eof(Instant::now())? {
                        Some(Event::End) => Ok(None),
                        _ => Err(Error::new(ErrorKind::Eof, "connection closed before the body ended")),
                    };
                }
                Ok(count) => break count,
                Err(error) if is_timeout(&error) => self.core.handle_timeout(Instant::now())?,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(Error::io(ErrorKind::Io, "reading the response", error)),
            }
        };
        let (used, event) = self.core.handle_input(Instant::now(), &out[..count])?;
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
            match self.stream.read(&mut self.buffer[self.end..]) {
                Ok(0) => return Ok(Filled::Eof),
                Ok(count) => {
                    self.end += count;
                    // Big bodies deserve big reads: grow while reads fill the buffer.
                    if count == space && self.buffer.len() < LARGEST_BUFFER {
                        self.buffer.resize(self.buffer.len() * 2, 0);
                    }
                    return Ok(Filled::Bytes);
                }
                Err(error) if is_timeout(&error) => self.core.handle_timeout(Instant::now())?,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(Error::io(ErrorKind::Io, "reading the response", error)),
            }
        }
    }

    /// Makes space after the unconsumed bytes: rewind, compact, or grow.
    fn make_room(&mut self) {
        crate::driver::make_room(&mut self.buffer, &mut self.start, &mut self.end, LARGEST_BUFFER);
    }

    /// Sets the socket's timeout to the core's next deadline, firing it if it has passed.
    fn arm(&mut self, direction: Direction) -> Result<(), Error> {
        self.arm_within(direction, None)
    }

    /// [`arm`](Self::arm), waiting at most `cap` before the call returns a timeout.
    fn arm_within(&mut self, direction: Direction, cap: Option<Duration>) -> Result<(), Error> {
        loop {
            let now = Instant::now();
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
            return result.map_err(|error| Error::io(ErrorKind::Io, "setting a socket timeout", error));
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
    Reader(&'a mut (dyn Read + Send), Vec<u8>),
}

fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()))
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// How long an attempt has before the next address is tried alongside it (RFC 8305 §5
/// recommends 250 ms).
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Happy Eyeballs (RFC 8305): addresses interleaved by family, the resolver's first family
/// first; a new attempt starts when the previous one fails or has run for 250 ms; the first
/// connection wins. Attempts run on short-lived threads; a losing socket is closed when its
/// thread ends.
fn connect_racing(addresses: &[SocketAddr], deadline: Option<Instant>) -> io::Result<TcpStream> {
    let budget = |deadline: Option<Instant>| remaining(deadline).unwrap_or(Duration::from_secs(3600));
    match addresses {
        [] => return Err(io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address")),
        [only] => return TcpStream::connect_timeout(only, budget(deadline).max(Duration::from_millis(1))),
        _ => {}
    }
    let ordered = interleave_families(addresses);
    let (sender, receiver) = std::sync::mpsc::channel();
    let (mut started, mut failed) = (0, 0);
    let mut last_error = None;
    loop {
        if started < ordered.len() {
            let (address, sender) = (ordered[started], sender.clone());
            let timeout = budget(deadline).max(Duration::from_millis(1));
            std::thread::spawn(move || {
                // The receiver may be gone (another attempt won): the socket just closes.
                let _ = sender.send(TcpStream::connect_timeout(&address, timeout));
            });
            started += 1;
        }
        let left = budget(deadline);
        if left.is_zero() {
            return Err(last_error.unwrap_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "connect timed out")));
        }
        let wait = if started < ordered.len() { ATTEMPT_DELAY.min(left) } else { left };
        match receiver.recv_timeout(wait) {
            Ok(Ok(socket)) => return Ok(socket),
            Ok(Err(error)) => {
                failed += 1;
                last_error = Some(error);
                if failed == ordered.len() {
                    return Err(last_error.unwrap_or_else(|| io::Error::other("every address failed")));
                }
            }
            Err(_) => {}
        }
    }
}

/// Alternates address families, starting with the family of the first address.
fn interleave_families(addresses: &[SocketAddr]) -> Vec<SocketAddr> {
    let first_v6 = addresses[0].is_ipv6();
    let (mut preferred, mut other): (Vec<SocketAddr>, Vec<SocketAddr>) =
        addresses.iter().partition(|address| address.is_ipv6() == first_v6);
    preferred.reverse();
    other.reverse();
    let mut ordered = Vec::with_capacity(addresses.len());
    while !preferred.is_empty() || !other.is_empty() {
        ordered.extend(preferred.pop());
        ordered.extend(other.pop());
    }
    ordered
}

/// Completes the TLS handshake within the connect deadline.
/// Opens a CONNECT tunnel to the key's origin through `proxy` (RFC 9110 §9.3.6), within the
/// connect deadline. The proxy's credentials go on the CONNECT request and nowhere else.
fn tunnel(
    key: &PoolKey,
    proxy: &tidings_core::proxy::Proxy,
    socket: TcpStream,
    config: Config,
    started: Instant,
) -> Result<TcpStream, Error> {
    let connect = crate::driver::connect_request(key)?;
    let mut core = Connection::connecting(config, started);
    let connect_deadline = core.poll_timeout();
    core.handle_connected(Instant::now())?;
    let mut conn = Conn {
        key: key.clone(),
        core,
        stream: Stream::Plain(socket),
        buffer: vec![0; INITIAL_BUFFER],
        start: 0,
        end: 0,
        idle_since: None,
        armed: [None; 2],
    };
    let refused =
        |detail: String| Error::new(ErrorKind::Connect, format!("proxy {}:{} {detail}", proxy.host(), proxy.port()));
    let head = conn.exchange(&connect, &mut BodySource::Empty, connect_deadline).map_err(|error| {
        if error.kind() == ErrorKind::Timeout {
            error
        } else {
            refused(format!("failed the tunnel to {}:{}: {error}", key.host, key.port))
        }
    })?;
    let status = head.head.status();
    if !(200..300).contains(&status) {
        let reason = String::from_utf8_lossy(head.head.reason()).into_owned();
        return Err(refused(format!("refused the tunnel to {}:{}: {status} {reason}", key.host, key.port)));
    }
    if conn.start != conn.end {
        return Err(refused("sent bytes after accepting the tunnel, before TLS began".to_owned()));
    }
    log::debug!("tunnel to {}:{} open through {}:{}", key.host, key.port, proxy.host(), proxy.port());
    match conn.stream {
        Stream::Plain(socket) => Ok(socket),
        Stream::Tls(_) => Err(Error::new(ErrorKind::Connect, "the tunnel's socket changed kind")),
    }
}

fn handshake(
    key: &PoolKey,
    config: Arc<ClientConfig>,
    mut socket: TcpStream,
    core: &Connection,
) -> Result<TlsStream, Error> {
    let name = crate::tls::server_name(&key.host)?;
    let mut tls = ClientConnection::new(config, name)
        .map_err(|error| Error::new(ErrorKind::Tls, "starting TLS").with_source(error))?;
    while tls.is_handshaking() {
        let wait = remaining(core.poll_timeout());
        if wait.is_some_and(|wait| wait.is_zero()) {
            return Err(Error::new(ErrorKind::Timeout, format!("TLS handshake with {} timed out", key.host)));
        }
        socket
            .set_read_timeout(wait)
            .and_then(|()| socket.set_write_timeout(wait))
            .map_err(|error| Error::io(ErrorKind::Tls, "TLS", error))?;
        match tls.complete_io(&mut socket) {
            Ok(_) => {}
            Err(error) if is_timeout(&error) => {
                return Err(Error::new(ErrorKind::Timeout, format!("TLS handshake with {} timed out", key.host)))
            }
            Err(error) => {
                let message = format!("TLS handshake with {} failed", key.host);
                return Err(match error.into_inner() {
                    Some(inner) => Error::new(ErrorKind::Tls, format!("{message}: {inner}")),
                    None => Error::new(ErrorKind::Tls, message),
                });
            }
        }
    }
    Ok(TlsStream { tls, socket, cipher: crate::driver::CiphertextBuffer::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_alternate_starting_with_the_first() {
        let addresses: Vec<SocketAddr> =
            ["[::1]:1", "[::2]:1", "[::3]:1", "10.0.0.1:1"].iter().map(|text| text.parse().expect("address")).collect();
        let ordered: Vec<String> = interleave_families(&addresses).iter().map(ToString::to_string).collect();
        assert_eq!(ordered, ["[::1]:1", "10.0.0.1:1", "[::2]:1", "[::3]:1"]);
    }

    #[test]
    fn a_refused_address_falls_through_to_the_next() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let open = listener.local_addr().expect("address");
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address");
        let socket =
            connect_racing(&[closed, open], Some(Instant::now() + Duration::from_secs(5))).expect("second address");
        assert_eq!(socket.peer_addr().expect("peer"), open);
        let error =
            connect_racing(&[closed, closed], Some(Instant::now() + Duration::from_secs(5))).expect_err("all refused");
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }
}
