//! The call: one request's hops in order — redirects, retries with backoff and `Retry-After`,
//! the answer to an authentication challenge, cookies, `.netrc` and proxy routes, and the one
//! stale-connection retry — as a pure state machine every transport drives the same way.
//!
//! ```text
//!  Call::new ──▶ attempt(now) ──▶ [transport: pooled or new connection, send, read the head]
//!                   ▲                 │ a final head                 │ a failure
//!                   │          after_head(head, now)          after_failure(error, how, now)
//!                   │          ├─ Finish: finish(head, …,      ├─ Ok(wait)
//!                   │          │   |parts| the Response)       └─ Err(error): the call fails
//!                   └──────────┴─ Again(wait): drop this response (drained), wait, go again
//!                              └─ Fail(error)
//! ```
//!
//! Waits are durations the transport turns into deadlines: `tidings-std` sleeps,
//! `tidings-mio` sets a timer and serves other requests meanwhile. Time comes in as `now`;
//! the wall clock (cookie expiry, `Retry-After` dates) is the one given to [`Call::new`],
//! moved on by the monotonic clock.

use std::time::{Duration, Instant, SystemTime};

use tidings_core::cookie::CookieJar;
use tidings_core::proxy::Route;
use tidings_core::retry::{Decision, Outcome, Retries};
use tidings_core::{Config, Method, ResponseHead, TargetForm};
use url::Url;

use crate::attempt::{Attempt, Failure};
use crate::body::RequestBody;
use crate::error::{Error, ErrorKind};
use crate::pool::PoolKey;
use crate::prepared::{PreparedBody, PreparedRequest};
use crate::response::{Response, ResponseParts};
use crate::session::Session;
use crate::settings::Settings;

/// One call's policy state, from its first attempt to the response it delivers.
pub struct Call {
    session: Session,
    request: PreparedRequest,
    started: Instant,
    /// The wall-clock time at `started`.
    wall_started: SystemTime,
    deadline: Option<Instant>,
    history: Vec<Url>,
    retries: Retries,
    /// Attempts made under earlier profiles (a redirect into another mounted prefix starts
    /// that prefix's retry budget).
    earlier_attempts: u32,
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
    /// The headers of the last attempt's core request (before the core's own fields).
    sent_headers: tidings_core::Headers,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.request.method)
            .field("url", &self.request.url.as_str())
            .field("attempts", &self.attempts())
            .finish_non_exhaustive()
    }
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

