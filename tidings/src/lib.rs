//! # tidings: HTTP/1.1 for Rust, as pleasant as Requests
//!
//! ```
//! # let _httpbin = tidings_httpbin::Server::start()?;
//! # std::env::set_var("http_proxy", _httpbin.url(""));
//! let body: serde_json::Value = tidings::get("http://httpbin.test/get")?.json()?;
//! assert_eq!(body["url"], "http://httpbin.test/get");
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! One dependency for the common case: the blocking client (`tidings-std`) at the top of this
//! crate, the event-loop client as `tidings::mio` (feature `mio`), the client
//! layer both share as [`client`], and the Sans-IO protocol core as [`core`] for those who
//! embed it in their own runtime.
//!
//! TLS is verified by default (rustls, webpki roots), every timeout is finite, redirects are
//! followed with credentials kept to their own origin, CR/LF from the caller never reaches
//! the wire, and content decoders are bounded.
//!
//! *The examples on this page run as tests against an in-process httpbin; hidden setup lines
//! route `httpbin.test` to it through `http_proxy`. Put your own URLs in their place.*
//!
//! ## Requests: parameters, headers, bodies
//!
//! Query parameters and form fields come as borrowed or owned pairs, arrays, `Vec`s, maps, or
//! (`query_serialize`, `form_serialize`) any `Serialize` value; bodies as bytes, JSON, forms,
//! multipart, or a reader.
//!
//! ```
//! # let _httpbin = tidings_httpbin::Server::start()?;
//! # std::env::set_var("http_proxy", _httpbin.url(""));
//! use tidings::{Multipart, Part, Session};
//!
//! let session = Session::new();
//! let response = session
//!     .post("http://httpbin.test/post")
//!     .query(&[("page", "2")])
//!     .header("X-Trace", "42")
//!     .json(&serde_json::json!({"name": "tidings"}))
//!     .send()?;
//! assert_eq!(response.status(), 200);
//! let echoed: serde_json::Value = response.json()?;
//! assert_eq!((&echoed["args"]["page"], &echoed["json"]["name"]), (&"2".into(), &"tidings".into()));
//!
//! let form: serde_json::Value = session.post("http://httpbin.test/post").form(&[("k", "v w")]).send()?.json()?;
//! assert_eq!(form["form"]["k"], "v w");
//!
//! let upload = Multipart::new()
//!     .text("title", "notes")
//!     .part("file", Part::bytes("hello").file_name("hello.txt").mime("text/plain"));
//! let echoed: serde_json::Value = session.post("http://httpbin.test/post").multipart(upload).send()?.json()?;
//! assert_eq!((&echoed["form"]["title"], &echoed["files"]["file"]), (&"notes".into(), &"hello".into()));
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! ## Sessions
//!
//! A [`Session`] keeps defaults (headers, credentials, query parameters, timeouts, TLS,
//! proxies), a cookie jar, and a pool of kept-alive connections; it is cheap to clone and
//! `Send + Sync`. The module functions ([`get`], [`post`], …) use a shared session that
//! keeps no cookies, as Requests' do.
//!
//! ```
//! # let _httpbin = tidings_httpbin::Server::start()?;
//! # std::env::set_var("http_proxy", _httpbin.url(""));
//! use std::time::Duration;
//!
//! let session = tidings::Session::builder()
//!     .header("User-Agent", "my-app/1.0")
//!     .timeout(Duration::from_secs(20))
//!     .build()?;
//! session.get("http://httpbin.test/cookies/set").query([("flavour", "oat")]).send()?;
//! let cookies: serde_json::Value = session.get("http://httpbin.test/cookies").send()?.json()?;
//! assert_eq!(cookies["cookies"]["flavour"], "oat");
//!
//! let response = session.get("http://httpbin.test/get").send()?;
//! assert!(response.reused_connection(), "the pool kept the connection");
//! // What went on the wire, as Requests' `response.request` (credentials redacted in Debug).
//! assert_eq!(response.request().headers().get_str("user-agent"), Some("my-app/1.0"));
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! [`SessionBuilder::mount`] gives a URL prefix its own [`Profile`] (retries, timeouts, TLS,
//! pool limits, proxies, headers, even a [`Transport`] of your own), as Requests'
//! `session.mount`.
//!
//! ## Authentication
//!
//! Basic, Bearer and Digest (RFC 7616) credentials, per request or per session, go to their
//! own origin only — never to another host a redirect points at. Without credentials,
//! `.netrc` answers for each host.
//!
//! ```
//! # let _httpbin = tidings_httpbin::Server::start()?;
//! # std::env::set_var("http_proxy", _httpbin.url(""));
//! let session = tidings::Session::new();
//! let basic = session.get("http://httpbin.test/basic-auth/user/pass").basic_auth("user", "pass").send()?;
//! assert_eq!(basic.status(), 200);
//! let digest = session.get("http://httpbin.test/digest-auth/auth/user/pass").digest_auth("user", "pass").send()?;
//! assert_eq!(digest.status(), 200);
//! let bearer = session.get("http://httpbin.test/bearer").bearer_auth("token").send()?;
//! assert_eq!(bearer.status(), 200);
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! ## TLS
//!
//! Verified by default against the webpki roots. [`TlsSettings`] names another CA bundle (as
//! Requests' `verify=path`), a client certificate, the platform verifier (feature
//! `platform-verifier`), or — explicitly, with a logged warning — no verification.
//!
//! A connection ends with the client's `close_notify`, and a body that only the close
//! delimits (no `Content-Length`, not chunked) is whole only if the server's `close_notify`
//! came before its close: otherwise anyone able to end the TCP connection could have cut it,
//! and reading it fails with an `eof` error that says so (RFC 9112 §9.8).
//!
//! ```
//! # let httpbin = tidings_httpbin::Server::start_tls()?;
//! # let ca_bundle = std::env::temp_dir().join(format!("tidings-doc-ca-{}.pem", std::process::id()));
//! # std::fs::write(&ca_bundle, httpbin.ca_pem().unwrap_or_default())?;
//! # let url = httpbin.url("/get");
//! use tidings::{ErrorKind, Session, TlsSettings};
//!
//! // `url` is an https:// URL whose certificate `ca_bundle` issued.
//! let session = Session::builder().tls(TlsSettings::default().ca_bundle(&ca_bundle)).build()?;
//! let echoed: serde_json::Value = session.get(&url).send()?.json()?;
//! assert!(echoed["url"].as_str().is_some_and(|url| url.starts_with("https://")));
//!
//! // The default roots do not know that CA: verification fails, and says so.
//! let error = tidings::get(&url).unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::Tls);
//! # std::fs::remove_file(&ca_bundle)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Proxies
//!
//! From the environment by default (`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`,
//! with the httpoxy guard), or set on the session. Through an HTTP proxy, plain HTTP is
//! forwarded in absolute form and HTTPS goes through a `CONNECT` tunnel; an `https://`
//! proxy does the same inside TLS to the proxy (verified against the session's roots, or
//! [`SessionBuilder::proxy_tls`]), an `https://` origin then running TLS inside TLS; a SOCKS proxy
//! (`socks5h://`, `socks5://`, `socks4a://`, `socks4://`, with RFC 1929 credentials for
//! SOCKS5) tunnels both. The proxy's credentials go to the proxy only.
//!
//! ```
//! # let proxy_server = tidings_httpbin::Server::start()?;
//! # let proxy_url = proxy_server.url("");
//! use tidings::{Proxy, Session};
//!
//! // `proxy_url` is a forward proxy, such as "http://127.0.0.1:3128".
//! let session = Session::builder().proxy(Proxy::parse(&proxy_url)?).build()?;
//! let echoed: serde_json::Value = session.get("http://httpbin.test/get").send()?.json()?;
//! assert_eq!(echoed["url"], "http://httpbin.test/get");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Timeouts and retries
//!
//! Connect (10 s) and read (30 s, the longest silence) timeouts are on by default; a whole-call
//! timeout spans redirects and retries. Retries follow urllib3's `Retry` ([`RetryPolicy`],
//! with the mapping table in its module): off by default, apart from the transparent retry of
//! a request that met a stale pooled connection. When a retryable status outlives the policy,
//! the call fails with `retries_exhausted` and keeps the last response.
//!
//! ```
//! # let _httpbin = tidings_httpbin::Server::start()?;
//! # std::env::set_var("http_proxy", _httpbin.url(""));
//! use std::time::Duration;
//! use tidings::{ErrorKind, RetryPolicy, Session};
//!
//! let quick = Session::builder().timeout(Duration::from_millis(300)).build()?;
//! let error = quick.get("http://httpbin.test/delay/2").send().unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::Timeout);
//!
//! let policy = RetryPolicy::new(2).status_forcelist([503]).backoff_factor(Duration::from_millis(10));
//! let patient = Session::builder().retries(policy).build()?;
//! let error = patient.get("http://httpbin.test/status/503").send().unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::RetriesExhausted);
//! assert_eq!(error.response().map(|last| last.attempts()), Some(3));
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! ## Streaming
//!
//! A [`Response`] is a [`Read`](std::io::Read): the body arrives as you read it, decoded
//! (gzip, deflate, br, zstd) and capped by the session's `max_body`. Uploads stream from any
//! reader — chunked when the length is unknown — or from a file, which is rewound for a
//! redirect or a retry.
//!
//! ```
//! # let _httpbin = tidings_httpbin::Server::start()?;
//! # std::env::set_var("http_proxy", _httpbin.url(""));
//! use std::io::Read;
//!
//! let mut response = tidings::get("http://httpbin.test/bytes/100000")?;
//! let mut total = 0;
//! let mut buffer = [0u8; 8192];
//! loop {
//!     let read = response.read(&mut buffer)?;
//!     if read == 0 {
//!         break;
//!     }
//!     total += read;
//! }
//! assert_eq!(total, 100_000);
//!
//! let lines = tidings::get("http://httpbin.test/stream/3")?.lines()?;
//! assert_eq!(lines.count(), 3);
//!
//! let data = std::io::Cursor::new(vec![b'x'; 50_000]);
//! let echoed: serde_json::Value =
//!     tidings::Session::new().post("http://httpbin.test/post").body_reader(data, None).send()?.json()?;
//! assert_eq!(echoed["headers"]["Transfer-Encoding"], "chunked");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Errors
//!
//! One [`Error`] type with a stable [`ErrorKind`] (`connect`, `tls`, `timeout`, `protocol`,
//! `eof`, `too_large`, `decode`, `redirect_limit`, `http_status`, `retries_exhausted`,
//! `invalid_request`). `Display` says what was being done and why, once; `Debug` — what `main`
//! returning the error prints — adds the kind and the chain of causes; common mistakes carry
//! a hint.
//!
//! ```
//! # let _httpbin = tidings_httpbin::Server::start()?;
//! # std::env::set_var("http_proxy", _httpbin.url(""));
//! use tidings::ErrorKind;
//!
//! let error = tidings::get("httpbin.test/get").unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::InvalidRequest);
//! assert!(error.to_string().contains("did you mean http://httpbin.test/get?"));
//!
//! // A 4xx or 5xx is a response; `error_for_status` makes it an error (Requests'
//! // `raise_for_status`) that keeps the response.
//! let error = tidings::get("http://httpbin.test/status/404")?.error_for_status().unwrap_err();
//! assert_eq!((error.kind(), error.status_code()), (ErrorKind::HttpStatus, Some(404)));
//!
//! let error = tidings::Session::new().get("http://httpbin.test/get").header("X-Evil", "a\r\nb").send().unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::InvalidRequest, "CR/LF never reaches the wire");
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! ## Many requests on one thread
//!
//! With the `mio` feature, `tidings::mio` runs many calls at once on one
//! thread — the same [`Session`] configures it, and every decision is the same.
//!
//! ## Embedding the protocol core
//!
//! [`core`] is `tidings-core`: the protocol as a state machine that reads no clock and does no
//! I/O. You feed it bytes and the time; it gives you bytes to write, events, and its next
//! deadline.
//!
//! ```
//! use std::time::Instant;
//! use tidings::core::{Config, Connection, Event, Request};
//!
//! let now = Instant::now();
//! let mut connection = Connection::new(Config::default());
//! connection.send_request(now, &Request::get("http://example.com/")?)?;
//! let mut wire = [0u8; 512];
//! let written = connection.poll_transmit(now, &mut wire);
//! assert!(wire[..written].starts_with(b"GET / HTTP/1.1\r\nHost: example.com\r\n"));
//! let (_, event) = connection.handle_input(now, b"HTTP/1.1 204 No Content\r\n\r\n")?;
//! assert!(matches!(event, Some(Event::Head(head)) if head.status() == 204));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Features
//!
//! `json` (default): `json` bodies and `Response::json`. `serde`: `query_serialize` and
//! `form_serialize`. `mio`: `tidings::mio`. `platform-verifier`: the operating
//! system's certificate verifier, when `TlsSettings::platform_verifier` asks for it.
//! `zstd-c`: zstd bodies decoded by libzstd (C) rather than the pure-Rust default — about 4×
//! faster on megabyte bodies, slower on small ones (BENCHMARKS.md).

#![forbid(unsafe_code)]

/// The Sans-IO protocol core (`tidings-core`): requests, the incremental response decoder,
/// the connection state machine, and the pure policies (redirects, retries, cookies, auth,
/// proxies).
pub use tidings_core as core;

/// The client layer both transports share (`tidings-client`): for writing a [`Transport`]
/// of your own or driving a [`Call`](tidings_client::Call) by hand.
pub use tidings_client as client;

/// The event-loop client (`tidings-mio`, feature `mio`): many requests in flight on one
/// thread, configured by the same [`Session`].
///
/// ```
/// # let _httpbin = tidings_httpbin::Server::start()?;
/// # std::env::set_var("http_proxy", _httpbin.url(""));
/// let mut client = tidings::mio::Client::new(tidings::Session::new())?;
/// for path in ["/get", "/headers", "/status/204"] {
///     let request = client.get(&format!("http://httpbin.test{path}")).build()?;
///     client.send(request);
/// }
/// let mut statuses: Vec<u16> =
///     client.wait_all()?.into_iter().map(|done| done.result.map(|r| r.status().as_u16())).collect::<Result<_, _>>()?;
/// statuses.sort();
/// assert_eq!(statuses, [200, 200, 204]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "mio")]
pub use tidings_mio as mio;

pub use tidings_client::wire;
pub use tidings_client::{
    Auth, BasicAuth, BearerAuth, CloseReason, Cookie, CookieJar, DigestAuth, Error, ErrorKind, HeaderBlock, Headers,
    Method, Multipart, NoProxy, Part, PoolLimits, PreparedRequest, Profile, Proxy, ProxySetting, ProxySettings,
    RequestBuilder, Response, RetryPolicy, StatusCode, Timeouts, TlsSettings, Transport, DEFAULT_MAX_BODY,
};
pub use tidings_std::{
    delete, get, head, options, patch, post, put, request, BlockingTransport, Session, SessionBuilder,
};
