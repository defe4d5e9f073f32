//! One connection's I/O: a non-blocking socket, rustls on top when the origin is `https`,
//! and the read buffer. Every protocol decision is the core's (`tidings_core::Connection`);
//! the client moves bytes between it and the socket.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::{ClientConfig, ClientConnection};
use tidings_client::buffers::{self, INITIAL_READ, LARGEST_READ};
use tidings_client::connect::ATTEMPT_DELAY;
use tidings_client::pool::Received as Arrived;
use tidings_client::record::CiphertextBuffer;
use tidings_client::{tls, wire, PoolKey, PoolLimits};
use tidings_core::{Connection, Event, Headers, ResponseHead};

use crate::proxy_tls::{handshake_step, ProxyTls, Wire};

/// Where a connection is in its setup.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Waiting for the resolver: the origin's name, which a `socks4://` or `socks5://`
    /// proxy leaves to the client.
    ResolvingTarget,
    /// Waiting for the resolver.
    Resolving,
    /// TCP connects are under way (Happy Eyeballs, RFC 8305: families interleaved, a new
    /// attempt beside the others every 250 ms or as soon as one fails; the first to connect
    /// wins).
    Connecting(Box<Attempts>),
    /// The TLS handshake with an `https://` proxy is under way.
    ProxyHandshaking,
    /// A `CONNECT` exchange with the proxy is under way on `tunnel`.
    Tunnelling { tunnel: Box<Connection>, sent: bool },
    /// A SOCKS handshake with the proxy is under way.
    Socks(Box<tidings_core::socks::Handshake>),
    /// The TLS handshake is under way.
    Handshaking,
    /// Ready for exchanges (the core knows whether it is idle or busy).
    Ready,
}

/// The connects racing for one connection.
#[derive(Debug)]
pub(crate) struct Attempts {
    addresses: Vec<SocketAddr>,
    /// The next address to try.
    next: usize,
    /// Sockets connecting now, all registered under the connection's token.
    sockets: Vec<TcpStream>,
    /// When the next address starts beside the others.
    pub(crate) next_at: Option<Instant>,
    last_error: Option<io::Error>,
}

impl Attempts {
    pub(crate) fn new(addresses: Vec<SocketAddr>) -> Attempts {
        Attempts { addresses, next: 0, sockets: Vec::new(), next_at: None, last_error: None }
    }
}

/// Where the racing connects stand.
pub(crate) enum Connecting {
    Pending,
    Connected,
    /// Every address failed: the last error.
    Failed(io::Error),
}

pub(crate) struct Conn {
    pub(crate) key: PoolKey,
    pub(crate) token: Token,
    /// Tells this connection apart from earlier ones in the same slot (resolver answers).
    pub(crate) serial: u64,
    pub(crate) core: Connection,
    pub(crate) phase: Phase,
    socket: Option<TcpStream>,
    /// TLS with an `https://` proxy, under everything else.
    proxy_tls: Option<Box<ProxyTls>>,
    tls: Option<Box<ClientConnection>>,
    /// Ciphertext read from the socket (or the proxy's TLS), not yet handed to rustls.
    cipher: CiphertextBuffer,
    /// Received bytes not yet consumed by the core: `input[start..end]`. Between steps it
    /// is empty unless bytes wait in it: the client lends its [`Spare`] for a step.
    input: Vec<u8>,
    pub(crate) start: usize,
    pub(crate) end: usize,
    /// Request bytes framed by the core, waiting for the socket: `output[sent..filled]`
    /// (a buffer keeps its length when reused, so framing never clears it; lent like
    /// `input`).
    pub(crate) output: Vec<u8>,
    pub(crate) sent: usize,
    pub(crate) filled: usize,
    /// The peer closed its side (or TLS saw the end).
    pub(crate) eof: bool,
    /// The end came over TLS without the peer's `close_notify` (an "incomplete close", RFC
    /// 9112 §9.8): the core gets `handle_incomplete_close` instead of `handle_eof`.
    eof_without_notify: bool,
    /// A write failed: nothing more is written; a response already on its way may still
    /// be read.
    pub(crate) write_failed: Option<io::Error>,
    /// The task the connection works for, if any.
    pub(crate) task: Option<u64>,
    /// In the pool's idle set (so a close must take it out of there too).
    pub(crate) pooled: bool,
    /// Whether the connection has carried an exchange before (came from the pool).
    pub(crate) reused: bool,
    /// The core must be fed again (even with no new bytes): it may hold the body's end.
    pub(crate) feed_pending: bool,
    /// Bytes may be waiting in the socket: set by a readiness event (or a reason to look),
    /// cleared by `WouldBlock` or a short read — which on epoll and kqueue shows the socket
    /// was drained, as tokio also relies on — so no read is made only to learn it would
    /// block.
    pub(crate) readable: bool,
    /// The peer's end of the stream was reported with the readiness: a short read then does
    /// not mean drained (the end is still to be read, and no new edge will announce it).
    pub(crate) read_closed: bool,
    /// The deadline registered in the client's timer set.
    pub(crate) timer: Option<Instant>,
    /// The TLS configuration, for an `https` origin.
    pub(crate) tls_config: Option<Arc<ClientConfig>>,
    /// The TLS configuration of the connection to an `https://` proxy.
    pub(crate) proxy_tls_config: Option<Arc<ClientConfig>>,
    /// The idle limits of the key's settings, for when it goes back to the pool.
    pub(crate) pool_limits: PoolLimits,
    /// The origin's addresses, resolved for a SOCKS proxy that leaves names to the client.
    pub(crate) socks_target: Vec<SocketAddr>,
}

