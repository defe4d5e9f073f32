//! The core's one error type, grouped by who is at fault.
//!
//! * [`InvalidRequest`]: the caller asked for something that must not reach the wire. Nothing
//!   was written.
//! * [`ProtocolError`]: the peer broke HTTP/1.1.
//! * [`LimitExceeded`]: the peer (or the caller's data) went past a configured bound.
//! * [`IncompleteMessage`]: the peer closed before the message was complete.
//! * [`Timeout`]: a deadline passed.
//! * [`DecodeError`]: a content coding could not be decoded.
//! * [`Misuse`]: the caller drove the state machine out of order (a bug in the driver).
//!
//! Every error has a stable [`ErrorKind`] whose [`ErrorKind::as_str`] matches the kinds of the
//! CLI's JSON report. Errors are `Clone` because a fatal error sticks: the connection returns the
//! same error from every later call.

use std::fmt;

/// Everything that can go wrong inside `tidings-core`.
///
/// Its message includes the detail's (the variant's value), so the detail is not also its
/// `source()`: a chain printed level by level says each thing once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's request is invalid; nothing was written.
    #[error("invalid request: {0}")]
    InvalidRequest(InvalidRequest),
    /// The peer broke HTTP/1.1.
    #[error("protocol error: {0}")]
    Protocol(ProtocolError),
    /// A configured limit was exceeded.
    #[error("limit exceeded: {0}")]
    TooLarge(LimitExceeded),
    /// The peer closed the connection before the message was complete.
    #[error("connection closed early: {0}")]
    Incomplete(IncompleteMessage),
    /// A deadline passed.
    #[error("timed out: {0}")]
    Timeout(Timeout),
    /// A content coding failed to decode.
    #[error("content decoding failed: {0}")]
    Decode(DecodeError),
    /// The driver called the state machine out of order.
    #[error("API misuse: {0}")]
    Misuse(Misuse),
    /// A redirect chain could not go on.
    #[error("redirect: {0}")]
    Redirect(crate::redirect::RedirectError),
    /// A SOCKS proxy refused the tunnel or broke its protocol.
    #[error("SOCKS proxy: {0}")]
    Socks(crate::socks::SocksError),
}

/// `From` each detail into [`Error`] (written out: thiserror's `#[from]` would also make the
/// detail the error's source, repeating its message in a printed chain).
macro_rules! from_detail {
    ($($detail:ty => $variant:ident),* $(,)?) => {$(
        impl From<$detail> for Error {
            fn from(detail: $detail) -> Error {
                Error::$variant(detail)
            }
        }
    )*};
}

from_detail! {
    InvalidRequest => InvalidRequest,
    ProtocolError => Protocol,
    LimitExceeded => TooLarge,
    IncompleteMessage => Incomplete,
    Timeout => Timeout,
    DecodeError => Decode,
    Misuse => Misuse,
    crate::redirect::RedirectError => Redirect,
    crate::socks::SocksError => Socks,
}

impl Error {
    /// The stable category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidRequest(_) | Error::Misuse(_) => ErrorKind::InvalidRequest,
            Error::Protocol(_) => ErrorKind::Protocol,
            Error::TooLarge(_) => ErrorKind::TooLarge,
            Error::Incomplete(_) => ErrorKind::Eof,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Decode(_) => ErrorKind::Decode,
            Error::Redirect(crate::redirect::RedirectError::TooMany { .. }) => ErrorKind::RedirectLimit,
            Error::Redirect(crate::redirect::RedirectError::BodyNotReplayable { .. }) => ErrorKind::InvalidRequest,
            // Following it would mean sending a request the client refuses to make.
            Error::Redirect(crate::redirect::RedirectError::UnsupportedScheme { .. }) => ErrorKind::InvalidRequest,
            Error::Redirect(_) => ErrorKind::Protocol,
            Error::Socks(error) => error.kind(),
        }
    }

    /// True when the request may be sent again on a fresh connection whatever its method:
    /// a reused connection closed before a single response byte arrived, so the server
    /// processed nothing (RFC 9112 §9.3.1 allows automatic retry of such requests).
    pub fn is_stale_connection(&self) -> bool {
        matches!(self, Error::Incomplete(IncompleteMessage::ClosedBeforeResponse { reused_connection: true }))
    }
}

