//! The session: persisted defaults, the TLS configuration and the connection pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use rustls::ClientConfig;
use tidings_core::cookie::CookieJar;
use tidings_core::proxy::ProxySettings;
use tidings_core::redirect::RedirectPolicy;
use tidings_core::retry::RetryPolicy;
use tidings_core::{Headers, Method};

use crate::auth::{Auth, BasicAuth, BearerAuth, DigestAuth};
use crate::conn::{BodySource, Conn};
use crate::driver::{Attempt, Call, Failure, Next, RequestBody};
use crate::error::{Error, ErrorKind};
use crate::pool::{Pool, PoolLimits};
use crate::request::{PreparedRequest, RequestBuilder};
use crate::response::Response;
use crate::tls::TlsSettings;
use tidings_core::proxy::Proxy;

/// How long an idle pooled connection is kept by default: 90 s.
pub const DEFAULT_POOL_IDLE: Duration = Duration::from_secs(90);

/// Default cap on a body read whole (`bytes`, `text`, `json`): 256 MiB.
pub const DEFAULT_MAX_BODY: u64 = 256 << 20;

/// Time limits. Finite by default, unlike Requests and ureq: connect 10 s, and 30 s without
/// a byte while sending or reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// DNS, TCP and TLS.
    pub connect: Option<Duration>,
    /// Longest silence while sending or reading.
    pub read: Option<Duration>,
    /// The whole call, when set.
    pub total: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Some(Duration::from_secs(10)), read: Some(Duration::from_secs(30)), total: None }
    }
}

/// What a session applies to every request.
pub(crate) struct Settings {
    pub(crate) headers: Headers,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) auth: Option<Arc<dyn Auth>>,
    /// `.netrc`, when consulted: an explicit file or the environment's, read once.
    pub(crate) netrc: Option<NetrcSource>,
    /// The session's cookie jar, when it keeps one.
    pub(crate) cookies: Option<Mutex<CookieJar>>,
    /// Proxies: the explicit configuration, else the environment's (read at build).
    pub(crate) proxies: ProxySettings,
    pub(crate) timeouts: Timeouts,
    pub(crate) pool_limits: PoolLimits,
    /// How long an idle pooled connection is kept.
    pub(crate) pool_idle_timeout: Option<Duration>,
    pub(crate) max_body: u64,
    pub(crate) redirects: RedirectPolicy,
    pub(crate) retries: RetryPolicy,
    pub(crate) tls: Arc<ClientConfig>,
}

/// Where `.netrc` comes from, read on first use.
pub(crate) struct NetrcSource {
    path: Option<PathBuf>,
    loaded: OnceLock<tidings_core::netrc::Netrc>,
}

struct Inner {
    settings: Settings,
    pool: Pool,
}

