//! Authentication as pure decisions: the challenge grammar of RFC 9110 §11 and Digest
//! access authentication (RFC 7616).
//!
//! Digest is a small state machine ([`DigestAuth`]): a 401's `WWW-Authenticate` gives it a
//! challenge ([`DigestAuth::accept_challenge`]), then each request gets an `Authorization`
//! value from it ([`DigestAuth::authorize`]) with a fresh nonce count. The client nonce comes
//! from random bytes the transport passes in; nothing here reads a clock or an RNG.
//!
//! The transport's loop, as Requests' `HTTPDigestAuth` behaves:
//! 1. send the request (with `authorize` when a challenge is already known — no round trip);
//! 2. on a 401 whose challenge `accept_challenge` takes, and whose body can be replayed,
//!    send it again once with a new `authorize`; a second 401 is the answer.

use std::borrow::Cow;
use std::fmt::Write as _;

/// One challenge of a `WWW-Authenticate` or `Proxy-Authenticate` value (RFC 9110 §11.3):
/// `auth-scheme [ 1*SP ( token68 / #auth-param ) ]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge<'a> {
    /// The scheme as sent (compare without case).
    pub scheme: &'a str,
    /// A token68 credential, for schemes that use one.
    pub token68: Option<&'a str>,
    /// Parameters in order; names as sent, values unquoted.
    pub params: Vec<(&'a str, Cow<'a, str>)>,
}

impl Challenge<'_> {
    /// A parameter's value; names compare without case (RFC 9110 §11.2).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_ref())
    }
}

fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn is_token68_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte)
}

/// A cursor over a header value.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.at += 1;
        }
    }

    fn token(&mut self) -> Option<&'a str> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        (self.at > start).then(|| &self.text[start..self.at])
    }

    /// A quoted-string with its quoted-pairs resolved; `None` when unterminated or holding a
    /// control byte.
    fn quoted(&mut self) -> Option<Cow<'a, str>> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.at += 1;
        let start = self.at;
        let mut owned: Option<String> = None;
        loop {
            let byte = self.peek()?;
            match byte {
                b'"' => {
                    let raw = &self.text[start..self.at];
                    self.at += 1;
                    return Some(owned.map_or(Cow::Borrowed(raw), Cow::Owned));
                }
                b'\\' => {
                    let escaped = *self.text.as_bytes().get(self.at + 1)?;
                    if escaped.is_ascii_control() && escaped != b'\t' {
                        return None;
                    }
                    let buffer = owned.get_or_insert_with(|| self.text[start..self.at].to_owned());
                    // The escaped character may be non-ASCII (obs-text); take it whole.
                    let character = self.text[self.at + 1..].chars().next()?;
                    buffer.push(character);
                    self.at += 1 + character.len_utf8();
                }
                _ if byte.is_ascii_control() && byte != b'\t' => return None,
                _ => {
                    let character = self.text[self.at..].chars().next()?;
                    if let Some(buffer) = owned.as_mut() {
                        buffer.push(character);
                    }
                    self.at += character.len_utf8();
                }
            }
        }
    }

    /// After a scheme: is what follows an auth-param (`token BWS "=" BWS value`)?
    fn at_param(&self) -> bool {
        let mut probe = Cursor { text: self.text, at: self.at };
        if probe.token().is_none() {
            return false;
        }
        probe.skip_whitespace();
        if probe.peek() != Some(b'=') {
            return false;
        }
        probe.at += 1;
        probe.skip_whitespace();
        matches!(probe.peek(), Some(byte) if byte == b'"' || is_tchar(byte))
    }
}

