//! Content decoding: gzip (multi-member, `x-gzip`), deflate (zlib, with a raw-deflate
//! fallback), br and zstd, streaming and bounded. Every decoder is pure Rust by default
//! (zlib-rs, brotli-decompressor, ruzstd); the `zstd-c` feature decodes zstd with libzstd.
//!
//! Every call writes at most the output buffer it is given, and the decoded total is capped,
//! so a decompression bomb costs at most the cap.
//!
//! # Memory
//!
//! Each decoder's own memory is bounded by the protocol, whatever a stream claims and
//! independent of the decoded-size cap:
//!
//! | coding | decoder memory | bound |
//! |---|---|---|
//! | gzip, deflate | zlib state and a 32 KiB window (~45 KiB) | RFC 1951's window |
//! | br | a ring buffer of at most 16 MiB, plus tables (~100 KiB) | RFC 7932's `WBITS` ≤ 24; the large-window extension is refused |
//! | zstd | a window of at most 8 MiB, plus a block and its input (~260 KiB) | RFC 9659: HTTP zstd windows are at most 8 MiB; larger ones are refused |
//!
//! A chain of codings adds a 16 KiB buffer between stages (at most [`MAX_CODINGS`]).
//! `core/tests/decoder_memory.rs` decodes the worst case of each under a 96 MiB address-space
//! limit, in a child process, and requires a typed error or the body — never an abort.
//!
//! Codings compiled out by features are
//! treated as unknown: the body passes through undecoded and [`ContentDecoder::undecoded`]
//! says so. A driver that is only draining a body (a redirect, an error it will discard)
//! should not decode it at all.

use crate::error::{DecodeError, Error, LimitExceeded};
use crate::headers::{list_elements, HeaderBlock};

/// At most this many codings may be chained on one body (Content-Encoding plus any transfer
/// codings other than chunked).
pub const MAX_CODINGS: usize = 5;

/// Default cap on a decoded body: 1 GiB.
pub const DEFAULT_DECODED_LIMIT: u64 = 1 << 30;

/// A content coding this build can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Coding {
    /// `gzip` / `x-gzip` (RFC 9110 §8.4.1.3).
    Gzip,
    /// `deflate`: zlib (RFC 1950), or raw deflate as some servers send (RFC 9110 §8.4.1.2).
    Deflate,
    /// `br` (RFC 7932).
    Brotli,
    /// `zstd` (RFC 8878).
    Zstd,
}

impl Coding {
    /// Looks up a coding name (case-insensitive); `None` if unknown or compiled out.
    pub fn from_name(name: &[u8]) -> Option<Coding> {
        let known = if name.eq_ignore_ascii_case(b"gzip") || name.eq_ignore_ascii_case(b"x-gzip") {
            Coding::Gzip
        } else if name.eq_ignore_ascii_case(b"deflate") {
            Coding::Deflate
        } else if name.eq_ignore_ascii_case(b"br") {
            Coding::Brotli
        } else if name.eq_ignore_ascii_case(b"zstd") {
            Coding::Zstd
        } else {
            return None;
        };
        known.is_compiled_in().then_some(known)
    }

    /// The coding's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }

    fn is_compiled_in(self) -> bool {
        match self {
            Coding::Gzip | Coding::Deflate => cfg!(feature = "gzip"),
            Coding::Brotli => cfg!(feature = "brotli"),
            Coding::Zstd => cfg!(feature = "zstd"),
        }
    }
}

/// The `Accept-Encoding` value listing exactly the codings compiled in (empty if none).
pub fn accept_encoding() -> &'static str {
    match (cfg!(feature = "gzip"), cfg!(feature = "brotli"), cfg!(feature = "zstd")) {
        (true, true, true) => "gzip, deflate, br, zstd",
        (true, true, false) => "gzip, deflate, br",
        (true, false, true) => "gzip, deflate, zstd",
        (true, false, false) => "gzip, deflate",
        (false, true, true) => "br, zstd",
        (false, true, false) => "br",
        (false, false, true) => "zstd",
        (false, false, false) => "",
    }
}

