//! Building a session: every setting, validated once, and the profiles mounted on prefixes.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustls::ClientConfig;
use tidings_core::cookie::CookieJar;
use tidings_core::proxy::{Proxy, ProxySettings};
use tidings_core::redirect::RedirectPolicy;
use tidings_core::retry::RetryPolicy;
use tidings_core::Headers;

use crate::auth::{BasicAuth, BearerAuth, DigestAuth};
use crate::error::{Error, ErrorKind};
use crate::pool::PoolLimits;
use crate::prepared::Auth;
use crate::session::{Inner, NetrcSource, Session, DEFAULT_MAX_BODY, DEFAULT_POOL_IDLE};
use crate::settings::{Profile, Settings, Timeouts};
use crate::tls::TlsSettings;
use crate::transport::Transport;

/// A transport crate's session type: the client layer's [`Session`] with that crate's
/// blocking transport mounted by default (`tidings_std::Session`), built by the same
/// [`SessionBuilder`].
pub trait TransportSession: From<Session> {
    /// A new transport for a session being built (each session gets its own, and with it
    /// its own pool), or `None` for a session without one.
    fn new_transport() -> Option<Arc<dyn Transport>>;
}

impl TransportSession for Session {
    fn new_transport() -> Option<Arc<dyn Transport>> {
        None
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    /// A session with the defaults (verified TLS against the webpki roots, finite timeouts)
    /// and no blocking transport: for an event-loop client, or to mount one.
    pub fn new() -> Session {
        // The default TLS settings only read compiled-in roots, which cannot fail.
        SessionBuilder::<Session>::default()
            .build()
            .expect("the default TLS configuration reads only compiled-in roots")
    }

    /// Configures a session.
    pub fn builder() -> SessionBuilder<Session> {
        SessionBuilder::default()
    }
}

/// Builds a session (`Session::builder().timeout(..).build()?`): of this crate's type, or of
/// a transport crate's (`tidings_std::Session::builder()`), whose transport it mounts.
#[must_use]
pub struct SessionBuilder<S = Session> {
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
    proxy_tls: Option<TlsSettings>,
    pool_limits: PoolLimits,
    pool_idle_timeout: Option<Option<Duration>>,
    max_body: Option<u64>,
    redirects: RedirectPolicy,
    retries: RetryPolicy,
    transport: Option<Arc<dyn Transport>>,
    mounts: Vec<(String, Profile)>,
    session: PhantomData<fn() -> S>,
}

impl<S> Default for SessionBuilder<S> {
    fn default() -> Self {
        SessionBuilder {
            headers: Headers::new(),
            query: Vec::new(),
            auth: None,
            netrc_off: false,
            netrc_path: None,
            cookies_off: false,
            proxies: None,
            ignore_env: false,
            timeouts: Timeouts::default(),
            tls: TlsSettings::default(),
            proxy_tls: None,
            pool_limits: PoolLimits::default(),
            pool_idle_timeout: None,
            max_body: None,
            redirects: RedirectPolicy::default(),
            retries: RetryPolicy::default(),
            transport: None,
            mounts: Vec::new(),
            session: PhantomData,
        }
    }
}

impl<S> std::fmt::Debug for SessionBuilder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("headers", &self.headers)
            .field("timeouts", &self.timeouts)
            .field("tls", &self.tls)
            .field("mounts", &self.mounts.iter().map(|(prefix, _)| prefix.as_str()).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<S: TransportSession> SessionBuilder<S> {
    /// A header sent with every request unless the request sets it.
    pub fn header(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Query parameters added to every request's URL, in any shape
    /// [`RequestBuilder::query`](crate::RequestBuilder::query) takes.
    pub fn query(mut self, pairs: impl IntoIterator<Item = impl crate::params::Param>) -> Self {
        self.query.extend(crate::params::collect(pairs));
        self
    }

    /// Basic auth for every request: `basic_auth("user", "pass")`, or `basic_auth("user",
    /// None)` for none.
    pub fn basic_auth<'a>(self, user: impl Into<String>, password: impl Into<Option<&'a str>>) -> Self {
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
    /// variables are then ignored). `Proxy::parse("http://user:pass@host:3128")`.
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

    /// The TLS settings of connections to an `https://` proxy (urllib3's
    /// `proxy_ssl_context`): its own CA bundle, say. By default the proxy is verified as the
    /// origins are, against the session's (or the mounted profile's) TLS settings.
    pub fn proxy_tls(mut self, tls: TlsSettings) -> Self {
        self.proxy_tls = Some(tls);
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

    /// Follow at most `max` redirects (default 30); more is error kind `redirect_limit`.
    pub fn redirect_limit(mut self, max: u32) -> Self {
        self.redirects = RedirectPolicy { max_redirects: Some(max) };
        self
    }

    /// Do not follow redirects: a 3xx is returned as it is (Requests'
    /// `allow_redirects=False`, curl without `-L`).
    pub fn no_redirects(mut self) -> Self {
        self.redirects = RedirectPolicy::none();
        self
    }

    /// Follow at most `max` redirects; `None` does not follow them.
    #[deprecated(since = "0.2.0", note = "None read as 'unlimited': use redirect_limit(n) or no_redirects()")]
    pub fn max_redirects(mut self, max: Option<u32>) -> Self {
        self.redirects = RedirectPolicy { max_redirects: max };
        self
    }

    /// How requests are retried (urllib3's `Retry` semantics, mapped field by field in
    /// [`RetryPolicy`]'s module; off by default apart from the stale-connection retry). When a
    /// retryable status outlives the policy, the call fails with `retries_exhausted` and the
    /// last response in the error, unless the policy's `raise_on_status` is off.
    pub fn retries(mut self, policy: RetryPolicy) -> Self {
        self.retries = policy;
        self
    }

    /// The blocking transport requests go through, instead of the session type's own.
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Mounts `profile` on a URL prefix (Requests' `session.mount(prefix, adapter)`): requests
    /// whose URL starts with `prefix` (compared without case, as Requests does) use its
    /// settings; the longest matching prefix wins. It is resolved for every hop, so a redirect
    /// to another prefix takes that prefix's profile (and starts its retry budget, as each of
    /// Requests' adapters retries with its own `Retry`). Mounting the same prefix again
    /// replaces its profile.
    pub fn mount(mut self, prefix: impl Into<String>, profile: Profile) -> Self {
        let prefix = prefix.into().to_ascii_lowercase();
        self.mounts.retain(|(mounted, _)| *mounted != prefix);
        self.mounts.push((prefix, profile));
        self
    }

    /// Builds the session; fails if the TLS settings (the session's or a profile's) cannot
    /// be loaded.
    pub fn build(self) -> Result<S, Error> {
        let tls = tls_config(&self.tls, self.ignore_env)?;
        let proxies = match self.proxies {
            Some(explicit) => explicit,
            None if self.ignore_env => ProxySettings::none(),
            None => ProxySettings::from_env(|name| std::env::var(name).ok()),
        };
        let proxy_tls = match &self.proxy_tls {
            Some(settings) => Some(tls_config(settings, self.ignore_env)?),
            None => None,
        };
        let base = Settings {
            proxies,
            timeouts: self.timeouts,
            pool_limits: self.pool_limits,
            retries: Arc::new(self.retries),
            tls,
            proxy_tls,
            headers: Headers::new(),
            transport: self.transport.or_else(S::new_transport),
        };
        let mut mounts = Vec::with_capacity(self.mounts.len());
        for (prefix, profile) in self.mounts {
            if prefix.is_empty() {
                return Err(Error::new(ErrorKind::InvalidRequest, "a profile cannot be mounted on an empty prefix"));
            }
            let tls = match &profile.tls {
                Some(settings) => Some(tls_config(settings, self.ignore_env)?),
                None => None,
            };
            mounts.push((prefix, base.with_profile(profile, tls)));
        }
        mounts.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        let inner = Inner {
            headers: self.headers,
            query: self.query,
            auth: self.auth,
            cookies: (!self.cookies_off).then(|| Mutex::new(CookieJar::new())),
            netrc: (!self.netrc_off && (!self.ignore_env || self.netrc_path.is_some()))
                .then(|| NetrcSource { path: self.netrc_path, loaded: OnceLock::new() }),
            pool_idle_timeout: self.pool_idle_timeout.unwrap_or(Some(DEFAULT_POOL_IDLE)),
            max_body: self.max_body.unwrap_or(DEFAULT_MAX_BODY),
            redirects: self.redirects,
            base,
            mounts,
        };
        Ok(S::from(Session::from_inner(inner)))
    }
}

/// The rustls configuration: the explicit TLS settings, or — when they name no CA bundle and
/// the environment is trusted — the bundle `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE` or
/// `SSL_CERT_FILE` names. Empty values are unset (never "no verification"); a bundle that
/// cannot be loaded is reported and the default roots stay.
fn tls_config(settings: &TlsSettings, ignore_env: bool) -> Result<Arc<ClientConfig>, Error> {
    // An explicit choice of the platform's verifier is not overridden by the environment.
    if !ignore_env && settings.ca_bundle.is_none() && !settings.insecure && !settings.uses_platform() {
        let from_env = ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"]
            .into_iter()
            .find_map(|name| std::env::var_os(name).filter(|value| !value.is_empty()).map(|value| (name, value)));
        if let Some((name, path)) = from_env {
            match settings.clone().ca_bundle(&path).build() {
                Ok(config) => return Ok(config),
                Err(error) => log::warn!("ignoring {name}={}: {error}", Path::new(&path).display()),
            }
        }
    }
    settings.build()
}
