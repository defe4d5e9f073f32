//! zstd (RFC 8878) in pure Rust (`ruzstd`), pushed a piece at a time: the stage buffers the
//! input of one unit — a frame header, one block, a skippable frame's bytes — and hands
//! `ruzstd` only whole units, so a body split anywhere decodes the same. Memory stays within
//! the window (at most 8 MiB, RFC 9659), one block (128 KiB) and that input buffer.

use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

use crate::error::{DecodeError, Error};

/// RFC 9659 §3 (zstd in HTTP): the window is at most 8 MiB, and a decoder may refuse a
/// larger one (RFC 8878 §3.1.1.1.2 recommends the same bound). Larger windows are a decode
/// error, so one response cannot claim more memory.
const WINDOW_MAX: u64 = 8 << 20;

/// RFC 8878 §3.1.1.2.3: a block's content is at most 128 KiB.
const BLOCK_MAX: usize = 128 << 10;

const MAGIC: [u8; 4] = 0xFD2F_B528u32.to_le_bytes();

/// What the next bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// A frame's magic number and header (or a skippable frame's magic and size).
    FrameStart,
    /// `n` more bytes of a skippable frame to pass over.
    Skip(u64),
    /// A block header and its content (with the checksum, after the last block).
    Block,
}

pub(super) struct Zstd {
    /// Boxed: its state is large, and a stage is moved with the decoder.
    decoder: Box<FrameDecoder>,
    unit: Unit,
    /// The input of the unit being gathered.
    pending: Vec<u8>,
    /// Whether the current frame carries a content checksum.
    checksum: bool,
    /// Inside a frame: its last block is not decoded, or its bytes not all handed out.
    in_frame: bool,
}

fn failure(reason: impl std::fmt::Display) -> Error {
    DecodeError { coding: "zstd", reason: reason.to_string() }.into()
}

impl Zstd {
    pub(super) fn new() -> Result<Self, Error> {
        Ok(Zstd {
            decoder: Box::new(FrameDecoder::new()),
            unit: Unit::FrameStart,
            pending: Vec::new(),
            checksum: false,
            in_frame: false,
        })
    }

    /// Decodes from `input` into `output`: `(consumed, written)`.
    pub(super) fn step(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize), Error> {
        let mut consumed = 0;
        let mut written = 0;
        loop {
            // Hand out what was decoded before decoding more: the buffer then holds no more
            // than the window and one block.
            if self.in_frame {
                written += std::io::Read::read(&mut *self.decoder, &mut output[written..]).map_err(failure)?;
                if self.decoder.is_finished() && self.decoder.can_collect() == 0 {
                    self.end_frame()?;
                }
                if written == output.len() || self.decoder.can_collect() > 0 {
                    return Ok((consumed, written));
                }
            }
            // Gather the unit: its length grows known as its first bytes arrive, so take no
            // more than is known to belong to it.
            let wanted = self.wanted()?;
            let take = wanted.saturating_sub(self.pending.len()).min(input.len() - consumed);
            self.pending.extend_from_slice(&input[consumed..consumed + take]);
            consumed += take;
            if self.pending.len() < self.wanted()? {
                if consumed == input.len() {
                    return Ok((consumed, written));
                }
                continue;
            }
            self.decode_unit()?;
        }
    }

    /// Whether the body may end here: between frames.
    pub(super) fn is_finished(&self) -> bool {
        !self.in_frame && self.unit == Unit::FrameStart && self.pending.is_empty()
    }

    /// How many bytes the current unit needs, as far as its bytes so far tell.
    fn wanted(&self) -> Result<usize, Error> {
        match self.unit {
            Unit::FrameStart => Ok(frame_start_length(&self.pending)),
            Unit::Skip(left) => Ok(usize::try_from(left.min(BLOCK_MAX as u64)).unwrap_or(BLOCK_MAX)),
            Unit::Block => {
                let Some(header) = self.pending.get(..3) else { return Ok(3) };
                let header = u32::from(header[0]) | u32::from(header[1]) << 8 | u32::from(header[2]) << 16;
                let (last, kind, size) = (header & 1 == 1, (header >> 1) & 3, (header >> 3) as usize);
                if size > BLOCK_MAX {
                    return Err(failure(format!("a block of {size} bytes (at most {BLOCK_MAX})")));
                }
                let content = match kind {
                    0 | 2 => size,
                    1 => 1,
                    _ => return Err(failure("a block of the reserved type")),
                };
                Ok(3 + content + if last && self.checksum { 4 } else { 0 })
            }
        }
    }

