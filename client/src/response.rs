//! The response model every transport fills: the head and what came with it (history,
//! interim responses, the request, timings), and the body as something the transport
//! supplies ([`ResponseBody`]) — read from its connection on demand, or already in memory.

use std::io::{self, Read};
use std::time::{Duration, SystemTime};

use tidings_core::{CloseReason, ContentDecoder, HeaderBlock, Headers, ResponseHead, StatusCode};
use url::Url;

use crate::error::{Error, ErrorKind};
use crate::prepared::PreparedRequest;

/// A response body as a transport supplies it: decoded bytes on demand, then what the end
/// told (trailers, whether the connection was kept).
pub trait ResponseBody: Send + Sync {
    /// Reads decoded body bytes into `out` (not empty): `Ok(0)` at the end, or the error
    /// that cut the body short.
    fn read(&mut self, out: &mut [u8]) -> Result<usize, Error>;

    /// Trailer fields, once the body was read to its end.
    fn trailers(&self) -> Option<&Headers> {
        None
    }

    /// Once the body was read to its end: `None` when the connection can carry another
    /// request, else why not. `None` before the end too.
    fn close_reason(&self) -> Option<CloseReason> {
        None
    }

    /// The content coding left undecoded (an unknown `Content-Encoding`), if any.
    fn undecoded_coding(&self) -> Option<&str> {
        None
    }

    /// The call drops this response (a redirect hop, a retried status, an answered auth
    /// challenge): read a small body off so the connection can be reused, or close it (see
    /// [`drain_before_reuse`](crate::pool::drain_before_reuse)). The default drops it.
    fn discard(self: Box<Self>) {}

    /// The whole body, when it is already in memory and nothing was read yet: handed over
    /// instead of copied.
    fn take_whole(&mut self) -> Option<Vec<u8>> {
        None
    }
}

/// An HTTP response. Its body may not have been read yet: read it with [`Read`], or whole
/// with [`bytes`](Self::bytes), [`text`](Self::text) or [`json`](Self::json). On a
/// connection, it goes back to the pool once the body has been read to its end; dropping a
/// response before that closes the connection.
pub struct Response {
    head: ResponseHead,
    history: Vec<Url>,
    attempts: u32,
    informational: Vec<(u16, Headers)>,
    request: PreparedRequest,
    /// `request` with the fields the core added, made when first asked for.
    request_on_wire: std::sync::OnceLock<Box<PreparedRequest>>,
    reused: bool,
    elapsed: Duration,
    received_at: SystemTime,
    body: Body,
}

/// The body: in memory (no allocation for the trait object), or the transport's.
enum Body {
    Buffered(BufferedBody),
    Transport(Box<dyn ResponseBody>),
}

impl Body {
    fn get(&self) -> &dyn ResponseBody {
        match self {
            Body::Buffered(body) => body,
            Body::Transport(body) => body.as_ref(),
        }
    }

    fn get_mut(&mut self) -> &mut dyn ResponseBody {
        match self {
            Body::Buffered(body) => body,
            Body::Transport(body) => body.as_mut(),
        }
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status())
            .field("url", &self.request.url.as_str())
            .finish_non_exhaustive()
    }
}

/// What a transport knows of a response when its final head is in: everything but the body.
#[derive(Debug)]
pub struct ResponseParts {
    /// The final head.
    pub head: ResponseHead,
    /// Interim responses before it.
    pub informational: Vec<(u16, Headers)>,
    /// The request that produced it, with the headers its last hop carried.
    pub request: PreparedRequest,
    /// Whether the connection came from the pool.
    pub reused: bool,
    /// Time from the call's start until the head was parsed.
    pub elapsed: Duration,
    /// The wall-clock time the head arrived (cookies' `Max-Age` counts from it).
    pub received_at: SystemTime,
}

impl Response {
    /// A response whose body `body` supplies.
    pub fn new(parts: ResponseParts, body: Box<dyn ResponseBody>) -> Response {
        Response::with_body(parts, Body::Transport(body))
    }

