//! SOCKS handshakes as a Sans-IO state machine: bytes to write out, bytes read in, and when
//! the tunnel is open. The transport connects to the proxy, drives the handshake under the
//! attempt's connect deadline, and then speaks HTTP (or TLS) over the same connection.
//!
//! * SOCKS5 (RFC 1928) with no authentication, or username and password (RFC 1929) when the
//!   proxy URL carries them; the target as an address (`socks5://`: the client resolved the
//!   name) or as a name (`socks5h://`: the proxy resolves it).
//! * SOCKS4 (an IPv4 address the client resolved) and SOCKS4a (a name the proxy resolves),
//!   with the proxy URL's user name as the user id.
//!
//! Every reply is checked byte for byte: a wrong version, a reserved byte that is not zero, an
//! unknown address type or reply code is a protocol error; a refusal is reported with the
//! proxy's reason. The handshake consumes exactly its replies, so bytes after the last one
//! belong to the tunnel.

use std::net::IpAddr;

/// The SOCKS dialects, by the scheme of the proxy URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocksVersion {
    /// `socks4://`: an IPv4 address, resolved by the client.
    Socks4,
    /// `socks4a://`: a name, resolved by the proxy.
    Socks4a,
    /// `socks5://`: an address, resolved by the client.
    Socks5,
    /// `socks5h://`: a name, resolved by the proxy.
    Socks5h,
}

impl SocksVersion {
    /// Whether the client resolves the target's name before the handshake.
    pub fn resolves_locally(self) -> bool {
        matches!(self, SocksVersion::Socks4 | SocksVersion::Socks5)
    }

    /// The URL scheme: `socks4`, `socks4a`, `socks5`, `socks5h`.
    pub fn scheme(self) -> &'static str {
        match self {
            SocksVersion::Socks4 => "socks4",
            SocksVersion::Socks4a => "socks4a",
            SocksVersion::Socks5 => "socks5",
            SocksVersion::Socks5h => "socks5h",
        }
    }
}

/// Where the tunnel should lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A host name, for the proxy to resolve.
    Name(&'a str),
    /// An address (a literal in the URL, or the client's resolution).
    Address(IpAddr),
}

/// What went wrong in a SOCKS handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SocksError {
    /// The proxy answered, and refused the connection (its reply code and reason).
    #[error("{reason} (SOCKS reply {code})")]
    Refused {
        /// The reply code.
        code: u8,
        /// What the code means.
        reason: &'static str,
    },
    /// The proxy accepts none of the authentication methods offered.
    #[error("the proxy accepts none of the offered authentication methods ({offered})")]
    NoAcceptableMethod {
        /// What was offered, for the message.
        offered: &'static str,
    },
    /// The proxy refused the user name and password.
    #[error("authentication failed: the proxy refused the user name and password (status {status})")]
    AuthenticationFailed {
        /// The proxy's status byte.
        status: u8,
    },
    /// The reply is not what the protocol allows.
    #[error("malformed reply: {reason}")]
    Malformed {
        /// What was wrong.
        reason: String,
    },
    /// The proxy closed the connection before its reply was complete.
    #[error("the proxy closed the connection {during}")]
    Truncated {
        /// At which step.
        during: &'static str,
    },
    /// The target or the credentials cannot be expressed in this dialect.
    #[error("{reason}")]
    Target {
        /// Why.
        reason: String,
    },
}

impl SocksError {
    /// The stable kind: a refusal is `connect`, a broken reply `protocol`, a target that
    /// cannot be asked for `invalid_request`.
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            SocksError::Refused { .. }
            | SocksError::NoAcceptableMethod { .. }
            | SocksError::AuthenticationFailed { .. } => crate::ErrorKind::Connect,
            SocksError::Malformed { .. } | SocksError::Truncated { .. } => crate::ErrorKind::Protocol,
            SocksError::Target { .. } => crate::ErrorKind::InvalidRequest,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// SOCKS5: the method the proxy chose.
    Method,
    /// SOCKS5: the answer to the user name and password.
    Auth,
    /// The answer to the connect request.
    Reply,
    /// The tunnel is open.
    Done,
    /// A reply failed; the connection is useless.
    Failed,
}