/// Streams a body through the codings named in its head, in reverse order of application.
///
/// ```
/// use tidings_core::{Coding, ContentDecoder};
/// let mut decoder = ContentDecoder::new(&[], 1024)?; // identity
/// let mut out = [0u8; 16];
/// let (used, written) = decoder.decode(b"plain", &mut out)?;
/// assert_eq!((used, &out[..written]), (5, &b"plain"[..]));
/// # let _ = Coding::Gzip;
/// # Ok::<(), tidings_core::Error>(())
/// ```
pub struct ContentDecoder {
    /// In decoding order: the last coding applied comes first.
    stages: Vec<Stage>,
    /// `buffers[i]` holds what stage `i` produced for stage `i + 1`.
    buffers: Vec<StageBuffer>,
    decoded: u64,
    limit: u64,
    undecoded: Option<String>,
}

impl std::fmt::Debug for ContentDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let codings: Vec<&str> = self.stages.iter().map(Stage::name).collect();
        f.debug_struct("ContentDecoder")
            .field("stages", &codings)
            .field("decoded", &self.decoded)
            .field("limit", &self.limit)
            .field("undecoded", &self.undecoded)
            .finish()
    }
}

impl ContentDecoder {
    /// A decoder for codings listed in the order they were applied (as in
    /// `Content-Encoding`), capping the decoded total at `limit` bytes.
    pub fn new(applied: &[Coding], limit: u64) -> Result<ContentDecoder, Error> {
        if applied.is_empty() {
            return Ok(ContentDecoder::identity(limit));
        }
        if applied.len() > MAX_CODINGS {
            return Err(LimitExceeded::TooManyCodings { count: applied.len(), limit: MAX_CODINGS }.into());
        }
        let stages = applied.iter().rev().map(|&coding| Stage::new(coding)).collect::<Result<Vec<_>, _>>()?;
        let buffers = (1..stages.len()).map(|_| StageBuffer::new()).collect();
        Ok(ContentDecoder { stages, buffers, decoded: 0, limit, undecoded: None })
    }

    /// A decoder that passes the body through as it is, capped at `limit` bytes.
    fn identity(limit: u64) -> ContentDecoder {
        ContentDecoder { stages: Vec::new(), buffers: Vec::new(), decoded: 0, limit, undecoded: None }
    }

    /// A decoder for a response with these headers: `Content-Encoding`, then any
    /// `Transfer-Encoding` codings other than `chunked`, undone in reverse order of
    /// application. An unknown content coding makes the whole body pass through undecoded
    /// (as Requests does); [`undecoded`](Self::undecoded) names it. An unknown transfer
    /// coding is a protocol error (the framing refuses it first): a body is never handed out
    /// still transfer-coded.
    pub fn for_response(headers: &HeaderBlock, limit: u64) -> Result<ContentDecoder, Error> {
        // Most responses name no coding but chunked: one pass over the names, no lists.
        let coded = headers.raw_fields().any(|(name, value)| match name.len() {
            16 => name.eq_ignore_ascii_case(b"content-encoding"),
            17 => name.eq_ignore_ascii_case(b"transfer-encoding") && !value.eq_ignore_ascii_case(b"chunked"),
            _ => false,
        });
        if !coded {
            return Ok(ContentDecoder::identity(limit));
        }
        let mut applied = Vec::new();
        let mut unknown = None;
        for name in list_elements(headers.get_all("content-encoding")) {
            match Coding::from_name(name) {
                Some(coding) => applied.push(coding),
                None if name.eq_ignore_ascii_case(b"identity") => {}
                None => {
                    unknown.get_or_insert_with(|| String::from_utf8_lossy(name).into_owned());
                }
            }
        }
        for name in list_elements(headers.get_all("transfer-encoding")) {
            match Coding::from_name(name) {
                Some(coding) => applied.push(coding),
                None if name.eq_ignore_ascii_case(b"chunked") || name.eq_ignore_ascii_case(b"identity") => {}
                None => {
                    let value = String::from_utf8_lossy(name).into_owned();
                    return Err(crate::error::ProtocolError::UnsupportedTransferCoding { value }.into());
                }
            }
        }
        if applied.len() > MAX_CODINGS {
            return Err(LimitExceeded::TooManyCodings { count: applied.len(), limit: MAX_CODINGS }.into());
        }
        if let Some(name) = unknown {
            let mut decoder = ContentDecoder::new(&[], limit)?;
            decoder.undecoded = Some(name);
            return Ok(decoder);
        }
        ContentDecoder::new(&applied, limit)
    }