/// Parses a challenge list. It never fails: parsing stops at the first malformed piece and
/// returns the challenges complete before it.
pub fn parse_challenges(value: &str) -> Vec<Challenge<'_>> {
    let mut cursor = Cursor { text: value, at: 0 };
    let mut challenges = Vec::new();
    'challenges: loop {
        cursor.skip_separators();
        let Some(scheme) = cursor.token() else { break };
        let mut challenge = Challenge { scheme, token68: None, params: Vec::new() };
        cursor.skip_whitespace();
        if !cursor.at_param() {
            // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
            let start = cursor.at;
            while cursor.peek().is_some_and(is_token68_char) {
                cursor.at += 1;
            }
            if cursor.at > start {
                while cursor.peek() == Some(b'=') {
                    cursor.at += 1;
                }
                challenge.token68 = Some(&value[start..cursor.at]);
            }
            cursor.skip_whitespace();
            if !matches!(cursor.peek(), None | Some(b',')) {
                break;
            }
            challenges.push(challenge);
            continue;
        }
        loop {
            let Some(name) = cursor.token() else { break 'challenges };
            cursor.skip_whitespace();
            cursor.at += 1; // the "=" at_param saw
            cursor.skip_whitespace();
            let parsed = if cursor.peek() == Some(b'"') { cursor.quoted() } else { cursor.token().map(Cow::Borrowed) };
            let Some(parsed) = parsed else { break 'challenges };
            challenge.params.push((name, parsed));
            cursor.skip_whitespace();
            match cursor.peek() {
                None => break,
                Some(b',') => {
                    cursor.skip_separators();
                    if !cursor.at_param() {
                        break; // another challenge, or the end
                    }
                }
                Some(_) => break 'challenges,
            }
        }
        challenges.push(challenge);
    }
    challenges
}

/// A Digest hash algorithm (RFC 7616 §3.3); the `-sess` forms hash the client nonce into
/// the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `MD5` (the default when a challenge names none).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl DigestAlgorithm {
    /// The algorithm's name as the RFC spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Md5Sess => "MD5-sess",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn from_name(name: &str) -> Option<DigestAlgorithm> {
        [DigestAlgorithm::Md5, DigestAlgorithm::Md5Sess, DigestAlgorithm::Sha256, DigestAlgorithm::Sha256Sess]
            .into_iter()
            .find(|algorithm| algorithm.as_str().eq_ignore_ascii_case(name))
    }

    fn is_session(self) -> bool {
        matches!(self, DigestAlgorithm::Md5Sess | DigestAlgorithm::Sha256Sess)
    }

    /// Lower-case hex of the hash of `parts` joined with `:`.
    fn hash(self, parts: &[&[u8]]) -> String {
        use sha2::Digest as _;
        fn run<D: sha2::Digest>(mut hasher: D, parts: &[&[u8]]) -> String {
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    hasher.update(b":");
                }
                hasher.update(part);
            }
            hasher.finalize().iter().fold(String::new(), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            })
        }
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => run(md5::Md5::new(), parts),
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => run(sha2::Sha256::new(), parts),
        }
    }
}

/// A Digest challenge this client can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `opaque`, echoed unchanged.
    pub opaque: Option<String>,
    /// `algorithm` (MD5 when absent).
    pub algorithm: DigestAlgorithm,
    /// `qop` offered `auth`; when false the challenge is RFC 2069 style (no qop at all).
    pub qop_auth: bool,
    /// `stale=true`: the nonce expired but the credentials were right.
    pub stale: bool,
    /// `userhash=true`: send the username hashed (RFC 7616 §3.4.4).
    pub userhash: bool,
}

impl DigestChallenge {
    /// The strongest Digest challenge this client supports among `WWW-Authenticate` values
    /// (RFC 7616 §3.7: SHA-256 before MD5). Challenges with an unknown algorithm, without
    /// realm or nonce, or offering only `auth-int` are skipped.
    pub fn select<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<DigestChallenge> {
        let mut best: Option<DigestChallenge> = None;
        for value in values {
            for challenge in parse_challenges(value) {
                let Some(candidate) = DigestChallenge::from_challenge(&challenge) else { continue };
                let stronger = |current: &DigestChallenge| {
                    let rank = |algorithm| matches!(algorithm, DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess);
                    rank(candidate.algorithm) && !rank(current.algorithm)
                };
                if best.as_ref().is_none_or(stronger) {
                    best = Some(candidate);
                }
            }
        }
        best
    }

