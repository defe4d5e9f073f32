//! The TLS record buffer: ciphertext read from the socket in large pieces and handed to
//! rustls from memory, shared by every transport (blocking or not: the socket is any `Read`).

/// Ciphertext read from the socket in large pieces and handed to rustls from memory. Left to
/// itself, rustls reads at most 4 KiB per `read_tls` call — a system call per 4 KiB of a
/// download; through this buffer, one per read of up to 256 KiB. Only rustls' `write_tls` may
/// touch the socket otherwise (never a read that would overtake these bytes).
#[derive(Debug, Default)]
pub struct CiphertextBuffer {
    buffer: Vec<u8>,
    start: usize,
    end: usize,
}

/// A full TLS record (16 KiB of plaintext and its overhead) to start with.
const CIPHERTEXT_INITIAL: usize = 16 * 1024 + 512;
const CIPHERTEXT_LARGEST: usize = 256 * 1024;

impl CiphertextBuffer {
    /// Reads plaintext into `out`, feeding rustls ciphertext from this buffer and refilling
    /// it from `socket` as needed: `Ok(0)` at the end of the stream after the peer's
    /// `close_notify`; an `UnexpectedEof` error when the peer closed without one (RFC 9112
    /// §9.8's "incomplete close": the transport hands the core
    /// [`handle_incomplete_close`](tidings_core::Connection::handle_incomplete_close), which
    /// decides whether that completes the message); a non-blocking socket's `WouldBlock` (or
    /// a timed-out read) comes back as is.
    pub fn read_plaintext(
        &mut self,
        tls: &mut rustls::ClientConnection,
        socket: &mut dyn std::io::Read,
        out: &mut [u8],
    ) -> std::io::Result<usize> {
        use std::io::{ErrorKind as Kind, Read as _};
        let mut closed = false;
        loop {
            match tls.reader().read(out) {
                Ok(count) => return Ok(count),
                // rustls' word for a close without close_notify, passed on as is.
                Err(error) if error.kind() == Kind::UnexpectedEof => return Err(error),
                Err(error) if error.kind() == Kind::WouldBlock => {
                    if closed {
                        // The socket ended and rustls saw no close_notify.
                        return Err(std::io::Error::new(Kind::UnexpectedEof, "closed without a TLS close_notify"));
                    }
                }
                Err(error) => return Err(error),
            }
            if self.start == self.end {
                if self.buffer.is_empty() {
                    self.buffer.resize(CIPHERTEXT_INITIAL, 0);
                }
                let count = socket.read(&mut self.buffer)?;
                (self.start, self.end) = (0, count);
                if count == 0 {
                    // Tells rustls the stream ended (it then reports a missing close_notify).
                    tls.read_tls(&mut std::io::empty())?;
                    closed = true;
                } else if count == self.buffer.len() && self.buffer.len() < CIPHERTEXT_LARGEST {
                    // Big downloads deserve big reads.
                    self.buffer.resize(self.buffer.len() * 2, 0);
                }
            }
            if self.start < self.end {
                self.start += tls.read_tls(&mut &self.buffer[self.start..self.end])?;
            }
            tls.process_new_packets().map_err(|error| std::io::Error::new(Kind::InvalidData, error))?;
        }
    }

    /// Whether received ciphertext waits here.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The buffer's size in bytes.
    pub fn capacity(&self) -> usize {
        self.buffer.capacity()
    }
}
