//! How long a response body is, and whether the connection survives it: one pure function
//! in the order of RFC 9112 §6.3, and the keep-alive reasons of RFC 9112 §9.3.

use crate::error::ProtocolError;
use crate::headers::{eq_lowercase, trim_whitespace, HeaderBlock};
use crate::request::parse_decimal;

/// The HTTP version of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    Http11,
}

impl Version {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// How the end of a response body is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLength {
    /// No body at all (HEAD, 1xx, 204, 304, or `Content-Length: 0`).
    Empty,
    /// The connection becomes a tunnel or another protocol after the head (CONNECT 2xx, 101).
    Tunnel,
    /// Exactly this many bytes.
    ContentLength(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Everything until the server closes the connection.
    CloseDelimited,
}

/// Why a connection cannot carry another request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The server sent `Connection: close`.
    ServerClose,
    /// The request carried `Connection: close`.
    ClientClose,
    /// An HTTP/1.0 response without `Connection: keep-alive` (RFC 9112 §9.3).
    Http10,
    /// The body was delimited by the close itself.
    CloseDelimited,
    /// The response had both Transfer-Encoding and Content-Length (RFC 9112 §6.3 rule 3):
    /// a smuggling signal, so the connection is not trusted again.
    TeAndCl,
    /// The request was not sent completely (failed, abandoned, or cut short by an early
    /// response).
    Aborted,
    /// Bytes arrived that no request asked for.
    UnsolicitedData,
    /// The peer broke the protocol.
    ProtocolError,
    /// The connection became a tunnel or switched protocols.
    Upgraded,
    /// A deadline passed.
    Timeout,
    /// The peer closed the connection.
    PeerClosed,
    /// The connection sat idle past its idle timeout.
    IdleTimeout,
}

impl CloseReason {
    /// The name used in reports: `server_close`, `http10`, `close_delimited`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ServerClose => "server_close",
            CloseReason::ClientClose => "client_close",
            CloseReason::Http10 => "http10",
            CloseReason::CloseDelimited => "close_delimited",
            CloseReason::TeAndCl => "te_and_cl",
            CloseReason::Aborted => "aborted",
            CloseReason::UnsolicitedData => "unsolicited_data",
            CloseReason::ProtocolError => "protocol_error",
            CloseReason::Upgraded => "upgraded",
            CloseReason::Timeout => "timeout",
            CloseReason::PeerClosed => "peer_closed",
            CloseReason::IdleTimeout => "idle_timeout",
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the request implies for reading its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseContext {
    /// The request was HEAD.
    pub is_head: bool,
    /// The request was CONNECT.
    pub is_connect: bool,
    /// The request asked for an upgrade, so `101` is acceptable.
    pub upgrade: bool,
}

/// A final response's framing and keep-alive verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing {
    /// How the body ends.
    pub length: BodyLength,
    /// Why the connection cannot be reused after this response, if it cannot.
    pub close: Option<CloseReason>,
}

/// Decides a final (non-1xx, or 101) response's body length and keep-alive, in the order of
/// RFC 9112 §6.3.
pub fn response_framing(
    context: ResponseContext,
    version: Version,
    status: u16,
    headers: &HeaderBlock,
) -> Result<Framing, ProtocolError> {
    let mut fields = FramingFields::default();
    for (name, value) in headers.raw_fields() {
        fields.observe(name, value);
    }
    decide(context, version, status, &fields, headers)
}

/// [`response_framing`] with the fields already gathered while the head was indexed.
#[inline(always)]
pub(crate) fn decide(
    context: ResponseContext,
    version: Version,
    status: u16,
    fields: &FramingFields,
    headers: &HeaderBlock,
) -> Result<Framing, ProtocolError> {
    let length = body_length(context, version, status, fields, headers)?;
    let close = keep_alive(version, fields, length);
    Ok(Framing { length, close })
}