/// The read buffer, request frame and TLS record buffer a client lends to the connection it
/// is stepping ([`Conn::borrow_buffers`]): a connection waiting for its response, or idle in
/// the pool, then holds no buffer of its own.
#[derive(Debug, Default)]
pub(crate) struct Spare {
    input: Vec<u8>,
    output: Vec<u8>,
    /// The TLS record buffer (a full record, 16.5 KiB, to start with).
    cipher: CiphertextBuffer,
}

impl Spare {
    /// Bytes held (for the memory figures).
    pub(crate) fn capacity(&self) -> usize {
        self.input.capacity() + self.output.capacity() + self.cipher.capacity()
    }
}

/// A received event, detached from the core's borrow: data becomes a range of the
/// connection's input buffer, valid until the next read.
pub(crate) enum Received {
    Informational(u16, Headers),
    Head(ResponseHead),
    Data(std::ops::Range<usize>),
    Trailers(Headers),
    End,
}

impl Conn {
    pub(crate) fn new(key: PoolKey, token: Token, serial: u64, core: Connection) -> Conn {
        Conn {
            key,
            token,
            serial,
            core,
            phase: Phase::Resolving,
            socket: None,
            proxy_tls: None,
            tls: None,
            cipher: CiphertextBuffer::default(),
            input: Vec::new(),
            start: 0,
            end: 0,
            output: Vec::new(),
            sent: 0,
            filled: 0,
            eof: false,
            eof_without_notify: false,
            write_failed: None,
            task: None,
            pooled: false,
            reused: false,
            feed_pending: false,
            readable: true,
            read_closed: false,
            timer: None,
            tls_config: None,
            proxy_tls_config: None,
            pool_limits: PoolLimits::default(),
            socks_target: Vec::new(),
        }
    }

    /// Feeds the unconsumed input (or, once it is all consumed after the end of the
    /// stream, the end itself) to the core — the tunnel's while a `CONNECT` is under way.
    /// Consumed bytes are marked; at most one event comes back.
    pub(crate) fn feed(&mut self, now: Instant) -> Result<Option<Received>, tidings_core::Error> {
        let base = self.start;
        let input = &self.input[self.start..self.end];
        let core = match &mut self.phase {
            Phase::Tunnelling { tunnel, .. } => tunnel.as_mut(),
            _ => &mut self.core,
        };
        let (used, received) = if input.is_empty() && self.eof {
            let ended = if self.eof_without_notify { core.handle_incomplete_close(now) } else { core.handle_eof(now) };
            (0, ended?.map(|event| detach(event, &[], base)))
        } else {
            let (used, event) = core.handle_input(now, input)?;
            (used, event.map(|event| detach(event, input, base)))
        };
        self.start += used;
        Ok(received)
    }

    /// Received bytes by their range (from [`Received::Data`]).
    pub(crate) fn bytes(&self, range: std::ops::Range<usize>) -> &[u8] {
        &self.input[range]
    }

