//! # tidings-mio: many HTTP/1.1 requests at once on one thread, over mio
//!
//! The same protocol core and the same client layer as `tidings-std` — one [`Session`]
//! configures both — driven by a `mio` event loop instead of blocking calls. Submit
//! requests, get a [`RequestId`] for each, and take [`Completion`]s as they finish: let the
//! [`Client`] run its own loop ([`Client::wait`], [`Client::wait_all`],
//! [`Client::completions`]), or embed it in yours ([`ClientBuilder::build_embedded`],
//! [`Client::handle_event`], [`Client::poll_timeout`], [`Client::handle_timeout`]).
//!
//! ```
//! # let _httpbin = tidings_httpbin::Server::start()?;
//! # std::env::set_var("http_proxy", _httpbin.url("")); // httpbin.test is the in-process httpbin
//! use tidings_mio::Client;
//!
//! let mut client = Client::new(tidings_mio::Session::new())?;
//! let ids: Vec<_> = ["http://httpbin.test/get", "http://httpbin.test/headers"]
//!     .iter()
//!     .map(|url| client.get(url).build().map(|request| client.send(request)))
//!     .collect::<Result<_, _>>()?;
//! for completion in client.wait_all()? {
//!     assert!(ids.contains(&completion.id));
//!     let response = completion.result?;
//!     assert_eq!(response.status(), 200);
//!     println!("{} {}", response.status(), response.url());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What is shared with `tidings-std`, by construction (it is `tidings-client`'s): the request
//! model and its validation, the core's framing, limits and deadlines, every hop decision —
//! redirects, retries with backoff (here a timer, never a sleeping thread), Digest and other
//! credentials, cookies, `.netrc`, proxy routes, mounted profiles ([`tidings_client::Call`])
//! — the pool's keys and its reuse rule, the Happy Eyeballs order, the `CONNECT` verdict and
//! the TLS configuration. What is this crate's: non-blocking connects, DNS on a small
//! resolver pool that wakes the loop ([`Resolver`] to replace it), non-blocking rustls,
//! readiness, concurrency limits, and one ordered timer set fed by every connection's
//! deadline.
//!
//! Responses are the client layer's [`Response`]s whose body was read (and decoded) whole, capped
//! by the session's `max_body`, so `status`, `headers`, `text`, `json` and `bytes` read the
//! same on both transports; a body cut short is delivered as far as it came, with its error
//! returned on reading, as `tidings-std` returns it. For large bodies,
//! [`Client::send_streaming`] completes with the head and hands the body out through
//! [`Client::read`] as its reader asks: the body's bytes stay in the connection until then
//! (TCP's own flow control holds the server back, and nothing grows in between), content
//! codings are decoded a buffer at a time, an identity body is read straight into the
//! reader's buffer, and the read timeout runs only while the reader waits for the server.
//! A chunked body's trailers come from [`Client::take_trailers`] once the read reached its end
//! (`tidings-std` gives them as `Response::trailers`).
//!
//! Request bodies go out as the connection takes them. A body given as a reader (a file, or
//! any `Read`) is read on the loop's thread, a buffer at a time: files and in-memory readers
//! cost nothing extra, but a reader that blocks (a pipe fed by a slow producer) holds up every
//! request of the client while it blocks — give such a body as bytes, or send it with
//! `tidings-std`.
//!
//! Concurrency: at most [`ConcurrencyLimits::max_in_flight`] requests at once and
//! [`ConcurrencyLimits::max_per_host`] per host (each redirect hop counting against the host it goes
//! to); the rest queue in the order they were sent.
//! [`Client::cancel`] forgets a request and closes its connection.

#![forbid(unsafe_code)]

mod builder;
mod completion;
mod conn;
mod connections;
mod event_loop;
mod exchange;
mod proxy_tls;
mod read;
mod resolver;
mod run;
mod setup;
mod streams;
mod task;
mod timers;

pub use builder::ClientBuilder;
#[allow(deprecated)]
pub use builder::Limits;
pub use completion::{Completion, RequestId};
pub use event_loop::Client;
pub use resolver::{Resolver, SystemResolver};
pub use run::Completions;
pub use streams::KEPT_TRAILERS;
/// The client layer this crate drives (`tidings-client`), for what the re-exports above leave
/// out.
pub use tidings_client as client;
pub use tidings_client::{
    Auth, BasicAuth, BearerAuth, CloseReason, ConcurrencyLimits, Cookie, CookieJar, DigestAuth, Error, ErrorKind,
    HeaderBlock, Headers, Method, Multipart, NoProxy, Part, PoolLimits, PreparedRequest, Profile, Proxy, ProxySetting,
    ProxySettings, RequestBuilder, Response, RetryPolicy, Session, SessionBuilder, StatusCode, Timeouts, TlsSettings,
};