/// The stable categories of errors, one to one with the kinds of the CLI's JSON report
/// (`docs/report.md`): each says who is at fault and what a user can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The peer broke HTTP/1.1.
    Protocol,
    /// A limit was exceeded.
    TooLarge,
    /// The peer closed before the message was complete.
    Eof,
    /// A deadline passed.
    Timeout,
    /// A content coding failed.
    Decode,
    /// DNS or TCP connect failed (used by transports).
    Connect,
    /// TLS failed (used by transports).
    Tls,
    /// Too many redirects (used by the redirect policy).
    RedirectLimit,
    /// A 4xx/5xx status treated as an error.
    HttpStatus,
    /// A retryable status came back until the retry budget ran out (urllib3's
    /// `MaxRetryError`; the client keeps the last response in the error).
    RetriesExhausted,
    /// The caller's input was invalid; nothing was sent.
    InvalidRequest,
}

impl ErrorKind {
    /// The name used in reports: `protocol`, `too_large`, `eof`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Protocol => "protocol",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Eof => "eof",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Decode => "decode",
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::RedirectLimit => "redirect_limit",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::RetriesExhausted => "retries_exhausted",
            ErrorKind::InvalidRequest => "invalid_request",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The caller's request cannot be sent as asked. Nothing reached the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// The URL did not parse.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The text given.
        url: String,
        /// What the URL parser said.
        reason: String,
    },
    /// Only `http` and `https` URLs can be requested.
    #[error("unsupported URL scheme {scheme:?} (only http and https)")]
    UnsupportedScheme {
        /// The scheme given.
        scheme: String,
    },
    /// The URL has no host.
    #[error("URL {url:?} has no host")]
    MissingHost {
        /// The URL given.
        url: String,
    },
    /// The method is not an RFC 9110 token.
    #[error("invalid method {method:?}: not a token")]
    Method {
        /// The method given, lossily decoded.
        method: String,
    },
    /// The request target contains a control byte or space.
    #[error("invalid request target {target:?}: contains a control byte or space")]
    Target {
        /// The target, lossily decoded.
        target: String,
    },
    /// A header name is not an RFC 9110 token.
    #[error("invalid header name {name:?}: not a token")]
    HeaderName {
        /// The name, lossily decoded.
        name: String,
    },
    /// A header value contains CR, LF, NUL or another control byte.
    #[error("invalid value for header {name:?}: contains CR, LF, NUL or another control byte")]
    HeaderValue {
        /// The header's name.
        name: String,
    },
    /// A header that must appear at most once was given twice.
    #[error("header {name:?} given more than once")]
    DuplicateHeader {
        /// The header's name.
        name: &'static str,
    },
    /// A caller-supplied header conflicts with the body's framing.
    #[error("header {name:?} conflicts with the body: {reason}")]
    FramingHeader {
        /// The header's name.
        name: &'static str,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// The streamed body did not match its declared length.
    #[error("body length mismatch: declared {declared} bytes, sent {sent}")]
    BodyLength {
        /// The declared length.
        declared: u64,
        /// How many bytes the caller provided.
        sent: u64,
    },
}