    /// Starts a non-blocking connect to the next address, beside those under way:
    /// `Ok(false)` when no address is left to start.
    pub(crate) fn connect_next(&mut self, registry: &Registry, now: Instant) -> io::Result<bool> {
        let Phase::Connecting(attempts) = &mut self.phase else { return Ok(false) };
        while attempts.next < attempts.addresses.len() {
            let address = attempts.addresses[attempts.next];
            attempts.next += 1;
            match TcpStream::connect(address) {
                Ok(mut socket) => {
                    registry.register(&mut socket, self.token, Interest::READABLE | Interest::WRITABLE)?;
                    attempts.sockets.push(socket);
                    let more = attempts.next < attempts.addresses.len();
                    attempts.next_at = more.then(|| now + ATTEMPT_DELAY);
                    return Ok(true);
                }
                Err(error) => attempts.last_error = Some(error),
            }
        }
        attempts.next_at = None;
        Ok(false)
    }

    /// Checks the racing connects: the first connected socket becomes the connection's
    /// (the others close); failed ones are dropped.
    pub(crate) fn poll_connects(&mut self, registry: &Registry) -> Connecting {
        let Phase::Connecting(attempts) = &mut self.phase else { return Connecting::Pending };
        let mut index = 0;
        while index < attempts.sockets.len() {
            let socket = &attempts.sockets[index];
            let state = match socket.take_error() {
                Ok(Some(error)) | Err(error) => Err(error),
                Ok(None) => match socket.peer_addr() {
                    Ok(_) => Ok(true),
                    Err(error) if error.kind() == io::ErrorKind::NotConnected => Ok(false),
                    Err(error) if error.raw_os_error() == Some(libc_einprogress()) => Ok(false),
                    Err(error) => Err(error),
                },
            };
            match state {
                Ok(false) => index += 1,
                Ok(true) => {
                    let socket = attempts.sockets.swap_remove(index);
                    for mut loser in attempts.sockets.drain(..) {
                        let _ = registry.deregister(&mut loser);
                    }
                    attempts.next_at = None;
                    if let Err(error) = socket.set_nodelay(true) {
                        return Connecting::Failed(error);
                    }
                    self.socket = Some(socket);
                    return Connecting::Connected;
                }
                Err(error) => {
                    let mut failed = attempts.sockets.swap_remove(index);
                    let _ = registry.deregister(&mut failed);
                    attempts.last_error = Some(error);
                }
            }
        }
        if attempts.sockets.is_empty() && attempts.next >= attempts.addresses.len() {
            let error = attempts.last_error.take().unwrap_or_else(|| io::Error::other("no address to connect to"));
            return Connecting::Failed(error);
        }
        Connecting::Pending
    }

    /// Whether no connect is under way (all failed so far) while addresses remain.
    pub(crate) fn connects_idle(&self) -> bool {
        matches!(&self.phase, Phase::Connecting(attempts) if attempts.sockets.is_empty())
    }

