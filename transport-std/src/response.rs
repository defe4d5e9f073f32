//! A response: its head at once, its body read on demand (streamed or whole).

use std::io::{self, Read};
use std::ops::Range;
use std::time::{Duration, Instant};

use tidings_core::{CloseReason, ContentDecoder, HeaderBlock, Headers, ResponseHead, StatusCode};
use url::Url;

use crate::conn::{Conn, Head};
use crate::error::{Error, ErrorKind};
use crate::request::PreparedRequest;
use crate::session::Session;

/// An HTTP response. Its body has not been read yet: read it with [`Read`], or whole with
/// [`bytes`](Self::bytes), [`text`](Self::text) or [`json`](Self::json). The connection goes
/// back to the pool once the body has been read to its end; dropping a response before that
/// closes the connection.
pub struct Response {
    head: ResponseHead,
    history: Vec<Url>,
    attempts: u32,
    informational: Vec<(u16, Headers)>,
    request: PreparedRequest,
    url: Url,
    reused: bool,
    elapsed: Duration,
    body: BodyReader,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status())
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// Reads at least this large go straight from the socket into the caller's buffer.
const DIRECT_READ: usize = 16 * 1024;

struct BodyReader {
    session: Session,
    conn: Option<Conn>,
    /// A body another transport read whole, how much of it was read here, and the error
    /// that cut it short (returned once the bytes before it are read).
    buffered: Option<(io::Cursor<Vec<u8>>, Option<Error>)>,
    decoder: Option<ContentDecoder>,
    /// Received body bytes not yet decoded, as a range of the connection's buffer.
    pending: Range<usize>,
    ended: bool,
    trailers: Option<Headers>,
    close_reason: Option<Option<CloseReason>>,
    error: Option<ErrorKind>,
}

impl Response {
    pub(crate) fn new(
        session: Session,
        conn: Conn,
        head: Head,
        request: PreparedRequest,
        reused: bool,
        started: Instant,
    ) -> Response {
        let max_body = session.settings().max_body;
        let decoder = ContentDecoder::for_response(head.head.headers(), max_body);
        let (decoder, error) = match decoder {
            Ok(decoder) => (Some(decoder), None),
            Err(error) => (None, Some(error.kind())),
        };
        let url = request.url.clone();
        let no_body =
            conn.core.decoder().framing().is_some_and(|framing| framing.length == tidings_core::BodyLength::Empty);
        let mut response = Response {
            head: head.head,
            history: Vec::new(),
            attempts: 1,
            informational: head.informational,
            request,
            url,
            reused,
            elapsed: started.elapsed(),
            body: BodyReader {
                session,
                conn: Some(conn),
                buffered: None,
                decoder,
                pending: 0..0,
                ended: false,
                trailers: None,
                close_reason: None,
                error,
            },
        };
        if no_body {
            // Nothing to read (HEAD, 204, 304, Content-Length: 0): finish now, without I/O,
            // so the connection goes straight back to the pool.
            let _ = response.body.read(&mut [0u8; 1]);
        }
        response
    }

    /// A response whose body was read whole by another transport.
    pub(crate) fn buffered(session: Session, parts: crate::driver::BufferedResponse) -> Response {
        let url = parts.request.url.clone();
        Response {
            head: parts.head,
            history: Vec::new(),
            attempts: 1,
            informational: parts.informational,
            request: parts.request,
            url,
            reused: parts.reused,
            elapsed: parts.elapsed,
            body: BodyReader {
                session,
                conn: None,
                buffered: Some((io::Cursor::new(parts.body), parts.body_error)),
                decoder: parts.decoder,
                pending: 0..0,
                ended: true,
                trailers: parts.trailers,
                close_reason: Some(parts.close_reason),
                error: None,
            },
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
    /// 5xx status (Requests' `raise_for_status`).
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.ok() {
            Ok(self)
        } else {
            let error = Error::status(self.head.status(), &self.reason(), &self.url);
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
        jar.store_response(&self.url, self.headers().get_all("set-cookie"), std::time::SystemTime::now());
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

    pub(crate) fn with_history(mut self, history: Vec<Url>, attempts: u32) -> Response {
        self.history = history;
        self.attempts = attempts;
        self
    }

    /// Attempts made for this call, retries included (1 when nothing was retried).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Drops a redirect response: a small body is read off (raw, never content-decoded) so
    /// the connection can be reused; a large or unknown one costs more than a new
    /// connection, so the connection is closed instead.
    pub(crate) fn discard(mut self) {
        const DRAIN_AT_MOST: u64 = 64 * 1024;
        let framing = self.body.conn.as_ref().and_then(|conn| conn.core.decoder().framing());
        let small = matches!(framing.map(|framing| framing.length), Some(tidings_core::BodyLength::Empty))
            || matches!(framing.map(|framing| framing.length), Some(tidings_core::BodyLength::ContentLength(length)) if length <= DRAIN_AT_MOST);
        if !small {
            return;
        }
        let Some(mut conn) = self.body.conn.take() else { return };
        let mut trailers = None;
        loop {
            match conn.next_data(&mut trailers) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.body.session.release(conn);
                    return;
                }
                Err(_) => return,
            }
        }
    }

    /// The URL that answered.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The request that produced this response (a streamed body is not kept).
    pub fn request(&self) -> &PreparedRequest {
        &self.request
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
        self.body.trailers.as_ref()
    }

    /// Once the body has been read to its end: `None` if the connection went back to the
    /// pool, or why it could not.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.body.close_reason.flatten()
    }