/// One SOCKS handshake.
#[derive(Debug, Clone)]
pub struct Handshake {
    version: SocksVersion,
    state: State,
    /// Bytes to write, from `sent` on.
    out: Vec<u8>,
    sent: usize,
    /// SOCKS5: the connect request, queued once authentication is done.
    request: Vec<u8>,
    /// SOCKS5: the RFC 1929 sub-negotiation, when there are credentials.
    auth: Option<Vec<u8>>,
    /// The reply read so far (at most 262 bytes: a SOCKS5 reply with a 255-byte name).
    reply: Vec<u8>,
}

const SOCKS5_REPLIES: [&str; 9] = [
    "succeeded",
    "general SOCKS server failure",
    "connection not allowed by the proxy's rules",
    "network unreachable",
    "host unreachable",
    "connection refused by the destination",
    "TTL expired",
    "command not supported",
    "address type not supported",
];

impl Handshake {
    /// A handshake asking `version`'s proxy for a tunnel to `target`:`port`, with the proxy
    /// URL's `credentials` (user name, password) if any. A target the dialect cannot express
    /// (an IPv6 address or a name for SOCKS4, a name longer than 255 bytes) is refused here.
    pub fn new(
        version: SocksVersion,
        target: Target<'_>,
        port: u16,
        credentials: Option<(&str, &str)>,
    ) -> Result<Handshake, SocksError> {
        let invalid = |reason: &str| SocksError::Target { reason: reason.to_owned() };
        let mut handshake = Handshake {
            version,
            state: State::Reply,
            out: Vec::with_capacity(64),
            sent: 0,
            request: Vec::new(),
            auth: None,
            reply: Vec::with_capacity(16),
        };
        match version {
            SocksVersion::Socks4 | SocksVersion::Socks4a => {
                let (address, name) = match (version, target) {
                    (_, Target::Address(IpAddr::V4(address))) => (address.octets(), None),
                    (_, Target::Address(IpAddr::V6(_))) => return Err(invalid("SOCKS4 cannot reach an IPv6 address")),
                    (SocksVersion::Socks4a, Target::Name(name)) => ([0, 0, 0, 1], Some(name)),
                    (_, Target::Name(_)) => return Err(invalid("socks4:// needs an address: resolve the name first")),
                };
                let user = credentials.map(|(user, _)| user).unwrap_or_default();
                if user.contains('\0') || name.is_some_and(|name| name.contains('\0')) {
                    return Err(invalid("a SOCKS4 user id or name cannot hold a NUL byte"));
                }
                handshake.out.extend_from_slice(&[4, 1]);
                handshake.out.extend_from_slice(&port.to_be_bytes());
                handshake.out.extend_from_slice(&address);
                handshake.out.extend_from_slice(user.as_bytes());
                handshake.out.push(0);
                if let Some(name) = name {
                    handshake.out.extend_from_slice(name.as_bytes());
                    handshake.out.push(0);
                }
            }
            SocksVersion::Socks5 | SocksVersion::Socks5h => {
                handshake.request.extend_from_slice(&[5, 1, 0]);
                match target {
                    Target::Address(IpAddr::V4(address)) => {
                        handshake.request.push(1);
                        handshake.request.extend_from_slice(&address.octets());
                    }
                    Target::Address(IpAddr::V6(address)) => {
                        handshake.request.push(4);
                        handshake.request.extend_from_slice(&address.octets());
                    }
                    Target::Name(name) if version == SocksVersion::Socks5h => {
                        let length = u8::try_from(name.len())
                            .ok()
                            .filter(|length| *length > 0)
                            .ok_or_else(|| invalid("a SOCKS5 host name is 1 to 255 bytes"))?;
                        handshake.request.push(3);
                        handshake.request.push(length);
                        handshake.request.extend_from_slice(name.as_bytes());
                    }
                    Target::Name(_) => return Err(invalid("socks5:// needs an address: resolve the name first")),
                }
                handshake.request.extend_from_slice(&port.to_be_bytes());
                // RFC 1928 §3: the methods offered; RFC 1929 when there are credentials.
                match credentials {
                    Some((user, password)) => {
                        let field = |text: &str| {
                            u8::try_from(text.len())
                                .ok()
                                .filter(|length| *length > 0)
                                .ok_or_else(|| invalid("a SOCKS5 user name and password are 1 to 255 bytes each"))
                        };
                        let (user_length, password_length) = (field(user)?, field(password)?);
                        let mut auth = vec![1, user_length];
                        auth.extend_from_slice(user.as_bytes());
                        auth.push(password_length);
                        auth.extend_from_slice(password.as_bytes());
                        handshake.auth = Some(auth);
                        handshake.out.extend_from_slice(&[5, 2, 0, 2]);
                    }
                    None => handshake.out.extend_from_slice(&[5, 1, 0]),
                }
                handshake.state = State::Method;
            }
        }
        Ok(handshake)
    }