    /// When the next address should join the race, if it should.
    pub(crate) fn next_attempt_at(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Connecting(attempts) => attempts.next_at,
            _ => None,
        }
    }

    /// Starts TLS with the origin over the connected socket (through the proxy's TLS, if
    /// any).
    pub(crate) fn start_tls(&mut self, config: Arc<ClientConfig>) -> Result<(), tidings_client::Error> {
        self.tls = Some(Box::new(tls::client_session(config, self.key.host())?));
        Ok(())
    }

    /// Starts TLS with an `https://` proxy over the connected socket.
    pub(crate) fn start_proxy_tls(&mut self, config: Arc<ClientConfig>) -> Result<(), tidings_client::Error> {
        let session = tls::client_session(config, self.key.socket_address().0)?;
        self.proxy_tls = Some(Box::new(ProxyTls::new(session)));
        Ok(())
    }

    /// Moves the origin's handshake on: `Ok(true)` once it is complete.
    pub(crate) fn handshake(&mut self) -> io::Result<bool> {
        let (Some(tls), Some(socket)) = (self.tls.as_mut(), self.socket.as_mut()) else {
            return Err(io::Error::other("no TLS session"));
        };
        handshake_step(tls, &mut Wire { socket, proxy: self.proxy_tls.as_deref_mut() })
    }

    /// Moves the handshake with an `https://` proxy on: `Ok(true)` once it is complete.
    pub(crate) fn proxy_handshake(&mut self) -> io::Result<bool> {
        let (Some(proxy), Some(socket)) = (self.proxy_tls.as_mut(), self.socket.as_mut()) else {
            return Err(io::Error::other("no TLS session with the proxy"));
        };
        handshake_step(&mut proxy.tls, socket)
    }

    /// Writes TLS records rustls holds (the origin's, then the proxy's) until it holds none
    /// (or the socket is full: `WouldBlock`).
    fn flush_tls(&mut self) -> io::Result<()> {
        let Some(socket) = self.socket.as_mut() else { return Ok(()) };
        let mut wire = Wire { socket, proxy: self.proxy_tls.as_deref_mut() };
        if let Some(tls) = self.tls.as_mut() {
            while tls.wants_write() {
                match tls.write_tls(&mut wire) {
                    Ok(_) => {}
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(error),
                }
            }
        }
        wire.flush()
    }

    /// Whether written bytes still wait in a TLS layer.
    pub(crate) fn tls_pending(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.wants_write())
            || self.proxy_tls.as_ref().is_some_and(|proxy| proxy.wants_write())
    }

    /// Whether framed request bytes wait for the socket.
    pub(crate) fn output_pending(&self) -> bool {
        self.sent < self.filled
    }

    /// Writes `output[sent..filled]` to the connection: `Ok(true)` when all of it went.
    pub(crate) fn write_pending(&mut self) -> io::Result<bool> {
        self.flush_tls()?;
        while self.sent < self.filled {
            let count = match (&mut self.tls, &mut self.socket) {
                (Some(tls), _) => {
                    // rustls buffers what it accepts; keep its buffer short so a slow
                    // server pushes back on the upload.
                    let count = tls.writer().write(&self.output[self.sent..self.filled])?;
                    self.sent += count;
                    self.flush_tls()?;
                    continue;
                }
                (None, Some(socket)) => {
                    Wire { socket, proxy: self.proxy_tls.as_deref_mut() }.write(&self.output[self.sent..self.filled])
                }
                (None, None) => return Err(io::Error::from(io::ErrorKind::NotConnected)),
            };
            match count {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(count) => self.sent += count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(true)
    }

    /// Reads once into the input buffer: `Ok(0)` at the end of the stream, `WouldBlock`
    /// when nothing is there.
    pub(crate) fn read_some(&mut self) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        self.make_room();
        let space = self.input.len() - self.end;
        let result = receive(
            &mut self.tls,
            &mut self.cipher,
            &mut self.socket,
            &mut self.proxy_tls,
            &mut self.input[self.end..],
        );
        if matches!(result, Err(ref error) if error.kind() == io::ErrorKind::WouldBlock) {
            self.readable = false;
        }
        match self.after_receive(result)? {
            0 => Ok(0),
            count => {
                // Over TLS, rustls decides how much it reads from the socket.
                if count < space && self.short_read_drains() {
                    self.readable = false;
                }
                self.end += count;
                buffers::grow_after_read(&mut self.input, count, space);
                Ok(count)
            }
        }
    }

    /// Reads once straight into `out` (a reader's buffer), bypassing the input buffer:
    /// `Ok(0)` at the end of the stream, `WouldBlock` when nothing is there.
    pub(crate) fn read_into(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        let result = receive(&mut self.tls, &mut self.cipher, &mut self.socket, &mut self.proxy_tls, out);
        let drained = match &result {
            Err(error) => error.kind() == io::ErrorKind::WouldBlock,
            Ok(count) => *count < out.len() && self.short_read_drains(),
        };
        if drained {
            self.readable = false;
        }
        self.after_receive(result)
    }

    /// Sends what rustls wants to send back (alerts, key updates) and notes the end of the
    /// stream.
    fn after_receive(&mut self, result: io::Result<usize>) -> io::Result<usize> {
        if self.tls_pending() {
            match self.flush_tls() {
                Err(error) if error.kind() != io::ErrorKind::WouldBlock => return Err(error),
                _ => {}
            }
        }
        match result {
            Ok(0) => self.eof = true,
            // TLS ended without close_notify (rustls' word for it): an end all the same,
            // marked for the core.
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                self.eof = true;
                self.eof_without_notify = true;
                return Ok(0);
            }
            _ => {}
        }
        result
    }

    /// Hands bytes read with [`read_into`](Self::read_into) to the core: returns how many
    /// of them are body data (a prefix of `data`: the body is framed by its length or the
    /// close). Bytes past the body's end go to the input buffer for the core to judge.
    pub(crate) fn feed_direct(&mut self, now: Instant, data: &[u8]) -> Result<usize, tidings_core::Error> {
        let (used, event) = self.core.handle_input(now, data)?;
        let body = match event {
            Some(Event::Data(body)) => body.len(),
            _ => 0,
        };
        let extra = &data[used..];
        if !extra.is_empty() {
            self.make_room();
            if self.input.len() - self.end < extra.len() {
                self.input.resize(self.end + extra.len(), 0);
            }
            self.input[self.end..self.end + extra.len()].copy_from_slice(extra);
            self.end += extra.len();
        }
        // The core may have an event for no further input (the body's end).
        self.feed_pending = true;
        Ok(body)
    }

    /// Whether the next body bytes can be read straight into a reader's buffer: nothing is
    /// buffered or pending, and the body is framed by Content-Length or the close, so its
    /// bytes on the wire are the body itself.
    pub(crate) fn can_read_direct(&self) -> bool {
        let decoder = self.core.decoder();
        matches!(self.phase, Phase::Ready)
            && self.readable
            && !self.eof
            && !self.feed_pending
            && self.start == self.end
            && !decoder.is_done()
            && match decoder.framing().map(|framing| framing.length) {
                Some(tidings_core::BodyLength::ContentLength(length)) => decoder.body_received() < length,
                Some(tidings_core::BodyLength::CloseDelimited) => true,
                _ => false,
            }
    }

    /// Whether a short read shows the socket was drained: on epoll and kqueue for a plain
    /// socket whose end was not announced (over TLS, rustls decides how much it reads).
    fn short_read_drains(&self) -> bool {
        self.tls.is_none()
            && self.proxy_tls.is_none()
            && !self.read_closed
            && cfg!(any(target_os = "linux", target_os = "macos"))
    }

    /// What arrived beyond what the core consumed: bytes (plaintext, ciphertext, or
    /// plaintext rustls decrypted and nobody read), or the peer's close.
    pub(crate) fn arrived(&mut self) -> Arrived {
        let decrypted = self.tls.as_mut().is_some_and(|tls| {
            // Processing what rustls holds reads no socket; it only tells what is decrypted.
            tls.process_new_packets().map_or(true, |state| state.plaintext_bytes_to_read() > 0)
        });
        let proxied = self.proxy_tls.as_mut().is_some_and(|proxy| proxy.has_buffered());
        Arrived {
            unconsumed: self.start != self.end || !self.cipher.is_empty() || decrypted || proxied,
            peer_closed: self.eof,
        }
    }

    /// What arrived while the connection sat idle: besides anything already received, one
    /// non-blocking peek at the socket (its readiness may not have been polled since).
    pub(crate) fn arrived_while_idle(&mut self) -> Arrived {
        let mut arrived = self.arrived();
        let mut probe = [0u8; 1];
        match self.socket.as_ref().map(|socket| socket.peek(&mut probe)) {
            Some(Ok(0)) | None => arrived.peer_closed = true,
            Some(Ok(_)) => arrived.unconsumed = true,
            Some(Err(error)) if error.kind() == io::ErrorKind::WouldBlock => {}
            Some(Err(_)) => arrived.peer_closed = true,
        }
        arrived
    }

    /// The received bytes not yet consumed.
    pub(crate) fn unconsumed(&self) -> &[u8] {
        &self.input[self.start..self.end]
    }

    /// Marks `count` bytes of [`unconsumed`](Self::unconsumed) as used.
    pub(crate) fn consume(&mut self, count: usize) {
        self.start = (self.start + count).min(self.end);
    }

    /// Takes the client's spare buffers for a step when the connection holds none of its
    /// own with bytes in them: the read buffer when nothing is unconsumed, the request frame
    /// when nothing waits to be sent, the TLS record buffer when no ciphertext waits. One
    /// set of buffers then serves every connection whose exchange fits a step, and stays
    /// warm in the cache.
    pub(crate) fn borrow_buffers(&mut self, spare: &mut Spare) {
        if self.start == self.end && self.input.capacity() == 0 {
            std::mem::swap(&mut self.input, &mut spare.input);
            (self.start, self.end) = (0, 0);
        }
        if self.sent == self.filled && self.output.capacity() == 0 {
            std::mem::swap(&mut self.output, &mut spare.output);
            (self.sent, self.filled) = (0, 0);
        }
        if self.tls.is_some() && self.cipher.is_empty() && self.cipher.capacity() == 0 {
            std::mem::swap(&mut self.cipher, &mut spare.cipher);
        }
    }

    /// After a step: a buffer with nothing left in it goes back to the client (which keeps
    /// the larger of it and the one it may have, so a buffer grown for a large body is not
    /// grown again); one holding bytes (a head cut by a read, a frame the socket did not
    /// take) stays with the connection until they are gone.
    pub(crate) fn return_buffers(&mut self, spare: &mut Spare) {
        if self.start == self.end && self.input.capacity() != 0 {
            give_back(&mut self.input, &mut spare.input, Vec::capacity);
            (self.start, self.end) = (0, 0);
        }
        if self.sent == self.filled && self.output.capacity() != 0 {
            give_back(&mut self.output, &mut spare.output, Vec::capacity);
            (self.sent, self.filled) = (0, 0);
        }
        if self.cipher.is_empty() && self.cipher.capacity() != 0 {
            give_back(&mut self.cipher, &mut spare.cipher, CiphertextBuffer::capacity);
        }
    }

    /// Space after the unconsumed bytes: rewind, compact or grow.
    fn make_room(&mut self) {
        if self.input.is_empty() {
            self.input = vec![0; INITIAL_READ];
        }
        buffers::make_room(&mut self.input, &mut self.start, &mut self.end, LARGEST_READ);
    }

    /// Bytes held for this connection (for the memory-per-connection figure).
    pub(crate) fn buffered_capacity(&self) -> usize {
        let proxy = self.proxy_tls.as_ref().map_or(0, |proxy| proxy.cipher.capacity());
        self.input.capacity() + self.output.capacity() + self.cipher.capacity() + proxy
    }

    /// Deregisters and closes the socket (and any connects still racing).
    ///
    /// A TLS peer is told first (RFC 9112 §9.8: "Clients MUST send a closure alert before
    /// closing the connection"): the origin's `close_notify`, then the proxy's, one try each
    /// on the non-blocking socket, without waiting for the server's (the RFC's "MAY choose
    /// not to wait").
    pub(crate) fn close_socket(&mut self, registry: &Registry) {
        if matches!(self.phase, Phase::Ready) {
            if let Some(tls) = self.tls.as_mut() {
                tls.send_close_notify();
                let _ = self.flush_tls();
            }
            if let (Some(proxy), Some(socket)) = (self.proxy_tls.as_mut(), self.socket.as_mut()) {
                proxy.close_notify(socket);
            }
        }
        if let Some(mut socket) = self.socket.take() {
            let _ = registry.deregister(&mut socket);
        }
        if let Phase::Connecting(attempts) = &mut self.phase {
            for mut socket in attempts.sockets.drain(..) {
                let _ = registry.deregister(&mut socket);
            }
        }
    }
}

