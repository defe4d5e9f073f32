//! The request model and its validation.
//!
//! A [`Request`] is what the caller wants: method, URL, headers in the caller's order and
//! case, and the shape of the body. [`Request::write_head`] checks all of it and writes the
//! head; nothing reaches the wire unless every check passes.

use std::borrow::Cow;

use base64::Engine as _;
use http::Method;
use url::{Position, Url};

use crate::error::{Error, InvalidRequest};
use crate::headers::{is_token, is_valid_value, list_elements, Headers};

/// The version string sent in `User-Agent` by default.
pub const USER_AGENT: &str = concat!("tidings/", env!("CARGO_PKG_VERSION"));

/// An HTTP request as the caller describes it.
///
/// ```
/// use tidings_core::{Body, Request};
/// let request = Request::get("http://example.com/search?q=rust")?
///     .header("X-Trace", "1")
///     .body(Body::Empty);
/// assert_eq!(request.target(), "/search?q=rust");
/// # Ok::<(), tidings_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: Url,
    headers: Headers,
    body: Body,
    target_form: TargetForm,
}

/// The request body's shape. The bytes of a [`Body::Bytes`] or a [`Body::Stream`] are handed
/// to [`Connection::send_body`](crate::Connection::send_body) by the driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// A body whose bytes are known now (replayable).
    Bytes(Vec<u8>),
    /// A streamed body: `Content-Length` framing when its length is known, chunked otherwise.
    Stream {
        /// The exact length, if known.
        length: Option<u64>,
    },
}

impl Body {
    /// The length, when it is known before sending.
    pub fn length(&self) -> Option<u64> {
        match self {
            Body::Empty => Some(0),
            Body::Bytes(bytes) => Some(bytes.len() as u64),
            Body::Stream { length } => *length,
        }
    }
}

/// The form of the request target (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetForm {
    /// `/path?query`, for a request sent to the origin (§3.2.1).
    #[default]
    Origin,
    /// `http://host/path?query`, for a request through a plain-HTTP proxy (§3.2.2).
    Absolute,
    /// `host:port`, for `CONNECT` (§3.2.3).
    Authority,
}

impl Request {
    /// A request for `url` (http or https only; IDNA hosts become punycode).
    pub fn new(method: Method, url: &str) -> Result<Request, InvalidRequest> {
        let parsed =
            Url::parse(url).map_err(|error| InvalidRequest::Url { url: url.to_owned(), reason: error.to_string() })?;
        Request::from_url(method, parsed)
    }

