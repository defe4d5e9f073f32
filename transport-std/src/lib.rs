//! # tidings-std: a blocking HTTP/1.1 client with a Requests-style API
//!
//! ```
//! # let _httpbin = tidings_httpbin::Server::start()?;
//! # std::env::set_var("http_proxy", _httpbin.url("")); // httpbin.test is the in-process httpbin
//! let response = tidings_std::get("http://httpbin.test/get")?;
//! assert!(response.ok());
//! let body: serde_json::Value = response.json()?;
//! assert_eq!(body["url"], "http://httpbin.test/get");
//! # Ok::<(), tidings_std::Error>(())
//! ```
//!
//! Most users depend on the `tidings` crate, which re-exports this one at its top; its front
//! page is the guide (sessions, authentication, TLS, proxies, timeouts and retries,
//! streaming, errors), and every example there reads the same with `tidings_std::` in place
//! of `tidings::`.
//!
//! A [`Session`] keeps defaults (headers, auth, query parameters, timeouts, TLS settings) and
//! a pool of kept-alive connections. Every protocol decision comes from `tidings-core`, and
//! every client decision — redirects, retries, credentials, cookies, proxy routes, which
//! connection may be reused — from `tidings-client`, whose types this crate re-exports. This
//! crate does the I/O on the caller's thread ([`BlockingTransport`]): DNS through the
//! standard resolver, TCP with `TCP_NODELAY`, TLS with rustls (`ring`, webpki roots,
//! verification on), and socket timeouts set from the core's deadlines. Timeouts are finite
//! by default.
//!
//! Redirects are followed (30 at most by default) by the core's pure policy: methods and
//! bodies as Requests rewrites them, and credentials never sent to another origin. Retries
//! follow urllib3's `Retry` semantics when a [`RetryPolicy`] is set (off by default, apart
//! from the transparent stale-connection retry). Basic, Bearer and Digest credentials
//! ([`DigestAuth`], RFC 7616) go to their own origin only; requests without credentials take
//! them from `.netrc` for each host they reach. A session keeps cookies in a
//! [`CookieJar`] (RFC 6265 with public-suffix, Secure and prefix rules; the module
//! functions keep them for one call only). Proxies come from [`SessionBuilder::proxy`] /
//! [`SessionBuilder::proxies`] or, when none are configured, the environment (`http_proxy`,
//! `https_proxy`, `all_proxy`, `no_proxy`, with the httpoxy guard): plain HTTP is forwarded
//! in absolute form, HTTPS goes through a `CONNECT` tunnel, and the proxy's credentials are
//! sent on the proxy hop only. [`SessionBuilder::trust_env`] switches every environment
//! source off (proxies, CA bundle variables, `.netrc`). [`SessionBuilder::mount`] gives a URL
//! prefix its own [`Profile`] (retries, timeouts, TLS, pool limits, proxies, headers, even
//! its own [`Transport`]), as Requests' `session.mount`.

#![forbid(unsafe_code)]

mod body;
mod conn;
mod connect;
mod pool;
mod stream;
mod transport;

use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

/// The client layer this crate drives (`tidings-client`), for what the re-exports above leave
/// out (writing a [`Transport`] of your own, driving a [`Call`](tidings_client::Call) by hand).
pub use tidings_client as client;
pub use tidings_client::wire;
pub use tidings_client::{
    Auth, BasicAuth, BearerAuth, CloseReason, Cookie, CookieJar, DigestAuth, Error, ErrorKind, HeaderBlock, Headers,
    Method, Multipart, NoProxy, Part, PoolLimits, PreparedRequest, Profile, Proxy, ProxySetting, ProxySettings,
    RequestBuilder, Response, RetryPolicy, StatusCode, Timeouts, TlsSettings, Transport, DEFAULT_MAX_BODY,
};
pub use transport::BlockingTransport;

/// The transport-neutral side of a call, moved to `tidings-client` (kept here for one
/// release; see CHANGELOG.md).
#[deprecated(since = "0.2.0", note = "moved to tidings-client: use tidings_client::{Call, Attempt, ..}")]
pub mod driver {
    pub use tidings_client::buffers::make_room;
    pub use tidings_client::connect::connect_request;
    pub use tidings_client::record::CiphertextBuffer;
    pub use tidings_client::tls::server_name;
    pub use tidings_client::wire::{log_request_head, log_response_head, WIRE_REQUEST, WIRE_RESPONSE};
    pub use tidings_client::{Attempt, Call, Failure, Next, PoolKey, RequestBody};
}