/// The retry policy's verdict, with the call's deadline applied.
enum Verdict {
    /// Another attempt after this wait.
    Wait(Duration),
    /// Not retryable: the outcome stands.
    Stop,
    /// Retryable, but no attempt is left (why, for the error message).
    Exhausted(&'static str),
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
    /// Starts a call at `now` (`wall_clock` is the same moment on the wall clock): the
    /// whole-call deadline (the request's timeout, else its URL's settings') runs from here.
    pub fn new(session: &Session, request: PreparedRequest, now: Instant, wall_clock: SystemTime) -> Call {
        let settings = session.settings_for(&request.url);
        let total = request.timeout.or(settings.timeouts.total);
        let mut call_jar = CookieJar::new();
        for (name, value) in &request.cookies {
            let _ = call_jar.store(&request.url, format!("{name}={value}; Path=/").as_bytes(), wall_clock);
        }
        let caller_cookie_header = request.headers.contains("cookie");
        Call {
            session: session.clone(),
            started: now,
            wall_started: wall_clock,
            // A timeout longer than the clock can count (`Duration::MAX`) is none.
            deadline: total.and_then(|total| now.checked_add(total)),
            history: Vec::new(),
            retries: Retries::new(settings.retries.clone()),
            earlier_attempts: 0,
            auth_retried: false,
            call_jar,
            caller_cookie_header,
            fresh_only: false,
            pending_error: None,
            sent_headers: tidings_core::Headers::new(),
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
        self.earlier_attempts + self.retries.attempts()
    }

    /// The wall-clock time at `now`.
    fn wall(&self, now: Instant) -> SystemTime {
        self.wall_started + now.saturating_duration_since(self.started)
    }

    /// The next attempt, made at `now`: cookies for its URL, its route (direct, forwarded,
    /// tunnelled), its pool key, the core's request and the limits its URL's settings give.
    /// An error here (an invalid proxy setting or request) fails the call.
    pub fn attempt(&mut self, now: Instant) -> Result<Attempt, Error> {
        // A Cookie header the caller wrote is theirs (stripped only across origins);
        // otherwise the jars decide, hop by hop.
        if !self.caller_cookie_header || !self.request.headers.contains("cookie") {
            self.set_cookie_header(now);
        }
        let settings = self.session.settings_for(&self.request.url);
        let url = &self.request.url;
        let route = settings
            .proxies
            .route(url)
            .map_err(|error| Error::new(ErrorKind::InvalidRequest, error.to_string()).at(url))?;
        let mut request = self.request.to_core().map_err(|error| error.at(url))?;
        // A mounted profile's headers go to the hops under its prefix only.
        for (name, value) in settings.headers.iter() {
            if !request.headers().contains(name) {
                request.headers_mut().append(name, value);
            }
        }
        route.adjust_headers(request.headers_mut());
        self.sent_headers.clone_from(request.headers());
        let proxy = match route {
            Route::Direct => None,
            Route::Forward(proxy) => {
                request = request.target_form(TargetForm::Absolute);
                Some(proxy.clone())
            }
            Route::Tunnel(proxy) | Route::Socks(proxy) => Some(proxy.clone()),
        };
        let https = url.scheme() == "https";
        let proxy_tls = proxy
            .as_ref()
            .filter(|proxy| proxy.kind() == tidings_core::proxy::ProxyKind::Https)
            .map(|_| settings.proxy_tls.clone().unwrap_or_else(|| settings.tls.clone()));
        let key = PoolKey {
            https,
            host: crate::pool::shared_host(url.host_str().unwrap_or_default()),
            port: url.port_or_known_default().unwrap_or(if https { 443 } else { 80 }),
            tls: https.then_some(std::sync::Arc::as_ptr(&settings.tls) as usize),
            proxy,
            proxy_tls: proxy_tls.as_ref().map(|config| std::sync::Arc::as_ptr(config) as usize),
        };
        let read_timeout = self.request.read_timeout.or(settings.timeouts.read);
        Ok(Attempt {
            key,
            request,
            fresh_connection: self.fresh_only,
            deadline: self.deadline,
            read_timeout,
            config: self.connection_config(now),
            tls: https.then(|| settings.tls.clone()),
            proxy_tls,
            pool_limits: settings.pool_limits,
            max_body: self.session.max_body(),
            at: now,
        })
    }

    /// The core configuration for a new connection made now: the URL's timeouts, the
    /// connect budget capped by the whole call's deadline.
    fn connection_config(&self, now: Instant) -> Config {
        let timeouts = self.session.settings_for(&self.request.url).timeouts;
        let read = self.request.read_timeout.or(timeouts.read);
        let mut config = Config::default();
        config.budgets.connect = self.request.connect_timeout.or(timeouts.connect);
        config.budgets.send = read;
        config.budgets.between_bytes = read;
        config.budgets.idle = self.session.inner().pool_idle_timeout;
        if let (Some(deadline), Some(connect)) = (self.deadline, config.budgets.connect) {
            config.budgets.connect = Some(connect.min(deadline.saturating_duration_since(now)));
        }
        config
    }

    /// The body to send in this attempt, from its start (a seekable one is rewound).
    pub fn body(&mut self) -> Result<RequestBody<'_>, Error> {
        self.request.body_from_start()
    }

    /// The body where the last read left it (no rewind): for transports that read a
    /// streamed body a piece at a time, after [`body`](Self::body) started the attempt.
    pub fn body_resume(&mut self) -> RequestBody<'_> {
        self.request.body_resume()
    }

