//! A call driven through its hops by fuzzer-chosen answers, as a transport drives it: final
//! heads of any status with `Location`, `WWW-Authenticate`, `Retry-After` and `Set-Cookie`
//! fields of arbitrary bytes, and attempts that fail while connecting or exchanging — under
//! sessions with retries, redirect limits, a mounted profile, a forward proxy with
//! credentials and a SOCKS one (each with `NO_PROXY` hosts), a session jar and credentials, and requests with credentials, a cookie and
//! bodies of each kind.
//!
//! Never a panic, and at every attempt:
//! - its head serializes to valid HTTP/1.1 (httparse reads it back whole), or is refused;
//! - `Authorization` goes only to the first URL's origin (or its https upgrade), the
//!   request's cookie only to its host, the session's only to the host that set it,
//!   `Proxy-Authorization` and the absolute form only to a forward proxy;
//! - a streamed body is sent at most once (a connect failure did not send it);
//! - a 303 asks with GET (or HEAD), a 307 or 308 with the same method;
//! - no more redirects than the limit, no more attempts than the retry budgets allow;
//! - a wait is within the policy's caps, ends before the call's deadline, and the clock can
//!   add it to now (a policy without caps, `Duration::MAX`, included).
//!
//! When the script runs out, a 200 answers, and the call must end with it.
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use libfuzzer_sys::fuzz_target;
use tidings_client::{
    BufferedBody, Call, Error, ErrorKind, Failure, Method, Next, NoProxy, Profile, Proxy, ProxySettings, RetryPolicy,
    Session,
};
use tidings_core::{Event, ResponseContext, ResponseDecoder, ResponseHead};
use url::Url;

/// A session, with what the checks need to know of it.
struct Setup {
    session: Session,
    redirect_limit: u32,
    /// The largest `total` of its retry policies (the session's and its profile's).
    retries: u32,
    /// The longest wait any of its policies may ask for.
    longest_wait: Duration,
    /// It keeps a cookie jar (emptied before each input, then given [`SESSION_COOKIE`]).
    jar: bool,
}

fn setups() -> &'static [Setup] {
    static SETUPS: OnceLock<Vec<Setup>> = OnceLock::new();
    SETUPS.get_or_init(|| {
        let plain = RetryPolicy::new(3)
            .status_forcelist([429, 500, 503])
            .backoff_factor(Duration::from_millis(200))
            .backoff_max(Duration::from_secs(2))
            .backoff_jitter(Duration::from_millis(100))
            .respect_retry_after(true, Duration::from_secs(5));
        let proxied = RetryPolicy::new(2).status_forcelist([502]).raise_on_status(false);
        let mounted = RetryPolicy::new(1).status_forcelist([500]).respect_retry_after(true, Duration::from_secs(1));
        let uncapped = RetryPolicy::new(4)
            .status_forcelist([503])
            .backoff_factor(Duration::from_secs(1 << 40))
            .backoff_max(Duration::MAX)
            .respect_retry_after(true, Duration::MAX);
        let proxy = Proxy::parse("http://pu:pp@proxy.invalid:3128").expect("a proxy URL");
        let socks = Proxy::parse("socks5h://su:sp@socks.invalid:1080").expect("a proxy URL");
        // No environment (its proxies would change routes) and no session jar (its cookies
        // would carry from one input to the next).
        let base = || Session::builder().trust_env(false).cookie_store(false);
        vec![
            Setup {
                session: base()
                    .retries(plain)
                    .redirect_limit(5)
                    .timeout(Duration::from_secs(60))
                    .build()
                    .expect("a session"),
                redirect_limit: 5,
                retries: 3,
                longest_wait: Duration::from_secs(5),
                jar: false,
            },
            Setup {
                session: base()
                    .retries(proxied)
                    .redirect_limit(3)
                    .proxies(ProxySettings { no_proxy: NoProxy::parse("c.test, .d.test"), ..ProxySettings::all(proxy) })
                    .mount("http://b.test/", Profile::new().retries(mounted).no_proxy())
                    .timeout(Duration::from_secs(10))
                    .build()
                    .expect("a session"),
                redirect_limit: 3,
                retries: 2,
                longest_wait: Duration::from_secs(120),
                jar: false,
            },
            Setup {
                session: base().redirect_limit(30).build().expect("a session"),
                redirect_limit: 30,
                retries: 0,
                longest_wait: Duration::ZERO,
                jar: false,
            },
            // No caps anywhere: a timeout, a backoff and a `Retry-After` beyond the clock.
            Setup {
                session: base().retries(uncapped).timeout(Duration::MAX).build().expect("a session"),
                redirect_limit: 30,
                retries: 4,
                longest_wait: Duration::MAX,
                jar: false,
            },
            // SOCKS for both schemes (no Proxy-Authorization anywhere), a.test reached directly.
            Setup {
                session: base()
                    .proxies(ProxySettings { no_proxy: NoProxy::parse("a.test"), ..ProxySettings::all(socks) })
                    .build()
                    .expect("a session"),
                redirect_limit: 30,
                retries: 0,
                longest_wait: Duration::ZERO,
                jar: false,
            },
            // The session's own jar and credentials.
            Setup {
                session: Session::builder()
                    .trust_env(false)
                    .basic_auth("suser", "spass")
                    .retries(RetryPolicy::new(1).status_forcelist([503]))
                    .redirect_limit(10)
                    .build()
                    .expect("a session"),
                redirect_limit: 10,
                retries: 1,
                longest_wait: Duration::from_secs(120),
                jar: true,
            },
        ]
    })
}

