//! What a session applies to a request: time limits, and the profile a URL prefix can mount
//! (Requests' transport adapters) — retries, timeouts, TLS, pool limits, proxies, headers and
//! the transport itself — resolved for every hop.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use tidings_core::proxy::{Proxy, ProxySettings};
use tidings_core::retry::RetryPolicy;
use tidings_core::Headers;

use crate::pool::PoolLimits;
use crate::tls::TlsSettings;
use crate::transport::Transport;

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

/// Settings mounted on a URL prefix with
/// [`SessionBuilder::mount`](crate::SessionBuilder::mount): what requests under it use
/// instead of the session's own, as Requests' `session.mount(prefix, HTTPAdapter(…))`. What a
/// profile leaves unset comes from the session.
///
/// ```
/// use std::time::Duration;
/// use tidings_client::{Profile, RetryPolicy, Session};
///
/// let session = Session::builder()
///     .mount("https://api.github.com/", Profile::new().retries(RetryPolicy::new(5).status_forcelist([502, 503])))
///     .mount("http://127.0.0.1:8080/slow/", Profile::new().read_timeout(Duration::from_secs(120)))
///     .build()?;
/// # Ok::<(), tidings_client::Error>(())
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct Profile {
    pub(crate) retries: Option<RetryPolicy>,
    pub(crate) connect_timeout: Option<Option<Duration>>,
    pub(crate) read_timeout: Option<Option<Duration>>,
    pub(crate) total_timeout: Option<Option<Duration>>,
    pub(crate) tls: Option<TlsSettings>,
    pub(crate) pool_limits: Option<PoolLimits>,
    pub(crate) proxies: Option<ProxySettings>,
    pub(crate) headers: Headers,
    pub(crate) transport: Option<Arc<dyn Transport>>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("retries", &self.retries)
            .field("tls", &self.tls)
            .field("pool_limits", &self.pool_limits)
            .field("headers", &self.headers)
            .field("transport", &self.transport.is_some())
            .finish_non_exhaustive()
    }
}

impl Profile {
    /// A profile that changes nothing yet.
    pub fn new() -> Profile {
        Profile::default()
    }

    /// How requests under the prefix are retried.
    pub fn retries(mut self, policy: RetryPolicy) -> Self {
        self.retries = Some(policy);
        self
    }

    /// All time limits at once.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.connect_timeout = Some(timeouts.connect);
        self.read_timeout = Some(timeouts.read);
        self.total_timeout = Some(timeouts.total);
        self
    }

    /// The whole-call limit (`None`: none, whatever the session says).
    pub fn timeout(mut self, total: impl Into<Option<Duration>>) -> Self {
        self.total_timeout = Some(total.into());
        self
    }

    /// The connect limit (DNS, TCP, TLS).
    pub fn connect_timeout(mut self, connect: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = Some(connect.into());
        self
    }

    /// The longest silence while sending or reading.
    pub fn read_timeout(mut self, read: impl Into<Option<Duration>>) -> Self {
        self.read_timeout = Some(read.into());
        self
    }

    /// TLS roots, client certificate, or (dangerously) no verification for the prefix; its
    /// connections never share a pool slot with the session's others.
    pub fn tls(mut self, tls: TlsSettings) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Idle-connection limits for the prefix's connections.
    pub fn pool_limits(mut self, limits: PoolLimits) -> Self {
        self.pool_limits = Some(limits);
        self
    }

    /// One proxy for the prefix.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxies = Some(ProxySettings::all(proxy));
        self
    }

    /// Proxies for the prefix (per scheme, with the hosts that bypass them).
    pub fn proxies(mut self, proxies: ProxySettings) -> Self {
        self.proxies = Some(proxies);
        self
    }

    /// No proxy for the prefix.
    pub fn no_proxy(mut self) -> Self {
        self.proxies = Some(ProxySettings::none());
        self
    }

    /// A header sent with requests under the prefix unless the request sets it. It goes
    /// only to hops under the prefix: a redirect elsewhere does not carry it.
    pub fn header(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The blocking transport that carries requests under the prefix (your own, an
    /// in-memory double for tests, a Unix socket) instead of the session's.
    pub fn transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }
}

/// The settings in force for one URL: the session's, with a mounted profile applied.
pub(crate) struct Settings {
    pub(crate) proxies: ProxySettings,
    pub(crate) timeouts: Timeouts,
    pub(crate) pool_limits: PoolLimits,
    /// Shared with every call made under these settings.
    pub(crate) retries: Arc<RetryPolicy>,
    pub(crate) tls: Arc<ClientConfig>,
    /// The TLS configuration for `https://` proxies, when it is not `tls`.
    pub(crate) proxy_tls: Option<Arc<ClientConfig>>,
    /// Headers of a mounted profile, added to every attempt under its prefix.
    pub(crate) headers: Headers,
    pub(crate) transport: Option<Arc<dyn Transport>>,
}

impl Settings {
    /// These settings with `profile` applied (its TLS configuration already built).
    pub(crate) fn with_profile(&self, profile: Profile, tls: Option<Arc<ClientConfig>>) -> Settings {
        let timeouts = Timeouts {
            connect: profile.connect_timeout.unwrap_or(self.timeouts.connect),
            read: profile.read_timeout.unwrap_or(self.timeouts.read),
            total: profile.total_timeout.unwrap_or(self.timeouts.total),
        };
        Settings {
            proxies: profile.proxies.unwrap_or_else(|| self.proxies.clone()),
            timeouts,
            pool_limits: profile.pool_limits.unwrap_or(self.pool_limits),
            retries: profile.retries.map_or_else(|| self.retries.clone(), Arc::new),
            tls: tls.unwrap_or_else(|| self.tls.clone()),
            proxy_tls: self.proxy_tls.clone(),
            headers: profile.headers,
            transport: profile.transport.or_else(|| self.transport.clone()),
        }
    }
}