/// Builds a [`Session`]: the client layer's builder, mounting a [`BlockingTransport`].
pub type SessionBuilder = tidings_client::SessionBuilder<Session>;

/// A client with persisted defaults and a pool of kept-alive connections; cheap to clone,
/// `Send + Sync`. It is the client layer's [`tidings_client::Session`] (every method of which
/// it offers) with a [`BlockingTransport`] of its own, so `session.get(url).send()` does its
/// I/O on the caller's thread; the same value configures `tidings_mio::Client::new(session)`.
///
/// ```
/// # let _httpbin = tidings_httpbin::Server::start()?;
/// # std::env::set_var("http_proxy", _httpbin.url("")); // httpbin.test is the in-process httpbin
/// let session = tidings_std::Session::new();
/// let response = session.get("http://httpbin.test/get").query([("q", "rust")]).send()?;
/// let body: serde_json::Value = response.json()?;
/// assert_eq!(body["args"]["q"], "rust");
/// # Ok::<(), tidings_std::Error>(())
/// ```
#[derive(Clone)]
pub struct Session(tidings_client::Session);

impl Session {
    /// A session with the defaults: verified TLS against the webpki roots, finite timeouts.
    pub fn new() -> Session {
        // The default TLS settings only read compiled-in roots, which cannot fail.
        Session::builder().build().expect("the default TLS configuration reads only compiled-in roots")
    }

    /// Configures a session.
    pub fn builder() -> SessionBuilder {
        SessionBuilder::default()
    }

    /// Stores a cookie as if `url` had answered with `Set-Cookie: set_cookie` (so every rule
    /// applies: domain, path, Secure, prefixes).
    pub fn add_cookie(&self, url: &str, set_cookie: &str) -> Result<(), Error> {
        self.0.add_cookie_at(url, set_cookie, SystemTime::now())
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::ops::Deref for Session {
    type Target = tidings_client::Session;

    fn deref(&self) -> &tidings_client::Session {
        &self.0
    }
}

impl From<tidings_client::Session> for Session {
    fn from(session: tidings_client::Session) -> Session {
        Session(session)
    }
}

impl From<Session> for tidings_client::Session {
    fn from(session: Session) -> tidings_client::Session {
        session.0
    }
}

impl tidings_client::TransportSession for Session {
    fn new_transport() -> Option<Arc<dyn Transport>> {
        Some(Arc::new(BlockingTransport::new()))
    }
}

/// The session behind the module-level functions.
/// Like Requests' module functions, it keeps no cookies between calls.
static DEFAULT: LazyLock<Session> = LazyLock::new(|| {
    Session::builder().cookie_store(false).build().expect("the default TLS configuration reads only compiled-in roots")
});

/// A request with any method on the default session.
pub fn request(method: Method, url: &str) -> RequestBuilder {
    DEFAULT.request(method, url)
}

/// `GET url` on the default session.
pub fn get(url: &str) -> Result<Response, Error> {
    DEFAULT.get(url).send()
}

/// `POST url` with a body on the default session.
pub fn post(url: &str, body: impl Into<Vec<u8>>) -> Result<Response, Error> {
    DEFAULT.post(url).body(body).send()
}

/// `PUT url` with a body on the default session.
pub fn put(url: &str, body: impl Into<Vec<u8>>) -> Result<Response, Error> {
    DEFAULT.put(url).body(body).send()
}

/// `PATCH url` with a body on the default session.
pub fn patch(url: &str, body: impl Into<Vec<u8>>) -> Result<Response, Error> {
    DEFAULT.patch(url).body(body).send()
}

/// `DELETE url` on the default session.
pub fn delete(url: &str) -> Result<Response, Error> {
    DEFAULT.delete(url).send()
}

/// `HEAD url` on the default session.
pub fn head(url: &str) -> Result<Response, Error> {
    DEFAULT.head(url).send()
}

/// `OPTIONS url` on the default session.
pub fn options(url: &str) -> Result<Response, Error> {
    DEFAULT.options(url).send()
}
