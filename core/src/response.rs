//! The incremental response decoder: head, 1xx, body framing, trailers and EOF.
//!
//! Feed it any split of the bytes; it yields exactly the same events. Body data comes back as
//! slices of the input. The decoder never reads a clock and never allocates per response once
//! its buffers have grown to the largest head seen.

use crate::chunked::{Chunk, ChunkedDecoder};
use crate::config::{Leniency, Limits};
use crate::error::{Error, IncompleteMessage, LimitExceeded, ProtocolError};
use crate::framing::{decide, BodyLength, Framing, ResponseContext};
use crate::head::{LineScanner, ResponseHead, Scan, Section};
use crate::headers::HeaderBlock;

/// What the decoder produced.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// An interim 1xx response (`100 Continue`, `103 Early Hints`, …) with its headers.
    Informational(&'a ResponseHead),
    /// The final response head. For `101` (when an upgrade was asked for) and a 2xx answer
    /// to CONNECT, the bytes after the head belong to the new protocol or tunnel.
    Head(&'a ResponseHead),
    /// Body data: a slice of the input, exactly as framed (not content-decoded).
    Data(&'a [u8]),
    /// The trailer section of a chunked body, when it has fields.
    Trailers(&'a HeaderBlock),
    /// The response is complete.
    End,
}

/// Decodes one response at a time.
///
/// ```
/// use tidings_core::{Event, ResponseContext, ResponseDecoder};
/// let mut decoder = ResponseDecoder::default();
/// decoder.start(ResponseContext::default());
/// let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
/// let mut position = 0;
/// let mut body = Vec::new();
/// loop {
///     let (used, event) = decoder.decode(&bytes[position..])?;
///     position += used;
///     match event {
///         Some(Event::Head(head)) => assert_eq!(head.status(), 200),
///         Some(Event::Data(data)) => body.extend_from_slice(data),
///         Some(Event::End) => break,
///         Some(_) => {}
///         None => unreachable!("the bytes hold a whole response"),
///     }
/// }
/// assert_eq!(body, b"hi");
/// # Ok::<(), tidings_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ResponseDecoder {
    limits: Limits,
    leniency: Leniency,
    /// The default leniency, so the whole-head fast path applies (kept as one flag so the
    /// hot path reads a byte, not the options).
    strict: bool,
    context: ResponseContext,
    state: State,
    scanner: LineScanner,
    head: ResponseHead,
    trailers: HeaderBlock,
    chunked: ChunkedDecoder,
    framing: Option<Framing>,
    body_received: u64,
    bytes_received: u64,
    /// Empty lines skipped after an interim response, and whether the last byte seen there
    /// was a CR waiting for its LF.
    blank_lines: usize,
    pending_cr: bool,
}

/// At most this many empty lines are skipped between an interim response and the next status
/// line (a known server habit); more is an error.
const MAX_BLANK_LINES: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Collecting a head (interim or final).
    #[default]
    Head,
    /// A 1xx head was handed out; the next call starts the next head.
    AfterInformational,
    /// The final head was handed out; the body follows.
    Body,
    /// The chunked body ended with trailers that were handed out.
    AfterTrailers,
    /// The response is complete.
    Done,
}

impl Default for ResponseDecoder {
    /// Default limits, strict parsing.
    fn default() -> Self {
        ResponseDecoder::new(Limits::default(), Leniency::default())
    }
}

impl ResponseDecoder {
    /// A decoder with these limits and leniencies.
    pub fn new(limits: Limits, leniency: Leniency) -> Self {
        ResponseDecoder {
            strict: leniency == Leniency::default(),
            limits,
            leniency,
            context: ResponseContext::default(),
            state: State::Head,
            scanner: LineScanner::default(),
            head: ResponseHead::default(),
            trailers: HeaderBlock::default(),
            chunked: ChunkedDecoder::new(),
            framing: None,
            body_received: 0,
            bytes_received: 0,
            blank_lines: 0,
            pending_cr: false,
        }
    }

    /// Prepares for the next response, keeping buffers. `context` says what was asked
    /// (HEAD, CONNECT, an upgrade), which changes framing.
    pub fn start(&mut self, context: ResponseContext) {
        self.context = context;
        self.state = State::Head;
        self.scanner.reset();
        self.head.clear();
        self.trailers.clear();
        self.chunked = ChunkedDecoder::new();
        self.framing = None;
        self.body_received = 0;
        self.bytes_received = 0;
        self.blank_lines = 0;
        self.pending_cr = false;
    }

    /// The final head's framing and keep-alive verdict, once the head was decoded.
    pub fn framing(&self) -> Option<Framing> {
        self.framing
    }

    /// The last head decoded (interim or final).
    pub fn head(&self) -> &ResponseHead {
        &self.head
    }

    /// Body bytes received so far (as framed, chunk data only for chunked).
    pub fn body_received(&self) -> u64 {
        self.body_received
    }

    /// Bytes of this response consumed so far, heads included.
    pub fn bytes_received(&self) -> u64 {
        self.bytes_received
    }

    /// Whether the response is complete.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`: returns how many bytes were consumed and at most one event.
    /// `None` means more input is needed (every byte given was consumed, or the response is
    /// done and the rest is not part of it). Call again with the unconsumed rest until
    /// `None`. Errors are not sticky here; [`Connection`](crate::Connection) makes them so.
    #[inline]
    pub fn decode<'a>(&'a mut self, input: &'a [u8]) -> Result<(usize, Option<Event<'a>>), Error> {
        let (used, step) = self.advance(input)?;
        Ok((used, step.map(|step| self.event(step))))
    }

    /// Like [`decode`](Self::decode), but the event is a plain value so the caller may
    /// change other state before borrowing it with [`event`](Self::event).
    #[inline]
    pub(crate) fn advance<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Step<'a>>), Error> {
        let (used, step) = self.step(input)?;
        self.bytes_received += used as u64;
        Ok((used, step))
    }

    /// Turns a step into the event it stands for.
    #[inline]
    pub(crate) fn event<'a>(&'a self, step: Step<'a>) -> Event<'a> {
        match step {
            Step::Informational => Event::Informational(&self.head),
            Step::Head => Event::Head(&self.head),
            Step::Data(data) => Event::Data(data),
            Step::Trailers => Event::Trailers(&self.trailers),
            Step::End => Event::End,
        }
    }

    #[inline]
    fn step<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Step<'a>>), Error> {
        // Nearly every call is in one of these two states: tested first, one by one, rather
        // than through the match's jump table (measured: ~5% of a head step).
        if self.state == State::Body {
            return self.decode_body(input);
        }
        if self.state == State::Head {
            return self.decode_head(input);
        }
        match self.state {
            State::AfterInformational => {
                let Some(at) = self.skip_blank_lines(input)? else { return Ok((input.len(), None)) };
                self.scanner.reset();
                self.head.clear();
                self.blank_lines = 0;
                self.state = State::Head;
                let (used, step) = self.decode_head(&input[at..])?;
                Ok((at + used, step))
            }
            State::Head => self.decode_head(input),
            State::Body => self.decode_body(input),
            State::AfterTrailers => {
                self.state = State::Done;
                Ok((0, Some(Step::End)))
            }
            State::Done => Ok((0, None)),
        }
    }

    #[inline]
    fn decode_head<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Step<'a>>), Error> {
        let whole = self.strict && self.scanner.total() == 0;
        let used = match whole.then(|| self.head.parse_whole(input, &self.limits)).flatten() {
            Some(used) => used,
            None => match self.read_head(input)? {
                Scan::Complete(used) => used,
                Scan::Partial => return Ok((input.len(), None)),
            },
        };
        self.after_head(used)
    }

    /// The resumable path: finds the end of the head in this input (or takes all of it),
    /// keeps it, and parses the head once it is complete, by the configured leniency.
    #[inline(never)]
    fn read_head(&mut self, input: &[u8]) -> Result<Scan, Error> {
        self.check_status_line_start(input)?;
        let scan = self.scanner.scan(input, Section::Head, self.leniency.allow_bare_lf)?;
        let used = match scan {
            Scan::Complete(used) => used,
            Scan::Partial => input.len(),
        };
        let buffer = self.head.buffer_mut();
        if buffer.len() + used > self.limits.max_head_bytes {
            return Err(LimitExceeded::HeadTooLarge { limit: self.limits.max_head_bytes }.into());
        }
        buffer.extend_from_slice(&input[..used]);
        if matches!(scan, Scan::Complete(_)) {
            self.head.parse(&self.limits, &self.leniency)?;
        }
        Ok(scan)
    }

    /// Skips empty lines between an interim response and the next status line (aiohttp sends
    /// them), at most [`MAX_BLANK_LINES`]: returns where the next line starts, or `None` when
    /// the input ran out first (all of it consumed). Anywhere else an empty line before a
    /// status line stays an error.
    fn skip_blank_lines(&mut self, input: &[u8]) -> Result<Option<usize>, Error> {
        let mut at = 0;
        loop {
            let byte = input.get(at).copied();
            if self.pending_cr {
                match byte {
                    None => return Ok(None),
                    Some(b'\n') => self.pending_cr = false,
                    Some(_) => {
                        return Err(ProtocolError::MalformedHead { reason: "bare CR before the status line" }.into())
                    }
                }
            } else {
                match byte {
                    None => return Ok(None),
                    Some(b'\r') => {
                        self.pending_cr = true;
                        at += 1;
                        continue;
                    }
                    Some(b'\n') if self.leniency.allow_bare_lf => {}
                    Some(_) => return Ok(Some(at)),
                }
            }
            at += 1;
            self.blank_lines += 1;
            if self.blank_lines > MAX_BLANK_LINES {
                return Err(
                    ProtocolError::MalformedHead { reason: "too many empty lines after an interim response" }.into()
                );
            }
        }
    }

    /// RFC 9112 §4: a response begins with its status line, `HTTP/1.x`. Bytes that cannot
    /// begin one (an HTTP/2 frame, a TLS record on a plain port, junk) fail as soon as they
    /// show it, not at the close or a deadline. Checked before anything else looks at the
    /// bytes, so any split of the input gives the same error; a line ending first is the
    /// scanner's to judge.
    fn check_status_line_start(&mut self, input: &[u8]) -> Result<(), Error> {
        let kept = self.head.buffer_mut();
        if kept.len() >= STATUS_LINE_START.len() {
            return Ok(());
        }
        let mut start = [0u8; STATUS_LINE_START.len()];
        let from_input = input.len().min(start.len() - kept.len());
        start[..kept.len()].copy_from_slice(kept);
        start[kept.len()..kept.len() + from_input].copy_from_slice(&input[..from_input]);
        let start = &start[..kept.len() + from_input];
        if start == &STATUS_LINE_START[..start.len()] || matches!(start.first(), Some(b'\r' | b'\n')) {
            return Ok(());
        }
        Err(ProtocolError::NotHttp1 { looks_like: looks_like(start) }.into())
    }

    /// A complete head was parsed from `used` bytes: hand it out as interim or final.
    #[inline]
    fn after_head<'a>(&mut self, used: usize) -> Result<(usize, Option<Step<'a>>), Error> {
        let status = self.head.status();
        if status < 200 {
            if status != 101 {
                self.state = State::AfterInformational;
                return Ok((used, Some(Step::Informational)));
            }
            if !self.context.upgrade {
                return Err(ProtocolError::UnexpectedSwitchingProtocols.into());
            }
        }
        let head = &self.head;
        let framing = decide(self.context, head.version(), status, head.framing_fields(), head.headers())?;
        if let (BodyLength::ContentLength(length), Some(limit)) = (framing.length, self.limits.max_body_bytes) {
            if length > limit {
                return Err(LimitExceeded::BodyTooLarge { limit }.into());
            }
        }
        self.framing = Some(framing);
        self.state = State::Body;
        Ok((used, Some(Step::Head)))
    }

    #[inline]
    fn decode_body<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Step<'a>>), Error> {
        let Some(length) = self.framing.as_ref().map(|framing| framing.length) else {
            return Err(ProtocolError::MalformedHead { reason: "body without a head" }.into());
        };
        let (used, data) = match length {
            BodyLength::Empty | BodyLength::Tunnel => {
                self.state = State::Done;
                return Ok((0, Some(Step::End)));
            }
            BodyLength::ContentLength(length) => {
                let remaining = length - self.body_received;
                if remaining == 0 {
                    self.state = State::Done;
                    return Ok((0, Some(Step::End)));
                }
                let take = remaining.min(input.len() as u64) as usize;
                (take, &input[..take])
            }
            BodyLength::CloseDelimited => (input.len(), input),
            BodyLength::Chunked => {
                match self.chunked.decode(input, &mut self.trailers, &self.limits, &self.leniency)? {
                    (used, Some(Chunk::Data(data))) => (used, data),
                    (used, Some(Chunk::End)) => {
                        if self.trailers.is_empty() {
                            self.state = State::Done;
                            return Ok((used, Some(Step::End)));
                        }
                        self.state = State::AfterTrailers;
                        return Ok((used, Some(Step::Trailers)));
                    }
                    (used, None) => return Ok((used, None)),
                }
            }
        };
        if data.is_empty() {
            return Ok((used, None));
        }
        self.body_received += data.len() as u64;
        if let Some(limit) = self.limits.max_body_bytes {
            if self.body_received > limit {
                return Err(LimitExceeded::BodyTooLarge { limit }.into());
            }
        }
        Ok((used, Some(Step::Data(data))))
    }

    /// The peer closed the connection. Completes a close-delimited body (`Some(End)`), or
    /// says how the message was cut short. `reused_connection` marks the one safe-to-retry
    /// case: a reused connection closed before any response byte.
    pub fn decode_eof(&mut self, reused_connection: bool) -> Result<Option<Event<'_>>, Error> {
        Ok(self.advance_eof(reused_connection, true)?.map(|step| self.event(step)))
    }

    /// The peer closed the connection without authenticating the close: over TLS, with no
    /// `close_notify` alert before it (RFC 9112 §9.8's "incomplete close"). As
    /// [`decode_eof`](Self::decode_eof), except that a body delimited by the close is not
    /// complete ([`IncompleteMessage::CloseWithoutNotify`]) unless
    /// [`Leniency::allow_close_without_notify`] is on.
    pub fn decode_incomplete_close(&mut self, reused_connection: bool) -> Result<Option<Event<'_>>, Error> {
        Ok(self.advance_eof(reused_connection, false)?.map(|step| self.event(step)))
    }

    /// The close: `authenticated` unless it is a TLS close without `close_notify`.
    pub(crate) fn advance_eof(
        &mut self,
        reused_connection: bool,
        authenticated: bool,
    ) -> Result<Option<Step<'static>>, Error> {
        match self.state {
            State::Done => Ok(None),
            State::AfterTrailers => {
                self.state = State::Done;
                Ok(Some(Step::End))
            }
            State::Head if self.bytes_received == 0 => {
                Err(IncompleteMessage::ClosedBeforeResponse { reused_connection }.into())
            }
            State::AfterInformational => Err(IncompleteMessage::Head { received: 0 }.into()),
            State::Head => Err(IncompleteMessage::Head { received: self.scanner.total() }.into()),
            State::Body => match self.framing.map(|framing| framing.length) {
                Some(BodyLength::ContentLength(expected)) if self.body_received < expected => {
                    Err(IncompleteMessage::Body { expected, received: self.body_received }.into())
                }
                Some(BodyLength::Chunked) => {
                    Err(IncompleteMessage::Chunked { received: self.chunked.data_received() }.into())
                }
                // RFC 9112 §9.8: "A response that has neither chunked transfer coding nor
                // Content-Length is complete only if a valid closure alert has been received.
                // Treating an incomplete message as complete could expose implementations to
                // attack."
                Some(BodyLength::CloseDelimited) if !authenticated && !self.leniency.allow_close_without_notify => {
                    Err(IncompleteMessage::CloseWithoutNotify { received: self.body_received }.into())
                }
                // Close-delimited: the close is the end. Otherwise nothing was left to read
                // (no body, or all of it) and only the End was still owed.
                _ => {
                    self.state = State::Done;
                    Ok(Some(Step::End))
                }
            },
        }
    }
}

