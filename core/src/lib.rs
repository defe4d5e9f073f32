//! # tidings-core: a Sans-IO HTTP/1.1 client
//!
//! The protocol half of an HTTP/1.1 client, with no I/O: it serializes requests into your
//! buffers, decodes responses from your bytes, and tells you when it next needs to be woken.
//! The transports (`tidings-std`, blocking; `tidings-mio`, an event loop) drive it, and so can
//! your own runtime.
//!
//! ## What it does
//!
//! * Validates and serializes requests: nothing with CR, LF, NUL or a non-token name ever
//!   reaches the wire ([`Request`], [`InvalidRequest`]).
//! * Decodes responses incrementally, identically under any split of the input: heads, 1xx
//!   (100, 103), bodies framed by Content-Length, chunked or the close, trailers
//!   ([`Connection`], [`ResponseDecoder`], [`Event`]). Body data comes back as slices of your
//!   input.
//! * Frames strictly, in the order of RFC 9112 §6.3 ([`response_framing`]), with named,
//!   opt-in leniency for broken servers ([`Leniency`]) and caps on everything ([`Limits`]).
//! * Decides keep-alive, and says why not ([`CloseReason`]).
//! * Decides redirects as one pure function ([`redirect::next_hop`]): methods, bodies,
//!   `Location` resolution, and credentials that never cross origins.
//! * Decides retries as urllib3's `Retry` does ([`retry::Retries`]), waits included.
//! * Answers Digest challenges (RFC 7616: MD5, SHA-256, `-sess`; [`auth::DigestAuth`]) with
//!   randomness you pass in, and reads `.netrc` text ([`netrc::Netrc`]).
//! * Keeps cookies by RFC 6265's rules, public suffixes refused, `now` passed in
//!   ([`cookie::CookieJar`]).
//! * Chooses the proxy route — direct, forwarded, a `CONNECT` tunnel, or SOCKS — from
//!   settings or environment values you pass in, `NO_PROXY` with suffixes, ports and CIDR
//!   blocks ([`proxy::ProxySettings`]), and speaks SOCKS4, 4a, 5 and 5h with
//!   username/password authentication as a state machine ([`socks::Handshake`]).
//! * Turns time budgets into deadlines: you pass `now`, it answers with
//!   [`Connection::poll_timeout`] ([`TimeBudgets`]).
//! * Decodes gzip, deflate, br and zstd, streaming and bounded ([`ContentDecoder`]), and
//!   body text in the charset the response names ([`text::decode_text`]).
//!
//! ## What it does not do
//!
//! No sockets, DNS, TLS, threads or clock reads (a clippy lint bans `Instant::now` here); no
//! connection pool; no HTTP/2. It never allocates per response once its buffers have grown.
//!
//! ## Data flow
//!
//! ```text
//!            Request ──send_request──▶ ┌────────────┐ ──poll_transmit──▶ bytes to write
//!        body bytes ──send_body─────▶ │ Connection │
//!    received bytes ──handle_input──▶ │            │ ──▶ Event: Informational, Head,
//!               EOF ──handle_eof────▶ │            │          Data, Trailers, End
//!               now ──handle_timeout▶ └────────────┘ ──poll_timeout──▶ next deadline
//!                                                    Data ──▶ ContentDecoder ──▶ decoded body
//! ```
//!
//! ## Polling order
//!
//! The peer's close is [`Connection::handle_eof`]; over TLS, a close that came without the
//! server's `close_notify` is [`Connection::handle_incomplete_close`] instead (rustls reports
//! it as an `UnexpectedEof` error): it does not end a body delimited by the close (RFC 9112
//! §9.8), since anyone able to end the TCP connection could have cut it.
//!
//! After every input (bytes, EOF or time), the driver: (1) writes whatever
//! [`Connection::poll_transmit`] yields, and body data through [`Connection::send_body`]
//! while [`Connection::wants_body`]; (2) feeds received bytes to
//! [`Connection::handle_input`] until it returns no event, keeping the unconsumed rest;
//! (3) waits for more bytes or for [`Connection::poll_timeout`], then calls
//! [`Connection::handle_timeout`].
//!
//! ## One GET, by hand
//!
//! ```
//! use std::time::Instant;
//! use tidings_core::{Config, Connection, Event, Request};
//!
//! let now = Instant::now(); // the driver owns the clock
//! let mut connection = Connection::new(Config::default());
//! let request = Request::get("http://example.com/hello")?.header("Accept", "text/plain");
//! connection.send_request(now, &request)?;
//!
//! let mut wire = [0u8; 512];
//! let written = connection.poll_transmit(now, &mut wire);
//! let head = std::str::from_utf8(&wire[..written]).unwrap();
//! assert!(head.starts_with("GET /hello HTTP/1.1\r\nHost: example.com\r\nUser-Agent: tidings/"));
//! assert!(head.ends_with("Accept: text/plain\r\n\r\n"));
//!
//! let received = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
//! let mut position = 0;
//! let mut body = Vec::new();
//! loop {
//!     let (used, event) = connection.handle_input(now, &received[position..])?;
//!     position += used;
//!     match event {
//!         Some(Event::Head(head)) => assert_eq!(head.status(), 200),
//!         Some(Event::Data(data)) => body.extend_from_slice(data),
//!         Some(Event::End) => break,
//!         Some(_) => {}
//!         None => panic!("the whole response was given"),
//!     }
//! }
//! assert_eq!(body, b"hello");
//! assert!(connection.is_idle()); // kept alive, ready for the next request
//! # Ok::<(), tidings_core::Error>(())
//! ```

#![forbid(unsafe_code)]

#[cfg(feature = "digest")]
pub mod auth;
pub mod chunked;
pub mod coding;
mod config;
pub mod connection;
pub mod cookie;
mod error;
pub mod framing;
mod head;
mod headers;
pub mod netrc;
pub mod proxy;
pub mod redirect;
mod request;
mod response;
pub mod retry;
pub mod socks;
pub mod text;

pub use chunked::{Chunk, ChunkedDecoder};
pub use coding::{accept_encoding, Coding, ContentDecoder};
#[allow(deprecated)]
pub use config::Timeouts;
pub use config::{Config, Leniency, Limits, TimeBudgets};
pub use connection::{BodySent, BodyState, Connection};
pub use error::{
    DecodeError, Error, ErrorKind, IncompleteMessage, InvalidRequest, LimitExceeded, Misuse, ProtocolError, Timeout,
    TimeoutPhase,
};
pub use framing::{response_framing, BodyLength, CloseReason, Framing, ResponseContext, Version};
pub use head::ResponseHead;
pub use headers::{HeaderBlock, Headers};
pub use http::{Method, StatusCode};
pub use request::{Body, Request, RequestFraming, RequestPlan, TargetForm, USER_AGENT};
pub use response::{Event, ResponseDecoder};
