//! The transport-neutral side of a call, shared by every transport built on a [`Session`].
//!
//! A call is a chain of attempts: redirect hops, retries, the answer to an authentication
//! challenge, and the one stale-connection retry. Which attempt comes next is decided here,
//! from the core's pure policies (redirects, retries, cookies, proxy routes, credentials);
//! a transport does the I/O of each attempt and reports what happened. `tidings-std` blocks
//! on one socket at a time and `tidings-mio` multiplexes many, and both behave the same
//! because this is the one place it is decided.
//!
//! ```text
//!  Call::new ──▶ attempt() ──▶ [transport: pooled or new connection, send, read the head]
//!                   ▲                 │ a final head                 │ a failure
//!                   │          after_head(head, now)          after_failure(error, how, now)
//!                   │          ├─ Finish: build the Response,  ├─ Ok(wait)
//!                   │          │   then finish(response)       └─ Err(error): the call fails
//!                   └──────────┴─ Again(wait): drop this response (drained), wait, go again
//!                              └─ Fail(error)
//! ```
//!
//! Waits are durations the transport turns into deadlines: `tidings-std` sleeps,
//! `tidings-mio` sets a timer and serves other requests meanwhile.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rustls::ClientConfig;
use tidings_core::cookie::CookieJar;
use tidings_core::proxy::Route;
use tidings_core::retry::{Outcome, Retries};
use tidings_core::{Config, ContentDecoder, Headers, Method, ResponseHead, TargetForm};
use url::Url;

use crate::error::{Error, ErrorKind};
use crate::request::{PreparedBody, PreparedRequest, Rewound};
use crate::response::Response;
use crate::session::Session;

pub use crate::pool::PoolKey;

/// One call's policy state, from its first attempt to the response it delivers.
pub struct Call {
    session: Session,
    request: PreparedRequest,
    started: Instant,
    deadline: Option<Instant>,
    history: Vec<Url>,
    retries: Retries,
    /// The 401 of this hop was answered already.
    auth_retried: bool,
    /// Cookies of this call alone: the request's own, and — without a session jar — those
    /// set along its redirect chain (Requests keeps them per call too).
    call_jar: CookieJar,
    caller_cookie_header: bool,
    /// The stale-connection retry was used: the next attempt needs a new connection.
    fresh_only: bool,
    /// The error the delivered response comes with (`redirect_limit` and friends).
    pending_error: Option<Error>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.request.method)
            .field("url", &self.request.url.as_str())
            .field("attempts", &self.retries.attempts())
            .finish_non_exhaustive()
    }
}

/// What the next attempt needs: where to connect and what to write.
#[derive(Debug)]
pub struct Attempt {
    /// The pool key: the connection must match it exactly.
    pub key: PoolKey,
    /// The core's request, with the target form and headers its route needs.
    pub request: tidings_core::Request,
    /// A pooled connection must not be used (the stale-connection retry).
    pub fresh_connection: bool,
    /// The whole call's deadline, if it has one.
    pub deadline: Option<Instant>,
    /// The longest silence while sending or reading, for this attempt: give it to a pooled
    /// connection's core ([`Connection::set_read_timeouts`](tidings_core::Connection::set_read_timeouts))
    /// before the request.
    pub read_timeout: Option<Duration>,
}

/// What follows a response head.
#[derive(Debug)]
pub enum Next {
    /// This response is the call's: build it, then hand it to [`Call::finish`].
    Finish,
    /// Drop this response (drain it, or close its connection) and make another attempt
    /// after the wait.
    Again(Duration),
    /// The call fails.
    Fail(Error),
}

/// How an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Resolving, connecting, a proxy tunnel or the TLS handshake: nothing reached the
    /// server, so any method may be sent again.
    Connect,
    /// Sending or waiting for the head. `stale_retry_safe` is the core's
    /// [`is_stale_retry_safe`](tidings_core::Connection::is_stale_retry_safe).
    Exchange {
        /// A pooled connection closed before any response byte.
        stale_retry_safe: bool,
    },
}