/// An event without its borrows of the decoder, so the connection can update itself before
/// lending it. Body data is already a slice of the input (no range to index again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step<'a> {
    Informational,
    Head,
    Data(&'a [u8]),
    Trailers,
    End,
}

/// How every HTTP/1.x status line begins (`HTTP-name` is case-sensitive, RFC 9112 §2.3).
const STATUS_LINE_START: &[u8] = b"HTTP/1.";

/// What bytes that are not HTTP/1.x seem to be, for the error message. Judged only on the
/// bytes up to the first that differs from `HTTP/1.`, so any split of the input gives the
/// same answer.
fn looks_like(start: &[u8]) -> &'static str {
    let differs = start.iter().zip(STATUS_LINE_START).take_while(|(byte, expected)| byte == expected).count();
    match (differs, start.first()) {
        // A TLS record's content type: change_cipher_spec, alert, handshake, application_data.
        (0, Some(0x14..=0x17)) => "a TLS record: the server speaks TLS here (an https:// URL?)",
        // A frame header's length starts with zero bytes: HTTP/2 (or other binary framing).
        (0, Some(0x00)) => "binary data, perhaps HTTP/2 (which this client does not speak)",
        (5.., _) => "a status line of another HTTP version",
        _ => "not HTTP",
    }
}