    /// The dialect.
    pub fn version(&self) -> SocksVersion {
        self.version
    }

    /// Copies bytes to write into `buffer`; returns how many (0: nothing to write now).
    pub fn poll_transmit(&mut self, buffer: &mut [u8]) -> usize {
        let pending = &self.out[self.sent..];
        let count = pending.len().min(buffer.len());
        buffer[..count].copy_from_slice(&pending[..count]);
        self.sent += count;
        if self.sent == self.out.len() {
            self.out.clear();
            self.sent = 0;
        }
        count
    }

    /// Whether bytes wait to be written.
    pub fn wants_transmit(&self) -> bool {
        self.sent < self.out.len()
    }

    /// Whether the tunnel is open: what follows on the connection is the target's.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Reads the proxy's bytes; returns how many belong to the handshake (bytes after the
    /// last reply are left for the tunnel). A refusal or a broken reply is an error, and
    /// every later call returns one too.
    pub fn handle_input(&mut self, input: &[u8]) -> Result<usize, SocksError> {
        let mut used = 0;
        while used < input.len() && !matches!(self.state, State::Done | State::Failed) {
            // The length known before these bytes: a SOCKS5 reply's head is checked as soon
            // as it is in, before the address it announces.
            let known = self.reply_length();
            let take = known.saturating_sub(self.reply.len()).max(1).min(input.len() - used);
            self.reply.extend_from_slice(&input[used..used + take]);
            used += take;
            if self.reply.len() >= known {
                if let Err(error) = self.step() {
                    self.state = State::Failed;
                    return Err(error);
                }
            }
        }
        if self.state == State::Failed {
            return Err(malformed("the handshake already failed"));
        }
        Ok(used)
    }

    /// The proxy closed the connection: an error unless the tunnel was open.
    pub fn handle_eof(&mut self) -> Result<(), SocksError> {
        let during = match self.state {
            State::Done => return Ok(()),
            State::Method => "before choosing an authentication method",
            State::Auth => "before answering the user name and password",
            State::Reply | State::Failed => "before answering the connect request",
        };
        self.state = State::Failed;
        Err(SocksError::Truncated { during })
    }

    /// How long the reply being read is, as far as its bytes so far tell.
    fn reply_length(&self) -> usize {
        match (self.state, self.version) {
            (State::Method | State::Auth, _) => 2,
            (State::Reply, SocksVersion::Socks4 | SocksVersion::Socks4a) => 8,
            (State::Reply, _) => match self.reply.get(3) {
                None => 4,
                Some(1) => 4 + 4 + 2,
                Some(4) => 4 + 16 + 2,
                Some(3) => match self.reply.get(4) {
                    None => 5,
                    Some(length) => 5 + usize::from(*length) + 2,
                },
                // An unknown address type: checked at once.
                Some(_) => 4,
            },
            (State::Done | State::Failed, _) => 0,
        }
    }