    /// Decodes the unit gathered in `pending`.
    fn decode_unit(&mut self) -> Result<(), Error> {
        let unit = std::mem::take(&mut self.pending);
        match self.unit {
            Unit::FrameStart => {
                if is_skippable(&unit[..4]) {
                    // A skippable frame (RFC 8878 §3.1.2): its length follows the magic.
                    let length = u32::from_le_bytes([unit[4], unit[5], unit[6], unit[7]]);
                    self.unit = if length == 0 { Unit::FrameStart } else { Unit::Skip(u64::from(length)) };
                    return Ok(());
                }
                if unit[..4] != MAGIC {
                    return Err(failure("not a zstd frame (wrong magic number)"));
                }
                let window = window_size(&unit);
                if window > WINDOW_MAX {
                    return Err(failure(format!("a window of {window} bytes (at most {WINDOW_MAX}, RFC 9659)")));
                }
                self.checksum = unit[4] & 0x04 != 0;
                self.decoder.reset(&unit[..]).map_err(failure)?;
                self.unit = Unit::Block;
                self.in_frame = true;
            }
            Unit::Skip(left) => {
                let left = left - unit.len() as u64;
                self.unit = if left == 0 { Unit::FrameStart } else { Unit::Skip(left) };
            }
            Unit::Block => {
                let mut source = &unit[..];
                self.decoder.decode_blocks(&mut source, BlockDecodingStrategy::UptoBlocks(1)).map_err(failure)?;
                if !source.is_empty() {
                    return Err(failure("a block longer than its header says"));
                }
            }
        }
        Ok(())
    }

    /// The frame's last block is decoded and its bytes handed out: check its checksum, and
    /// expect another frame (or the end).
    fn end_frame(&mut self) -> Result<(), Error> {
        if self.checksum {
            let expected = self.decoder.get_checksum_from_data();
            if expected.is_none() || expected != self.decoder.get_calculated_checksum() {
                return Err(failure("the content checksum does not match"));
            }
        }
        self.in_frame = false;
        self.unit = Unit::FrameStart;
        Ok(())
    }
}

/// RFC 8878 §3.1.1.1: the frame header's length, from its first bytes (at least the magic
/// number and the descriptor are needed to know it).
fn frame_start_length(start: &[u8]) -> usize {
    let Some(magic) = start.get(..4) else { return 4 };
    if magic != MAGIC {
        // A skippable frame's magic and length; or bytes that are not zstd, refused once read.
        return if is_skippable(magic) { 8 } else { 4 };
    }
    let Some(&descriptor) = start.get(4) else { return 5 };
    let single_segment = descriptor & 0x20 != 0;
    let window = usize::from(!single_segment);
    let dictionary = [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    let content_size = match descriptor >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    5 + window + dictionary + content_size
}

/// RFC 8878 §3.1.2: magic numbers 0x184D2A50 to 0x184D2A5F start skippable frames.
fn is_skippable(magic: &[u8]) -> bool {
    magic.len() == 4 && magic[0] & 0xF0 == 0x50 && magic[1..] == [0x2A, 0x4D, 0x18]
}

/// The window a frame header declares: its Window_Descriptor, or for a single-segment frame
/// its content size (RFC 8878 §3.1.1.1.2).
fn window_size(header: &[u8]) -> u64 {
    let descriptor = header[4];
    if descriptor & 0x20 == 0 {
        let window = header[5];
        let log = 10 + u64::from(window >> 3);
        let base = 1u64 << log;
        return base + (base / 8) * u64::from(window & 7);
    }
    let dictionary = [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    let field = &header[5 + dictionary..];
    match descriptor >> 6 {
        0 => u64::from(field[0]),
        1 => u64::from(u16::from_le_bytes([field[0], field[1]])) + 256,
        2 => u64::from(u32::from_le_bytes([field[0], field[1], field[2], field[3]])),
        _ => u64::from_le_bytes([field[0], field[1], field[2], field[3], field[4], field[5], field[6], field[7]]),
    }
}