    /// The coding that made this body pass through undecoded, if any.
    pub fn undecoded(&self) -> Option<&str> {
        self.undecoded.as_deref()
    }

    /// Whether any decoding happens (false for identity and pass-through).
    pub fn is_identity(&self) -> bool {
        self.stages.is_empty()
    }

    /// Decoded bytes produced so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// How many more bytes may be delivered before the cap.
    pub fn room(&self) -> u64 {
        self.limit - self.decoded
    }

    /// For an identity decoder whose caller moved body bytes itself (say, read them straight
    /// into its own buffer): counts them against the cap. More than [`room`](Self::room) is
    /// a `too_large` error.
    pub fn pass_through(&mut self, count: usize) -> Result<(), Error> {
        if !self.stages.is_empty() {
            return Err(DecodeError {
                coding: self.stages[0].name(),
                reason: "coded bytes cannot pass through".into(),
            }
            .into());
        }
        if count as u64 > self.room() {
            return Err(LimitExceeded::DecodedBodyTooLarge { limit: self.limit }.into());
        }
        self.decoded += count as u64;
        Ok(())
    }

    /// Decodes from `input` into `output`: returns (bytes consumed, bytes written). Call
    /// again while input remains or the output was filled.
    ///
    /// Exactly the first `limit` decoded bytes are delivered, whatever the split of the
    /// input; the call that would produce one more fails with `too_large`.
    pub fn decode(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        let room = self.limit - self.decoded;
        if room == 0 {
            // At the cap: any further byte is one too many.
            let mut probe = [0u8; 1];
            let (consumed, written) = self.run(input, &mut probe)?;
            if written > 0 {
                return Err(LimitExceeded::DecodedBodyTooLarge { limit: self.limit }.into());
            }
            return Ok((consumed, 0));
        }
        let bounded = output.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let (consumed, written) = self.run(input, &mut output[..bounded])?;
        self.decoded += written as u64;
        Ok((consumed, written))
    }

    /// Decodes all of `input`, appending to `body`. The decoded-size cap bounds how far
    /// `body` grows.
    pub fn decode_into(&mut self, mut input: &[u8], body: &mut Vec<u8>) -> Result<(), Error> {
        if self.stages.is_empty() {
            // Identity: the bytes themselves, up to the cap (no staging buffer to zero: that
            // was half the instructions of a small kept-alive request).
            let room = usize::try_from(self.room()).unwrap_or(usize::MAX);
            let take = input.len().min(room);
            body.extend_from_slice(&input[..take]);
            self.decoded += take as u64;
            if take < input.len() {
                return Err(LimitExceeded::DecodedBodyTooLarge { limit: self.limit }.into());
            }
            return Ok(());
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let (used, written) = self.decode(input, &mut chunk)?;
            body.extend_from_slice(&chunk[..written]);
            input = &input[used..];
            if input.is_empty() && written < chunk.len() {
                return Ok(());
            }
        }
    }

    /// Ends the body as [`finish`](Self::finish) does, appending what the codings still
    /// hold to `body`.
    pub fn finish_into(&mut self, body: &mut Vec<u8>) -> Result<(), Error> {
        if self.stages.is_empty() {
            // Identity holds nothing back.
            return self.finish(&mut []).map(drop);
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let written = self.finish(&mut chunk)?;
            if written == 0 {
                return Ok(());
            }
            body.extend_from_slice(&chunk[..written]);
        }
    }

    fn run(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        match self.stages.len() {
            0 => {
                let take = input.len().min(output.len());
                output[..take].copy_from_slice(&input[..take]);
                Ok((take, take))
            }
            1 => self.stages[0].step(input, output),
            _ => self.decode_chain(input, output),
        }
    }

