//! Setting a new connection up, one non-blocking step at a time: resolve (off the loop),
//! race the addresses (Happy Eyeballs in the client layer's order and timing), open a
//! `CONNECT` or SOCKS tunnel through a proxy, and complete TLS. The decisions are the client
//! layer's; this is their I/O.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::Registry;
use tidings_client::connect::{
    connect_failed, connect_order, connect_request, resolve_failed, socks_early_bytes, socks_failed, socks_handshake,
    socks_io_failed, socks_target_to_resolve, tunnel_failed, tunnel_verdict,
};
use tidings_client::{tls, Error, ErrorKind};
use tidings_core::Connection;

use crate::conn::{Attempts, Conn, Connecting, Phase, Received};
use crate::resolver::{literal, ResolverPool};

/// Where a connection's setup stands after a step.
pub(crate) enum Setup {
    /// Waiting: for the resolver, a socket's readiness, or the next address's turn.
    Waiting,
    /// Connected — tunnelled and with TLS as its key says: ready for exchanges.
    Ready,
    /// Failed: the attempt that wanted it fails with this error.
    Failed(Error),
}

/// Starts setting up the new connection in `slot`: the origin's name first when a SOCKS
/// proxy leaves it to the client; then an IP literal connects at once, a name goes to the
/// resolver.
pub(crate) fn begin(
    conn: &mut Conn,
    slot: usize,
    resolver: &mut ResolverPool,
    registry: &Registry,
    now: Instant,
) -> Setup {
    if let Some((host, port)) = socks_target_to_resolve(&conn.key) {
        let host = host.to_owned();
        conn.phase = Phase::ResolvingTarget;
        return match resolver.lookup(slot, conn.serial, &host, port) {
            Ok(()) => Setup::Waiting,
            Err(error) => Setup::Failed(target_unresolved(conn, error)),
        };
    }
    resolve_socket(conn, slot, resolver, registry, now)
}

/// Resolves where the socket goes (the proxy, or the origin), or connects to a literal.
fn resolve_socket(
    conn: &mut Conn,
    slot: usize,
    resolver: &mut ResolverPool,
    registry: &Registry,
    now: Instant,
) -> Setup {
    let (host, port) = conn.key.socket_address();
    match literal(host, port) {
        Some(address) => {
            conn.phase = Phase::Connecting(Box::new(Attempts::new(vec![address])));
            connect_next(conn, registry, now)
        }
        None => {
            let host = host.to_owned();
            conn.phase = Phase::Resolving;
            match resolver.lookup(slot, conn.serial, &host, port) {
                Ok(()) => Setup::Waiting,
                Err(error) => Setup::Failed(resolve_failed(&conn.key, Some(error))),
            }
        }
    }
}

/// The resolver answered for a connection still resolving (the SOCKS target, or the socket's
/// address).
pub(crate) fn resolved(
    conn: &mut Conn,
    slot: usize,
    answer: io::Result<Vec<SocketAddr>>,
    resolver: &mut ResolverPool,
    registry: &Registry,
    now: Instant,
) -> Setup {
    if matches!(conn.phase, Phase::ResolvingTarget) {
        return match answer {
            Ok(addresses) => {
                // An empty answer is refused when the handshake is built, with its reason.
                conn.socks_target = addresses;
                resolve_socket(conn, slot, resolver, registry, now)
            }
            Err(error) => Setup::Failed(target_unresolved(conn, error)),
        };
    }
    match answer {
        Ok(addresses) if !addresses.is_empty() => {
            conn.phase = Phase::Connecting(Box::new(Attempts::new(connect_order(&addresses))));
            connect_next(conn, registry, now)
        }
        Ok(_) => Setup::Failed(resolve_failed(&conn.key, None)),
        Err(error) => Setup::Failed(resolve_failed(&conn.key, Some(error))),
    }
}

fn target_unresolved(conn: &Conn, error: io::Error) -> Error {
    Error::io(ErrorKind::Connect, &format!("cannot resolve {}", conn.key.host()), error)
}

