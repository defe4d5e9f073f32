//! # tidings-std: a blocking HTTP/1.1 client with a Requests-style API
//!
//! ```no_run
//! let response = tidings_std::get("http://127.0.0.1:8080/get")?;
//! assert!(response.ok());
//! let text = response.text()?;
//! # Ok::<(), tidings_std::Error>(())
//! ```
//!
//! A [`Session`] keeps defaults (headers, auth, query parameters, timeouts, TLS settings) and
//! a pool of kept-alive connections. Every protocol decision comes from `tidings-core`; this
//! crate does the I/O on the caller's thread: DNS through the standard resolver, TCP with
//! `TCP_NODELAY`, TLS with rustls (`ring`, webpki roots, verification on), and socket
//! timeouts set from the core's deadlines. Timeouts are finite by default.
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
//! source off (proxies, CA bundle variables, `.netrc`).

#![forbid(unsafe_code)]

mod auth;
mod conn;
pub mod driver;
mod error;
mod multipart;
mod pool;
mod request;
mod response;
mod session;
mod tls;

use std::sync::LazyLock;

pub use auth::{Auth, BasicAuth, BearerAuth, DigestAuth};
pub use error::{Error, ErrorKind};
pub use multipart::{Multipart, Part};
pub use pool::PoolLimits;
pub use request::{PreparedRequest, RequestBuilder};
pub use response::Response;
pub use session::{Session, SessionBuilder, Timeouts, DEFAULT_MAX_BODY};
pub use tidings_core::cookie::{Cookie, CookieJar};
pub use tidings_core::proxy::{NoProxy, Proxy, ProxySetting, ProxySettings};
pub use tidings_core::retry::RetryPolicy;
pub use tidings_core::{CloseReason, HeaderBlock, Headers, Method, StatusCode};
pub use tls::TlsSettings;

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