    /// A response whose body was read whole already.
    pub fn buffered(parts: ResponseParts, body: BufferedBody) -> Response {
        Response::with_body(parts, Body::Buffered(body))
    }

    fn with_body(parts: ResponseParts, body: Body) -> Response {
        Response {
            head: parts.head,
            history: Vec::new(),
            attempts: 1,
            informational: parts.informational,
            request: parts.request,
            request_on_wire: std::sync::OnceLock::new(),
            reused: parts.reused,
            elapsed: parts.elapsed,
            received_at: parts.received_at,
            body,
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.head.status_code()
    }

    /// The reason phrase as sent (octets that are not UTF-8 are replaced).
    pub fn reason(&self) -> String {
        String::from_utf8_lossy(self.head.reason()).into_owned()
    }

    /// The HTTP version the server answered with.
    pub fn version(&self) -> tidings_core::Version {
        self.head.version()
    }

    /// Whether the status is below 400 (Requests' `ok`).
    pub fn ok(&self) -> bool {
        self.head.status() < 400
    }

    /// The response, or an `http_status` error naming status, reason and URL for a 4xx or
    /// 5xx status (Requests' `raise_for_status`); the error keeps the response.
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.ok() {
            Ok(self)
        } else {
            let error = Error::status(self.head.status(), &self.reason(), &self.request.url);
            Err(error.with_response(self))
        }
    }

    /// The headers: wire order, case and repeats kept; lookups ignore case.
    pub fn headers(&self) -> &HeaderBlock {
        self.head.headers()
    }

    /// The cookies this response sets, under the jar's rules for its URL (Requests'
    /// `response.cookies`).
    pub fn cookies(&self) -> tidings_core::cookie::CookieJar {
        let mut jar = tidings_core::cookie::CookieJar::new();
        jar.store_response(&self.request.url, self.headers().get_all("set-cookie"), self.received_at);
        jar
    }

    /// The whole head (status line and fields) as received.
    pub fn head(&self) -> &ResponseHead {
        &self.head
    }

    /// The URLs of the redirect responses that led here, in order (Requests' `history`).
    pub fn history(&self) -> &[Url] {
        &self.history
    }

    pub(crate) fn set_history(&mut self, history: Vec<Url>, attempts: u32) {
        self.history = history;
        self.attempts = attempts;
    }

    /// Attempts made for this call, retries included (1 when nothing was retried).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The URL that answered.
    pub fn url(&self) -> &Url {
        &self.request.url
    }

    /// The request of the last hop as it went on the wire (Requests' `response.request`):
    /// its method and URL, and every header in order — the caller's and the session's, and
    /// what the client added (`Host`, `User-Agent`, `Accept`, `Accept-Encoding`, cookies,
    /// credentials, framing). Its `Debug` redacts credentials. A streamed body is not kept.
    pub fn request(&self) -> &PreparedRequest {
        self.request_on_wire.get_or_init(|| Box::new(self.request.as_sent()))
    }

    /// Time from sending until the head was parsed.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Whether this response came over a connection taken from the pool.
    pub fn reused_connection(&self) -> bool {
        self.reused
    }

    /// Interim responses (100, 103, …) received before this one, with their headers.
    pub fn informational(&self) -> &[(u16, Headers)] {
        &self.informational
    }

    /// Trailer fields, once the body has been read to its end.
    pub fn trailers(&self) -> Option<&Headers> {
        self.body.get().trailers()
    }

