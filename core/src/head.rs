//! Finding and parsing a response head (status line and header section, RFC 9112 §2–5).
//!
//! The search for the blank line that ends the head is resumable: it keeps its place
//! between calls and never re-scans bytes it has seen. The head is copied once into a
//! reused buffer and handed to httparse once, when it is complete.

use std::mem::MaybeUninit;
use std::ops::Range;

use crate::config::{Leniency, Limits};
use crate::error::{Error, LimitExceeded, ProtocolError};
use crate::framing::{FramingFields, Version};
use crate::headers::{HeaderBlock, Span};

/// A received status line and header section.
///
/// Kept in a buffer the decoder reuses, so a head is valid until the next call into the
/// decoder or connection that produced it.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    version: Version,
    status: u16,
    reason: Range<u32>,
    headers: HeaderBlock,
    /// What framing needs, gathered while indexing.
    framing_fields: FramingFields,
}

impl Default for ResponseHead {
    fn default() -> Self {
        ResponseHead {
            version: Version::Http11,
            status: 0,
            reason: 0..0,
            headers: HeaderBlock::default(),
            framing_fields: FramingFields::default(),
        }
    }
}

impl ResponseHead {
    /// The HTTP version the server answered with.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The status code (100–999).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The status as the `http` crate's type.
    pub fn status_code(&self) -> http::StatusCode {
        // `status` is three digits from 100 to 999, which StatusCode accepts.
        http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The reason phrase as sent (may be empty; bytes may be obs-text).
    pub fn reason(&self) -> &[u8] {
        &self.headers.raw[self.reason.start as usize..self.reason.end as usize]
    }

    /// The header fields, in wire order and case.
    pub fn headers(&self) -> &HeaderBlock {
        &self.headers
    }

    /// Whether this is a 1xx response.
    pub fn is_informational(&self) -> bool {
        (100..200).contains(&self.status)
    }

    pub(crate) fn framing_fields(&self) -> &FramingFields {
        &self.framing_fields
    }

    /// The head as the `http` crate's response (with an empty body), for interop. Fields
    /// `http` cannot represent are skipped; names become lowercase.
    pub fn to_http(&self) -> http::Response<()> {
        let mut response = http::Response::new(());
        *response.status_mut() = self.status_code();
        *response.version_mut() = match self.version {
            Version::Http10 => http::Version::HTTP_10,
            Version::Http11 => http::Version::HTTP_11,
        };
        *response.headers_mut() = self.headers.to_http();
        response
    }

    /// The raw bytes of the head as received, status line through the blank line.
    pub fn raw(&self) -> &[u8] {
        &self.headers.raw
    }

    pub(crate) fn clear(&mut self) {
        self.headers.clear();
        self.reason = 0..0;
        self.status = 0;
    }

    pub(crate) fn buffer_mut(&mut self) -> &mut Vec<u8> {
        &mut self.headers.raw
    }

    /// The fast path for the common case: `input` holds the whole head, which is strictly
    /// valid. httparse finds its end while parsing it in place; then it is copied. On
    /// anything unusual this returns `None` with nothing kept, and the caller takes the
    /// resumable path, which decides the exact outcome. Both paths agree on every head this
    /// one accepts. It runs at most once per head, on the head's first input.
    #[inline]
    pub(crate) fn parse_whole(&mut self, input: &[u8], limits: &Limits) -> Option<usize> {
        let strict = Leniency::strict();
        // httparse skips empty lines before the status line, which only the resumable path
        // may allow (after an interim response): the head must start at the first byte. And
        // httparse accepts a bare LF where RFC 9112 §2.2 wants CR LF. Without obs-fold each
        // field line starts right after the line before it, so the byte two before each name
        // is the CR of the line before (`parse_from` checks those after indexing); the status
        // line's is at the reason's end, and the last field line's and the blank line's are
        // the "\r\n\r\n" checked here.
        let end = match self.parse_from(input, limits, &strict) {
            Ok((end, true))
                if input.first() == Some(&b'H')
                    && end <= limits.max_head_bytes
                    && input[..end].ends_with(b"\r\n\r\n")
                    && input.get(self.reason.end as usize) == Some(&b'\r') =>
            {
                end
            }
            _ => {
                self.clear();
                return None;
            }
        };
        self.headers.raw.extend_from_slice(&input[..end]);
        Some(end)
    }

    /// Parses the complete head already copied into the buffer; returns its length.
    pub(crate) fn parse(&mut self, limits: &Limits, leniency: &Leniency) -> Result<usize, Error> {
        // Lend the buffer out (no copy, no allocation) so the fields can be indexed into it.
        let raw = std::mem::take(&mut self.headers.raw);
        let parsed = self.parse_from(&raw, limits, leniency).map(|(length, _)| length);
        self.headers.raw = raw;
        if parsed.is_ok() && leniency.allow_obs_fold {
            unfold(&mut self.headers)?;
        }
        parsed
    }

    /// Parses the head at the start of `source`, recording everything as offsets into it,
    /// which stay valid once `source[..length]` is the buffer. Does not touch the buffer.
    /// Returns the head's length and whether the byte two before each field name is a CR
    /// (which is what [`parse_whole`](Self::parse_whole) needs; the other path ignores it).
    /// Inlined into both callers, so the strict path's constant configuration folds away
    /// (measured: ~3% of a head step).
    #[inline(always)]
    fn parse_from(&mut self, source: &[u8], limits: &Limits, leniency: &Leniency) -> Result<(usize, bool), Error> {
        let mut config = httparse::ParserConfig::default();
        config
            .allow_obsolete_multiline_headers_in_responses(leniency.allow_obs_fold)
            .allow_spaces_after_header_name_in_responses(leniency.allow_space_before_colon);
        let base = source.as_ptr() as usize;
        let mut response = httparse::Response::new(&mut []);
        let mut stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 128];
        let mut heap;
        let storage: &mut [MaybeUninit<httparse::Header<'_>>] = if limits.max_headers <= stack.len() {
            &mut stack[..limits.max_headers]
        } else {
            heap = Vec::with_capacity(limits.max_headers);
            heap.resize_with(limits.max_headers, MaybeUninit::uninit);
            &mut heap
        };
        let length = match config.parse_response_with_uninit_headers(&mut response, source, storage) {
            Ok(httparse::Status::Complete(length)) => length,
            Ok(httparse::Status::Partial) => {
                return Err(ProtocolError::MalformedHead { reason: "head ended early" }.into())
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(LimitExceeded::TooManyHeaders { limit: limits.max_headers }.into())
            }
            Err(error) => return Err(ProtocolError::MalformedHead { reason: httparse_reason(error) }.into()),
        };
        let status = response.code.unwrap_or(0);
        if status < 100 {
            return Err(ProtocolError::InvalidStatus { code: status }.into());
        }
        // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
        if source.get(12) != Some(&b' ') && !leniency.allow_missing_reason {
            return Err(ProtocolError::MissingReason.into());
        }
        self.version = if response.version == Some(0) { Version::Http10 } else { Version::Http11 };
        self.status = status;
        // Where each field lies (a loop the compiler keeps tight: nothing else in it), then
        // whether the byte two before each name is a CR (a fold: the flag stays in a register;
        // kept in the indexing closure it went through memory once per field, a chain of
        // store-to-load forwarding), then what framing needs, while the fields are hot.
        let fields = &mut self.headers.fields;
        index_fields(fields, base, response.headers);
        let crlf = fields
            .iter()
            .fold(true, |crlf, (name, _)| crlf & (source.get(name.start().wrapping_sub(2)) == Some(&b'\r')));
        // httparse hides a reason holding obs-text, so take its bytes from the status line:
        // everything after "HTTP/1.x DDD " up to the line's end. The first field starts right
        // after that line's LF; without fields, search for it.
        let line_end = match fields.first() {
            Some((name, _)) if source.get(name.start().wrapping_sub(2)..name.start()) == Some(b"\r\n") => {
                name.start() - 2
            }
            _ => {
                let lf = memchr::memchr(b'\n', &source[..length]).unwrap_or(length);
                if lf > 0 && source[lf - 1] == b'\r' {
                    lf - 1
                } else {
                    lf
                }
            }
        };
        let reason_start = 13.min(line_end);
        self.reason = reason_start as u32..line_end as u32;
        // In place: a local copied over afterwards would be read back wide right after the
        // narrow stores that filled it, which stalls store forwarding.
        let framing = &mut self.framing_fields;
        *framing = FramingFields::default();
        for header in response.headers.iter() {
            framing.observe(header.name.as_bytes(), header.value);
        }
        Ok((length, crlf))
    }
}