const FIRST_URLS: [&str; 3] = ["http://a.test/p/q?x=1", "https://a.test:8443/p", "http://b.test/start"];
const METHODS: [Method; 4] = [Method::GET, Method::POST, Method::PUT, Method::HEAD];
const STATUSES: [u16; 16] = [200, 204, 301, 302, 303, 307, 308, 401, 404, 407, 413, 429, 500, 502, 503, 304];
const FIELDS: [&str; 6] = ["Location", "WWW-Authenticate", "Retry-After", "Set-Cookie", "Connection", "Content-Length"];
/// The name of the request's own cookie (`fzsecret=1`: only its host may see it) and of the
/// session's ([`SESSION_COOKIE`]: only a.test may). No response may set a cookie of that name.
const SECRET: &str = "fzsecret";
const SESSION_COOKIE: (&str, &str) = ("http://a.test/", "fzsecret=2; Path=/");

/// The same rule the redirect policy states (Requests' `should_strip_auth`, inverted), over
/// the whole chain: credentials set for `first` may reach `url`.
fn may_carry_credentials(first: &Url, url: &Url) -> bool {
    first.host_str() == url.host_str()
        && (first.origin() == url.origin()
            || (first.scheme() == "http" && url.scheme() == "https" && first.port().is_none() && url.port().is_none()))
}