    /// Decides what follows a final head that arrived at `now`: a retry on its status, the
    /// answer to an authentication challenge, a redirect hop, or the end of the call.
    /// Cookies it sets are stored (unless it is retried).
    pub fn after_head(&mut self, head: &ResponseHead, now: Instant) -> Next {
        let status = head.status();
        let replayable = self.request.body.is_replayable();
        // A retryable status (urllib3's status_forcelist, Retry-After) for a body that
        // can be sent again.
        if replayable {
            // Looked up only for a status the policy may retry with it.
            let retry_after =
                self.retries.reads_retry_after(status).then(|| head.headers().get("retry-after")).flatten();
            let outcome = Outcome::Status { status, retry_after };
            match self.retry_verdict(outcome, now) {
                Verdict::Wait(wait) => {
                    log::debug!("retrying {} after status {status} in {wait:?}", self.request.url);
                    self.fresh_only = false;
                    return Next::Again(wait);
                }
                Verdict::Exhausted(why) if self.retries.policy().raise_on_status => {
                    // urllib3's raise_on_status: the last response goes with the error.
                    self.store_cookies(head, now);
                    let reason = String::from_utf8_lossy(head.reason());
                    let message = format!("{status} {reason}: {why} after {} attempts", self.attempts());
                    let error = Error::about_status(ErrorKind::RetriesExhausted, status, message, &self.request.url);
                    self.pending_error = Some(error);
                    return Next::Finish;
                }
                Verdict::Exhausted(_) | Verdict::Stop => {}
            }
        }
        self.store_cookies(head, now);
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
            self.session.inner().redirects,
            self.history.len() as u32,
            &self.request.method,
            &self.request.url,
            status,
            tidings_core::redirect::is_redirect(status).then(|| head.headers().get("location")).flatten(),
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
        let before = self.session.settings_for(&self.request.url) as *const Settings;
        self.request.method = target.method;
        self.request.url = target.url;
        let after = self.session.settings_for(&self.request.url);
        if !std::ptr::eq(before, after) {
            // The hop enters another mounted profile: its retry budget applies from here.
            self.earlier_attempts += self.retries.attempts();
            self.retries = Retries::new(after.retries.clone());
        }
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
                matches!(error.kind(), ErrorKind::Eof | ErrorKind::Timeout | ErrorKind::Protocol)
                    .then_some(Outcome::ReadFailed)
            }
        };
        let resendable = replayable || failure == Failure::Connect;
        if let Some(outcome) = outcome.filter(|_| resendable) {
            if let Verdict::Wait(wait) = self.retry_verdict(outcome, now) {
                log::debug!("retrying {} after {error} in {wait:?}", self.request.url);
                self.fresh_only = false;
                return Ok(wait);
            }
        }
        let attempts = self.attempts();
        let error = error.at(&self.request.url);
        Err(if attempts > 1 { error.context(&format!("after {attempts} attempts")) } else { error })
    }

    /// The retry policy's verdict on `outcome`: another attempt only if it can start within
    /// the call's deadline.
    fn retry_verdict(&mut self, outcome: Outcome<'_>, now: Instant) -> Verdict {
        // Most outcomes (a 200, say) are not retried at all: no clock, no jitter for them.
        if !self.retries.considers(&self.request.method, outcome) {
            return Verdict::Stop;
        }
        let wall = self.wall(now);
        match self.retries.next(&self.request.method, outcome, wall, random_unit()) {
            // A policy without caps (`Duration::MAX`) may read a `Retry-After` of any size:
            // a wait the clock cannot add to `now` is not one a transport could schedule.
            Decision::Retry(wait) => match (now.checked_add(wait), self.deadline) {
                (None, _) => Verdict::Exhausted("retries stopped (the next wait is beyond what the clock can count)"),
                (Some(end), Some(deadline)) if end >= deadline => {
                    Verdict::Exhausted("retries stopped (the next wait would pass the call's deadline)")
                }
                (Some(_), _) => Verdict::Wait(wait),
            },
            Decision::Exhausted => Verdict::Exhausted("retries exhausted"),
            Decision::Stop => Verdict::Stop,
        }
    }

    /// Ends the call with the response [`Next::Finish`] asked for, whose final `head` arrived
    /// at `now` after the `informational` ones: `with_body` builds it from its parts (the
    /// transport adds the body) and the call adds its redirect history and attempt count, or
    /// the error it comes with (`redirect_limit`). The response keeps the request — with the
    /// headers its last attempt carried (cookies, a mounted profile's, a proxy's) — which
    /// moves into it; a streamed body is not kept, only its length.
    pub fn finish(
        self,
        head: ResponseHead,
        informational: Vec<(u16, tidings_core::Headers)>,
        reused: bool,
        now: Instant,
        with_body: impl FnOnce(ResponseParts) -> Response,
    ) -> Result<Response, Error> {
        let attempts = self.attempts();
        let parts = ResponseParts {
            head,
            informational,
            elapsed: now.saturating_duration_since(self.started),
            received_at: self.wall(now),
            reused,
            request: self.request.into_summary(self.sent_headers),
        };
        let mut response = with_body(parts);
        response.set_history(self.history, attempts);
        match self.pending_error {
            None => Ok(response),
            Some(error) => Err(error.with_response(response)),
        }
    }

    /// Replaces the `Cookie` header with what the jars hold for the request's URL: the
    /// call's own cookies first, then the session's under other names.
    fn set_cookie_header(&mut self, now: Instant) {
        self.request.headers.remove("cookie");
        let session_jar = self.session.inner().cookies.as_ref();
        let session_empty =
            session_jar.is_none_or(|jar| jar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty());
        if self.call_jar.is_empty() && session_empty {
            return;
        }
        // The wall clock only when there are cookies to match against it.
        let now = self.wall(now);
        let request = &mut self.request;
        let mut pairs: Vec<(String, String)> = self
            .call_jar
            .matching(&request.url, now)
            .into_iter()
            .map(|cookie| (cookie.name.clone(), cookie.value.clone()))
            .collect();
        if let Some(jar) = session_jar {
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
    fn store_cookies(&mut self, head: &ResponseHead, now: Instant) {
        if !head.headers().contains("set-cookie") {
            return;
        }
        let now = self.wall(now);
        let set_cookies = head.headers().get_all("set-cookie");
        match &self.session.inner().cookies {
            Some(jar) => {
                jar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).store_response(
                    &self.request.url,
                    set_cookies,
                    now,
                );
            }
            None => self.call_jar.store_response(&self.request.url, set_cookies, now),
        }
    }
}