#[inline]
fn body_length(
    context: ResponseContext,
    version: Version,
    status: u16,
    fields: &FramingFields,
    headers: &HeaderBlock,
) -> Result<BodyLength, ProtocolError> {
    // Rules 1 and 2 concern few responses; the rest pass them with one test.
    if status < 200 || status == 204 || status == 304 || context.is_head || context.is_connect {
        if let Some(length) = length_without_fields(context, status) {
            return Ok(length);
        }
    }
    if fields.transfer_encoding_lines > 0 {
        // §6.1: "A server or client that receives an HTTP/1.0 message containing a
        //  Transfer-Encoding header field MUST treat the message as if the framing is
        //  faulty, even if a Content-Length is present."
        if version == Version::Http10 {
            return Err(ProtocolError::TransferEncodingInHttp10);
        }
        // §7: "A sender MUST NOT apply the chunked transfer coding more than once", and
        // chunked, when applied, is the final coding (§6.1); a list where it is not cannot be
        // framed safely.
        if fields.codings == 0 || fields.chunked > 1 || (fields.chunked == 1 && !fields.last_is_chunked) {
            return Err(invalid_transfer_encoding(headers));
        }
        // A coding this client cannot undo would hand the body out still coded: refuse it
        // (the name is compared whole: `xchunked` is not `chunked`).
        if fields.unsupported_coding {
            return Err(ProtocolError::UnsupportedTransferCoding { value: joined(headers, "transfer-encoding") });
        }
        // 3./4. Transfer-Encoding overrides Content-Length. "If the chunked transfer coding
        //    is the final encoding, the message body length is determined by reading and
        //    decoding the chunked data"; if it is not final (here: absent), in a response,
        //    "by reading the connection until it is closed by the server". The other codings
        //    are undone by the content decoder, in order.
        return Ok(if fields.last_is_chunked { BodyLength::Chunked } else { BodyLength::CloseDelimited });
    }
    // 5./6. Content-Length: every value must be 1*DIGIT and all must agree.
    if fields.content_length_invalid {
        return Err(invalid_content_length(headers));
    }
    match fields.content_length {
        Some(0) => Ok(BodyLength::Empty),
        Some(length) => Ok(BodyLength::ContentLength(length)),
        // 8. "Otherwise, this is a response message without a declared message body length,
        //    so the message body length is determined by the number of octets received prior
        //    to the server closing the connection."
        None => Ok(BodyLength::CloseDelimited),
    }
}

/// RFC 9112 §6.3 rules 1 and 2: the responses whose length the fields do not decide.
#[inline]
fn length_without_fields(context: ResponseContext, status: u16) -> Option<BodyLength> {
    // 1. "Any response to a HEAD request and any response with a 1xx (Informational),
    //    204 (No Content), or 304 (Not Modified) status code is always terminated by the
    //    first empty line after the header fields, regardless of the header fields present."
    //    (101 is a 1xx, but once accepted the connection switches protocols: a tunnel.)
    if status == 101 {
        return Some(BodyLength::Tunnel);
    }
    if context.is_head || (100..200).contains(&status) || status == 204 || status == 304 {
        return Some(BodyLength::Empty);
    }
    // 2. "Any 2xx (Successful) response to a CONNECT request implies that the connection
    //    will become a tunnel immediately after the empty line that concludes the header
    //    fields. A client MUST ignore any Content-Length or Transfer-Encoding header fields."
    if context.is_connect && (200..300).contains(&status) {
        return Some(BodyLength::Tunnel);
    }
    None
}

/// What the framing and keep-alive rules need from the head, gathered in one pass.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FramingFields {
    transfer_encoding_lines: usize,
    codings: usize,
    chunked: usize,
    last_is_chunked: bool,
    /// A transfer coding that is neither chunked nor one the content decoder can undo.
    unsupported_coding: bool,
    content_length: Option<u64>,
    content_length_invalid: bool,
    close: bool,
    keep_alive: bool,
}

impl FramingFields {
    /// Takes note of one field if it is one of the three that framing depends on.
    ///
    /// Called for every field of every head, so the test that rejects the rest is one
    /// comparison of lengths, inlined; the three fields are handled out of line, which keeps
    /// the caller's loop small.
    #[inline]
    pub(crate) fn observe(&mut self, name: &[u8], value: &[u8]) {
        if matches!(name.len(), 10 | 14 | 17) {
            self.observe_candidate(name, value);
        }
    }