/// A final head from the script's record, or the decoder's error for it.
fn head(status: u16, fields: &[u8]) -> Result<ResponseHead, tidings_core::Error> {
    let mut bytes = format!("HTTP/1.1 {status} X\r\n").into_bytes();
    for field in fields.split(|&byte| byte == 0xfe) {
        let Some((&which, value)) = field.split_first() else { continue };
        let name = FIELDS[usize::from(which) % FIELDS.len()];
        // The server may not set the request's own cookie (then it could legitimately go
        // wherever the server's Domain attribute says).
        if name == "Set-Cookie" && value.windows(SECRET.len()).any(|window| window == SECRET.as_bytes()) {
            continue;
        }
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    let mut decoder = ResponseDecoder::default();
    decoder.start(ResponseContext::default());
    match decoder.decode(&bytes)? {
        (_, Some(Event::Head(head))) => Ok(head.clone()),
        _ => Err(tidings_core::ProtocolError::MalformedHead { reason: "not one whole head" }.into()),
    }
}

fuzz_target!(|data: &[u8]| {
    // [setup, session and URL, script records separated by 0xff ...]
    let [setup, choice, script @ ..] = data else { return };
    let Setup { session, redirect_limit, retries, longest_wait, jar } = &setups()[usize::from(choice % 6)];
    let first = FIRST_URLS[usize::from(choice / 6 % 3)];
    let method = METHODS[usize::from(setup & 3)].clone();
    let body_kind = (setup >> 2) & 3;
    let credentials = (setup >> 4) & 3;
    let mut builder = session.request(method.clone(), first);
    builder = match body_kind {
        1 => builder.body(b"bytes".to_vec()),
        2 => builder.body_reader(Cursor::new(b"streamed".to_vec()), Some(8)),
        3 => builder.body_reader(Cursor::new(b"streamed".to_vec()), None),
        _ => builder,
    };
    builder = match credentials {
        1 => builder.basic_auth("user", "pass"),
        2 => builder.digest_auth("user", "pass"),
        3 => builder.bearer_auth("token").cookie(SECRET, "1"),
        _ => builder,
    };
    let request = builder.build().expect("a valid request");
    let streamed = body_kind >= 2;
    let first = Url::parse(first).expect("a fixed URL");

    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    if *jar {
        session.clear_cookies();
        session.add_cookie_at(SESSION_COOKIE.0, SESSION_COOKIE.1, wall).expect("a host-only cookie");
    }
    let started = Instant::now();
    let mut now = started;
    let mut call = Call::new(session, request, now, wall);
    let mut records = script.split(|&byte| byte == 0xff);
    let (mut redirects, mut attempts_this_hop, mut stream_sent) = (0u32, 0u32, false);
    let mut previous: Option<(u16, Method)> = None;
    loop {
        let attempt = match call.attempt(now) {
            Ok(attempt) => attempt,
            Err(error) => {
                assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{error}");
                return;
            }
        };
        attempts_this_hop += 1;
        assert!(attempts_this_hop <= 2 * retries + 4, "{attempts_this_hop} attempts on one hop");
        let request = &attempt.request;
        let url = request.url().clone();
        // What goes on the wire is valid HTTP/1.1, or nothing is written.
        let mut wire = Vec::new();
        if request.write_head(&mut wire).is_ok() {
            let mut fields = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Request::new(&mut fields);
            let status = parsed.parse(&wire).expect("the serializer writes valid HTTP/1.1");
            assert_eq!(status, httparse::Status::Complete(wire.len()), "one whole head");
        }
        let headers = request.headers();
        if headers.contains("authorization") {
            assert!(may_carry_credentials(&first, &url), "credentials for {first} went to {url}");
        }
        // One trailing dot names the same host (a fully qualified name).
        let host = |url: &Url| url.host_str().map(|host| host.strip_suffix('.').unwrap_or(host).to_owned());
        for value in headers.get_all("cookie") {
            let has = |cookie: &str| value.windows(cookie.len()).any(|window| window == cookie.as_bytes());
            if has("fzsecret=1") {
                assert_eq!(host(&first), host(&url), "the cookie of {first} went to {url}");
            }
            if has("fzsecret=2") {
                assert_eq!(host(&url).as_deref(), Some("a.test"), "the session's cookie for a.test went to {url}");
            }
        }
        let forward = attempt.key.proxy().is_some() && !attempt.key.tunnels() && attempt.key.socks().is_none();
        assert_eq!(headers.contains("proxy-authorization"), forward, "Proxy-Authorization, to {url}");
        // Absolute form to a forward proxy only; origin form to an origin or through a tunnel.
        assert_eq!(request.target().starts_with("http"), forward, "the target {} to {url}", request.target());
        let sends_stream = streamed && !matches!(request.body_ref(), tidings_core::Body::Empty);
        assert!(!(sends_stream && stream_sent), "a streamed body sent twice, the second time to {url}");
        if let Some((status, method)) = &previous {
            match status {
                303 => {
                    assert!(matches!(*request.method(), Method::GET | Method::HEAD), "{} after 303", request.method())
                }
                307 | 308 => assert_eq!(request.method(), method, "the method after {status}"),
                _ => {}
            }
        }
        // Rewinds a seekable body, as a transport does before sending.
        if call.body().is_err() {
            return;
        }

        let record = records.next();
        let (&kind, rest) = record.and_then(<[u8]>::split_first).unwrap_or((&0, &[]));
        now += Duration::from_millis(u64::from(kind) * 37);
        let hop_method = request.method().clone();
        let outcome = if kind >= 0xf0 {
            // A failed attempt: while connecting, or while exchanging.
            let (error, failure) = match kind & 7 {
                0 => (Error::new(ErrorKind::Connect, "refused"), Failure::Connect),
                1 => (Error::new(ErrorKind::Eof, "closed"), Failure::Exchange { stale_retry_safe: true }),
                2 => (Error::new(ErrorKind::Timeout, "silent"), Failure::Exchange { stale_retry_safe: false }),
                3 => (Error::new(ErrorKind::Protocol, "garbled"), Failure::Exchange { stale_retry_safe: false }),
                _ => (Error::new(ErrorKind::Tls, "handshake"), Failure::Connect),
            };
            if failure != Failure::Connect && sends_stream {
                stream_sent = true;
            }
            call.after_failure(error, failure, now).map(|wait| (wait, None))
        } else {
            let status = if record.is_none() { 200 } else { STATUSES[usize::from(kind) % STATUSES.len()] };
            match head(status, rest) {
                // A head the decoder refuses fails the attempt, as a transport reports it.
                Err(error) => {
                    stream_sent |= sends_stream;
                    call.after_failure(Error::core(error), Failure::Exchange { stale_retry_safe: false }, now)
                        .map(|wait| (wait, None))
                }
                Ok(head) => {
                    stream_sent |= sends_stream;
                    match call.after_head(&head, now) {
                        Next::Again(wait) => Ok((wait, Some(status))),
                        Next::Fail(_) => return,
                        Next::Finish => {
                            let url = call.url().clone();
                            let body = BufferedBody::new(Vec::new(), None, None, None, None);
                            let result = call.finish(head, Vec::new(), false, now, |parts| {
                                tidings_client::Response::buffered(parts, body)
                            });
                            let response = match &result {
                                Ok(response) => response,
                                Err(error) => match error.response() {
                                    Some(response) => response,
                                    None => return,
                                },
                            };
                            assert_eq!(response.url(), &url, "the response is of the last hop");
                            assert_eq!(response.history().len() as u32, redirects, "one history entry per redirect");
                            assert!(record.is_some() || status == 200, "the final 200 ends the call");
                            return;
                        }
                    }
                }
            }
        };
        let (wait, status) = match outcome {
            Ok(next) => next,
            Err(_) => return,
        };
        assert!(record.is_some(), "the final 200 ends the call, not another attempt");
        assert!(wait <= *longest_wait, "a wait of {wait:?}");
        // A transport turns the wait into a deadline.
        let Some(later) = now.checked_add(wait) else { panic!("a wait of {wait:?} the clock cannot add") };
        if let (false, Some(deadline)) = (wait.is_zero(), call.deadline()) {
            assert!(now + wait < deadline, "a wait past the call's deadline");
        }
        now = later;
        // None of the policies retries a redirect status: another attempt after one is a hop.
        if status.is_some_and(tidings_core::redirect::is_redirect) {
            redirects += 1;
            attempts_this_hop = 0;
            assert!(redirects <= *redirect_limit, "{redirects} redirects");
        }
        previous = status.map(|status| (status, hop_method));
    }
});
