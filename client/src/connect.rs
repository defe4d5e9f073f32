//! Connection setup as decisions, the same for every transport: in which order addresses are
//! tried and when the next one joins the race (Happy Eyeballs, RFC 8305), the `CONNECT`
//! request that opens a tunnel through an HTTP proxy and the verdict on the proxy's answer,
//! and the SOCKS handshake that opens one through a SOCKS proxy. Transports do the
//! connecting; they ask here what to do.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tidings_core::socks::{Handshake, SocksError, SocksVersion, Target};
use tidings_core::ResponseHead;

use crate::error::{Error, ErrorKind};
use crate::pool::PoolKey;

/// How long an attempt runs alone before the next address starts beside it (RFC 8305 §5
/// recommends 250 ms). An attempt that fails starts the next one at once.
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// The order in which a name's addresses are tried: families alternate, starting with the
/// family of the resolver's first answer (RFC 8305 §4), so a dead family costs one failed
/// attempt, not all of them. Within a family the resolver's order is kept.
pub fn connect_order(addresses: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addresses.first() else { return Vec::new() };
    let first_v6 = first.is_ipv6();
    let (preferred, other): (Vec<SocketAddr>, Vec<SocketAddr>) =
        addresses.iter().partition(|address| address.is_ipv6() == first_v6);
    let mut ordered = Vec::with_capacity(addresses.len());
    let (mut preferred, mut other) = (preferred.into_iter(), other.into_iter());
    loop {
        match (preferred.next(), other.next()) {
            (None, None) => return ordered,
            (first, second) => ordered.extend(first.into_iter().chain(second)),
        }
    }
}

/// The error for a connection to `key`'s socket address that could not be made. Through a
/// proxy it says so: a refused connection is then the proxy's, not the origin's.
pub fn connect_failed(key: &PoolKey, error: std::io::Error) -> Error {
    Error::io(ErrorKind::Connect, &format!("cannot connect to {}", socket_named(key)), error)
}

/// The error for a name of `key`'s socket address that did not resolve (`error` is `None`
/// when it resolved to no address).
pub fn resolve_failed(key: &PoolKey, error: Option<std::io::Error>) -> Error {
    let (host, _) = key.socket_address();
    let what = if key.proxy.is_some() { format!("the proxy's name {host}") } else { host.to_owned() };
    match error {
        Some(error) => Error::io(ErrorKind::Connect, &format!("cannot resolve {what}"), error),
        None => Error::new(ErrorKind::Connect, format!("cannot resolve {what}: it has no address")),
    }
}

/// `host:port` of the socket, naming the proxy as such.
fn socket_named(key: &PoolKey) -> String {
    let (host, port) = key.socket_address();
    match &key.proxy {
        Some(_) => format!("the proxy {host}:{port} (for {}:{})", key.host, key.port),
        None => format!("{host}:{port}"),
    }
}

/// The `CONNECT` request that opens a tunnel to `key`'s origin through its proxy (RFC 9110
/// §9.3.6), with the proxy's credentials — the only request that carries them for a
/// tunnelled origin.
pub fn connect_request(key: &PoolKey) -> Result<tidings_core::Request, Error> {
    let authority = format!("http://{}:{}", key.host, key.port);
    let mut connect = tidings_core::Request::connect(&authority)?;
    if let Some(value) = key.proxy.as_ref().and_then(tidings_core::proxy::Proxy::authorization) {
        connect.headers_mut().append("Proxy-Authorization", value);
    }
    Ok(connect)
}

/// The verdict on the proxy's answer to a `CONNECT`: a 2xx opens the tunnel (RFC 9110
/// §9.3.6), anything else refuses it (kind `connect`, with the proxy's status and reason).
/// `early_bytes` says whether bytes came after the answer before TLS began: a proxy that
/// speaks for the origin before the client did is not trusted.
pub fn tunnel_verdict(key: &PoolKey, head: &ResponseHead, early_bytes: bool) -> Result<(), Error> {
    let status = head.status();
    if !(200..300).contains(&status) {
        let reason = String::from_utf8_lossy(head.reason()).into_owned();
        return Err(tunnel_error(key, &format!("refused the tunnel to {}:{}: {status} {reason}", key.host, key.port)));
    }
    if early_bytes {
        return Err(tunnel_error(key, "sent bytes after accepting the tunnel, before TLS began"));
    }
    log::debug!(
        "tunnel to {}:{} open through {}:{}",
        key.host,
        key.port,
        key.socket_address().0,
        key.socket_address().1
    );
    Ok(())
}

/// A tunnel that failed before the proxy answered (`error` says how: the proxy closed,
/// reset, or broke HTTP). Kind `connect`, unless it ran out of time (`timeout`).
pub fn tunnel_failed(key: &PoolKey, error: Error) -> Error {
    if error.kind() == ErrorKind::Timeout {
        return error;
    }
    tunnel_error(key, &format!("failed the tunnel to {}:{}: {error}", key.host, key.port))
}