    /// Once the body has been read to its end: `None` if the connection went back to the
    /// pool, or why it could not.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.body.get().close_reason()
    }

    /// The coding that left the body undecoded (an unknown `Content-Encoding`), if any.
    pub fn undecoded_coding(&self) -> Option<&str> {
        self.body.get().undecoded_coding()
    }

    /// The whole body, decoded, up to the session's cap (`too_large` beyond it).
    pub fn bytes(mut self) -> Result<Vec<u8>, Error> {
        self.read_body()
    }

    /// The body as text: the charset `Content-Type` names, else a BOM, else UTF-8, with
    /// undecodable bytes replaced.
    pub fn text(mut self) -> Result<String, Error> {
        let body = self.read_body()?;
        Ok(tidings_core::text::decode_text(self.headers().get("content-type"), &body).into_owned())
    }

    /// The body parsed as JSON.
    #[cfg(feature = "json")]
    pub fn json<T: serde::de::DeserializeOwned>(mut self) -> Result<T, Error> {
        let body = self.read_body()?;
        serde_json::from_slice(&body).map_err(|error| {
            // serde says where (line and column) and what it expected.
            let message = format!("the body is not the JSON expected: {error}");
            Error::new(ErrorKind::Decode, message).caused_by(error).at(&self.request.url)
        })
    }

    /// An iterator over the body's lines (text decoded as [`text`](Self::text) does).
    pub fn lines(self) -> Result<std::vec::IntoIter<String>, Error> {
        let text = self.text()?;
        Ok(text.lines().map(str::to_owned).collect::<Vec<_>>().into_iter())
    }

    /// Reads the rest of the body into memory (the decoder's cap bounds it).
    pub fn read_body(&mut self) -> Result<Vec<u8>, Error> {
        // A body already in memory is handed over, not copied.
        if let Some(body) = self.body.get_mut().take_whole() {
            return Ok(body);
        }
        let mut body = Vec::new();
        let url = self.request.url.clone();
        self.read_to_end(&mut body).map_err(|error| Error::io(ErrorKind::Eof, "reading the body", error).at(&url))?;
        Ok(body)
    }
}

impl Read for Response {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        self.body.get_mut().read(out).map_err(|error| error.at(&self.request.url).into_io())
    }
}

impl Error {
    /// Keeps the response that made this an error.
    pub(crate) fn with_response(mut self, response: Response) -> Error {
        *self.response_slot() = Some(Box::new(response));
        self
    }

    /// The response behind an `http_status`, `retries_exhausted` or `redirect_limit` error
    /// (Requests' `error.response`): the 4xx/5xx response, the last retried one, or the last
    /// redirect, body unread.
    pub fn response(&self) -> Option<&Response> {
        self.response_ref().and_then(|response| response.downcast_ref::<Response>())
    }

    /// Takes the response out, to read its body.
    pub fn into_response(self) -> Option<Response> {
        self.take_response().and_then(|response| response.downcast::<Response>().ok()).map(|response| *response)
    }
}

/// A body read whole before the response was handed over (by a transport that reads bodies
/// as they come, such as an event loop), with how it ended.
pub struct BufferedBody {
    body: io::Cursor<Vec<u8>>,
    /// What cut the body short: returned once the bytes before it are read.
    error: Option<Error>,
    trailers: Option<Headers>,
    close_reason: Option<CloseReason>,
    undecoded: Option<String>,
}

impl BufferedBody {
    /// The decoded `body`, its trailers, why the connection was not kept (if it was not), the
    /// decoder that produced it (for the coding it left undecoded), and the error that cut
    /// it short, if one did.
    pub fn new(
        body: Vec<u8>,
        trailers: Option<Headers>,
        close_reason: Option<CloseReason>,
        decoder: Option<&ContentDecoder>,
        error: Option<Error>,
    ) -> BufferedBody {
        BufferedBody {
            body: io::Cursor::new(body),
            error,
            trailers,
            close_reason,
            undecoded: decoder.and_then(ContentDecoder::undecoded).map(str::to_owned),
        }
    }
}

impl ResponseBody for BufferedBody {
    fn read(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        match self.body.read(out)? {
            0 => self.error.take().map_or(Ok(0), Err),
            count => Ok(count),
        }
    }

    fn trailers(&self) -> Option<&Headers> {
        self.trailers.as_ref()
    }

    fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }

    fn undecoded_coding(&self) -> Option<&str> {
        self.undecoded.as_deref()
    }

    fn take_whole(&mut self) -> Option<Vec<u8>> {
        (self.body.position() == 0 && self.error.is_none()).then(|| std::mem::take(self.body.get_mut()))
    }
}