/// Records where each parsed name and (trimmed) value lies in the buffer at `base`. One
/// `extend` with nothing else in its loop (a `push` per field measured ~100 instructions more
/// per head).
#[inline(always)]
pub(crate) fn index_fields(fields: &mut Vec<(Span, Span)>, base: usize, parsed: &[httparse::Header<'_>]) {
    // httparse has already trimmed optional whitespace from both ends of each value.
    fields.clear();
    fields.extend(parsed.iter().map(|header| {
        let name_start = (header.name.as_ptr() as usize - base) as u32;
        let value_start = (header.value.as_ptr() as usize - base) as u32;
        (Span::new(name_start, header.name.len() as u32), Span::new(value_start, header.value.len() as u32))
    }));
}

/// RFC 9112 §5.2: "A user agent that receives an obs-fold in a response message ... MUST
/// replace each received obs-fold with one or more SP octets prior to interpreting the field
/// value." The buffer is ours, so the fold is overwritten in place. A fold in a field that
/// decides framing or keep-alive is refused: proxies may read it differently.
pub(crate) fn unfold(block: &mut HeaderBlock) -> Result<(), Error> {
    const FRAMING: [&[u8]; 3] = [b"content-length", b"transfer-encoding", b"connection"];
    let HeaderBlock { raw, fields } = block;
    for (name, value) in fields.iter() {
        let (name, value) = (name.range(), value.range());
        // A fold may also sit before the value (`Name:` CRLF SP value), where the value's
        // trimmed range does not reach.
        if !raw[name.end..value.end].iter().any(|byte| matches!(*byte, b'\r' | b'\n')) {
            continue;
        }
        if FRAMING.iter().any(|framing| raw[name.clone()].eq_ignore_ascii_case(framing)) {
            return Err(ProtocolError::MalformedHead { reason: "obs-fold in a framing field" }.into());
        }
        for byte in &mut raw[value] {
            if matches!(*byte, b'\r' | b'\n') {
                *byte = b' ';
            }
        }
    }
    Ok(())
}

pub(crate) fn httparse_reason(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Token => "invalid token",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}

/// Where a field section ends, found incrementally.
///
/// Feeds on any split of the input and remembers the current line's length and the byte
/// before the split, so no byte is looked at twice.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineScanner {
    /// Bytes seen so far in this section.
    total: usize,
    /// Bytes of the current line seen so far (its terminator excluded).
    line_len: usize,
    /// Whether the last byte seen was CR.
    last_was_cr: bool,
    /// Whether a non-empty line has been seen.
    seen_content: bool,
}