    /// The usual single-element values, with nothing that needs saved registers; lists and
    /// anything unusual go on to [`observe_list`](Self::observe_list).
    #[inline(never)]
    fn observe_candidate(&mut self, name: &[u8], value: &[u8]) {
        match name.len() {
            17 if eq_lowercase(name, b"transfer-encoding") => {
                if eq_lowercase(value, b"chunked") {
                    self.transfer_encoding_lines += 1;
                    self.coding(true);
                    return;
                }
            }
            14 if eq_lowercase(name, b"content-length") => {
                if let Some(parsed) = parse_decimal(value) {
                    self.content_length_element(Some(parsed));
                    return;
                }
            }
            10 if eq_lowercase(name, b"connection") => {
                if eq_lowercase(value, b"keep-alive") {
                    self.keep_alive = true;
                    return;
                }
            }
            _ => return,
        }
        self.observe_list(name.len(), value);
    }

    /// A framing field whose value is a list, empty or not a single valid element: each
    /// element in turn. `name_length` says which of the three it is.
    #[inline(never)]
    fn observe_list(&mut self, name_length: usize, value: &[u8]) {
        match name_length {
            17 => {
                self.transfer_encoding_lines += 1;
                for coding in value.split(|&byte| byte == b',').map(trim_whitespace) {
                    if coding.is_empty() {
                        continue;
                    }
                    let chunked = eq_lowercase(coding, b"chunked");
                    let undoable = chunked
                        || coding.eq_ignore_ascii_case(b"identity")
                        || crate::coding::Coding::from_name(coding).is_some();
                    self.unsupported_coding |= !undoable;
                    self.coding(chunked);
                }
            }
            // An empty field or list element is as invalid as a non-digit.
            14 => {
                for element in value.split(|&byte| byte == b',') {
                    self.content_length_element(parse_decimal(trim_whitespace(element)));
                }
            }
            _ => {
                for option in value.split(|&byte| byte == b',').map(trim_whitespace) {
                    self.close |= eq_lowercase(option, b"close");
                    self.keep_alive |= eq_lowercase(option, b"keep-alive");
                }
            }
        }
    }

    fn coding(&mut self, is_chunked: bool) {
        self.codings += 1;
        self.last_is_chunked = is_chunked;
        self.chunked += usize::from(is_chunked);
    }

    fn content_length_element(&mut self, parsed: Option<u64>) {
        match (parsed, self.content_length) {
            (Some(parsed), None) => self.content_length = Some(parsed),
            (Some(parsed), Some(previous)) if parsed == previous => {}
            _ => self.content_length_invalid = true,
        }
    }
}

/// RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive`, and
/// only when the body's end is known without the close.
#[inline]
fn keep_alive(version: Version, fields: &FramingFields, length: BodyLength) -> Option<CloseReason> {
    if fields.close {
        return Some(CloseReason::ServerClose);
    }
    if version == Version::Http10 && !fields.keep_alive {
        return Some(CloseReason::Http10);
    }
    match length {
        BodyLength::Tunnel => Some(CloseReason::Upgraded),
        BodyLength::CloseDelimited => Some(CloseReason::CloseDelimited),
        BodyLength::Chunked if fields.content_length.is_some() || fields.content_length_invalid => {
            Some(CloseReason::TeAndCl)
        }
        _ => None,
    }
}

fn invalid_content_length(headers: &HeaderBlock) -> ProtocolError {
    ProtocolError::InvalidContentLength { value: joined(headers, "content-length") }
}

fn invalid_transfer_encoding(headers: &HeaderBlock) -> ProtocolError {
    ProtocolError::InvalidTransferEncoding { value: joined(headers, "transfer-encoding") }
}