    /// The body's input is over: writes what the codings still hold. Call until it returns
    /// `Ok(0)`; then it checks that every coded stream reached its end marker.
    pub fn finish(&mut self, output: &mut [u8]) -> Result<usize, Error> {
        let (_, written) = self.decode(&[], output)?;
        if written > 0 {
            return Ok(written);
        }
        let buffered = self.buffers.iter().any(|buffer| buffer.start < buffer.end);
        // The message's framing completed but the coded content did not: the content is at
        // fault (kind `decode`), not the connection.
        if let Some(stage) = self.stages.iter().find(|stage| !stage.is_finished()) {
            let reason = "the stream ended before its end marker (truncated)".into();
            return Err(DecodeError { coding: stage.name(), reason }.into());
        }
        if buffered {
            return Err(DecodeError { coding: self.stages[0].name(), reason: "trailing data".into() }.into());
        }
        Ok(0)
    }

    fn decode_chain(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        let last = self.stages.len() - 1;
        let (mut consumed, mut written) = (0, 0);
        loop {
            let mut progress = false;
            for (index, stage) in self.stages.iter_mut().enumerate() {
                let (before, after) = self.buffers.split_at_mut(index);
                let source: &[u8] = match index {
                    0 => &input[consumed..],
                    _ => before[index - 1].filled(),
                };
                let (used, produced) = if index == last {
                    stage.step(source, &mut output[written..])?
                } else {
                    stage.step(source, after[0].space())?
                };
                match index {
                    0 => consumed += used,
                    _ => before[index - 1].start += used,
                }
                if index == last {
                    written += produced;
                } else {
                    after[0].end += produced;
                }
                progress |= used > 0 || produced > 0;
            }
            if !progress || written == output.len() {
                return Ok((consumed, written));
            }
        }
    }
}

/// The bytes one stage produced that the next has not yet taken.
struct StageBuffer {
    data: Box<[u8]>,
    start: usize,
    end: usize,
}

impl StageBuffer {
    const SIZE: usize = 16 * 1024;

    fn new() -> Self {
        StageBuffer { data: vec![0; Self::SIZE].into_boxed_slice(), start: 0, end: 0 }
    }

    fn filled(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn space(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        &mut self.data[self.end..]
    }
}

enum Stage {
    #[cfg(feature = "gzip")]
    Gzip(flate::Gzip),
    #[cfg(feature = "gzip")]
    Deflate(flate::Deflate),
    #[cfg(feature = "brotli")]
    Brotli(brotli_stage::Brotli),
    #[cfg(feature = "zstd")]
    Zstd(zstd_stage::Zstd),
}

impl Stage {
    fn new(coding: Coding) -> Result<Stage, Error> {
        match coding {
            #[cfg(feature = "gzip")]
            Coding::Gzip => Ok(Stage::Gzip(flate::Gzip::new())),
            #[cfg(feature = "gzip")]
            Coding::Deflate => Ok(Stage::Deflate(flate::Deflate::new())),
            #[cfg(feature = "brotli")]
            Coding::Brotli => Ok(Stage::Brotli(brotli_stage::Brotli::new())),
            #[cfg(feature = "zstd")]
            Coding::Zstd => Ok(Stage::Zstd(zstd_stage::Zstd::new()?)),
            #[allow(unreachable_patterns)]
            other => Err(DecodeError { coding: other.as_str(), reason: "not compiled in".into() }.into()),
        }
    }

    fn name(&self) -> &'static str {
        match *self {
            #[cfg(feature = "gzip")]
            Stage::Gzip(_) => "gzip",
            #[cfg(feature = "gzip")]
            Stage::Deflate(_) => "deflate",
            #[cfg(feature = "brotli")]
            Stage::Brotli(_) => "br",
            #[cfg(feature = "zstd")]
            Stage::Zstd(_) => "zstd",
        }
    }

