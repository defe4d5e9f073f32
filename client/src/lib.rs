//! # tidings-client: the client layer every tidings transport shares
//!
//! Everything an HTTP/1.1 client decides that is not the protocol itself (that is
//! `tidings-core`) and not I/O (that is a transport: `tidings-std` blocks on the caller's
//! thread, `tidings-mio` runs an event loop, or write your own):
//!
//! * the session and its builder: headers, query parameters, credentials, `.netrc`, cookies,
//!   proxies, TLS settings, timeouts, limits, retries, redirects, `trust_env` — and profiles
//!   mounted on URL prefixes ([`Session`], [`SessionBuilder`], [`Profile`]);
//! * requests and their bodies — bytes, forms, JSON, multipart, readers — and how a body is
//!   rewound for a redirect or a retry ([`RequestBuilder`], [`PreparedRequest`],
//!   [`Multipart`]);
//! * the response model a transport fills, with the body as something the transport
//!   supplies ([`Response`], [`ResponseBody`]);
//! * the call: one request's hops — redirects, retries, auth challenges, cookies, proxy
//!   routes — as a pure state machine ([`Call`]);
//! * the pool's keys, idle sets and the one rule for reusing a connection ([`pool`]), and
//!   the order in which calls start under concurrency limits ([`schedule`]);
//! * connection setup as decisions: Happy Eyeballs order, the `CONNECT` request and the
//!   verdict on its answer, the TLS configuration and record buffer ([`connect`], [`tls`],
//!   [`record`]);
//! * one [`Error`] with a stable [`ErrorKind`], and the wire log ([`wire`]).
//!
//! ## What it does not do
//!
//! No sockets, no threads, no event loop, no clock reads: time comes in as `now` (and, for
//! cookies and `Retry-After` dates, the wall clock a call starts with), as in the core. A
//! blocking transport implements [`Transport`] — one attempt at a time — and the session
//! drives the call around it; an event-loop transport drives [`Call`] itself.
//!
//! ## Data flow
//!
//! ```text
//!   RequestBuilder ─build─▶ PreparedRequest ─▶ Call ──attempt(now)──▶ Attempt ─▶ transport I/O
//!                                               ▲                                   │
//!                                               └─ after_head / after_failure ◀─────┘
//!                                               └─ finish ─▶ Response (body: the transport's)
//! ```
//!
//! ## A session and a request
//!
//! ```
//! use std::time::Duration;
//!
//! let session = tidings_client::Session::builder()
//!     .header("User-Agent", "my-app/1.0")
//!     .timeout(Duration::from_secs(20))
//!     .build()?;
//! let request = session.get("http://127.0.0.1:8080/get").query([("q", "rust")]).build()?;
//! assert_eq!(request.url().as_str(), "http://127.0.0.1:8080/get?q=rust");
//! // `tidings_std::Session` sends it on this thread; `tidings_mio::Client` many at once.
//! # Ok::<(), tidings_client::Error>(())
//! ```

#![forbid(unsafe_code)]

mod attempt;
mod auth;
mod body;
pub mod buffers;
mod builder;
mod call;
pub mod connect;
mod error;
mod interop;
mod multipart;
mod params;
pub mod pool;
mod prepared;
pub mod record;
mod request;
mod response;
pub mod schedule;
mod session;
mod settings;
pub mod tls;
mod transport;
mod urls;
pub mod wire;

pub use attempt::{Attempt, AttemptError, Failure};
pub use auth::{BasicAuth, BearerAuth, DigestAuth};
pub use body::RequestBody;
pub use builder::{SessionBuilder, TransportSession};
pub use call::{Call, Next};
pub use error::{Error, ErrorKind};
pub use multipart::{Multipart, Part};
pub use params::Param;
pub use pool::{PoolKey, PoolLimits};
pub use prepared::{Auth, PreparedRequest};
pub use request::RequestBuilder;
pub use response::{BufferedBody, Response, ResponseBody, ResponseParts};
pub use schedule::ConcurrencyLimits;
pub use session::{Session, DEFAULT_MAX_BODY, DEFAULT_POOL_IDLE};
pub use settings::{Profile, Timeouts};
pub use tidings_core::cookie::{Cookie, CookieJar};
pub use tidings_core::proxy::{NoProxy, Proxy, ProxySetting, ProxySettings};
pub use tidings_core::retry::RetryPolicy;
pub use tidings_core::{CloseReason, HeaderBlock, Headers, Method, StatusCode};
pub use tls::TlsSettings;
pub use transport::{Exchanged, Transport};