    fn from_challenge(challenge: &Challenge<'_>) -> Option<DigestChallenge> {
        if !challenge.scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let algorithm = match challenge.param("algorithm") {
            None => DigestAlgorithm::Md5,
            Some(name) => DigestAlgorithm::from_name(name)?,
        };
        let qop_auth = match challenge.param("qop") {
            None => false,
            Some(qop) => {
                if !qop.split(',').any(|option| option.trim().eq_ignore_ascii_case("auth")) {
                    return None; // only auth-int (or unknown) offered
                }
                true
            }
        };
        let flag = |name| challenge.param(name).is_some_and(|value| value.eq_ignore_ascii_case("true"));
        Some(DigestChallenge {
            realm: challenge.param("realm")?.to_owned(),
            nonce: challenge.param("nonce")?.to_owned(),
            opaque: challenge.param("opaque").map(str::to_owned),
            algorithm,
            qop_auth,
            stale: flag("stale"),
            userhash: flag("userhash"),
        })
    }
}

/// Appends `name="value"` with `"` and `\` escaped (RFC 9110 §5.6.4).
fn push_quoted(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for character in value.chars() {
        if matches!(character, '"' | '\\') {
            out.push('\\');
        }
        out.push(character);
    }
    out.push('"');
}

/// Digest credentials and the state between requests: the last challenge and its nonce
/// count. One per session (or per request); it never reads a clock or an RNG.
#[derive(Clone)]
pub struct DigestAuth {
    username: String,
    password: String,
    challenge: Option<DigestChallenge>,
    nonce_count: u32,
}

impl std::fmt::Debug for DigestAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestAuth")
            .field("username", &self.username)
            .field("challenge", &self.challenge)
            .field("nonce_count", &self.nonce_count)
            .finish_non_exhaustive()
    }
}

impl DigestAuth {
    /// Credentials, with no challenge seen yet.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> DigestAuth {
        DigestAuth { username: username.into(), password: password.into(), challenge: None, nonce_count: 0 }
    }

    /// The challenge answered now, if any.
    pub fn challenge(&self) -> Option<&DigestChallenge> {
        self.challenge.as_ref()
    }

    /// Takes the challenge of a 401's `WWW-Authenticate` values. True when the request
    /// should be sent again with [`authorize`](Self::authorize): there is a supported
    /// Digest challenge and it is fresh — a new nonce, or `stale=true`. Resending for the
    /// very nonce that was just refused would only repeat the refusal.
    pub fn accept_challenge<'a>(&mut self, www_authenticate: impl IntoIterator<Item = &'a str>) -> bool {
        let Some(challenge) = DigestChallenge::select(www_authenticate) else { return false };
        let fresh = challenge.stale || self.challenge.as_ref().is_none_or(|known| known.nonce != challenge.nonce);
        if fresh {
            self.challenge = Some(challenge);
            self.nonce_count = 0;
        }
        fresh
    }

    /// The `Authorization` value for `method` and `uri` (the request target, as sent) under
    /// the current challenge, counting the nonce up; `None` before any challenge.
    /// `cnonce_random` becomes the client nonce (RFC 7616 §3.4: unpredictable).
    pub fn authorize(&mut self, method: &str, uri: &str, cnonce_random: [u8; 16]) -> Option<String> {
        let challenge = self.challenge.as_ref()?;
        self.nonce_count = self.nonce_count.wrapping_add(1).max(1);
        let cnonce = cnonce_random.iter().fold(String::with_capacity(32), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        });
        Some(digest_response(&self.username, &self.password, challenge, method, uri, self.nonce_count, &cnonce))
    }
}