/// Starts a connect to the next address, beside any under way (its turn came, or all
/// under way failed).
pub(crate) fn connect_next(conn: &mut Conn, registry: &Registry, now: Instant) -> Setup {
    match conn.connect_next(registry, now) {
        Ok(true) => Setup::Waiting,
        // Nothing new started: the ones under way (if any) decide.
        Ok(false) => advance(conn, registry, now),
        Err(error) => Setup::Failed(connect_error(conn, error)),
    }
}

/// Moves the setup on as far as it goes without waiting: connects, the tunnel, TLS.
pub(crate) fn advance(conn: &mut Conn, registry: &Registry, now: Instant) -> Setup {
    loop {
        match &conn.phase {
            Phase::Resolving | Phase::ResolvingTarget => return Setup::Waiting,
            Phase::Ready => return Setup::Ready,
            Phase::Connecting(_) => match conn.poll_connects(registry) {
                // All under way failed: the next address starts at once.
                Connecting::Pending if conn.connects_idle() => return connect_next(conn, registry, now),
                Connecting::Pending => return Setup::Waiting,
                Connecting::Connected => {
                    log::debug!("connected to {:?}", conn.key.socket_address());
                    let next = match conn.proxy_tls_config.clone() {
                        Some(config) if conn.key.proxy_over_tls() => {
                            conn.start_proxy_tls(config).map(|()| conn.phase = Phase::ProxyHandshaking)
                        }
                        _ => through_proxy(conn, now),
                    };
                    if let Err(error) = next {
                        return Setup::Failed(error);
                    }
                }
                Connecting::Failed(error) => {
                    log::debug!("connect to {:?} failed: {error}", conn.key.socket_address());
                    return Setup::Failed(connect_error(conn, error));
                }
            },
            Phase::ProxyHandshaking => match conn.proxy_handshake() {
                Ok(true) => {
                    if let Err(error) = through_proxy(conn, now) {
                        return Setup::Failed(error);
                    }
                }
                Ok(false) => return Setup::Waiting,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Setup::Waiting,
                Err(error) => {
                    let proxy = format!("the proxy {}", conn.key.socket_address().0);
                    return Setup::Failed(tls::handshake_error(&proxy, error));
                }
            },
            Phase::Tunnelling { .. } => match tunnel_step(conn, now) {
                Ok(false) => return Setup::Waiting,
                Ok(true) => {
                    if let Err(error) = start_tls(conn) {
                        return Setup::Failed(error);
                    }
                }
                Err(error) => return Setup::Failed(error),
            },
            Phase::Socks(_) => match socks_step(conn) {
                Ok(false) => return Setup::Waiting,
                Ok(true) => {
                    if let Err(error) = start_tls(conn) {
                        return Setup::Failed(error);
                    }
                }
                Err(error) => return Setup::Failed(error),
            },
            Phase::Handshaking => match conn.handshake() {
                Ok(true) => conn.phase = Phase::Ready,
                Ok(false) => return Setup::Waiting,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Setup::Waiting,
                Err(error) => return Setup::Failed(tls::handshake_error(conn.key.host(), error)),
            },
        }
    }
}

/// Once connected (and TLS with an `https://` proxy is up): the SOCKS handshake, the
/// `CONNECT` tunnel, or the origin's TLS.
fn through_proxy(conn: &mut Conn, now: Instant) -> Result<(), Error> {
    if conn.key.socks().is_some() {
        conn.phase = Phase::Socks(Box::new(socks_handshake(&conn.key, &conn.socks_target)?));
        Ok(())
    } else if conn.key.tunnels() {
        let tunnel = Connection::connecting(conn.core.config().clone(), now);
        conn.phase = Phase::Tunnelling { tunnel: Box::new(tunnel), sent: false };
        Ok(())
    } else {
        start_tls(conn)
    }
}

/// After TCP (and the tunnel): TLS for an `https` origin, else ready.
fn start_tls(conn: &mut Conn) -> Result<(), Error> {
    match conn.tls_config.clone() {
        Some(config) => {
            conn.start_tls(config)?;
            conn.phase = Phase::Handshaking;
        }
        None => conn.phase = Phase::Ready,
    }
    Ok(())
}