    /// A request from an already parsed URL.
    pub fn from_url(method: Method, url: Url) -> Result<Request, InvalidRequest> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InvalidRequest::UnsupportedScheme { scheme: url.scheme().to_owned() });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidRequest::MissingHost { url: url.to_string() });
        }
        Ok(Request { method, url, headers: Headers::new(), body: Body::Empty, target_form: TargetForm::Origin })
    }

    /// A request whose method is given as text; it must be an RFC 9110 token.
    pub fn parse(method: &str, url: &str) -> Result<Request, InvalidRequest> {
        let method =
            Method::from_bytes(method.as_bytes()).map_err(|_| InvalidRequest::Method { method: method.to_owned() })?;
        Request::new(method, url)
    }

    /// A request from the `http` crate's request parts (method, absolute URI, headers; the
    /// body is the caller's to set). Header names arrive lowercase, as `http` keeps them.
    pub fn from_http(parts: &http::request::Parts) -> Result<Request, InvalidRequest> {
        let mut request = Request::new(parts.method.clone(), &parts.uri.to_string())?;
        request.headers = Headers::from(&parts.headers);
        Ok(request)
    }

    /// `GET url`.
    pub fn get(url: &str) -> Result<Request, InvalidRequest> {
        Request::new(Method::GET, url)
    }

    /// `CONNECT host:port`, to open a tunnel through a proxy; the URL names the tunnel's far
    /// end (`https://host:port`).
    pub fn connect(url: &str) -> Result<Request, InvalidRequest> {
        let mut request = Request::new(Method::CONNECT, url)?;
        request.target_form = TargetForm::Authority;
        Ok(request)
    }

    /// Adds a header (builder style); see [`Headers::append`].
    pub fn header(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the body (builder style).
    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// Sets the target form (builder style): [`TargetForm::Absolute`] for a plain-HTTP proxy.
    pub fn target_form(mut self, form: TargetForm) -> Self {
        self.target_form = form;
        self
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The caller's headers (defaults and framing are added when the head is written).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The caller's headers, to change.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body's shape.
    pub fn body_ref(&self) -> &Body {
        &self.body
    }

    /// The request target as it goes on the wire.
    pub fn target(&self) -> Cow<'_, str> {
        match self.target_form {
            TargetForm::Origin => Cow::Borrowed(&self.url[Position::BeforePath..Position::AfterQuery]),
            // Absolute form never carries userinfo or a fragment (RFC 9112 §3.2.2; RFC 9110
            // §4.2.4: a sender MUST NOT generate the userinfo subcomponent).
            TargetForm::Absolute if self.url.username().is_empty() && self.url.password().is_none() => {
                Cow::Borrowed(&self.url[..Position::AfterQuery])
            }
            TargetForm::Absolute => Cow::Owned(format!(
                "{}://{}{}",
                self.url.scheme(),
                self.host_header(),
                &self.url[Position::BeforePath..Position::AfterQuery]
            )),
            TargetForm::Authority => self.authority_with_port(),
        }
    }

    /// `host[:port]` as it goes in `Host`: the port only when not the scheme's default.
    pub fn host_header(&self) -> &str {
        &self.url[Position::BeforeHost..Position::AfterPort]
    }

    /// Checks the whole request and appends its head (request line, headers, blank line) to
    /// `out`. On error nothing is appended.
    ///
    /// Header order: `Host` first, then `User-Agent`, `Accept` and `Accept-Encoding` defaults
    /// unless the caller set them, then the caller's headers in order, then `Authorization`
    /// from the URL's userinfo (only when the caller gave no `Authorization`), then framing.
    pub fn write_head(&self, out: &mut Vec<u8>) -> Result<RequestPlan, InvalidRequest> {
        let plan = self.check()?;
        let start = out.len();
        let target = self.target();
        out.reserve(128 + target.len() + self.headers.len() * 32);
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        self.each_field(&plan, &target, |name, value| put_field(out, name, value));
        out.extend_from_slice(b"\r\n");
        debug_assert!(out.len() > start);
        Ok(plan)
    }

    /// The header fields exactly as [`write_head`](Request::write_head) writes them, in the
    /// same order: the caller's, and those the core adds (`Host`, `User-Agent`, `Accept`,
    /// `Accept-Encoding`, `Authorization` from the URL, framing). Checked as `write_head`
    /// checks them.
    pub fn wire_headers(&self) -> Result<Headers, InvalidRequest> {
        let plan = self.check()?;
        let mut headers = Headers::new();
        self.each_field(&plan, &self.target(), |name, value| headers.append(name, value));
        Ok(headers)
    }

    /// Hands every field of the head to `emit`, in wire order (one place decides what the
    /// head carries, for both the bytes and the list).
    fn each_field(&self, plan: &RequestPlan, target: &str, mut emit: impl FnMut(&str, &[u8])) {
        match self.headers.get("host") {
            Some(host) => emit("Host", host),
            None if self.target_form == TargetForm::Authority => emit("Host", target.as_bytes()),
            None => emit("Host", self.host_header().as_bytes()),
        }
        if !self.headers.contains("user-agent") {
            emit("User-Agent", USER_AGENT.as_bytes());
        }
        if !self.headers.contains("accept") {
            emit("Accept", b"*/*");
        }
        let codings = crate::coding::accept_encoding();
        if !codings.is_empty() && !self.headers.contains("accept-encoding") {
            emit("Accept-Encoding", codings.as_bytes());
        }
        for (name, value) in self.headers.iter() {
            if name.eq_ignore_ascii_case("host")
                || name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("transfer-encoding")
            {
                continue;
            }
            emit(name, value);
        }
        if !self.headers.contains("authorization") {
            if let Some(credentials) = self.userinfo_credentials() {
                let mut value = String::from("Basic ");
                base64::engine::general_purpose::STANDARD.encode_string(credentials, &mut value);
                emit("Authorization", value.as_bytes());
            }
        }
        match plan.framing {
            RequestFraming::None => {}
            RequestFraming::ContentLength(length) => {
                emit("Content-Length", itoa::Buffer::new().format(length).as_bytes());
            }
            RequestFraming::Chunked { .. } => emit("Transfer-Encoding", b"chunked"),
        }
    }

    /// Validates everything the head will carry and decides its framing.
    fn check(&self) -> Result<RequestPlan, InvalidRequest> {
        if !is_token(self.method.as_str().as_bytes()) {
            return Err(InvalidRequest::Method { method: self.method.to_string() });
        }
        let target = self.target();
        if target.is_empty() || !target.bytes().all(|byte| byte > b' ' && byte != 0x7f) {
            return Err(InvalidRequest::Target { target: target.into_owned() });
        }
        let mut hosts = 0;
        let mut lengths = Vec::new();
        let mut transfer_encoding = None;
        for (name, value) in self.headers.iter() {
            if !is_token(name.as_bytes()) {
                return Err(InvalidRequest::HeaderName { name: name.to_owned() });
            }
            if !is_valid_value(value) {
                return Err(InvalidRequest::HeaderValue { name: name.to_owned() });
            }
            if name.eq_ignore_ascii_case("host") {
                hosts += 1;
            } else if name.eq_ignore_ascii_case("content-length") {
                lengths.push(value);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                if transfer_encoding.is_some() {
                    return Err(InvalidRequest::DuplicateHeader { name: "Transfer-Encoding" });
                }
                transfer_encoding = Some(value);
            }
        }
        if hosts > 1 {
            return Err(InvalidRequest::DuplicateHeader { name: "Host" });
        }
        if lengths.len() > 1 {
            return Err(InvalidRequest::DuplicateHeader { name: "Content-Length" });
        }
        let declared = match lengths.first() {
            Some(value) => Some(parse_decimal(value).ok_or(InvalidRequest::FramingHeader {
                name: "Content-Length",
                reason: "not a plain decimal number",
            })?),
            None => None,
        };
        let framing = self.framing(declared, transfer_encoding)?;
        let body_length = match framing {
            RequestFraming::None => 0,
            RequestFraming::ContentLength(length) => length,
            RequestFraming::Chunked { known_length } => known_length.unwrap_or(u64::MAX),
        };
        let connection = || list_elements(self.headers.get_all("connection"));
        let expect_continue = body_length > 0
            && list_elements(self.headers.get_all("expect"))
                .any(|element| element.eq_ignore_ascii_case(b"100-continue"));
        Ok(RequestPlan {
            framing,
            expect_continue,
            upgrade: self.headers.contains("upgrade")
                && connection().any(|element| element.eq_ignore_ascii_case(b"upgrade")),
            close: connection().any(|element| element.eq_ignore_ascii_case(b"close")),
            is_head: self.method == Method::HEAD,
            is_connect: self.method == Method::CONNECT,
        })
    }

    /// RFC 9112 §6: Content-Length for a known size, chunked for an unknown one;
    /// `Content-Length: 0` for POST, PUT and PATCH without a body (RFC 9110 §8.6: a user
    /// agent SHOULD send it when the method defines a meaning for content); nothing otherwise.
    fn framing(
        &self,
        declared: Option<u64>,
        transfer_encoding: Option<&[u8]>,
    ) -> Result<RequestFraming, InvalidRequest> {
        let known = self.body.length();
        if let Some(value) = transfer_encoding {
            if declared.is_some() {
                return Err(InvalidRequest::FramingHeader {
                    name: "Transfer-Encoding",
                    reason: "cannot be combined with Content-Length",
                });
            }
            if !value.eq_ignore_ascii_case(b"chunked") {
                return Err(InvalidRequest::FramingHeader {
                    name: "Transfer-Encoding",
                    reason: "only `chunked` can be sent",
                });
            }
            return Ok(RequestFraming::Chunked { known_length: known });
        }
        match (known, declared) {
            (Some(length), Some(declared)) if length != declared => Err(InvalidRequest::FramingHeader {
                name: "Content-Length",
                reason: "does not match the body's length",
            }),
            (None, Some(declared)) => Ok(RequestFraming::ContentLength(declared)),
            (None, None) => Ok(RequestFraming::Chunked { known_length: None }),
            (Some(0), None) if !matches!(self.method, Method::POST | Method::PUT | Method::PATCH) => {
                Ok(RequestFraming::None)
            }
            (Some(length), _) => Ok(RequestFraming::ContentLength(length)),
        }
    }

    /// `user:password` from the URL, percent-decoded, when it has a user name.
    fn userinfo_credentials(&self) -> Option<Vec<u8>> {
        if self.url.username().is_empty() && self.url.password().is_none() {
            return None;
        }
        let mut credentials: Vec<u8> = percent_encoding::percent_decode_str(self.url.username()).collect();
        credentials.push(b':');
        credentials.extend(percent_encoding::percent_decode_str(self.url.password().unwrap_or("")));
        Some(credentials)
    }

    /// `host:port` with the port always present, as CONNECT requires (RFC 9110 §9.3.6).
    fn authority_with_port(&self) -> Cow<'_, str> {
        match (self.url.port(), self.url.port_or_known_default()) {
            (None, Some(port)) => Cow::Owned(format!("{}:{port}", self.host_header())),
            _ => Cow::Borrowed(self.host_header()),
        }
    }
}