/// Reads once from the connection (plaintext from rustls over TLS) into `buffer`.
fn receive(
    tls: &mut Option<Box<ClientConnection>>,
    cipher: &mut CiphertextBuffer,
    socket: &mut Option<TcpStream>,
    proxy: &mut Option<Box<ProxyTls>>,
    buffer: &mut [u8],
) -> io::Result<usize> {
    loop {
        let result = match (&mut *tls, &mut *socket) {
            (Some(tls), Some(socket)) => {
                cipher.read_plaintext(tls, &mut Wire { socket, proxy: proxy.as_deref_mut() }, buffer)
            }
            (None, Some(socket)) => Wire { socket, proxy: proxy.as_deref_mut() }.read(buffer),
            _ => Err(io::Error::from(io::ErrorKind::NotConnected)),
        };
        match result {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// `EINPROGRESS` on the platforms where `peer_addr` reports it for a pending connect.
fn libc_einprogress() -> i32 {
    if cfg!(target_os = "linux") {
        115
    } else {
        36
    }
}

/// Detaches an event from the core's borrow; data becomes a range of the input buffer
/// (`input` starts at `base`).
fn detach(event: Event<'_>, input: &[u8], base: usize) -> Received {
    match event {
        Event::Informational(head) => {
            wire::log_response_head(head.raw());
            Received::Informational(head.status(), head.headers().to_headers())
        }
        Event::Head(head) => {
            wire::log_response_head(head.raw());
            Received::Head(head.clone())
        }
        Event::Data(data) => {
            let offset = data.as_ptr() as usize - input.as_ptr() as usize;
            Received::Data(base + offset..base + offset + data.len())
        }
        Event::Trailers(fields) => Received::Trailers(fields.to_headers()),
        Event::End => Received::End,
    }
}

/// Leaves the larger of an emptied buffer and the spare one in `spare`, and `own` empty
/// (no capacity): the connection holds no memory while it waits.
fn give_back<T: Default>(own: &mut T, spare: &mut T, capacity: fn(&T) -> usize) {
    if capacity(own) > capacity(spare) {
        std::mem::swap(own, spare);
    }
    *own = T::default();
}