    /// Acts on a complete reply.
    fn step(&mut self) -> Result<(), SocksError> {
        let reply = std::mem::take(&mut self.reply);
        match (self.state, self.version) {
            (State::Method, _) => {
                if reply[0] != 5 {
                    return Err(malformed(&format!(
                        "version {} where SOCKS5 answers 5 (is it a SOCKS5 proxy?)",
                        reply[0]
                    )));
                }
                match (reply[1], &self.auth) {
                    (0, _) => self.send_request(),
                    (2, Some(auth)) => {
                        self.out.extend_from_slice(&auth.clone());
                        self.state = State::Auth;
                    }
                    (0xff, auth) => {
                        let offered = if auth.is_some() { "none, user name and password" } else { "none" };
                        return Err(SocksError::NoAcceptableMethod { offered });
                    }
                    (method, _) => {
                        return Err(malformed(&format!("the proxy chose method {method}, which was not offered")))
                    }
                }
            }
            (State::Auth, _) => {
                if reply[0] != 1 {
                    return Err(malformed(&format!("authentication reply version {} (RFC 1929 answers 1)", reply[0])));
                }
                if reply[1] != 0 {
                    return Err(SocksError::AuthenticationFailed { status: reply[1] });
                }
                self.send_request();
            }
            (State::Reply, SocksVersion::Socks4 | SocksVersion::Socks4a) => {
                if reply[0] != 0 {
                    return Err(malformed(&format!(
                        "reply version {} where SOCKS4 answers 0 (is it a SOCKS4 proxy?)",
                        reply[0]
                    )));
                }
                let reason = match reply[1] {
                    90 => {
                        self.state = State::Done;
                        return Ok(());
                    }
                    91 => "request rejected or failed",
                    92 => "request rejected: the proxy cannot reach the client's identd",
                    93 => "request rejected: identd reports another user id",
                    code => return Err(malformed(&format!("unknown SOCKS4 reply code {code}"))),
                };
                return Err(SocksError::Refused { code: reply[1], reason });
            }
            (State::Reply, _) => {
                if reply[0] != 5 {
                    return Err(malformed(&format!("reply version {} where SOCKS5 answers 5", reply[0])));
                }
                if reply[2] != 0 {
                    return Err(malformed("the reserved byte of the reply is not zero"));
                }
                if !matches!(reply[3], 1 | 3 | 4) {
                    return Err(malformed(&format!("unknown address type {}", reply[3])));
                }
                if reply.len() < self.reply_length_of(&reply) {
                    // The address type was just learnt: read the rest.
                    self.reply = reply;
                    return Ok(());
                }
                match reply[1] {
                    0 => self.state = State::Done,
                    code => {
                        let reason = SOCKS5_REPLIES.get(usize::from(code)).copied().unwrap_or("unassigned reply code");
                        return Err(SocksError::Refused { code, reason });
                    }
                }
            }
            (State::Done | State::Failed, _) => {}
        }
        Ok(())
    }

    /// The full length of a SOCKS5 connect reply whose first bytes are `reply`.
    fn reply_length_of(&self, reply: &[u8]) -> usize {
        match reply.get(3) {
            Some(1) => 10,
            Some(4) => 22,
            Some(3) => reply.get(4).map_or(5, |length| 7 + usize::from(*length)),
            _ => 4,
        }
    }

    fn send_request(&mut self) {
        let request = std::mem::take(&mut self.request);
        self.out.extend_from_slice(&request);
        self.state = State::Reply;
    }
}