fn tunnel_error(key: &PoolKey, detail: &str) -> Error {
    let (host, port) = key.socket_address();
    Error::new(ErrorKind::Connect, format!("proxy {host}:{port} {detail}"))
}

/// The origin's name and port to resolve before a SOCKS handshake, for a dialect that leaves
/// resolution to the client (`socks4://`, `socks5://`); `None` when the proxy resolves it
/// (`socks4a://`, `socks5h://`), the host is an address already, or there is no SOCKS proxy.
pub fn socks_target_to_resolve(key: &PoolKey) -> Option<(&str, u16)> {
    let version = key.socks()?;
    (version.resolves_locally() && literal(key.host()).is_none()).then_some((key.host(), key.port()))
}

/// The handshake that opens a SOCKS tunnel to `key`'s origin, with the proxy URL's
/// credentials. `resolved` holds the origin's addresses when [`socks_target_to_resolve`]
/// asked for them: the first one the dialect can reach is used (SOCKS4 reaches IPv4 only).
pub fn socks_handshake(key: &PoolKey, resolved: &[SocketAddr]) -> Result<Handshake, Error> {
    let Some((version, proxy)) = key.socks().zip(key.proxy()) else {
        return Err(Error::new(ErrorKind::InvalidRequest, "no SOCKS proxy for this connection"));
    };
    let reachable = |address: &&SocketAddr| version != SocksVersion::Socks4 || address.is_ipv4();
    let target = match (literal(key.host()), resolved.iter().find(reachable)) {
        (Some(address), _) => Target::Address(address),
        (None, Some(address)) if version.resolves_locally() => Target::Address(address.ip()),
        (None, None) if version.resolves_locally() => {
            let detail = match version {
                SocksVersion::Socks4 => "socks4:// needs an IPv4 address for it (socks4a:// lets the proxy resolve it)",
                _ => "it has no address",
            };
            return Err(Error::new(ErrorKind::Connect, format!("cannot resolve {}: {detail}", key.host())));
        }
        (None, _) => Target::Name(key.host()),
    };
    Handshake::new(version, target, key.port(), proxy.credentials()).map_err(|error| socks_failed(key, error))
}

/// A SOCKS handshake that failed: the proxy's reason, with the proxy and the origin named.
/// A refusal is `connect`, a broken reply `protocol`.
pub fn socks_failed(key: &PoolKey, error: SocksError) -> Error {
    let (host, port) = key.socket_address();
    let scheme = key.socks().map_or("socks", SocksVersion::scheme);
    let message = format!("{scheme} proxy {host}:{port} (for {}:{}): {error}", key.host(), key.port());
    Error::new(error.kind(), message).caused_by(tidings_core::Error::from(error))
}

/// A SOCKS handshake whose reads or writes failed: past the connect deadline it is
/// `timeout`, else `connect` (the proxy reset or refused the exchange).
pub fn socks_io_failed(key: &PoolKey, error: std::io::Error) -> Error {
    let (host, port) = key.socket_address();
    if matches!(error.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
        let message = format!("timed out: the connect deadline passed during the SOCKS handshake with {host}:{port}");
        return Error::new(ErrorKind::Timeout, message);
    }
    Error::io(ErrorKind::Connect, &format!("the SOCKS handshake with {host}:{port} failed"), error)
}

/// The proxy sent bytes after opening the tunnel, before the client spoke: not trusted.
pub fn socks_early_bytes(key: &PoolKey) -> Error {
    let (host, port) = key.socket_address();
    Error::new(
        ErrorKind::Protocol,
        format!("SOCKS proxy {host}:{port} sent bytes after opening the tunnel, before the client spoke"),
    )
}

/// The host as an address, when it is one (an IPv6 literal may be bracketed).
fn literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_alternate_starting_with_the_first() {
        let addresses: Vec<SocketAddr> =
            ["[::1]:1", "[::2]:1", "[::3]:1", "10.0.0.1:1"].iter().map(|text| text.parse().expect("address")).collect();
        let ordered: Vec<String> = connect_order(&addresses).iter().map(ToString::to_string).collect();
        assert_eq!(ordered, ["[::1]:1", "10.0.0.1:1", "[::2]:1", "[::3]:1"]);
        assert!(connect_order(&[]).is_empty());
    }

    #[test]
    fn the_connect_request_carries_the_proxys_credentials_only() {
        let proxy = tidings_core::proxy::Proxy::parse("http://me:secret@127.0.0.1:3128").expect("proxy");
        let key = PoolKey {
            https: true,
            host: "example.com".into(),
            port: 443,
            tls: Some(1),
            proxy: Some(proxy),
            proxy_tls: None,
        };
        let request = connect_request(&key).expect("connect");
        assert_eq!(request.target(), "example.com:443");
        assert!(request.headers().get("proxy-authorization").is_some_and(|value| value.starts_with(b"Basic ")));
        assert!(!request.headers().contains("authorization"));
    }
}
