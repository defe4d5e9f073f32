//! SOCKS handshakes fed arbitrary proxy replies, in arbitrary pieces, for every dialect and
//! with and without credentials: none may panic, consume more than it was given, or open the
//! tunnel on a reply the protocol does not allow; the same bytes split differently give the
//! same outcome.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use tidings_core::socks::{Handshake, SocksVersion, Target};

/// Feeds `replies` in pieces cut at `cuts`; returns whether the tunnel opened and how many
/// bytes the handshake took, or the error's text.
fn run(version: SocksVersion, credentials: bool, replies: &[u8], cuts: &[u8]) -> Result<(bool, usize), String> {
    let target = if version.resolves_locally() {
        Target::Address(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))
    } else {
        Target::Name("example.com")
    };
    let mut handshake = Handshake::new(version, target, 443, credentials.then_some(("user", "pass")))
        .map_err(|error| error.to_string())?;
    let mut out = [0u8; 64];
    let (mut at, mut cut) = (0, 0);
    while at < replies.len() && !handshake.is_done() {
        while handshake.poll_transmit(&mut out) > 0 {}
        let size = usize::from(cuts.get(cut).copied().unwrap_or(255)).max(1);
        cut += 1;
        let piece = &replies[at..replies.len().min(at + size)];
        let used = handshake.handle_input(piece).map_err(|error| error.to_string())?;
        assert!(used <= piece.len());
        at += used;
        if used < piece.len() && !handshake.is_done() {
            panic!("bytes left unread while the handshake still wants them");
        }
    }
    if !handshake.is_done() {
        handshake.handle_eof().map_err(|error| error.to_string())?;
    }
    Ok((handshake.is_done(), at))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let versions = [SocksVersion::Socks4, SocksVersion::Socks4a, SocksVersion::Socks5, SocksVersion::Socks5h];
    let version = versions[usize::from(selector & 3)];
    let credentials = selector & 4 != 0;
    let split = rest.len().min(usize::from(selector >> 3));
    let (cuts, replies) = rest.split_at(split);
    let whole = run(version, credentials, replies, &[]);
    let pieces = run(version, credentials, replies, cuts);
    assert_eq!(whole, pieces, "the outcome depends on how the replies were split");
    if let (Ok((true, used)), SocksVersion::Socks4 | SocksVersion::Socks4a) = (&whole, version) {
        // An open SOCKS4 tunnel was granted by an 8-byte reply that says so (code 90).
        assert!(*used == 8 && replies[..2] == [0, 90], "opened without a grant: {replies:?}");
    }
});