/// The `Authorization` value answering `challenge` (RFC 7616 §3.4), for tests and for
/// callers who keep their own state.
pub fn digest_response(
    username: &str,
    password: &str,
    challenge: &DigestChallenge,
    method: &str,
    uri: &str,
    nonce_count: u32,
    cnonce: &str,
) -> String {
    let algorithm = challenge.algorithm;
    let nc = format!("{nonce_count:08x}");
    // §3.4.2: A1 = username:realm:password, and for -sess H(that):nonce:cnonce.
    let mut ha1 = algorithm.hash(&[username.as_bytes(), challenge.realm.as_bytes(), password.as_bytes()]);
    if algorithm.is_session() {
        ha1 = algorithm.hash(&[ha1.as_bytes(), challenge.nonce.as_bytes(), cnonce.as_bytes()]);
    }
    // §3.4.3: A2 = Method:request-uri for qop=auth.
    let ha2 = algorithm.hash(&[method.as_bytes(), uri.as_bytes()]);
    // §3.4.1: response = KD(H(A1), nonce:nc:cnonce:qop:H(A2)); without qop (RFC 2069),
    // KD(H(A1), nonce:H(A2)).
    let response = if challenge.qop_auth {
        algorithm.hash(&[
            ha1.as_bytes(),
            challenge.nonce.as_bytes(),
            nc.as_bytes(),
            cnonce.as_bytes(),
            b"auth",
            ha2.as_bytes(),
        ])
    } else {
        algorithm.hash(&[ha1.as_bytes(), challenge.nonce.as_bytes(), ha2.as_bytes()])
    };

    let mut out = String::from("Digest ");
    // §3.4.4: userhash=true sends H(username:realm); §4: a username that cannot travel in a
    // quoted-string goes in username* as UTF-8 (RFC 8187).
    if challenge.userhash {
        push_quoted(&mut out, "username", &algorithm.hash(&[username.as_bytes(), challenge.realm.as_bytes()]));
    } else if username.bytes().all(|byte| byte == b'\t' || (b' '..0x7f).contains(&byte)) {
        push_quoted(&mut out, "username", username);
    } else {
        const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'!')
            .remove(b'#')
            .remove(b'$')
            .remove(b'&')
            .remove(b'+')
            .remove(b'-')
            .remove(b'.')
            .remove(b'^')
            .remove(b'_')
            .remove(b'`')
            .remove(b'|')
            .remove(b'~');
        out.push_str("username*=UTF-8''");
        out.extend(percent_encoding::utf8_percent_encode(username, ATTR_CHAR));
    }
    out.push_str(", ");
    push_quoted(&mut out, "realm", &challenge.realm);
    out.push_str(", ");
    push_quoted(&mut out, "uri", uri);
    out.push_str(", algorithm=");
    out.push_str(algorithm.as_str());
    out.push_str(", ");
    push_quoted(&mut out, "nonce", &challenge.nonce);
    if challenge.qop_auth {
        out.push_str(", nc=");
        out.push_str(&nc);
        out.push_str(", ");
        push_quoted(&mut out, "cnonce", cnonce);
        out.push_str(", qop=auth");
    }
    out.push_str(", ");
    push_quoted(&mut out, "response", &response);
    if let Some(opaque) = &challenge.opaque {
        out.push_str(", ");
        push_quoted(&mut out, "opaque", opaque);
    }
    if challenge.userhash {
        out.push_str(", userhash=true");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param<'a>(challenge: &'a Challenge<'_>, name: &str) -> &'a str {
        challenge.param(name).unwrap_or("<missing>")
    }

    #[test]
    fn challenge_grammar() {
        let parsed = parse_challenges(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Bearer abc.DEF-_~+/==, Negotiate"#,
        );
        assert_eq!(parsed.len(), 4, "{parsed:?}");
        assert_eq!(parsed[0].scheme, "Newauth");
        assert_eq!(param(&parsed[0], "TITLE"), r#"Login to "apps""#);
        assert_eq!(param(&parsed[0], "type"), "1");
        assert_eq!(param(&parsed[1], "realm"), "simple");
        assert_eq!(parsed[2].token68, Some("abc.DEF-_~+/=="));
        assert_eq!(parsed[3].scheme, "Negotiate");
        assert!(parsed[3].params.is_empty() && parsed[3].token68.is_none());
    }

    #[test]
    fn malformed_challenges_stop_without_panicking() {
        for value in [
            "",
            ",,,",
            "Digest realm=\"unterminated",
            "Digest realm=",
            "Digest realm=\"a\\",
            "Digest =x",
            "Digest realm=\"a\"junk",
            "Digest realm=\"\x01\"",
            "Digest realm=\"caf\u{e9}\\\u{e9}\"",
            "\u{1F600} realm=x",
        ] {
            let _ = parse_challenges(value);
        }
        let parsed = parse_challenges(r#"Basic realm="x", Digest realm="unterminated"#);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].scheme, "Basic");
    }

    /// RFC 2617 §3.5's example (MD5, qop=auth), still the reference vector for MD5.
    #[test]
    fn rfc2617_example() {
        let challenge = DigestChallenge::select([
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        ])
        .expect("a supported challenge");
        let value = digest_response("Mufasa", "Circle Of Life", &challenge, "GET", "/dir/index.html", 1, "0a4f113b");
        assert_eq!(
            value,
            r#"Digest username="Mufasa", realm="testrealm@host.com", uri="/dir/index.html", algorithm=MD5, nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", nc=00000001, cnonce="0a4f113b", qop=auth, response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#
        );
    }

    const RFC7616_CHALLENGE: &str = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS", Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

    fn response_field(value: &str) -> &str {
        let start = value.find("response=\"").map_or(0, |at| at + 10);
        &value[start..start + value[start..].find('"').unwrap_or(0)]
    }

    /// RFC 7616 §3.9.1: both challenges in one header; SHA-256 is chosen.
    #[test]
    fn rfc7616_example_prefers_sha256() {
        let challenge = DigestChallenge::select([RFC7616_CHALLENGE]).expect("a supported challenge");
        assert_eq!(challenge.algorithm, DigestAlgorithm::Sha256);
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        let value = digest_response("Mufasa", "Circle of Life", &challenge, "GET", "/dir/index.html", 1, cnonce);
        assert_eq!(response_field(&value), "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
        assert!(value.contains(r#"opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#));
        assert!(value.contains("algorithm=SHA-256"));

        let md5 = DigestChallenge { algorithm: DigestAlgorithm::Md5, ..challenge };
        let value = digest_response("Mufasa", "Circle of Life", &md5, "GET", "/dir/index.html", 1, cnonce);
        assert_eq!(response_field(&value), "8ca523f5e9506fed4657c9700eebdbec");
    }

    /// The `-sess` forms and RFC 2069 (no qop), against values computed independently with
    /// Python's hashlib from the formulas of RFC 7616 §3.4.
    #[test]
    fn session_algorithms_and_legacy_form() {
        let base = DigestChallenge {
            realm: "me@kennethreitz.com".into(),
            nonce: "abc123".into(),
            opaque: None,
            algorithm: DigestAlgorithm::Md5Sess,
            qop_auth: true,
            stale: false,
            userhash: false,
        };
        let value = digest_response("user", "passwd", &base, "GET", "/digest-auth/auth/user/passwd", 1, "0a4f113b");
        assert_eq!(response_field(&value), "42ab557768ffcbc73570e59142a454de");
        let sha = DigestChallenge { algorithm: DigestAlgorithm::Sha256Sess, ..base.clone() };
        let value = digest_response("user", "passwd", &sha, "GET", "/digest-auth/auth/user/passwd", 2, "0a4f113b");
        assert!(value.contains("nc=00000002"));
        assert_eq!(response_field(&value), "d66c76f37d2c477d989e3e32daad5715bd5bfa21f92c90bc4494819ce817bb47");
        let legacy = DigestChallenge { algorithm: DigestAlgorithm::Md5, qop_auth: false, ..base };
        let value = digest_response("user", "passwd", &legacy, "GET", "/x", 1, "0a4f113b");
        assert!(!value.contains("qop") && !value.contains("cnonce") && !value.contains("nc="));
        assert_eq!(response_field(&value), "d8cfa5749e32676f54d74cd03f54b7c6");
    }

    #[test]
    fn userhash_and_non_ascii_usernames() {
        let challenge = DigestChallenge {
            realm: "api@example.org".into(),
            nonce: "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK".into(),
            opaque: Some("HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS".into()),
            algorithm: DigestAlgorithm::Sha256,
            qop_auth: true,
            stale: false,
            userhash: false,
        };
        // RFC 7616 §3.9.2's username, sent with username* (RFC 8187 encoding).
        let value = digest_response("J\u{e4}s\u{f8}n Doe", "Secret, or not?", &challenge, "GET", "/doe.json", 1, "x");
        assert!(value.starts_with("Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, "), "{value}");
        // userhash = H("Jäsøn Doe:api@example.org") with SHA-256 (hashlib).
        let hashed = DigestChallenge { userhash: true, ..challenge };
        let value = digest_response("J\u{e4}s\u{f8}n Doe", "Secret, or not?", &hashed, "GET", "/doe.json", 1, "x");
        assert!(
            value.starts_with(r#"Digest username="5a1a8a47df5c298551b9b42ba9b05835174a5bd7d511ff7fe9191d8e946fc4e7""#),
            "{value}"
        );
        assert!(value.ends_with(", userhash=true"));
    }

    #[test]
    fn unsupported_challenges_are_skipped() {
        assert_eq!(DigestChallenge::select([r#"Basic realm="x""#]), None);
        assert_eq!(DigestChallenge::select([r#"Digest realm="x", nonce="n", algorithm=SHA-512-256"#]), None);
        assert_eq!(DigestChallenge::select([r#"Digest realm="x", nonce="n", qop="auth-int""#]), None);
        assert_eq!(DigestChallenge::select([r#"Digest realm="x""#]), None);
        let chosen = DigestChallenge::select([
            r#"Digest realm="x", nonce="n", algorithm=UNKNOWN"#,
            r#"digest REALM="x", NONCE="n2", ALGORITHM=md5-SESS, QOP=AUTH"#,
        ]);
        assert_eq!(
            chosen.map(|challenge| (challenge.nonce, challenge.algorithm)),
            Some(("n2".into(), DigestAlgorithm::Md5Sess))
        );
    }

    #[test]
    fn one_retry_per_fresh_challenge_and_counted_nonces() {
        let mut auth = DigestAuth::new("user", "passwd");
        assert_eq!(auth.authorize("GET", "/", [0; 16]), None, "no challenge yet");
        let first = r#"Digest realm="r", nonce="one", qop="auth""#;
        assert!(auth.accept_challenge([first]));
        let value = auth.authorize("GET", "/", [0xab; 16]).unwrap_or_default();
        assert!(value.contains("nc=00000001") && value.contains(&format!("cnonce=\"{}\"", "ab".repeat(16))));
        // The same nonce refused again: wrong credentials, no second retry.
        assert!(!auth.accept_challenge([first]));
        // Preemptive use counts the nonce up.
        assert!(auth.authorize("GET", "/", [0; 16]).unwrap_or_default().contains("nc=00000002"));
        // stale=true: the nonce expired; answer the new one, counting from 1 again.
        assert!(auth.accept_challenge([r#"Digest realm="r", nonce="one", qop="auth", stale=TRUE"#]));
        assert!(auth.authorize("GET", "/", [0; 16]).unwrap_or_default().contains("nc=00000001"));
        assert!(auth.accept_challenge([r#"Digest realm="r", nonce="two", qop="auth""#]));
        assert!(!auth.accept_challenge([r#"Basic realm="r""#]));
    }

    #[test]
    fn quoted_values_are_escaped() {
        let challenge = DigestChallenge::select([r#"Digest realm="a \"q\" \\ b", nonce="n""#]).expect("supported");
        assert_eq!(challenge.realm, r#"a "q" \ b"#);
        let value = digest_response("us\"er", "p", &challenge, "GET", "/", 1, "c");
        assert!(value.contains(r#"username="us\"er""#) && value.contains(r#"realm="a \"q\" \\ b""#), "{value}");
    }
}