fn connect_error(conn: &Conn, error: io::Error) -> Error {
    connect_failed(&conn.key, error)
}

/// One step of a SOCKS handshake with the proxy: `Ok(true)` once the tunnel is open. The
/// connection's connect deadline bounds it (the core is still connecting).
fn socks_step(conn: &mut Conn) -> Result<bool, Error> {
    // The handshake reads the connection's buffers: it leaves its phase while it works.
    let Phase::Socks(mut handshake) = std::mem::replace(&mut conn.phase, Phase::Resolving) else {
        return Ok(false);
    };
    let result = socks_io(conn, &mut handshake);
    conn.phase = Phase::Socks(handshake);
    result
}

fn socks_io(conn: &mut Conn, handshake: &mut tidings_core::socks::Handshake) -> Result<bool, Error> {
    let key = conn.key.clone();
    loop {
        if handshake.wants_transmit() && conn.sent == conn.filled {
            conn.output.resize(600, 0);
            conn.filled = handshake.poll_transmit(&mut conn.output);
            conn.sent = 0;
        }
        match conn.write_pending() {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(error) => return Err(socks_io_failed(&key, error)),
        }
        let read = match conn.read_some() {
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => 0,
            Err(error) => return Err(socks_io_failed(&key, error)),
        };
        let used = handshake.handle_input(conn.unconsumed()).map_err(|error| socks_failed(&key, error))?;
        conn.consume(used);
        if handshake.is_done() {
            if !conn.unconsumed().is_empty() {
                return Err(socks_early_bytes(&key));
            }
            conn.sent = 0;
            conn.filled = 0;
            log::debug!("SOCKS tunnel to {}:{} open through {:?}", key.host(), key.port(), key.socket_address());
            return Ok(true);
        }
        if conn.eof {
            handshake.handle_eof().map_err(|error| socks_failed(&key, error))?;
        }
        if read == 0 && !handshake.wants_transmit() {
            return Ok(false);
        }
    }
}

/// One step of a `CONNECT` exchange with the proxy: `Ok(true)` once the tunnel is open.
fn tunnel_step(conn: &mut Conn, now: Instant) -> Result<bool, Error> {
    let key = conn.key.clone();
    let Phase::Tunnelling { tunnel, sent } = &mut conn.phase else { return Ok(false) };
    if !*sent {
        tunnel.handle_connected(now)?;
        let request = connect_request(&key)?;
        tunnel.send_request(now, &request)?;
        tidings_client::wire::log_request_head(tunnel.pending_output());
        let mut output = vec![0; 4096];
        let mut filled = 0;
        loop {
            let count = tunnel.poll_transmit(now, &mut output[filled..]);
            if count == 0 {
                break;
            }
            filled += count;
            if filled == output.len() {
                output.resize(output.len() * 2, 0);
            }
        }
        conn.output = output;
        conn.sent = 0;
        conn.filled = filled;
        *sent = true;
    }
    match conn.write_pending() {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
        Err(error) => return Err(tunnel_failed(&key, Error::io(ErrorKind::Eof, "writing to the proxy", error))),
    }
    loop {
        match conn.read_some() {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(tunnel_failed(&key, Error::io(ErrorKind::Eof, "reading from the proxy", error))),
        }
        let head = match conn.feed(now) {
            Ok(Some(Received::Head(head))) => Some(head),
            Ok(_) => None,
            Err(error) if conn.eof => return Err(tunnel_failed(&key, Error::from(error))),
            Err(error) => return Err(Error::from(error)),
        };
        match head {
            Some(head) => {
                tunnel_verdict(&key, &head, !conn.unconsumed().is_empty())?;
                conn.sent = 0;
                conn.filled = 0;
                return Ok(true);
            }
            None if conn.eof => {
                let closed = Error::new(ErrorKind::Eof, "the proxy closed the connection before answering");
                return Err(tunnel_failed(&key, closed));
            }
            None if conn.unconsumed().is_empty() => return Ok(false),
            None => {}
        }
    }
}
