//! Opening a connection: resolve, race the addresses (Happy Eyeballs, in the client layer's
//! order and timing), open a `CONNECT` or SOCKS tunnel through a proxy and complete TLS —
//! each within the core's connect deadline. The decisions are the client layer's; this is
//! their I/O.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;
use tidings_client::connect::{
    connect_failed, connect_order, connect_request, resolve_failed, socks_early_bytes, socks_failed, socks_handshake,
    socks_io_failed, socks_target_to_resolve, tunnel_failed, tunnel_verdict, ATTEMPT_DELAY,
};
use tidings_client::record::CiphertextBuffer;
use tidings_client::{tls, Error, ErrorKind, PoolKey};
use tidings_core::{Config, Connection};

use crate::conn::{BodySource, Conn};
use crate::stream::{Stream, TlsStream};

impl Conn {
    /// Resolves, connects within the core's connect deadline, runs TLS to an `https://`
    /// proxy, tunnels through the key's proxy (SOCKS, or `CONNECT` for `https`), and
    /// completes TLS with the origin.
    pub(crate) fn open(
        key: PoolKey,
        config: Config,
        tls: Option<Arc<ClientConfig>>,
        proxy_tls: Option<Arc<ClientConfig>>,
        now: Instant,
    ) -> Result<Box<Conn>, Error> {
        let mut core = Connection::connecting(config.clone(), now);
        // Through a proxy, the socket goes to the proxy.
        let addresses: Vec<SocketAddr> =
            key.socket_address().to_socket_addrs().map_err(|error| resolve_failed(&key, Some(error)))?.collect();
        if addresses.is_empty() {
            return Err(resolve_failed(&key, None));
        }
        let deadline = core.poll_timeout();
        let socket = connect_racing(&addresses, deadline).map_err(|error| connect_failed(&key, error))?;
        socket.set_nodelay(true).map_err(|error| Error::io(ErrorKind::Connect, "TCP_NODELAY", error))?;
        let mut stream = Stream::Plain(socket);
        if let (true, Some(proxy_tls)) = (key.proxy_over_tls(), proxy_tls) {
            let proxy = format!("the proxy {}", key.socket_address().0);
            stream = Stream::Tls(Box::new(handshake(&proxy, key.socket_address().0, proxy_tls, stream, &core)?));
        }
        if key.socks().is_some() {
            stream = socks(&key, stream, &core)?;
        } else if tls.is_some() && key.tunnels() {
            stream = tunnel(&key, stream, config, now)?;
        }
        if let Some(config) = tls {
            stream = Stream::Tls(Box::new(handshake(key.host(), key.host(), config, stream, &core)?));
        }
        core.handle_connected(Instant::now())?;
        log::debug!("connected to {}:{} ({})", key.host(), key.port(), if key.https() { "tls" } else { "plain" });
        Ok(Conn::new(key, core, stream))
    }
}

fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()))
}

/// Happy Eyeballs (RFC 8305) in the client layer's order: a new attempt starts when the
/// previous one fails or has run for [`ATTEMPT_DELAY`]; the first connection wins. Attempts
/// run on short-lived threads; a losing socket is closed when its thread ends.
fn connect_racing(addresses: &[SocketAddr], deadline: Option<Instant>) -> io::Result<TcpStream> {
    let budget = |deadline: Option<Instant>| remaining(deadline).unwrap_or(Duration::from_secs(3600));
    match addresses {
        [] => return Err(io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address")),
        [only] => return TcpStream::connect_timeout(only, budget(deadline).max(Duration::from_millis(1))),
        _ => {}
    }
    let ordered = connect_order(addresses);
    let (sender, receiver) = std::sync::mpsc::channel();
    let (mut started, mut failed) = (0, 0);
    let mut last_error = None;
    loop {
        if started < ordered.len() {
            let (address, sender) = (ordered[started], sender.clone());
            let timeout = budget(deadline).max(Duration::from_millis(1));
            std::thread::spawn(move || {
                // The receiver may be gone (another attempt won): the socket just closes.
                let _ = sender.send(TcpStream::connect_timeout(&address, timeout));
            });
            started += 1;
        }
        let left = budget(deadline);
        if left.is_zero() {
            return Err(last_error.unwrap_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "connect timed out")));
        }
        let wait = if started < ordered.len() { ATTEMPT_DELAY.min(left) } else { left };
        match receiver.recv_timeout(wait) {
            Ok(Ok(socket)) => return Ok(socket),
            Ok(Err(error)) => {
                failed += 1;
                last_error = Some(error);
                if failed == ordered.len() {
                    return Err(last_error.unwrap_or_else(|| io::Error::other("every address failed")));
                }
            }
            Err(_) => {}
        }
    }
}