    // `match *self` (not `match self`): with every coding compiled out the enum is empty,
    // and only a place expression of an empty type may be matched with no arms.
    #[cfg_attr(not(any(feature = "gzip", feature = "brotli", feature = "zstd")), allow(unused_variables))]
    fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        match *self {
            #[cfg(feature = "gzip")]
            Stage::Gzip(ref mut stage) => stage.step(input, output),
            #[cfg(feature = "gzip")]
            Stage::Deflate(ref mut stage) => stage.step(input, output),
            #[cfg(feature = "brotli")]
            Stage::Brotli(ref mut stage) => stage.step(input, output),
            #[cfg(feature = "zstd")]
            Stage::Zstd(ref mut stage) => stage.step(input, output),
        }
    }

    fn is_finished(&self) -> bool {
        match *self {
            #[cfg(feature = "gzip")]
            Stage::Gzip(ref stage) => stage.is_finished(),
            #[cfg(feature = "gzip")]
            Stage::Deflate(ref stage) => stage.is_finished(),
            #[cfg(feature = "brotli")]
            Stage::Brotli(ref stage) => stage.is_finished(),
            #[cfg(feature = "zstd")]
            Stage::Zstd(ref stage) => stage.is_finished(),
        }
    }
}

/// zstd in pure Rust: the default.
#[cfg(all(feature = "zstd", not(feature = "zstd-c")))]
#[path = "coding/zstd_rust.rs"]
mod zstd_stage;

#[cfg(feature = "gzip")]
mod flate {
    use flate2::{Decompress, FlushDecompress, Status};

    use crate::error::{DecodeError, Error};

    fn run(
        inner: &mut Decompress,
        coding: &'static str,
        input: &[u8],
        output: &mut [u8],
    ) -> Result<(usize, usize, bool), Error> {
        let (before_in, before_out) = (inner.total_in(), inner.total_out());
        let status = inner
            .decompress(input, output, FlushDecompress::None)
            .map_err(|error| DecodeError { coding, reason: error.to_string() })?;
        let used = (inner.total_in() - before_in) as usize;
        let produced = (inner.total_out() - before_out) as usize;
        Ok((used, produced, status == Status::StreamEnd))
    }

    /// gzip, member after member (RFC 1952 §2.2: "A gzip file consists of a series of
    /// members").
    pub(super) struct Gzip {
        inner: Decompress,
        ended: bool,
        started: bool,
    }

    impl Gzip {
        pub(super) fn new() -> Self {
            Gzip { inner: Decompress::new_gzip(15), ended: false, started: false }
        }

        pub(super) fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
            if input.is_empty() && (self.ended || !self.started) {
                return Ok((0, 0));
            }
            if self.ended {
                self.inner = Decompress::new_gzip(15);
                self.ended = false;
            }
            self.started |= !input.is_empty();
            let (used, produced, ended) = run(&mut self.inner, "gzip", input, output)?;
            self.ended = ended;
            Ok((used, produced))
        }

        pub(super) fn is_finished(&self) -> bool {
            self.ended || !self.started
        }
    }

    /// deflate: "zlib" format per RFC 9110 §8.4.1.2, falling back to raw deflate, which
    /// some servers send. The first byte decides: a zlib header's CMF has compression
    /// method 8 in its low nibble and a window size of at most 2^15 in its high nibble.
    pub(super) struct Deflate {
        inner: Option<Decompress>,
        ended: bool,
    }

    impl Deflate {
        pub(super) fn new() -> Self {
            Deflate { inner: None, ended: false }
        }

        pub(super) fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
            if self.ended {
                if input.is_empty() {
                    return Ok((0, 0));
                }
                return Err(DecodeError { coding: "deflate", reason: "data after the end of the stream".into() }.into());
            }
            let inner = match (&mut self.inner, input.first()) {
                (Some(inner), _) => inner,
                (None, None) => return Ok((0, 0)),
                (None, Some(&first)) => {
                    let zlib = first & 0x0f == 8 && first >> 4 <= 7;
                    self.inner.insert(Decompress::new(zlib))
                }
            };
            let (used, produced, ended) = run(inner, "deflate", input, output)?;
            self.ended = ended;
            Ok((used, produced))
        }

        pub(super) fn is_finished(&self) -> bool {
            self.ended || self.inner.is_none()
        }
    }
}

