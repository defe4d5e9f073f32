//! A whole blocking transport for tidings-client over plain `TcpStream`s: the size of your
//! own. The session drives the call — redirects, retries, credentials, cookies, the pool key —
//! and calls `exchange` once per attempt; this file moves bytes under the core's deadlines and
//! keeps idle connections as the client layer's reuse rule allows.

use std::io::{ErrorKind as Io, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tidings_client::pool::{drain_before_reuse, expire_idle, reuse_verdict, IdleSet, Received};
use tidings_client::{Attempt, AttemptError, Error, ErrorKind, Exchanged, PoolKey, PoolLimits, RequestBody};
use tidings_core::{Connection, ContentDecoder, Event, Headers, ResponseHead};

/// A connection: the socket, its core, and received bytes the core has not consumed.
struct Conn {
    key: PoolKey,
    socket: TcpStream,
    core: Connection,
    buffer: Vec<u8>,
}

#[derive(Default, Clone)]
pub struct TcpTransport {
    idle: Arc<Mutex<IdleSet<Conn>>>,
}

impl tidings_client::Transport for TcpTransport {
    fn exchange(&self, attempt: Attempt, body: RequestBody<'_>) -> Result<Exchanged, AttemptError> {
        let pooled = if attempt.fresh_connection { None } else { self.take(&attempt.key) };
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => connect(&attempt).map_err(AttemptError::connect)?,
        };
        conn.core.set_read_timeouts(attempt.read_timeout, attempt.read_timeout);
        let (head, informational) = send(&mut conn, &attempt, body)
            .and_then(|()| read_head(&mut conn))
            .map_err(|error| AttemptError::exchange(error, reused && conn.core.is_stale_retry_safe()))?;
        let decoder = ContentDecoder::for_response(head.headers(), attempt.max_body)
            .map_err(|error| AttemptError::exchange(error.into(), false))?;
        let (pool, limits) = (self.clone(), attempt.pool_limits);
        let body = TcpBody { conn: Some(conn), decoder, pool, limits, decoded: Vec::new() };
        Ok(Exchanged { head, informational, reused, body: Box::new(body) })
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall_clock(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

impl TcpTransport {
    /// An idle connection for `key` that the reuse rule still allows: a non-blocking peek
    /// shows whether the server wrote or closed while it sat in the pool.
    fn take(&self, key: &PoolKey) -> Option<Conn> {
        loop {
            let (mut conn, _) = self.idle.lock().ok()?.take(key)?;
            expire_idle(&mut conn.core, Instant::now());
            conn.socket.set_nonblocking(true).ok()?;
            let (peeked, _) = (conn.socket.peek(&mut [0u8; 1]), conn.socket.set_nonblocking(false));
            let received = Received { unconsumed: matches!(peeked, Ok(1)), peer_closed: matches!(peeked, Ok(0)) };
            if reuse_verdict(&conn.core, received).is_ok() {
                return Some(conn);
            }
        }
    }

    /// A connection whose response ended goes back if nothing arrived beyond the response.
    fn put(&self, conn: Conn, limits: PoolLimits) {
        let received = Received { unconsumed: !conn.buffer.is_empty(), peer_closed: false };
        if let (Ok(()), Ok(mut idle)) = (reuse_verdict(&conn.core, received), self.idle.lock()) {
            let key = conn.key.clone();
            let _ = idle.put(&key, conn, limits, Instant::now());
        }
    }
}

/// Connects within the core's connect deadline.
fn connect(attempt: &Attempt) -> Result<Conn, Error> {
    if attempt.key.https() || attempt.key.proxy().is_some() || attempt.request.headers().contains("expect") {
        return Err(Error::new(ErrorKind::InvalidRequest, "plain HTTP only: no TLS, proxies or 100-continue"));
    }
    let mut core = Connection::connecting(attempt.config.clone(), Instant::now());
    let budget = core.poll_timeout().map_or(Duration::from_secs(30), |deadline| deadline - Instant::now());
    let io = |error| Error::io(ErrorKind::Connect, "connecting", error);
    let address = (attempt.key.host(), attempt.key.port()).to_socket_addrs().map_err(io)?.next();
    let address = address.ok_or_else(|| Error::new(ErrorKind::Connect, "the name has no address"))?;
    let socket = TcpStream::connect_timeout(&address, budget).map_err(io)?;
    socket.set_nodelay(true).map_err(io)?;
    core.handle_connected(Instant::now())?;
    Ok(Conn { key: attempt.key.clone(), socket, core, buffer: Vec::new() })
}

/// Writes the request head and body as the core frames them.
fn send(conn: &mut Conn, attempt: &Attempt, body: RequestBody<'_>) -> Result<(), Error> {
    let io = |error| Error::io(ErrorKind::Eof, "sending the request", error);
    conn.core.send_request(Instant::now(), &attempt.request)?;
    let mut data = Vec::new();
    match body {
        RequestBody::Empty => {}
        RequestBody::Bytes(bytes) => data.extend_from_slice(bytes),
        RequestBody::Reader(mut reader) => drop(reader.read_to_end(&mut data).map_err(io)?),
    }
    let (mut rest, mut out) = (&data[..], vec![0u8; 16 * 1024]);
    loop {
        let now = Instant::now();
        let mut written = conn.core.poll_transmit(now, &mut out);
        if conn.core.wants_body() && rest.is_empty() {
            conn.core.finish_body(now, None)?;
            written += conn.core.poll_transmit(now, &mut out[written..]);
        } else if conn.core.wants_body() {
            let sent = conn.core.send_body(now, rest, &mut out[written..])?;
            (rest, written) = (&rest[sent.consumed..], written + sent.written);
        }
        if written == 0 {
            return Ok(());
        }
        conn.socket.write_all(&out[..written]).map_err(io)?;
    }
}

/// Reads until the final head; interim responses are collected.
fn read_head(conn: &mut Conn) -> Result<(ResponseHead, Vec<(u16, Headers)>), Error> {
    let mut informational = Vec::new();
    loop {
        let head = next(conn, |event| match event {
            Event::Head(head) => Ok(Some(head.clone())),
            Event::Informational(head) => {
                informational.push((head.status(), head.headers().to_headers()));
                Ok(None)
            }
            _ => Ok(None),
        })?;
        if let Some(head) = head {
            return Ok((head, informational));
        }
    }
}

/// Feeds the core what was received, reading more (under its deadlines) until it has an
/// event, which `on` sees.
fn next<T>(conn: &mut Conn, mut on: impl FnMut(Event<'_>) -> Result<T, Error>) -> Result<T, Error> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let (used, event) = conn.core.handle_input(Instant::now(), &conn.buffer)?;
        let seen = event.map(&mut on);
        conn.buffer.drain(..used);
        if let Some(seen) = seen {
            return seen;
        }
        let wait = conn.core.poll_timeout().map(|deadline| deadline.saturating_duration_since(Instant::now()));
        conn.socket.set_read_timeout(wait.map(|wait| wait.max(Duration::from_millis(1)))).map_err(Error::from)?;
        match conn.socket.read(&mut chunk) {
            // The server closed: a body delimited by the close ends here (the core decides).
            Ok(0) => match conn.core.handle_eof(Instant::now())? {
                Some(event) => return on(event),
                None => return Err(Error::new(ErrorKind::Eof, "the server closed before the response ended")),
            },
            Ok(count) => conn.buffer.extend_from_slice(&chunk[..count]),
            Err(error) if matches!(error.kind(), Io::WouldBlock | Io::TimedOut) => {
                conn.core.handle_timeout(Instant::now())?;
            }
            Err(error) => return Err(Error::io(ErrorKind::Eof, "reading the response", error)),
        }
    }
}

/// The response body, decoded as it is read; at its end the connection goes back.
struct TcpBody {
    conn: Option<Conn>,
    decoder: ContentDecoder,
    pool: TcpTransport,
    limits: PoolLimits,
    decoded: Vec<u8>,
}

impl tidings_client::ResponseBody for TcpBody {
    fn read(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        while self.decoded.is_empty() {
            let Some(conn) = self.conn.as_mut() else { return Ok(0) };
            let (decoder, decoded) = (&mut self.decoder, &mut self.decoded);
            let ended = next(conn, |event| match event {
                Event::Data(data) => Ok(decoder.decode_into(data, decoded).map(|()| false)?),
                event => Ok(matches!(event, Event::End)), // trailers, if any, are dropped here
            })?;
            if ended {
                self.decoder.finish_into(&mut self.decoded)?;
                self.conn.take().into_iter().for_each(|conn| self.pool.put(conn, self.limits));
            }
        }
        let count = out.len().min(self.decoded.len());
        out[..count].copy_from_slice(&self.decoded[..count]);
        self.decoded.drain(..count);
        Ok(count)
    }

    /// A redirect or a retried response: a small body is read off raw (never decoded) to
    /// keep the connection; a large one closes it.
    fn discard(mut self: Box<Self>) {
        let Some(mut conn) = self.conn.take() else { return };
        while drain_before_reuse(conn.core.decoder().framing()) {
            match next(&mut conn, |event| Ok(matches!(event, Event::End))) {
                Ok(true) => return self.pool.put(conn, self.limits),
                Ok(false) => {}
                Err(_) => return,
            }
        }
    }
}
