//! The session: persisted defaults, the cookie jar, `.netrc`, and the settings mounted on URL
//! prefixes. Every transport reads its configuration from here; the blocking transport it
//! sends through ([`Transport`]) is part of it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use tidings_core::cookie::CookieJar;
use tidings_core::redirect::RedirectPolicy;
use tidings_core::Headers;
use url::Url;

use crate::error::{Error, ErrorKind};
use crate::pool::PoolLimits;
use crate::prepared::{Auth, PreparedRequest};
use crate::settings::{Settings, Timeouts};
use crate::transport::Transport;

/// How long an idle pooled connection is kept by default: 90 s.
pub const DEFAULT_POOL_IDLE: Duration = Duration::from_secs(90);

/// Default cap on a body read whole (`bytes`, `text`, `json`): 256 MiB.
pub const DEFAULT_MAX_BODY: u64 = 256 << 20;

/// A client configuration with persisted defaults; cheap to clone, `Send + Sync`. Clones
/// share the cookie jar and the transport (so its pool).
///
/// A transport crate's session type (`tidings_std::Session`) is this with that crate's
/// transport mounted, so `session.get(url).send()` works; a session built here without a
/// transport configures event-loop clients (`tidings_mio::Client::new(session)`), which do
/// their own I/O.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) headers: Headers,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) auth: Option<Arc<dyn Auth>>,
    /// `.netrc`, when consulted: an explicit file or the environment's, read once.
    pub(crate) netrc: Option<NetrcSource>,
    /// The session's cookie jar, when it keeps one.
    pub(crate) cookies: Option<Mutex<CookieJar>>,
    pub(crate) max_body: u64,
    pub(crate) redirects: RedirectPolicy,
    /// How long an idle pooled connection is kept.
    pub(crate) pool_idle_timeout: Option<Duration>,
    /// The session's own settings.
    pub(crate) base: Settings,
    /// Profiles mounted on URL prefixes (lower case), longest first.
    pub(crate) mounts: Vec<(String, Settings)>,
}

/// Where `.netrc` comes from, read on first use.
pub(crate) struct NetrcSource {
    pub(crate) path: Option<PathBuf>,
    pub(crate) loaded: OnceLock<tidings_core::netrc::Netrc>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("mounts", &self.inner.mounts.iter().map(|(prefix, _)| prefix.as_str()).collect::<Vec<_>>())
            .field("idle_connections", &self.idle_connections())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn from_inner(inner: Inner) -> Session {
        Session { inner: Arc::new(inner) }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// Whether two handles are clones of one session (sharing its pool and cookie jar).
    pub fn ptr_eq(&self, other: &Session) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The cap on a body read whole.
    pub fn max_body(&self) -> u64 {
        self.inner.max_body
    }

    /// The limits on idle pooled connections (the session's own; a mounted profile may set
    /// others for its prefix).
    pub fn pool_limits(&self) -> PoolLimits {
        self.inner.base.pool_limits
    }

    /// How long an idle pooled connection is kept.
    pub fn pool_idle_timeout(&self) -> Option<Duration> {
        self.inner.pool_idle_timeout
    }

    /// The time limits (the session's own; a mounted profile may set others).
    pub fn timeouts(&self) -> Timeouts {
        self.inner.base.timeouts
    }

    /// Idle connections in the pools of the session's blocking transports now.
    pub fn idle_connections(&self) -> usize {
        let mut seen: Vec<*const ()> = Vec::new();
        let transports =
            std::iter::once(&self.inner.base).chain(self.inner.mounts.iter().map(|(_, settings)| settings));
        transports
            .filter_map(|settings| settings.transport.as_ref())
            .filter(|transport| {
                let address = Arc::as_ptr(transport).cast::<()>();
                let new = !seen.contains(&address);
                seen.push(address);
                new
            })
            .map(|transport| transport.idle_connections())
            .sum()
    }

    /// The settings in force for `url`: the longest mounted prefix's, else the session's.
    pub(crate) fn settings_for(&self, url: &Url) -> &Settings {
        let text = url.as_str();
        self.inner
            .mounts
            .iter()
            .find(|(prefix, _)| text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix))
            .map_or(&self.inner.base, |(_, settings)| settings)
    }

    /// The blocking transport for `url`.
    pub(crate) fn transport_for(&self, url: &Url) -> Result<Arc<dyn Transport>, Error> {
        self.settings_for(url).transport.clone().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidRequest,
                "this session has no blocking transport: build it with tidings_std::Session (or mount a \
                 Transport), or send through an event-loop client (tidings_mio::Client)",
            )
            .at(url)
        })
    }

    /// A snapshot of the session's cookie jar (empty when it keeps none).
    pub fn cookies(&self) -> CookieJar {
        self.inner
            .cookies
            .as_ref()
            .map_or_else(CookieJar::new, |jar| jar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }

    /// Stores a cookie as if `url` had answered with `Set-Cookie: set_cookie` at `now` (so
    /// every rule applies: domain, path, Secure, prefixes; `Max-Age` counts from `now`).
    pub fn add_cookie_at(&self, url: &str, set_cookie: &str, now: SystemTime) -> Result<(), Error> {
        let url = Url::parse(url).map_err(|error| {
            Error::from(tidings_core::InvalidRequest::Url { url: url.to_owned(), reason: error.to_string() })
        })?;
        let Some(jar) = &self.inner.cookies else {
            return Err(Error::new(ErrorKind::InvalidRequest, "this session keeps no cookies (cookie_store(false))"));
        };
        jar.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .store(&url, set_cookie.as_bytes(), now)
            .map_err(|rejection| Error::new(ErrorKind::InvalidRequest, format!("cookie refused: {rejection}")))
    }

    /// Forgets every cookie the session holds.
    pub fn clear_cookies(&self) {
        if let Some(jar) = &self.inner.cookies {
            jar.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
        }
    }

    /// Sets Basic credentials from `.netrc` for the request's host, when it has some.
    pub(crate) fn apply_netrc(&self, request: &mut PreparedRequest) {
        let Some(source) = &self.inner.netrc else { return };
        let netrc = source.loaded.get_or_init(|| match source.path.clone().or_else(crate::auth::netrc_path) {
            Some(path) => crate::auth::load_netrc(&path),
            None => tidings_core::netrc::Netrc::default(),
        });
        if let Some(value) = request.url.host_str().and_then(|host| crate::auth::netrc_authorization(netrc, host)) {
            request.headers.insert("Authorization", value);
        }
    }
}