/// The request body of the current attempt, rewound to its start.
pub enum RequestBody<'a> {
    /// No body.
    Empty,
    /// In memory.
    Bytes(&'a [u8]),
    /// Streamed from a reader (a seekable one is rewound first).
    Reader(Box<dyn Read + Send + 'a>),
}

impl std::fmt::Debug for RequestBody<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestBody::Empty => f.write_str("Empty"),
            RequestBody::Bytes(bytes) => write!(f, "Bytes({})", bytes.len()),
            RequestBody::Reader(_) => f.write_str("Reader"),
        }
    }
}

/// A number in `[0, 1)` for backoff jitter, from the standard library's per-process random
/// hash keys (no extra dependency; jitter needs no cryptographic quality).
fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x0074_6964_696e_6773);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

impl Call {
    /// Starts a call: the whole-call deadline (the request's timeout, else the session's)
    /// runs from `now`.
    pub fn new(session: &Session, request: PreparedRequest, now: Instant) -> Call {
        let settings = session.settings();
        let total = request.timeout.or(settings.timeouts.total);
        let mut call_jar = CookieJar::new();
        for (name, value) in &request.cookies {
            let _ = call_jar.store(&request.url, format!("{name}={value}; Path=/").as_bytes(), SystemTime::now());
        }
        let caller_cookie_header = request.headers.contains("cookie");
        Call {
            session: session.clone(),
            started: now,
            deadline: total.map(|total| now + total),
            history: Vec::new(),
            retries: Retries::new(settings.retries.clone()),
            auth_retried: false,
            call_jar,
            caller_cookie_header,
            fresh_only: false,
            pending_error: None,
            request,
        }
    }

    /// The session the call belongs to.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The URL of the current attempt.
    pub fn url(&self) -> &Url {
        &self.request.url
    }

    /// The method of the current attempt.
    pub fn method(&self) -> &Method {
        &self.request.method
    }