/// What the head implies for the rest of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPlan {
    /// How the body is framed.
    pub framing: RequestFraming,
    /// The body waits for `100 Continue` (or its deadline).
    pub expect_continue: bool,
    /// The caller asked for a protocol upgrade, so `101` is acceptable.
    pub upgrade: bool,
    /// The caller sent `Connection: close`.
    pub close: bool,
    /// The method is HEAD: the response has no body.
    pub is_head: bool,
    /// The method is CONNECT: a 2xx response opens a tunnel.
    pub is_connect: bool,
}

/// How a request body is framed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFraming {
    /// No body and no framing header.
    None,
    /// `Content-Length: n`.
    ContentLength(u64),
    /// `Transfer-Encoding: chunked`; `known_length` when the caller's body has one.
    Chunked {
        /// The body's length, when known; the chunked body ends by itself after it.
        known_length: Option<u64>,
    },
}

/// `1*DIGIT` without sign or overflow.
pub(crate) fn parse_decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 + 1 {
        return None;
    }
    value.iter().try_fold(0u64, |total, &byte| {
        if !byte.is_ascii_digit() {
            return None;
        }
        total.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
    })
}

fn put_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Writes one chunk (`size CRLF data CRLF`) of as much of `data` as fits; returns how many
/// data bytes it took (0 if nothing fits or `data` is empty: an empty chunk would end the
/// body).
pub(crate) fn write_chunk(data: &[u8], buf: &mut [u8]) -> usize {
    if data.is_empty() {
        return 0;
    }
    let mut take = data.len().min(buf.len());
    while take > 0 && take + chunk_overhead(take) > buf.len() {
        take = buf.len().saturating_sub(chunk_overhead(take)).min(take - 1);
    }
    if take == 0 {
        return 0;
    }
    let digits = hex_digits(take);
    for (index, digit) in buf[..digits].iter_mut().enumerate() {
        let nibble = (take >> (4 * (digits - 1 - index))) & 0xf;
        *digit = b"0123456789abcdef"[nibble];
    }
    buf[digits..digits + 2].copy_from_slice(b"\r\n");
    buf[digits + 2..digits + 2 + take].copy_from_slice(&data[..take]);
    buf[digits + 2 + take..digits + 4 + take].copy_from_slice(b"\r\n");
    take
}