/// The peer broke HTTP/1.1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The status line or a header line is malformed.
    #[error("malformed response head: {reason}")]
    MalformedHead {
        /// What the head parser found.
        reason: &'static str,
    },
    /// A line in the head ended in a bare LF (allowed only with `allow_bare_lf`).
    #[error("bare LF in response head at byte {offset}")]
    BareLf {
        /// Offset of the LF within the head.
        offset: usize,
    },
    /// A status line without a reason phrase (allowed only with `allow_missing_reason`).
    #[error("status line has no reason phrase")]
    MissingReason,
    /// The status code is not a valid 3-digit code.
    #[error("invalid status code {code}")]
    InvalidStatus {
        /// The status code read.
        code: u16,
    },
    /// `Content-Length` is not plain digits, disagrees with itself, or overflows.
    #[error("invalid Content-Length {value:?}")]
    InvalidContentLength {
        /// The combined field value, lossily decoded.
        value: String,
    },
    /// `Transfer-Encoding` is empty, names `chunked` more than once, or not last.
    #[error("invalid Transfer-Encoding {value:?}")]
    InvalidTransferEncoding {
        /// The combined field value, lossily decoded.
        value: String,
    },
    /// `Transfer-Encoding` names a coding this client cannot undo (the body would be handed
    /// out still coded).
    #[error("Transfer-Encoding {value:?} names a coding this client cannot decode")]
    UnsupportedTransferCoding {
        /// The combined field value, lossily decoded.
        value: String,
    },
    /// An HTTP/1.0 response carried `Transfer-Encoding` (RFC 9112 §6.1: faulty framing).
    #[error("Transfer-Encoding in an HTTP/1.0 response")]
    TransferEncodingInHttp10,
    /// A chunk-size line is malformed.
    #[error("malformed chunk size line: {reason}")]
    InvalidChunkSize {
        /// What was wrong.
        reason: &'static str,
    },
    /// Chunk data was not followed by CRLF.
    #[error("chunk data not followed by CRLF")]
    MissingChunkCrlf,
    /// The trailer section is malformed.
    #[error("malformed trailer section: {reason}")]
    MalformedTrailers {
        /// What the parser found.
        reason: &'static str,
    },
    /// The first bytes cannot begin an HTTP/1.x status line.
    #[error("the response does not begin with an HTTP/1.x status line: {looks_like}")]
    NotHttp1 {
        /// What the bytes seem to be.
        looks_like: &'static str,
    },
    /// `101 Switching Protocols` without an upgrade having been asked for.
    #[error("101 Switching Protocols without an Upgrade request")]
    UnexpectedSwitchingProtocols,
}

/// A bound was exceeded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitExceeded {
    /// The response head is larger than `max_head_bytes`.
    #[error("response head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The response head has more than `max_headers` fields.
    #[error("response has more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// A chunk-size line's extensions are longer than `max_chunk_extension_bytes`.
    #[error("chunk extensions exceed {limit} bytes")]
    ChunkExtensionTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The trailer section is larger than `max_trailer_bytes`.
    #[error("trailer section exceeds {limit} bytes")]
    TrailersTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The (raw) body is larger than `max_body_bytes`.
    #[error("body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The decoded body is larger than the decoder's total cap.
    #[error("decoded body exceeds {limit} bytes")]
    DecodedBodyTooLarge {
        /// The limit.
        limit: u64,
    },
    /// More content codings are chained than allowed.
    #[error("{count} chained content codings (at most {limit})")]
    TooManyCodings {
        /// How many were named.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

/// The peer closed before the message was complete (`eof`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IncompleteMessage {
    /// Closed before a single response byte arrived. On a reused connection this is the
    /// one failure that is always safe to retry.
    #[error("closed before any response byte{}", if *reused_connection { " on a reused connection" } else { "" })]
    ClosedBeforeResponse {
        /// Whether the connection had carried an earlier exchange.
        reused_connection: bool,
    },
    /// Closed in the middle of the response head.
    #[error("closed inside the response head after {received} bytes")]
    Head {
        /// Head bytes received.
        received: usize,
    },
    /// Closed before `Content-Length` bytes arrived.
    #[error("closed after {received} of {expected} body bytes")]
    Body {
        /// The declared length.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// Closed inside a chunked body.
    #[error("closed inside a chunked body after {received} data bytes")]
    Chunked {
        /// Data bytes received.
        received: u64,
    },
    /// A body delimited by the close ended with a close the peer did not authenticate: over
    /// TLS, no `close_notify` alert came before it, so anyone able to end the TCP connection
    /// could have cut the body short (RFC 9112 §9.8). See
    /// [`Connection::handle_incomplete_close`](crate::Connection::handle_incomplete_close).
    #[error(
        "closed without a TLS close_notify after {received} bytes of a body delimited by the close, \
         which may have been cut short (RFC 9112 §9.8)"
    )]
    CloseWithoutNotify {
        /// Body bytes received.
        received: u64,
    },
}