    /// When the call started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The whole call's deadline, if it has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.retries.attempts()
    }

    /// The next attempt: cookies for its URL, its route (direct, forwarded, tunnelled),
    /// its pool key and the core's request. An error here (an invalid proxy setting or
    /// request) fails the call.
    pub fn attempt(&mut self) -> Result<Attempt, Error> {
        // A Cookie header the caller wrote is theirs (stripped only across origins);
        // otherwise the jars decide, hop by hop.
        if !self.caller_cookie_header || !self.request.headers.contains("cookie") {
            self.set_cookie_header();
        }
        let settings = self.session.settings();
        let url = self.request.url.clone();
        let route = settings
            .proxies
            .route(&url)
            .map_err(|error| Error::new(ErrorKind::InvalidRequest, error.to_string()).at(&url))?;
        let mut request = self.request.to_core().map_err(|error| error.at(&url))?;
        route.adjust_headers(request.headers_mut());
        let proxy = match route {
            Route::Direct => None,
            Route::Forward(proxy) => {
                request = request.target_form(TargetForm::Absolute);
                Some(proxy.clone())
            }
            Route::Tunnel(proxy) => Some(proxy.clone()),
        };
        let https = url.scheme() == "https";
        let key = PoolKey {
            https,
            host: url.host_str().unwrap_or_default().to_owned(),
            port: url.port_or_known_default().unwrap_or(if https { 443 } else { 80 }),
            tls: https.then_some(Arc::as_ptr(&settings.tls) as usize),
            proxy,
        };
        let read_timeout = self.request.read_timeout.or(settings.timeouts.read);
        Ok(Attempt { key, request, fresh_connection: self.fresh_only, deadline: self.deadline, read_timeout })
    }

    /// The core configuration for a new connection made now: the session's timeouts, the
    /// connect budget capped by the whole call's deadline.
    pub fn connection_config(&self, now: Instant) -> Config {
        let timeouts = self.session.settings().timeouts;
        let read = self.request.read_timeout.or(timeouts.read);
        let mut config = Config::default();
        config.timeouts.connect = self.request.connect_timeout.or(timeouts.connect);
        config.timeouts.send = read;
        config.timeouts.between_bytes = read;
        config.timeouts.idle = self.session.settings().pool_idle_timeout;
        if let (Some(deadline), Some(connect)) = (self.deadline, config.timeouts.connect) {
            config.timeouts.connect = Some(connect.min(deadline.saturating_duration_since(now)));
        }
        config
    }

    /// The TLS configuration for `https` connections.
    pub fn tls_config(&self) -> Arc<ClientConfig> {
        self.session.settings().tls.clone()
    }

    /// The body to send in this attempt, from its start.
    pub fn body(&mut self) -> Result<RequestBody<'_>, Error> {
        Ok(match &mut self.request.body {
            PreparedBody::Empty => RequestBody::Empty,
            PreparedBody::Bytes(bytes) => RequestBody::Bytes(bytes),
            PreparedBody::Reader { reader, .. } => {
                let reader = reader.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
                RequestBody::Reader(Box::new(reader.as_mut()))
            }
            PreparedBody::Seekable { reader, start, .. } => {
                let reader = reader.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
                reader
                    .seek(std::io::SeekFrom::Start(*start))
                    .map_err(|error| Error::io(ErrorKind::Io, "rewinding the request body", error))?;
                RequestBody::Reader(Box::new(Rewound(reader.as_mut())))
            }
        })
    }

    /// The body where the last read left it (no rewind): for transports that read a
    /// streamed body a piece at a time, after [`body`](Self::body) started the attempt.
    pub fn body_resume(&mut self) -> RequestBody<'_> {
        match &mut self.request.body {
            PreparedBody::Empty => RequestBody::Empty,
            PreparedBody::Bytes(bytes) => RequestBody::Bytes(bytes),
            PreparedBody::Reader { reader, .. } => RequestBody::Reader(Box::new(
                reader.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).as_mut(),
            )),
            PreparedBody::Seekable { reader, .. } => RequestBody::Reader(Box::new(Rewound(
                reader.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).as_mut(),
            ))),
        }
    }

    /// A copy of the request for the response to keep (a streamed body is not kept).
    pub fn summary(&self) -> PreparedRequest {
        self.request.summary()
    }

    /// Decides what follows a final head: a retry on its status, the answer to an
    /// authentication challenge, a redirect hop, or the end of the call. Cookies it sets
    /// are stored (unless it is retried).
    pub fn after_head(&mut self, head: &ResponseHead, now: Instant) -> Next {
        let status = head.status();
        let replayable = self.request.body.is_replayable();
        // A retryable status (urllib3's status_forcelist, Retry-After) for a body that
        // can be sent again.
        if replayable {
            let outcome = Outcome::Status { status, retry_after: head.headers().get("retry-after") };
            if let Some(wait) = self.retry_wait(outcome, now) {
                log::debug!("retrying {} after status {status} in {wait:?}", self.request.url);
                self.fresh_only = false;
                return Next::Again(wait);
            }
        }
        self.store_cookies(head);
        // A 401 from the credentials' own origin may be answered once (Digest's
        // challenge); never with a body that cannot be sent again.
        if status == 401 && !self.auth_retried && replayable {
            if let Some((auth, origin)) = self.request.auth.clone() {
                if self.request.url.origin() == origin {
                    self.auth_retried = true;
                    match auth.retry_unauthorized(&mut self.request, head) {
                        Ok(true) => {
                            log::debug!("answering the authentication challenge of {}", self.request.url);
                            self.fresh_only = false;
                            return Next::Again(Duration::ZERO);
                        }
                        Ok(false) => {}
                        Err(error) => return Next::Fail(error.at(&self.request.url)),
                    }
                }
            }
        }
        let hop = tidings_core::redirect::next_hop(
            self.session.settings().redirects,
            self.history.len() as u32,
            &self.request.method,
            &self.request.url,
            status,
            head.headers().get("location"),
            replayable,
        );
        let target = match hop {
            Ok(None) => return Next::Finish,
            Ok(Some(target)) => target,
            Err(error) => {
                self.pending_error = Some(Error::from(tidings_core::Error::from(error)).at(&self.request.url));
                return Next::Finish;
            }
        };
        log::debug!("redirect {status} {} -> {} {}", self.request.url, target.method, target.url);
        self.history.push(self.request.url.clone());
        target.adjust_headers(&mut self.request.headers);
        if target.drop_body {
            self.request.body = PreparedBody::Empty;
        }
        self.request.method = target.method;
        self.request.url = target.url;
        self.auth_retried = false;
        self.fresh_only = false;
        // Credentials go again to their own origin only; `.netrc` answers for each host
        // (Requests' `rebuild_auth`).
        let applied = match self.request.auth.clone() {
            Some((auth, origin)) if self.request.url.origin() == origin => auth.apply(&mut self.request),
            Some(_) => Ok(()),
            None if self.request.netrc && target.strip_credentials => {
                self.session.apply_netrc(&mut self.request);
                Ok(())
            }
            None => Ok(()),
        };
        match applied {
            Ok(()) => Next::Again(Duration::ZERO),
            Err(error) => Next::Fail(error.at(&self.request.url)),
        }
    }

    /// Decides what follows a failed attempt: `Ok(wait)` to try again (the stale-connection
    /// retry at once, or the retry policy's backoff), or the call's final error.
    ///
    /// Connect failures are retried for any method; later failures only for idempotent
    /// methods, and a streamed body is never sent twice.
    pub fn after_failure(&mut self, error: Error, failure: Failure, now: Instant) -> Result<Duration, Error> {
        let replayable = self.request.body.is_replayable();
        if let Failure::Exchange { stale_retry_safe: true } = failure {
            if replayable && !self.fresh_only {
                log::debug!("a pooled connection for {} was stale ({error}); retrying on a new one", self.request.url);
                self.fresh_only = true;
                return Ok(Duration::ZERO);
            }
        }
        let outcome = match failure {
            Failure::Connect => Some(Outcome::ConnectFailed),
            Failure::Exchange { .. } => {
                matches!(error.kind(), ErrorKind::Io | ErrorKind::Eof | ErrorKind::Timeout | ErrorKind::Protocol)
                    .then_some(Outcome::ReadFailed)
            }
        };
        let resendable = replayable || failure == Failure::Connect;
        if let Some(wait) = outcome.filter(|_| resendable).and_then(|outcome| self.retry_wait(outcome, now)) {
            log::debug!("retrying {} after {error} in {wait:?}", self.request.url);
            self.fresh_only = false;
            return Ok(wait);
        }
        let attempts = self.retries.attempts();
        let error = error.at(&self.request.url);
        Err(if attempts > 1 { error.context(&format!("after {attempts} attempts")) } else { error })
    }

    /// The retry policy's wait for `outcome`, if it allows another attempt that can start
    /// within the call's deadline.
    fn retry_wait(&mut self, outcome: Outcome<'_>, now: Instant) -> Option<Duration> {
        let wait = self.retries.next(&self.request.method, outcome, SystemTime::now(), random_unit())?;
        self.deadline.is_none_or(|deadline| now + wait < deadline).then_some(wait)
    }

    /// Ends the call with the response [`Next::Finish`] asked for: its redirect history and
    /// attempt count attached, or the error it comes with (`redirect_limit`).
    pub fn finish(self, response: Response) -> Result<Response, Error> {
        let response = response.with_history(self.history, self.retries.attempts());
        match self.pending_error {
            None => Ok(response),
            Some(error) => Err(error.with_response(response)),
        }
    }

    /// Replaces the `Cookie` header with what the jars hold for the request's URL: the
    /// call's own cookies first, then the session's under other names.
    fn set_cookie_header(&mut self) {
        let request = &mut self.request;
        request.headers.remove("cookie");
        let session_jar = self.session.settings().cookies.as_ref();
        let session_empty =
            session_jar.is_none_or(|jar| jar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty());
        if self.call_jar.is_empty() && session_empty {
            return;
        }
        let now = SystemTime::now();
        let mut pairs: Vec<(String, String)> = self
            .call_jar
            .matching(&request.url, now)
            .into_iter()
            .map(|cookie| (cookie.name.clone(), cookie.value.clone()))
            .collect();
        if let Some(jar) = &self.session.settings().cookies {
            let mut jar = jar.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for cookie in jar.matching(&request.url, now) {
                if !pairs.iter().any(|(name, _)| *name == cookie.name) {
                    pairs.push((cookie.name.clone(), cookie.value.clone()));
                }
            }
        }
        if !pairs.is_empty() {
            let value =
                tidings_core::cookie::cookie_header(pairs.iter().map(|(name, value)| (name.as_str(), value.as_str())));
            request.headers.insert("Cookie", value);
        }
    }

    /// Keeps a response's `Set-Cookie` values: in the session's jar, or the call's.
    fn store_cookies(&mut self, head: &ResponseHead) {
        if !head.headers().contains("set-cookie") {
            return;
        }
        let set_cookies = head.headers().get_all("set-cookie");
        match &self.session.settings().cookies {
            Some(jar) => jar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).store_response(
                &self.request.url,
                set_cookies,
                SystemTime::now(),
            ),
            None => self.call_jar.store_response(&self.request.url, set_cookies, SystemTime::now()),
        }
    }
}

