//! The byte stream under a connection: a plain socket, or rustls over it reading ciphertext
//! in large pieces through the client layer's record buffer — and, through an `https://`
//! proxy, rustls over rustls (the origin's TLS inside the proxy's).

use std::io::{self, Read, Write};
use std::net::TcpStream;

use rustls::ClientConnection;
use tidings_client::record::CiphertextBuffer;

/// A byte stream to the server.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

/// rustls over a socket (or over the proxy's rustls), reading ciphertext in large pieces
/// (see [`CiphertextBuffer`]); rustls itself only ever writes to what is under it.
pub(crate) struct TlsStream {
    pub(crate) tls: ClientConnection,
    pub(crate) socket: Stream,
    pub(crate) cipher: CiphertextBuffer,
    /// The stream ended without the peer's `close_notify` (an "incomplete close", RFC 9112
    /// §9.8): reads return `Ok(0)` as at any end, and this says the end is not authenticated.
    pub(crate) closed_without_notify: bool,
}

impl Stream {
    /// The TCP socket at the bottom.
    pub(crate) fn socket(&self) -> &TcpStream {
        match self {
            Stream::Plain(socket) => socket,
            Stream::Tls(tls) => tls.socket.socket(),
        }
    }

    /// Whether received bytes wait inside a TLS layer (ciphertext not yet handed to rustls,
    /// or plaintext rustls decrypted and nobody read).
    pub(crate) fn has_buffered(&mut self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(tls) => {
                // Processing what rustls holds reads no socket; it only tells what is decrypted.
                let plaintext = tls.tls.process_new_packets().map_or(true, |state| state.plaintext_bytes_to_read() > 0);
                !tls.cipher.is_empty() || plaintext || tls.socket.has_buffered()
            }
        }
    }

    /// Whether the stream ended without a TLS `close_notify` (never for plain TCP, whose
    /// close is the only one there is): the core then gets
    /// [`handle_incomplete_close`](tidings_core::Connection::handle_incomplete_close)
    /// instead of `handle_eof`.
    pub(crate) fn closed_without_notify(&self) -> bool {
        matches!(self, Stream::Tls(tls) if tls.closed_without_notify)
    }

    /// Peeks at the socket without waiting: `Ok(0)` when the peer closed, `Ok(n)` when bytes
    /// wait, `WouldBlock` when nothing arrived. One system call where the platform allows.
    pub(crate) fn peek_now(&self) -> io::Result<usize> {
        peek_now(self.socket())
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.read(buf),
            // A peer that closes without close_notify ends the stream too (`Ok(0)`), marked
            // so; the core decides whether that completes the message (RFC 9112 §9.8).
            Stream::Tls(tls) => match tls.cipher.read_plaintext(&mut tls.tls, &mut tls.socket, buf) {
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                    tls.closed_without_notify = true;
                    Ok(0)
                }
                result => result,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(socket) => socket.write(buf),
            Stream::Tls(tls) => {
                // Records from earlier writes go first: an error here has accepted nothing.
                tls.send_records()?;
                let count = tls.tls.writer().write(buf)?;
                // Accepted: a stalled socket now surfaces at the next write or flush.
                let _ = tls.send_records();
                Ok(count)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(socket) => socket.flush(),
            // Records handed to a proxy's TLS layer still have to leave it.
            Stream::Tls(tls) => tls.send_records().and_then(|()| tls.socket.flush()),
        }
    }
}

impl Drop for TlsStream {
    /// RFC 9112 §9.8: "Clients MUST send a closure alert before closing the connection." One
    /// try, without waiting: the socket goes non-blocking first, so a full send buffer or a
    /// peer gone costs nothing, and the server's own alert is not awaited (the RFC's "MAY
    /// choose not to wait"). Inside a proxy's TLS, this origin's alert goes first, then the
    /// proxy's as its stream drops in turn.
    fn drop(&mut self) {
        if self.tls.is_handshaking() {
            return;
        }
        let _ = self.socket.socket().set_nonblocking(true);
        self.tls.send_close_notify();
        let _ = self.send_records();
    }
}

impl TlsStream {
    /// Writes every TLS record rustls holds.
    fn send_records(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.socket) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

/// Peeks at `socket` without waiting (`MSG_PEEK | MSG_DONTWAIT`: one system call, the
/// socket's own blocking mode untouched).
#[cfg(unix)]
fn peek_now(socket: &TcpStream) -> io::Result<usize> {
    let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    socket2::SockRef::from(socket).recv_with_flags(&mut probe, libc::MSG_PEEK | libc::MSG_DONTWAIT)
}

/// Peeks at `socket` without waiting (non-blocking for the one peek).
#[cfg(not(unix))]
fn peek_now(socket: &TcpStream) -> io::Result<usize> {
    socket.set_nonblocking(true)?;
    let mut probe = [0u8; 1];
    let result = socket.peek(&mut probe);
    socket.set_nonblocking(false)?;
    result
}