/// A deadline passed (`timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{phase} deadline passed")]
pub struct Timeout {
    /// Which budget ran out.
    pub phase: TimeoutPhase,
}

/// The budgets the core keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Establishing the connection.
    Connect,
    /// No write progress while sending the request.
    Send,
    /// Waiting for the response head after the request was sent.
    WaitForHead,
    /// No byte received for too long while reading the response.
    BetweenBytes,
    /// The whole exchange.
    Total,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::Send => "send",
            TimeoutPhase::WaitForHead => "wait-for-head",
            TimeoutPhase::BetweenBytes => "between-bytes read",
            TimeoutPhase::Total => "whole-call",
        })
    }
}

/// A content coding failed (`decode`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {coding} data: {reason}")]
pub struct DecodeError {
    /// The coding that failed.
    pub coding: &'static str,
    /// What the decoder said.
    pub reason: String,
}

/// The driver called the state machine out of order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} is not allowed while {state}")]
pub struct Misuse {
    /// What was called.
    pub operation: &'static str,
    /// The state the connection was in.
    pub state: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind, in the order of the report's table. The match below is exhaustive, so a
    /// new kind does not compile until it is listed here (and in `docs/report.md`).
    const EVERY_KIND: [ErrorKind; 11] = [
        ErrorKind::Protocol,
        ErrorKind::TooLarge,
        ErrorKind::Eof,
        ErrorKind::Timeout,
        ErrorKind::Decode,
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::RedirectLimit,
        ErrorKind::HttpStatus,
        ErrorKind::RetriesExhausted,
        ErrorKind::InvalidRequest,
    ];

    #[test]
    fn a_core_error_tells_its_detail_once() {
        let errors: [Error; 4] = [
            ProtocolError::MissingReason.into(),
            Timeout { phase: TimeoutPhase::Total }.into(),
            IncompleteMessage::Body { expected: 10, received: 4 }.into(),
            DecodeError { coding: "gzip", reason: "bad".into() }.into(),
        ];
        for error in errors {
            assert!(std::error::Error::source(&error).is_none(), "{error}: the detail is in the message");
        }
        assert_eq!(
            Error::from(Timeout { phase: TimeoutPhase::Total }).to_string(),
            "timed out: whole-call deadline passed"
        );
    }

    #[test]
    fn kinds_map_one_to_one_to_the_reports_kinds() {
        let report = [
            "protocol",
            "too_large",
            "eof",
            "timeout",
            "decode",
            "connect",
            "tls",
            "redirect_limit",
            "http_status",
            "retries_exhausted",
            "invalid_request",
        ];
        for kind in EVERY_KIND {
            let position = match kind {
                ErrorKind::Protocol => 0,
                ErrorKind::TooLarge => 1,
                ErrorKind::Eof => 2,
                ErrorKind::Timeout => 3,
                ErrorKind::Decode => 4,
                ErrorKind::Connect => 5,
                ErrorKind::Tls => 6,
                ErrorKind::RedirectLimit => 7,
                ErrorKind::HttpStatus => 8,
                ErrorKind::RetriesExhausted => 9,
                ErrorKind::InvalidRequest => 10,
            };
            assert_eq!(kind.as_str(), report[position]);
            assert_eq!(kind.to_string(), report[position]);
        }
        let documented = include_str!("../../docs/report.md");
        for name in report {
            assert!(documented.contains(&format!("| `{name}` |")), "{name} is not in docs/report.md");
        }
    }
}