/// Opens a CONNECT tunnel to the key's origin through its proxy (RFC 9110 §9.3.6), within
/// the connect deadline. The proxy's credentials go on the CONNECT request and nowhere else.
fn tunnel(key: &PoolKey, stream: Stream, config: Config, started: Instant) -> Result<Stream, Error> {
    let connect = connect_request(key)?;
    let mut core = Connection::connecting(config, started);
    let connect_deadline = core.poll_timeout();
    core.handle_connected(Instant::now())?;
    let mut conn = Conn::new(key.clone(), core, stream);
    let head =
        conn.exchange(&connect, &mut BodySource::Empty, connect_deadline).map_err(|error| tunnel_failed(key, error))?;
    tunnel_verdict(key, &head.head, conn.received().unconsumed)?;
    Ok(conn.into_stream())
}

/// Opens a SOCKS tunnel to the key's origin through its proxy, within the connect deadline:
/// resolves the origin first when the dialect leaves that to the client, then drives the
/// client layer's handshake over the socket.
fn socks(key: &PoolKey, mut socket: Stream, core: &Connection) -> Result<Stream, Error> {
    let resolved: Vec<SocketAddr> = match socks_target_to_resolve(key) {
        Some((host, port)) => (host, port)
            .to_socket_addrs()
            .map_err(|error| Error::io(ErrorKind::Connect, &format!("cannot resolve {host}"), error))?
            .collect(),
        None => Vec::new(),
    };
    let mut handshake = socks_handshake(key, &resolved)?;
    let mut buffer = [0u8; 600];
    while !handshake.is_done() {
        let wait = remaining(core.poll_timeout());
        if wait.is_some_and(|wait| wait.is_zero()) {
            return Err(socks_io_failed(key, io::Error::from(io::ErrorKind::TimedOut)));
        }
        socket
            .socket()
            .set_read_timeout(wait)
            .and_then(|()| socket.socket().set_write_timeout(wait))
            .map_err(|error| socks_io_failed(key, error))?;
        loop {
            let count = handshake.poll_transmit(&mut buffer);
            if count == 0 {
                break;
            }
            socket.write_all(&buffer[..count]).map_err(|error| socks_io_failed(key, error))?;
        }
        let read = socket.read(&mut buffer).map_err(|error| socks_io_failed(key, error))?;
        if read == 0 {
            handshake.handle_eof().map_err(|error| socks_failed(key, error))?;
        }
        let used = handshake.handle_input(&buffer[..read]).map_err(|error| socks_failed(key, error))?;
        if used < read {
            return Err(socks_early_bytes(key));
        }
    }
    log::debug!("SOCKS tunnel to {}:{} open through {:?}", key.host(), key.port(), key.socket_address());
    Ok(socket)
}

/// Completes a TLS handshake with `host` (verified as `name`) over `socket` within the
/// connect deadline: with the origin, or with an `https://` proxy (`host` then says so).
fn handshake(
    host: &str,
    name: &str,
    config: Arc<ClientConfig>,
    mut socket: Stream,
    core: &Connection,
) -> Result<TlsStream, Error> {
    let mut session = tls::client_session(config, name)?;
    while session.is_handshaking() {
        let wait = remaining(core.poll_timeout());
        if wait.is_some_and(|wait| wait.is_zero()) {
            return Err(tls::handshake_error(host, io::Error::from(io::ErrorKind::TimedOut)));
        }
        socket
            .socket()
            .set_read_timeout(wait)
            .and_then(|()| socket.socket().set_write_timeout(wait))
            .map_err(|error| Error::io(ErrorKind::Tls, "TLS", error))?;
        let done = session.complete_io(&mut socket).and_then(|_| socket.flush());
        if let Err(error) = done {
            return Err(tls::handshake_error(host, error));
        }
    }
    Ok(TlsStream { tls: session, socket, cipher: CiphertextBuffer::default(), closed_without_notify: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_address_falls_through_to_the_next() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let open = listener.local_addr().expect("address");
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address");
        let socket =
            connect_racing(&[closed, open], Some(Instant::now() + Duration::from_secs(5))).expect("second address");
        assert_eq!(socket.peer_addr().expect("peer"), open);
        let error =
            connect_racing(&[closed, closed], Some(Instant::now() + Duration::from_secs(5))).expect_err("all refused");
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }
}