/// Makes space after the unconsumed bytes `buffer[*start..*end]` of a read buffer: rewind
/// when all is consumed, compact when the end is reached, or grow (up to `largest`) when the
/// unconsumed bytes fill it.
pub fn make_room(buffer: &mut Vec<u8>, start: &mut usize, end: &mut usize, largest: usize) {
    if *start == *end {
        (*start, *end) = (0, 0);
    } else if *end == buffer.len() {
        if *start > 0 {
            buffer.copy_within(*start..*end, 0);
            *end -= *start;
            *start = 0;
        } else if buffer.len() < largest {
            buffer.resize(buffer.len() * 2, 0);
        }
    }
}

/// The log target of request heads as written (`trace` level).
pub const WIRE_REQUEST: &str = "tidings::wire::request";
/// The log target of response heads (interim and final) as received (`trace` level).
pub const WIRE_RESPONSE: &str = "tidings::wire::response";

/// Logs a request head exactly as written, at `trace` level on [`WIRE_REQUEST`]; octets map
/// one to one to U+0000..U+00FF, so nothing is lost or invented. Costs one check when the
/// target is off.
pub fn log_request_head(head: &[u8]) {
    if log::log_enabled!(target: WIRE_REQUEST, log::Level::Trace) {
        log::trace!(target: WIRE_REQUEST, "{}", latin1(head));
    }
}