fn joined(headers: &HeaderBlock, name: &str) -> String {
    let values: Vec<String> = headers.get_all(name).map(|value| String::from_utf8_lossy(value).into_owned()).collect();
    values.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(fields: &[(&str, &str)]) -> HeaderBlock {
        let headers: crate::Headers = fields.iter().copied().collect();
        HeaderBlock::from(&headers)
    }

    const GET: ResponseContext = ResponseContext { is_head: false, is_connect: false, upgrade: false };
    const HEAD: ResponseContext = ResponseContext { is_head: true, is_connect: false, upgrade: false };
    const CONNECT: ResponseContext = ResponseContext { is_head: false, is_connect: true, upgrade: false };
    const V11: Version = Version::Http11;
    const V10: Version = Version::Http10;

    fn length(
        context: ResponseContext,
        version: Version,
        status: u16,
        fields: &[(&str, &str)],
    ) -> Result<BodyLength, ProtocolError> {
        response_framing(context, version, status, &block(fields)).map(|framing| framing.length)
    }

    fn close(version: Version, status: u16, fields: &[(&str, &str)]) -> Option<CloseReason> {
        response_framing(GET, version, status, &block(fields)).expect("valid framing").close
    }

    #[test]
    fn rule_1_head_1xx_204_304_have_no_body_whatever_the_headers() {
        let framing = [("Content-Length", "10"), ("Transfer-Encoding", "chunked")];
        assert_eq!(length(HEAD, V11, 200, &framing), Ok(BodyLength::Empty));
        assert_eq!(length(GET, V11, 103, &framing), Ok(BodyLength::Empty));
        assert_eq!(length(GET, V11, 204, &framing), Ok(BodyLength::Empty));
        assert_eq!(length(GET, V11, 304, &framing), Ok(BodyLength::Empty));
        assert_eq!(length(HEAD, V11, 200, &[("Content-Length", "nonsense")]), Ok(BodyLength::Empty));
    }

    #[test]
    fn rule_2_connect_2xx_is_a_tunnel_and_ignores_framing() {
        let framing = [("Content-Length", "10")];
        assert_eq!(length(CONNECT, V11, 200, &framing), Ok(BodyLength::Tunnel));
        assert_eq!(length(CONNECT, V11, 407, &framing), Ok(BodyLength::ContentLength(10)));
        assert_eq!(length(GET, V11, 101, &[]), Ok(BodyLength::Tunnel));
        assert_eq!(close(V11, 101, &[]), Some(CloseReason::Upgraded));
    }

    #[test]
    fn rule_3_te_overrides_cl_and_poisons_the_connection() {
        let fields = [("Content-Length", "5"), ("Transfer-Encoding", "chunked")];
        assert_eq!(length(GET, V11, 200, &fields), Ok(BodyLength::Chunked));
        assert_eq!(close(V11, 200, &fields), Some(CloseReason::TeAndCl));
        // Even an invalid Content-Length is overridden.
        assert_eq!(
            length(GET, V11, 200, &[("Content-Length", "x"), ("Transfer-Encoding", "chunked")]),
            Ok(BodyLength::Chunked)
        );
    }

    #[test]
    #[cfg(all(feature = "gzip", feature = "brotli"))]
    fn rule_4_te_ending_in_chunked_is_chunked_otherwise_read_to_close() {
        assert_eq!(length(GET, V11, 200, &[("Transfer-Encoding", "chunked")]), Ok(BodyLength::Chunked));
        assert_eq!(length(GET, V11, 200, &[("Transfer-Encoding", "gzip, Chunked")]), Ok(BodyLength::Chunked));
        assert_eq!(
            length(GET, V11, 200, &[("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]),
            Ok(BodyLength::Chunked)
        );
        assert_eq!(length(GET, V11, 200, &[("Transfer-Encoding", "gzip")]), Ok(BodyLength::CloseDelimited));
        assert_eq!(length(GET, V11, 200, &[("Transfer-Encoding", "gzip, br")]), Ok(BodyLength::CloseDelimited));
        assert_eq!(close(V11, 200, &[("Transfer-Encoding", "gzip")]), Some(CloseReason::CloseDelimited));
        // chunked twice, or anywhere but last, cannot be framed safely.
        for value in ["chunked, chunked", "chunked, gzip", "gzip, chunked, chunked", ""] {
            assert!(
                matches!(
                    length(GET, V11, 200, &[("Transfer-Encoding", value)]),
                    Err(ProtocolError::InvalidTransferEncoding { .. })
                ),
                "{value:?}"
            );
        }
        assert!(matches!(
            length(GET, V11, 200, &[("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")]),
            Err(ProtocolError::InvalidTransferEncoding { .. })
        ));
    }

    #[test]
    #[cfg(feature = "gzip")]
    fn a_transfer_coding_that_cannot_be_undone_is_refused() {
        // A name that merely contains "chunked" is another, unknown coding.
        for value in ["xchunked", "chunked-x, chunked", "compress, chunked", "x-custom", "gzip, snappy"] {
            assert!(
                matches!(
                    length(GET, V11, 200, &[("Transfer-Encoding", value)]),
                    Err(ProtocolError::UnsupportedTransferCoding { .. })
                ),
                "{value:?}"
            );
        }
        assert_eq!(length(GET, V11, 200, &[("Transfer-Encoding", "identity, chunked")]), Ok(BodyLength::Chunked));
    }

    #[test]
    fn chunked_alone_needs_no_coding_feature() {
        assert_eq!(length(GET, V11, 200, &[("Transfer-Encoding", "chunked")]), Ok(BodyLength::Chunked));
        assert!(matches!(
            length(GET, V11, 200, &[("Transfer-Encoding", "chunked, chunked")]),
            Err(ProtocolError::InvalidTransferEncoding { .. })
        ));
        assert!(matches!(
            length(GET, V11, 200, &[("Transfer-Encoding", "xchunked")]),
            Err(ProtocolError::UnsupportedTransferCoding { .. })
        ));
    }

    #[test]
    fn te_in_http10_is_faulty_framing() {
        assert_eq!(
            length(GET, V10, 200, &[("Transfer-Encoding", "chunked")]),
            Err(ProtocolError::TransferEncodingInHttp10)
        );
        assert_eq!(
            length(GET, V10, 200, &[("Transfer-Encoding", "chunked"), ("Content-Length", "3")]),
            Err(ProtocolError::TransferEncodingInHttp10)
        );
    }

    #[test]
    fn rule_5_and_6_content_length_forms() {
        let ok = |value: &str| length(GET, V11, 200, &[("Content-Length", value)]);
        assert_eq!(ok("42"), Ok(BodyLength::ContentLength(42)));
        assert_eq!(ok("0"), Ok(BodyLength::Empty));
        assert_eq!(ok("007"), Ok(BodyLength::ContentLength(7)));
        assert_eq!(ok("42, 42"), Ok(BodyLength::ContentLength(42)));
        assert_eq!(ok("18446744073709551615"), Ok(BodyLength::ContentLength(u64::MAX)));
        for bad in [
            "",
            "+5",
            "-5",
            "5x",
            "0x10",
            "4 2",
            "42, 43",
            "42,",
            "1e3",
            "18446744073709551616",
            "99999999999999999999999",
        ] {
            assert!(matches!(ok(bad), Err(ProtocolError::InvalidContentLength { .. })), "{bad:?} accepted");
        }
        assert_eq!(
            length(GET, V11, 200, &[("Content-Length", "3"), ("content-length", "3")]),
            Ok(BodyLength::ContentLength(3))
        );
        assert!(length(GET, V11, 200, &[("Content-Length", "3"), ("content-length", "4")]).is_err());
    }

    #[test]
    fn rule_8_no_length_reads_to_close() {
        assert_eq!(length(GET, V11, 200, &[]), Ok(BodyLength::CloseDelimited));
        assert_eq!(close(V11, 200, &[]), Some(CloseReason::CloseDelimited));
    }

    #[test]
    fn keep_alive_reasons() {
        let cl = ("Content-Length", "1");
        assert_eq!(close(V11, 200, &[cl]), None);
        assert_eq!(close(V11, 200, &[cl, ("Connection", "Close")]), Some(CloseReason::ServerClose));
        assert_eq!(close(V11, 200, &[cl, ("Connection", "foo, close")]), Some(CloseReason::ServerClose));
        assert_eq!(close(V10, 200, &[cl]), Some(CloseReason::Http10));
        assert_eq!(close(V10, 200, &[cl, ("Connection", "Keep-Alive")]), None);
        assert_eq!(close(V10, 200, &[("Connection", "keep-alive")]), Some(CloseReason::CloseDelimited));
        assert_eq!(close(V10, 204, &[("Connection", "keep-alive")]), None);
        // A list or stray blanks take the general path, which must agree with the fast one.
        assert_eq!(close(V11, 200, &[cl, ("Connection", "keep-alive, close")]), Some(CloseReason::ServerClose));
        assert_eq!(close(V11, 200, &[cl, ("Connection", " close ")]), Some(CloseReason::ServerClose));
        assert_eq!(close(V10, 200, &[cl, ("Connection", " KEEP-ALIVE\t")]), None);
        assert_eq!(length(GET, V11, 200, &[("Transfer-Encoding", " CHUNKED ")]), Ok(BodyLength::Chunked));
        assert_eq!(length(GET, V11, 200, &[("Content-Length", " 7 ")]), Ok(BodyLength::ContentLength(7)));
    }
}