    /// The coding that left the body undecoded (an unknown `Content-Encoding`), if any.
    pub fn undecoded_coding(&self) -> Option<&str> {
        self.body.decoder.as_ref().and_then(ContentDecoder::undecoded)
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
            Error::new(ErrorKind::Decode, "the body is not the JSON expected").with_source(error).at(&self.url)
        })
    }

    /// An iterator over the body's lines (text decoded as [`text`](Self::text) does).
    pub fn lines(self) -> Result<std::vec::IntoIter<String>, Error> {
        let text = self.text()?;
        Ok(text.lines().map(str::to_owned).collect::<Vec<_>>().into_iter())
    }

    /// Reads the rest of the body into memory (the decoder's cap bounds it).
    pub fn read_body(&mut self) -> Result<Vec<u8>, Error> {
        // A body read whole by another transport is handed over, not copied.
        if let Some((buffered, None)) = self.body.buffered.as_mut() {
            if buffered.position() == 0 {
                return Ok(std::mem::take(buffered.get_mut()));
            }
        }
        let mut body = Vec::new();
        let url = self.url.clone();
        self.read_to_end(&mut body).map_err(|error| Error::io(ErrorKind::Io, "reading the body", error).at(&url))?;
        Ok(body)
    }
}

impl Read for Response {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.body.read(out).map_err(|error| error.at(&self.url).into_io())
    }
}

impl BodyReader {
    fn read(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        if out.is_empty() {
            return Ok(0);
        }
        if let Some((body, error)) = self.buffered.as_mut() {
            return match body.read(out)? {
                0 => error.take().map_or(Ok(0), Err),
                count => Ok(count),
            };
        }
        if let Some(kind) = self.error {
            self.conn = None;
            return Err(Error::new(kind, "the response's content codings cannot be decoded"));
        }
        loop {
            let Some(conn) = self.conn.as_mut() else { return Ok(0) };
            let Some(decoder) = self.decoder.as_mut() else { return Ok(0) };
            let room = usize::try_from(decoder.room()).unwrap_or(usize::MAX);
            let direct = self.pending.is_empty() && !self.ended && decoder.is_identity() && room > 0;
            if direct && out.len() >= DIRECT_READ && conn.can_read_direct() {
                let limit = out.len().min(room);
                match conn.read_direct(&mut out[..limit]) {
                    Ok(Some(0)) => continue,
                    Ok(Some(count)) => {
                        decoder.pass_through(count)?;
                        return Ok(count);
                    }
                    Ok(None) => {
                        self.ended = true;
                        continue;
                    }
                    Err(error) => {
                        self.conn = None;
                        return Err(error);
                    }
                }
            }
            if self.pending.is_empty() && !self.ended {
                match conn.next_data(&mut self.trailers) {
                    Ok(Some(range)) => self.pending = range,
                    Ok(None) => self.ended = true,
                    Err(error) => {
                        self.conn = None;
                        return Err(error);
                    }
                }
            }
            let result = if !self.pending.is_empty() {
                decoder.decode(conn.bytes(self.pending.clone()), out).map(|(used, written)| {
                    self.pending.start += used;
                    written
                })
            } else if self.ended {
                decoder.finish(out)
            } else {
                continue;
            };
            match result {
                Ok(0) if self.ended && self.pending.is_empty() => {
                    // The body is over: the connection goes back if the core allows.
                    if let Some(conn) = self.conn.take() {
                        self.close_reason = Some(conn.core.close_reason());
                        self.session.release(conn);
                    }
                    return Ok(0);
                }
                Ok(0) => continue,
                Ok(written) => return Ok(written),
                Err(error) => {
                    self.conn = None;
                    return Err(error.into());
                }
            }
        }
    }
}