/// The outcome of scanning more input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The section ends after this many bytes of the input just given.
    Complete(usize),
    /// All of the input belongs to the section, which goes on.
    Partial,
}

/// What a section is, for the scanner's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// A response head: starts with the status line, so an empty first line is an error.
    Head,
    /// A trailer section: may be empty, ending at its first empty line.
    Trailers,
}

impl LineScanner {
    pub(crate) fn reset(&mut self) {
        *self = LineScanner::default();
    }

    /// Bytes seen so far in this section.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// Scans `input`, which continues the bytes seen before.
    pub(crate) fn scan(&mut self, input: &[u8], section: Section, allow_bare_lf: bool) -> Result<Scan, ProtocolError> {
        let mut position = 0;
        for lf in memchr::memchr_iter(b'\n', input) {
            let cr = if lf > 0 { input[lf - 1] == b'\r' } else { self.last_was_cr };
            // Line content so far: bytes before this LF on this line, without its CR.
            let content = self.line_len + (lf - position) - usize::from(cr);
            if !cr && !allow_bare_lf {
                return Err(ProtocolError::BareLf { offset: self.total + lf });
            }
            position = lf + 1;
            self.line_len = 0;
            self.last_was_cr = false;
            if content == 0 {
                if section == Section::Head && !self.seen_content {
                    return Err(ProtocolError::MalformedHead { reason: "empty line before the status line" });
                }
                self.total += position;
                return Ok(Scan::Complete(position));
            }
            self.seen_content = true;
        }
        self.line_len += input.len() - position;
        if let Some(&last) = input.last() {
            self.last_was_cr = last == b'\r';
        }
        self.total += input.len();
        Ok(Scan::Partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(bytes: &[u8], split: usize, section: Section, lenient: bool) -> Result<Option<usize>, ProtocolError> {
        let mut scanner = LineScanner::default();
        let mut offset = 0;
        for piece in bytes.chunks(split.max(1)) {
            if let Scan::Complete(used) = scanner.scan(piece, section, lenient)? {
                return Ok(Some(offset + used));
            }
            offset += piece.len();
        }
        Ok(None)
    }

    #[test]
    fn scanner_finds_the_blank_line_under_every_split() {
        let head = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";
        for split in 1..head.len() {
            assert_eq!(scan_all(head, split, Section::Head, false), Ok(Some(head.len() - 4)), "split {split}");
        }
        assert_eq!(scan_all(b"HTTP/1.1 200 OK\r\nA: b\r\n", 3, Section::Head, false), Ok(None));
    }

    #[test]
    fn scanner_rules() {
        assert_eq!(
            scan_all(b"HTTP/1.1 200 OK\nA: b\r\n\r\n", 100, Section::Head, false),
            Err(ProtocolError::BareLf { offset: 15 })
        );
        assert_eq!(scan_all(b"HTTP/1.1 200 OK\nA: b\n\n", 1, Section::Head, true), Ok(Some(22)));
        assert!(scan_all(b"\r\nHTTP/1.1 200 OK\r\n\r\n", 100, Section::Head, false).is_err());
        assert_eq!(scan_all(b"\r\n", 1, Section::Trailers, false), Ok(Some(2)));
        assert_eq!(scan_all(b"X: 1\r\n\r\nrest", 1, Section::Trailers, false), Ok(Some(8)));
        // A CR at the end of one piece pairs with the LF at the start of the next.
        assert_eq!(scan_all(b"HTTP/1.1 200 OK\r\n\r\n", 16, Section::Head, false), Ok(Some(19)));
    }
}