#[cfg(feature = "brotli")]
mod brotli_stage {
    use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};

    use crate::error::{DecodeError, Error};

    /// RFC 7932 brotli, as HTTP's `br` is: the window is at most 2^24 bytes (16 MiB), and
    /// the ring buffer the decoder allocates is at most that. A stream asking for the
    /// large-window extension (up to 2^30, a 1 GiB ring buffer) is a decode error, never an
    /// allocation.
    pub(super) struct Brotli {
        state: Box<BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>>,
        ended: bool,
        started: bool,
    }

    impl Brotli {
        pub(super) fn new() -> Self {
            // `new` accepts large-window streams; `new_strict` is RFC 7932.
            let state =
                BrotliState::new_strict(StandardAlloc::default(), StandardAlloc::default(), StandardAlloc::default());
            Brotli { state: Box::new(state), ended: false, started: false }
        }

        pub(super) fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
            if self.ended {
                if input.is_empty() {
                    return Ok((0, 0));
                }
                return Err(DecodeError { coding: "br", reason: "data after the end of the stream".into() }.into());
            }
            if input.is_empty() && !self.started {
                return Ok((0, 0));
            }
            self.started = true;
            let (mut available_in, mut input_offset) = (input.len(), 0);
            let (mut available_out, mut output_offset, mut total_out) = (output.len(), 0, 0);
            let result = BrotliDecompressStream(
                &mut available_in,
                &mut input_offset,
                input,
                &mut available_out,
                &mut output_offset,
                output,
                &mut total_out,
                &mut self.state,
            );
            match result {
                BrotliResult::ResultFailure => {
                    return Err(DecodeError { coding: "br", reason: "invalid brotli stream".into() }.into())
                }
                BrotliResult::ResultSuccess => self.ended = true,
                BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => {}
            }
            Ok((input_offset, output_offset))
        }

        pub(super) fn is_finished(&self) -> bool {
            self.ended || !self.started
        }
    }
}

/// zstd through libzstd (C), with the `zstd-c` feature.
#[cfg(feature = "zstd-c")]
mod zstd_stage {
    use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};
    use zstd::zstd_safe::DParameter;

    use crate::error::{DecodeError, Error};

    /// RFC 9659 §3 (zstd in HTTP): the window is at most 8 MiB, and a decoder may refuse a
    /// larger one (RFC 8878 §3.1.1.1.2 recommends the same bound). Larger windows are a
    /// decode error, so one response cannot claim more memory.
    const WINDOW_LOG_MAX: u32 = 23;

    pub(super) struct Zstd {
        decoder: Decoder<'static>,
        in_frame: bool,
        /// The last call filled its output, so decoded bytes may still be buffered.
        output_was_full: bool,
    }

    fn failure(error: std::io::Error) -> Error {
        DecodeError { coding: "zstd", reason: error.to_string() }.into()
    }

    impl Zstd {
        pub(super) fn new() -> Result<Self, Error> {
            let mut decoder = Decoder::new().map_err(failure)?;
            decoder.set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX)).map_err(failure)?;
            Ok(Zstd { decoder, in_frame: false, output_was_full: false })
        }

        pub(super) fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
            // With no input, only a call that may flush buffered output makes progress;
            // libzstd refuses repeated calls that cannot.
            if input.is_empty() && !(self.in_frame && self.output_was_full) {
                return Ok((0, 0));
            }
            let capacity = output.len();
            let mut source = InBuffer::around(input);
            let mut sink = OutBuffer::around(output);
            let hint = self.decoder.run(&mut source, &mut sink).map_err(failure)?;
            // 0: a frame was fully decoded and flushed; another may follow.
            self.in_frame = hint != 0;
            let written = sink.pos();
            self.output_was_full = capacity > 0 && written == capacity;
            Ok((source.pos(), written))
        }

        pub(super) fn is_finished(&self) -> bool {
            !self.in_frame
        }
    }
}