/// A client with persisted defaults and a connection pool; cheap to clone, `Send + Sync`.
///
/// ```no_run
/// let session = tidings_std::Session::new();
/// let response = session.get("http://127.0.0.1:8080/get").query([("q", "rust")]).send()?;
/// println!("{} {}", response.status(), response.text()?);
/// # Ok::<(), tidings_std::Error>(())
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("idle_connections", &self.inner.pool.idle_count()).finish_non_exhaustive()
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    /// A session with the defaults: verified TLS against the webpki roots, finite timeouts.
    pub fn new() -> Session {
        // The default TLS settings only read compiled-in roots, which cannot fail.
        SessionBuilder::default().build().expect("the default TLS configuration reads only compiled-in roots")
    }

    /// Configures a session.
    pub fn builder() -> SessionBuilder {
        SessionBuilder::default()
    }

    /// A request with any method.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url)
    }

    /// `GET`.
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// `POST`.
    pub fn post(&self, url: &str) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// `PUT`.
    pub fn put(&self, url: &str) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// `PATCH`.
    pub fn patch(&self, url: &str) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// `DELETE`.
    pub fn delete(&self, url: &str) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// `HEAD`.
    pub fn head(&self, url: &str) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// `OPTIONS`.
    pub fn options(&self, url: &str) -> RequestBuilder {
        self.request(Method::OPTIONS, url)
    }

    /// Idle connections in the pool now.
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.idle_count()
    }

    /// Whether two handles are clones of one session (sharing its pool and cookie jar).
    pub fn ptr_eq(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The cap on a body read whole.
    pub fn max_body(&self) -> u64 {
        self.inner.settings.max_body
    }

    /// The limits on idle pooled connections.
    pub fn pool_limits(&self) -> PoolLimits {
        self.inner.settings.pool_limits
    }

    /// The time limits.
    pub fn timeouts(&self) -> Timeouts {
        self.inner.settings.timeouts
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Sends a prepared request and follows redirects as the session's policy says (the
    /// core decides each hop: method, body, target, and which credentials may follow).
    /// The whole-call timeout spans the chain; retry waits sleep on this thread.
    pub fn send(&self, request: PreparedRequest) -> Result<Response, Error> {
        let mut call = Call::new(self, request, Instant::now());
        loop {
            let attempt = call.attempt()?;
            let wait = match self.exchange(&mut call, attempt) {
                Ok(response) => match call.after_head(response.head(), Instant::now()) {
                    Next::Finish => return call.finish(response),
                    Next::Again(wait) => {
                        response.discard();
                        wait
                    }
                    Next::Fail(error) => return Err(error),
                },
                Err((error, failure)) => call.after_failure(error, failure, Instant::now())?,
            };
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
        }
    }

    /// A snapshot of the session's cookie jar (empty when it keeps none).
    pub fn cookies(&self) -> CookieJar {
        self.inner
            .settings
            .cookies
            .as_ref()
            .map_or_else(CookieJar::new, |jar| jar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }

    /// Stores a cookie as if `url` had answered with `Set-Cookie: set_cookie` (so every rule
    /// applies: domain, path, Secure, prefixes).
    pub fn add_cookie(&self, url: &str, set_cookie: &str) -> Result<(), Error> {
        let url = url::Url::parse(url).map_err(|error| {
            Error::from(tidings_core::InvalidRequest::Url { url: url.to_owned(), reason: error.to_string() })
        })?;
        let Some(jar) = &self.inner.settings.cookies else {
            return Err(Error::new(ErrorKind::InvalidRequest, "this session keeps no cookies (cookie_store(false))"));
        };
        jar.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .store(&url, set_cookie.as_bytes(), SystemTime::now())
            .map_err(|rejection| Error::new(ErrorKind::InvalidRequest, format!("cookie refused: {rejection}")))
    }

    /// Forgets every cookie the session holds.
    pub fn clear_cookies(&self) {
        if let Some(jar) = &self.inner.settings.cookies {
            jar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        }
    }

    /// Sets Basic credentials from `.netrc` for the request's host, when it has some.
    pub(crate) fn apply_netrc(&self, request: &mut PreparedRequest) {
        let Some(source) = &self.inner.settings.netrc else { return };
        let netrc = source.loaded.get_or_init(|| match source.path.clone().or_else(crate::auth::netrc_path) {
            Some(path) => crate::auth::load_netrc(&path),
            None => tidings_core::netrc::Netrc::default(),
        });
        if let Some(value) = request.url.host_str().and_then(|host| crate::auth::netrc_authorization(netrc, host)) {
            request.headers.insert("Authorization", value);
        }
    }

    /// One attempt: a pooled connection when one fits (and the call allows it), else a new
    /// one; the request sent and the response read up to its final head.
    fn exchange(&self, call: &mut Call, attempt: Attempt) -> Result<Response, (Error, Failure)> {
        let https = attempt.key.https;
        let pooled = if attempt.fresh_connection { None } else { self.inner.pool.take(&attempt.key) };
        let reused = pooled.is_some();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => Conn::open(
                attempt.key,
                call.connection_config(Instant::now()),
                https.then(|| call.tls_config()),
                Instant::now(),
            )
            .map_err(|error| (error, Failure::Connect))?,
        };
        // A pooled connection takes this request's read timeout.
        conn.core.set_read_timeouts(attempt.read_timeout, attempt.read_timeout);
        let result = match call.body() {
            Ok(RequestBody::Empty) => conn.exchange(&attempt.request, &mut BodySource::Empty, attempt.deadline),
            Ok(RequestBody::Bytes(bytes)) => {
                conn.exchange(&attempt.request, &mut BodySource::Bytes(bytes, 0), attempt.deadline)
            }
            Ok(RequestBody::Reader(mut reader)) => {
                let mut body = BodySource::Reader(reader.as_mut(), vec![0; 16 * 1024]);
                conn.exchange(&attempt.request, &mut body, attempt.deadline)
            }
            Err(error) => Err(error),
        };
        match result {
            Ok(head) => {
                log::debug!(
                    "{} {} -> {} ({})",
                    call.method(),
                    call.url(),
                    head.head.status(),
                    if reused { "reused" } else { "new" }
                );
                Ok(Response::new(self.clone(), conn, head, call.summary(), reused, call.started()))
            }
            Err(error) => {
                let stale_retry_safe = reused && conn.core.is_stale_retry_safe();
                Err((error, Failure::Exchange { stale_retry_safe }))
            }
        }
    }

    /// Hands a connection back once its response is over.
    pub(crate) fn release(&self, conn: Conn) {
        self.inner.pool.put(conn, self.inner.settings.pool_limits);
    }
}

/// Builds a [`Session`] (`Session::builder().timeout(..).build()?`).
#[derive(Default)]
#[must_use]
pub struct SessionBuilder {
    headers: Headers,
    query: Vec<(String, String)>,
    auth: Option<Arc<dyn Auth>>,
    netrc_off: bool,
    netrc_path: Option<PathBuf>,
    cookies_off: bool,
    proxies: Option<ProxySettings>,
    ignore_env: bool,
    timeouts: Timeouts,
    tls: TlsSettings,
    pool_limits: PoolLimits,
    pool_idle_timeout: Option<Option<Duration>>,
    max_body: Option<u64>,
    redirects: RedirectPolicy,
    retries: RetryPolicy,
}

impl SessionBuilder {
    /// The rustls configuration: the explicit TLS settings, or — when they name no CA
    /// bundle and the environment is trusted — the bundle `REQUESTS_CA_BUNDLE`,
    /// `CURL_CA_BUNDLE` or `SSL_CERT_FILE` names. Empty values are unset (never "no
    /// verification"); a bundle that cannot be loaded is reported and the default roots stay.
    fn tls_config(&self) -> Result<Arc<ClientConfig>, Error> {
        // An explicit choice of the platform's verifier is not overridden by the environment.
        if !self.ignore_env && self.tls.ca_bundle.is_none() && !self.tls.insecure && !self.tls.uses_platform() {
            let from_env = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"]
                .into_iter()
                .find_map(|name| std::env::var_os(name).filter(|value| !value.is_empty()).map(|value| (name, value)));
            if let Some((name, path)) = from_env {
                match self.tls.clone().ca_bundle(&path).build() {
                    Ok(config) => return Ok(config),
                    Err(error) => log::warn!("ignoring {name}={}: {error}", Path::new(&path).display()),
                }
            }
        }
        self.tls.build()
    }

    /// A header sent with every request unless the request sets it.
    pub fn header(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Query parameters added to every request's URL.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        self.query.extend(pairs.into_iter().map(|(key, value)| (key.as_ref().to_owned(), value.as_ref().to_owned())));
        self
    }

    /// Basic auth for every request.
    pub fn basic_auth(self, user: impl Into<String>, password: Option<impl Into<String>>) -> Self {
        self.auth(BasicAuth::new(user, password))
    }

    /// Bearer auth for every request.
    pub fn bearer_auth(self, token: impl Into<String>) -> Self {
        self.auth(BearerAuth(token.into()))
    }

    /// Digest auth for every request (RFC 7616; the session remembers the challenge).
    pub fn digest_auth(self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth(DigestAuth::new(user, password))
    }

    /// Any [`Auth`] for every request.
    pub fn auth(mut self, auth: impl Auth + 'static) -> Self {
        self.auth = Some(Arc::new(auth));
        self
    }

    /// One proxy for http and https URLs (explicit configuration: the environment's proxy
    /// variables are then ignored). `tidings_std::Proxy::parse("http://user:pass@host:3128")`.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxies = Some(ProxySettings::all(proxy));
        self
    }

    /// Per-scheme proxies and the hosts that bypass them (replaces the environment's).
    pub fn proxies(mut self, proxies: ProxySettings) -> Self {
        self.proxies = Some(proxies);
        self
    }

    /// No proxy at all, whatever the environment says (curl's `--noproxy '*'`).
    pub fn no_proxy(mut self) -> Self {
        self.proxies = Some(ProxySettings::none());
        self
    }

    /// Whether the environment configures what the session leaves unset (on by default, as
    /// Requests' `trust_env`): proxies from `http_proxy`, `https_proxy`, `all_proxy` and
    /// `no_proxy`; a CA bundle from `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE` or
    /// `SSL_CERT_FILE`; credentials from `.netrc`. Explicit settings always win.
    pub fn trust_env(mut self, trust: bool) -> Self {
        self.ignore_env = !trust;
        self
    }

    /// Whether the session keeps cookies across requests (on by default, as a Requests
    /// `Session`). Off, cookies still follow the redirect hops of one call.
    pub fn cookie_store(mut self, enabled: bool) -> Self {
        self.cookies_off = !enabled;
        self
    }

    /// Whether `.netrc` supplies Basic credentials to requests that carry none (on by
    /// default, as in Requests and curl's `--netrc-optional`).
    pub fn netrc(mut self, enabled: bool) -> Self {
        self.netrc_off = !enabled;
        self
    }

    /// The `.netrc` file to read instead of `NETRC` or `~/.netrc` (explicit configuration
    /// beats the environment).
    pub fn netrc_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.netrc_path = Some(path.into());
        self
    }

    /// All time limits at once.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// A whole-call limit for every request.
    pub fn timeout(mut self, total: Duration) -> Self {
        self.timeouts.total = Some(total);
        self
    }

    /// The connect limit (DNS, TCP, TLS).
    pub fn connect_timeout(mut self, connect: Duration) -> Self {
        self.timeouts.connect = Some(connect);
        self
    }

    /// The longest silence while sending or reading.
    pub fn read_timeout(mut self, read: Duration) -> Self {
        self.timeouts.read = Some(read);
        self
    }

    /// TLS roots, client certificate, or (dangerously) no verification.
    pub fn tls(mut self, tls: TlsSettings) -> Self {
        self.tls = tls;
        self
    }

    /// Idle-connection limits.
    pub fn pool_limits(mut self, limits: PoolLimits) -> Self {
        self.pool_limits = limits;
        self
    }

    /// How long an idle pooled connection is kept before it is closed (default 90 s;
    /// `None` keeps it until the server closes it or the pool limits drop it).
    pub fn pool_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.pool_idle_timeout = Some(timeout);
        self
    }

    /// The cap on bodies read whole and on decoded size (default 256 MiB).
    pub fn max_body(mut self, bytes: u64) -> Self {
        self.max_body = Some(bytes);
        self
    }

    /// Follow at most `max` redirects (default 30); `None` returns redirect responses as
    /// they are (as Requests' `allow_redirects=False`).
    pub fn max_redirects(mut self, max: Option<u32>) -> Self {
        self.redirects = RedirectPolicy { max_redirects: max };
        self
    }

    /// How requests are retried (urllib3's `Retry` semantics; off by default apart from the
    /// stale-connection retry).
    pub fn retries(mut self, policy: RetryPolicy) -> Self {
        self.retries = policy;
        self
    }

    /// Builds the session; fails if the TLS settings cannot be loaded.
    pub fn build(self) -> Result<Session, Error> {
        let tls = self.tls_config()?;
        let settings = Settings {
            headers: self.headers,
            query: self.query,
            auth: self.auth,
            cookies: (!self.cookies_off).then(|| Mutex::new(CookieJar::new())),
            proxies: match self.proxies {
                Some(explicit) => explicit,
                None if self.ignore_env => ProxySettings::none(),
                None => ProxySettings::from_env(|name| std::env::var(name).ok()),
            },
            netrc: (!self.netrc_off && (!self.ignore_env || self.netrc_path.is_some()))
                .then(|| NetrcSource { path: self.netrc_path, loaded: OnceLock::new() }),
            timeouts: self.timeouts,
            pool_limits: self.pool_limits,
            pool_idle_timeout: self.pool_idle_timeout.unwrap_or(Some(DEFAULT_POOL_IDLE)),
            max_body: self.max_body.unwrap_or(DEFAULT_MAX_BODY),
            redirects: self.redirects,
            retries: self.retries,
            tls,
        };
        Ok(Session { inner: Arc::new(Inner { settings, pool: Pool::default() }) })
    }
}