/// Logs a response head exactly as received, at `trace` level on [`WIRE_RESPONSE`].
pub fn log_response_head(head: &[u8]) {
    if log::log_enabled!(target: WIRE_RESPONSE, log::Level::Trace) {
        log::trace!(target: WIRE_RESPONSE, "{}", latin1(head));
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&byte| char::from(byte)).collect()
}

/// The `CONNECT` request that opens a tunnel to `key`'s origin through its proxy (RFC 9110
/// §9.3.6), with the proxy's credentials — the only request that carries them for a
/// tunnelled origin.
pub fn connect_request(key: &PoolKey) -> Result<tidings_core::Request, Error> {
    let authority = format!("http://{}:{}", key.host, key.port);
    let mut connect = tidings_core::Request::connect(&authority)?;
    if let Some(value) = key.proxy.as_ref().and_then(tidings_core::proxy::Proxy::authorization) {
        connect.headers_mut().append("Proxy-Authorization", value);
    }
    Ok(connect)
}

/// Ciphertext read from the socket in large pieces and handed to rustls from memory. Left to
/// itself, rustls reads at most 4 KiB per `read_tls` call — a system call per 4 KiB of a
/// download; through this buffer, one per read of up to 256 KiB. Only rustls' `write_tls` may
/// touch the socket otherwise (never a read that would overtake these bytes).
#[derive(Debug, Default)]
pub struct CiphertextBuffer {
    buffer: Vec<u8>,
    start: usize,
    end: usize,
}