impl Session {
    /// Sends a prepared request through the session's blocking transport (the one mounted
    /// for each hop's URL) and follows redirects as the session's policy says: the call
    /// decides each hop — method, body, target, and which credentials may follow — and the
    /// transport carries it. The whole-call timeout spans the chain; a retry's backoff waits
    /// on the transport's clock.
    pub fn send(&self, request: PreparedRequest) -> Result<Response, Error> {
        let transport = self.transport_for(&request.url)?;
        let started = transport.now();
        let mut call = Call::new(self, request, started, transport.wall_clock());
        // The first attempt is made as the call starts (the same transport, one clock read).
        let mut first = Some(started);
        loop {
            let transport = self.transport_for(call.url())?;
            // An attempt that cannot be made (an invalid proxy setting, a body that cannot be
            // rewound) fails the call; one that fails on the way may be tried again.
            let attempt = call.attempt(first.take().unwrap_or_else(|| transport.now()))?;
            let fresh = attempt.fresh_connection;
            let exchanged = transport.exchange(attempt, call.body()?);
            let wait = match exchanged {
                Ok(exchanged) => {
                    log::debug!(
                        "{} {} -> {} ({})",
                        call.method(),
                        call.url(),
                        exchanged.head.status(),
                        if exchanged.reused && !fresh { "reused" } else { "new" }
                    );
                    let now = transport.now();
                    match call.after_head(&exchanged.head, now) {
                        Next::Finish => {
                            let body = exchanged.body;
                            return call.finish(
                                exchanged.head,
                                exchanged.informational,
                                exchanged.reused,
                                now,
                                |parts| Response::new(parts, body),
                            );
                        }
                        Next::Again(wait) => {
                            exchanged.body.discard();
                            wait
                        }
                        Next::Fail(error) => return Err(error),
                    }
                }
                Err(failed) => call.after_failure(failed.error, failed.failure, transport.now())?,
            };
            if !wait.is_zero() {
                transport.sleep(wait);
            }
        }
    }
}
