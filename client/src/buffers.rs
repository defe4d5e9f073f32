//! Buffer sizes and the read buffer's bookkeeping, the same for every transport.
//!
//! Small buffers that grow on demand and are kept with pooled connections: a connection
//! starts with 2 KiB for reading, doubles while reads fill it, up to 256 KiB; large bodies
//! are read straight into a reader's buffer when it holds at least [`DIRECT_READ`] bytes.

/// The read buffer a new connection starts with: a small response's head and body in one
/// read, and no more, since every connection holds one (and a safe `read` needs it zeroed,
/// so all of it is resident). At 10,000 connections in flight, starting at 8 KiB cost each
/// connection 6 KiB more than this (BENCHMARKS.md, "Scale"); a larger response grows the
/// buffer once, and the pooled connection keeps the larger one.
pub const INITIAL_READ: usize = 2 * 1024;
/// The largest the read buffer grows (64 KiB reads reach ~1.8 GB/s on loopback, 256 KiB
/// reads the server's limit; see BENCHMARKS.md).
pub const LARGEST_READ: usize = 256 * 1024;
/// A reader's buffer at least this large is filled straight from the socket when the body's
/// bytes on the wire are the body itself (identity coding, framed by length or the close).
pub const DIRECT_READ: usize = 16 * 1024;
/// Request bytes framed at a time for a head alone (the core resumes a longer head).
pub const HEAD_FRAME: usize = 2 * 1024;
/// Request bytes framed at a time once body data goes with them.
pub const BODY_FRAME: usize = 16 * 1024;
/// Room kept free in a frame for the chunk framing around body data.
pub const CHUNK_FRAMING: usize = 32;

/// Makes space after the unconsumed bytes `buffer[*start..*end]` of a read buffer: rewind
/// when all is consumed, compact when the end is reached, or grow (up to `largest`) when the
/// unconsumed bytes fill it.
pub fn make_room(buffer: &mut Vec<u8>, start: &mut usize, end: &mut usize, largest: usize) {
    if *start == *end {
        (*start, *end) = (0, 0);
    } else if *end == buffer.len() {
        if *start > 0 {
            buffer.copy_within(*start..*end, 0);
            *end -= *start;
            *start = 0;
        } else if buffer.len() < largest {
            buffer.resize(buffer.len() * 2, 0);
        }
    }
}

/// After a read of `count` bytes into `space` free bytes: grows the buffer (doubling, up to
/// [`LARGEST_READ`]) when the read filled it — big bodies deserve big reads.
pub fn grow_after_read(buffer: &mut Vec<u8>, count: usize, space: usize) {
    if count == space && buffer.len() < LARGEST_READ {
        buffer.resize(buffer.len() * 2, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_made_by_rewinding_compacting_or_growing() {
        let mut buffer = vec![0u8; 8];
        let (mut start, mut end) = (8, 8);
        make_room(&mut buffer, &mut start, &mut end, 16);
        assert_eq!((start, end, buffer.len()), (0, 0, 8));
        buffer[6..8].copy_from_slice(b"ab");
        let (mut start, mut end) = (6, 8);
        make_room(&mut buffer, &mut start, &mut end, 16);
        assert_eq!((start, end, &buffer[..2]), (0, 2, &b"ab"[..]));
        let (mut start, mut end) = (0, 8);
        make_room(&mut buffer, &mut start, &mut end, 16);
        assert_eq!(buffer.len(), 16);
        make_room(&mut buffer, &mut 0, &mut 16, 16);
        assert_eq!(buffer.len(), 16, "never past the largest size");
    }
}