/// A full TLS record (16 KiB of plaintext and its overhead) to start with.
const CIPHERTEXT_INITIAL: usize = 16 * 1024 + 512;
const CIPHERTEXT_LARGEST: usize = 256 * 1024;

impl CiphertextBuffer {
    /// Reads plaintext into `out`, feeding rustls ciphertext from this buffer and refilling
    /// it from `socket` as needed: `Ok(0)` at the end of the stream (a `close_notify`, or
    /// the peer closing without one — whether that completes the message is the core's
    /// decision, RFC 9112 §9.8); a non-blocking socket's `WouldBlock` (or a timed-out read)
    /// comes back as is.
    pub fn read_plaintext(
        &mut self,
        tls: &mut rustls::ClientConnection,
        socket: &mut dyn std::io::Read,
        out: &mut [u8],
    ) -> std::io::Result<usize> {
        use std::io::{ErrorKind as Kind, Read as _};
        let mut closed = false;
        loop {
            match tls.reader().read(out) {
                Ok(count) => return Ok(count),
                Err(error) if error.kind() == Kind::UnexpectedEof => return Ok(0),
                Err(error) if error.kind() == Kind::WouldBlock => {
                    if closed {
                        return Ok(0);
                    }
                }
                Err(error) => return Err(error),
            }
            if self.start == self.end {
                if self.buffer.is_empty() {
                    self.buffer.resize(CIPHERTEXT_INITIAL, 0);
                }
                let count = socket.read(&mut self.buffer)?;
                (self.start, self.end) = (0, count);
                if count == 0 {
                    // Tells rustls the stream ended (it then reports a missing close_notify).
                    tls.read_tls(&mut std::io::empty())?;
                    closed = true;
                } else if count == self.buffer.len() && self.buffer.len() < CIPHERTEXT_LARGEST {
                    // Big downloads deserve big reads.
                    self.buffer.resize(self.buffer.len() * 2, 0);
                }
            }
            if self.start < self.end {
                self.start += tls.read_tls(&mut &self.buffer[self.start..self.end])?;
            }
            tls.process_new_packets().map_err(|error| std::io::Error::new(Kind::InvalidData, error))?;
        }
    }

    /// Whether received ciphertext waits here.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The buffer's size in bytes.
    pub fn capacity(&self) -> usize {
        self.buffer.capacity()
    }
}

/// The name a TLS connection to `host` verifies and sends as SNI.
pub fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    crate::tls::server_name(host)
}

/// The parts of a response whose body a transport has already read (and decoded) whole.
pub struct BufferedResponse {
    /// The final head.
    pub head: ResponseHead,
    /// Interim responses before it.
    pub informational: Vec<(u16, Headers)>,
    /// The request that produced it ([`Call::summary`]).
    pub request: PreparedRequest,
    /// Whether the connection came from the pool.
    pub reused: bool,
    /// Time from the call's start until the head was parsed.
    pub elapsed: Duration,
    /// The decoded body.
    pub body: Vec<u8>,
    /// Trailer fields, if any.
    pub trailers: Option<Headers>,
    /// Why the connection could not be kept, if it could not.
    pub close_reason: Option<tidings_core::CloseReason>,
    /// The content decoder that produced `body` (for the coding it left undecoded).
    pub decoder: Option<ContentDecoder>,
    /// What cut the body short, if anything: reading the response returns `body` and then
    /// this error, as reading it from the connection would have.
    pub body_error: Option<Error>,
}

impl std::fmt::Debug for BufferedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferedResponse")
            .field("status", &self.head.status())
            .field("body", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl BufferedResponse {
    /// The [`Response`] users see, with the same surface as one read from a socket.
    pub fn into_response(self, session: &Session) -> Response {
        Response::buffered(session.clone(), self)
    }
}