pub(crate) fn chunk_overhead(size: usize) -> usize {
    hex_digits(size) + 4
}

fn hex_digits(size: usize) -> usize {
    (usize::BITS - size.leading_zeros()).div_ceil(4).max(1) as usize
}

/// RFC 9110 §6.5.1: trailers must not carry fields needed for framing, routing,
/// authentication, or request modifiers.
pub(crate) fn check_trailers(trailers: &Headers, framing: RequestFraming) -> Result<(), Error> {
    if !matches!(framing, RequestFraming::Chunked { .. }) {
        return Err(InvalidRequest::FramingHeader { name: "Trailer", reason: "trailers need a chunked body" }.into());
    }
    const FORBIDDEN: [&str; 8] = [
        "content-length",
        "transfer-encoding",
        "host",
        "trailer",
        "authorization",
        "content-type",
        "content-encoding",
        "te",
    ];
    for (name, value) in trailers.iter() {
        if !is_token(name.as_bytes()) {
            return Err(InvalidRequest::HeaderName { name: name.to_owned() }.into());
        }
        if !is_valid_value(value) {
            return Err(InvalidRequest::HeaderValue { name: name.to_owned() }.into());
        }
        if FORBIDDEN.iter().any(|forbidden| name.eq_ignore_ascii_case(forbidden)) {
            return Err(InvalidRequest::FramingHeader {
                name: "Trailer",
                reason: "framing, routing and auth fields are not allowed in trailers",
            }
            .into());
        }
    }
    Ok(())
}
