//! The bytes under a connection's own TLS (or its plaintext): the socket itself, or —
//! through an `https://` proxy — rustls to the proxy over the socket, so an `https://`
//! origin runs TLS inside the proxy's TLS. Non-blocking both ways: a socket that cannot take
//! more surfaces as `WouldBlock`, never as a zero-length write.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use rustls::ClientConnection;
use tidings_client::record::CiphertextBuffer;

/// The TLS session with an `https://` proxy, and the ciphertext read ahead for it.
pub(crate) struct ProxyTls {
    pub(crate) tls: ClientConnection,
    pub(crate) cipher: CiphertextBuffer,
}

impl ProxyTls {
    pub(crate) fn new(tls: ClientConnection) -> ProxyTls {
        ProxyTls { tls, cipher: CiphertextBuffer::default() }
    }

    /// Sends the proxy a `close_notify` before the socket closes: one try, without waiting.
    pub(crate) fn close_notify(&mut self, socket: &mut TcpStream) {
        self.tls.send_close_notify();
        let _ = self.send(socket);
    }

    /// Whether records wait to go to the socket.
    pub(crate) fn wants_write(&self) -> bool {
        self.tls.wants_write()
    }

    /// Whether bytes were received that nobody has read yet.
    pub(crate) fn has_buffered(&mut self) -> bool {
        // Processing what rustls holds reads no socket; it only tells what is decrypted.
        let plaintext = self.tls.process_new_packets().map_or(true, |state| state.plaintext_bytes_to_read() > 0);
        !self.cipher.is_empty() || plaintext
    }

    /// Writes the records rustls holds to `socket`, until none is left or it would block.
    fn send(&mut self, socket: &mut TcpStream) -> io::Result<()> {
        while self.tls.wants_write() {
            match self.tls.write_tls(socket) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

/// The socket, seen through the proxy's TLS when there is one.
pub(crate) struct Wire<'a> {
    pub(crate) socket: &'a mut TcpStream,
    pub(crate) proxy: Option<&'a mut ProxyTls>,
}

impl Read for Wire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.proxy {
            None => self.socket.read(buf),
            Some(proxy) => {
                let result = proxy.cipher.read_plaintext(&mut proxy.tls, self.socket, buf);
                // What rustls wants to answer (alerts, key updates) goes out if it can.
                match proxy.send(self.socket) {
                    Err(error) if error.kind() != io::ErrorKind::WouldBlock && result.is_ok() => Err(error),
                    _ => result,
                }
            }
        }
    }
}

impl Write for Wire<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(proxy) = &mut self.proxy else { return self.socket.write(buf) };
        if buf.is_empty() {
            return Ok(0);
        }
        let mut accepted = proxy.tls.writer().write(buf)?;
        if accepted == 0 {
            // rustls holds as much as it will: make room by sending, or wait for the socket.
            proxy.send(self.socket)?;
            accepted = proxy.tls.writer().write(buf)?;
            if accepted == 0 {
                return Err(io::Error::from(io::ErrorKind::WouldBlock));
            }
        }
        match proxy.send(self.socket) {
            Err(error) if error.kind() != io::ErrorKind::WouldBlock => Err(error),
            _ => Ok(accepted),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.proxy {
            None => Ok(()),
            Some(proxy) => proxy.send(self.socket),
        }
    }
}

/// Moves a TLS handshake on over `io`: `Ok(true)` once it is complete, `Ok(false)` when it
/// waits for the peer, `WouldBlock` when it waits for the socket.
pub(crate) fn handshake_step(tls: &mut ClientConnection, io: &mut (impl Read + Write)) -> io::Result<bool> {
    loop {
        while tls.wants_write() {
            match tls.write_tls(io) {
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        io.flush()?;
        if !tls.is_handshaking() {
            return Ok(true);
        }
        if !tls.wants_read() {
            return Ok(false);
        }
        match tls.read_tls(io) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection")),
            Ok(_) => {
                if let Err(error) = tls.process_new_packets() {
                    // The alert goes out if it can.
                    while tls.wants_write() && tls.write_tls(io).is_ok() {}
                    let _ = io.flush();
                    return Err(io::Error::new(io::ErrorKind::InvalidData, error));
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}