fn malformed(reason: &str) -> SocksError {
    SocksError::Malformed { reason: reason.to_owned() }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn written(handshake: &mut Handshake) -> Vec<u8> {
        let mut buffer = [0u8; 600];
        let count = handshake.poll_transmit(&mut buffer);
        buffer[..count].to_vec()
    }

    #[test]
    fn socks5h_without_credentials_sends_the_name() {
        let mut handshake =
            Handshake::new(SocksVersion::Socks5h, Target::Name("example.com"), 443, None).expect("valid");
        assert_eq!(written(&mut handshake), [5, 1, 0]);
        assert_eq!(handshake.handle_input(&[5, 0]), Ok(2));
        let mut request = vec![5, 1, 0, 3, 11];
        request.extend_from_slice(b"example.com");
        request.extend_from_slice(&[1, 187]);
        assert_eq!(written(&mut handshake), request);
        // The reply, then the tunnel's first byte, which is not the handshake's.
        assert_eq!(handshake.handle_input(&[5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90, b'H']), Ok(10));
        assert!(handshake.is_done());
    }

    #[test]
    fn socks5_with_credentials_authenticates_first() {
        let target = Target::Address(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let mut handshake = Handshake::new(SocksVersion::Socks5, target, 80, Some(("user", "pw"))).expect("valid");
        assert_eq!(written(&mut handshake), [5, 2, 0, 2]);
        assert_eq!(handshake.handle_input(&[5, 2]), Ok(2));
        assert_eq!(written(&mut handshake), [1, 4, b'u', b's', b'e', b'r', 2, b'p', b'w']);
        assert_eq!(handshake.handle_input(&[1, 0]), Ok(2));
        let sent = written(&mut handshake);
        assert_eq!(&sent[..4], [5, 1, 0, 4]);
        assert_eq!(sent.len(), 4 + 16 + 2);
        let mut reply = vec![5, 0, 0, 3, 4];
        reply.extend_from_slice(b"host");
        reply.extend_from_slice(&[0, 80]);
        assert_eq!(handshake.handle_input(&reply), Ok(reply.len()));
        assert!(handshake.is_done());
    }

    #[test]
    fn refusals_say_why_and_broken_replies_are_protocol_errors() {
        let new = || Handshake::new(SocksVersion::Socks5h, Target::Name("x"), 1, None).expect("valid");
        let mut refused = new();
        refused.handle_input(&[5, 0]).expect("method");
        let error = refused.handle_input(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).expect_err("refused");
        assert_eq!(error.to_string(), "connection refused by the destination (SOCKS reply 5)");
        assert_eq!(error.kind(), crate::ErrorKind::Connect);
        assert!(refused.handle_input(&[0]).is_err(), "a failed handshake stays failed");

        let mut wants_auth = new();
        let error = wants_auth.handle_input(&[5, 0xff]).expect_err("no method");
        assert!(matches!(error, SocksError::NoAcceptableMethod { .. }), "{error}");

        let mut http = new();
        let error = http.handle_input(b"HTTP/1.1 400 Bad Request\r\n").expect_err("not SOCKS");
        assert_eq!(error.kind(), crate::ErrorKind::Protocol);
        assert!(error.to_string().contains("is it a SOCKS5 proxy?"), "{error}");

        let mut truncated = new();
        truncated.handle_input(&[5, 0]).expect("method");
        truncated.handle_input(&[5, 0, 0]).expect("partial");
        let error = truncated.handle_eof().expect_err("truncated");
        assert_eq!(
            (error.kind(), error.to_string().as_str()),
            (crate::ErrorKind::Protocol, "the proxy closed the connection before answering the connect request")
        );

        let mut reserved = new();
        reserved.handle_input(&[5, 0]).expect("method");
        assert!(reserved.handle_input(&[5, 0, 7, 1]).is_err(), "reserved byte");
        let mut address_type = new();
        address_type.handle_input(&[5, 0]).expect("method");
        assert!(address_type.handle_input(&[5, 0, 0, 9]).is_err(), "address type");

        let mut rejected =
            Handshake::new(SocksVersion::Socks5h, Target::Name("x"), 1, Some(("u", "p"))).expect("valid");
        rejected.handle_input(&[5, 2]).expect("method");
        let error = rejected.handle_input(&[1, 1]).expect_err("auth");
        assert!(matches!(error, SocksError::AuthenticationFailed { status: 1 }));
    }

    #[test]
    fn socks4_and_4a() {
        let target = Target::Address(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
        let mut four = Handshake::new(SocksVersion::Socks4, target, 8080, Some(("me", ""))).expect("valid");
        assert_eq!(written(&mut four), [4, 1, 0x1f, 0x90, 10, 1, 2, 3, b'm', b'e', 0]);
        assert_eq!(four.handle_input(&[0, 90, 0, 0, 0, 0, 0, 0]), Ok(8));
        assert!(four.is_done());

        let mut four_a = Handshake::new(SocksVersion::Socks4a, Target::Name("a.test"), 80, None).expect("valid");
        assert_eq!(written(&mut four_a), [4, 1, 0, 80, 0, 0, 0, 1, 0, b'a', b'.', b't', b'e', b's', b't', 0]);
        let error = four_a.handle_input(&[0, 91, 0, 0, 0, 0, 0, 0]).expect_err("rejected");
        assert_eq!(error.to_string(), "request rejected or failed (SOCKS reply 91)");

        let v6 = Target::Address(IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(
            Handshake::new(SocksVersion::Socks4, v6, 80, None).map(|_| ()).map_err(|e| e.kind()),
            Err(crate::ErrorKind::InvalidRequest)
        );
        assert!(Handshake::new(SocksVersion::Socks4, Target::Name("a"), 80, None).is_err(), "socks4 resolves locally");
        assert!(Handshake::new(SocksVersion::Socks5h, Target::Name(&"a".repeat(256)), 80, None).is_err());
    }

    #[test]
    fn replies_split_anywhere_give_the_same_result() {
        let mut whole = vec![5, 2, 1, 0, 5, 0, 0, 3, 3];
        whole.extend_from_slice(b"abc");
        whole.extend_from_slice(&[0, 80]);
        for split in 1..whole.len() {
            let mut handshake =
                Handshake::new(SocksVersion::Socks5h, Target::Name("x"), 1, Some(("u", "p"))).expect("valid");
            let mut used = 0;
            for piece in whole.chunks(split) {
                let mut at = 0;
                while at < piece.len() {
                    written(&mut handshake);
                    at += handshake.handle_input(&piece[at..]).expect("valid replies");
                }
                used += piece.len();
            }
            assert!(handshake.is_done(), "split {split}");
            assert_eq!(used, whole.len());
        }
    }
}
