//! `.netrc` credentials: the file's text in, a login and password for a host out. The
//! transport reads the file (`NETRC`, else `~/.netrc`); this module only parses.
//!
//! The grammar is the one of `ftp(1)`, as curl and Python read it: whitespace-separated
//! tokens, `machine NAME` or `default` opening an entry, `login`, `password` and `account`
//! inside it, `macdef NAME` followed by a macro body that ends at a blank line, `#` comments,
//! and (as curl and Python 3.11 accept) double-quoted tokens with backslash escapes.
//!
//! Parse errors never fail a request: whatever can be read is kept and the rest ignored.

/// One entry.
#[derive(Clone, PartialEq, Eq)]
pub struct NetrcEntry {
    /// `login`, empty when absent.
    pub login: String,
    /// `password`, empty when absent.
    pub password: String,
}

impl std::fmt::Debug for NetrcEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetrcEntry").field("login", &self.login).finish_non_exhaustive()
    }
}

/// A parsed `.netrc`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Netrc {
    machines: Vec<(String, NetrcEntry)>,
    default: Option<NetrcEntry>,
}

/// Splits into tokens, dropping comments and macro bodies.
struct Tokens<'a> {
    text: &'a str,
    at: usize,
}

impl Tokens<'_> {
    fn next_token(&mut self) -> Option<String> {
        let bytes = self.text.as_bytes();
        loop {
            while self.at < bytes.len() && bytes[self.at].is_ascii_whitespace() {
                self.at += 1;
            }
            if self.at >= bytes.len() {
                return None;
            }
            if bytes[self.at] == b'#' {
                while self.at < bytes.len() && bytes[self.at] != b'\n' {
                    self.at += 1;
                }
                continue;
            }
            break;
        }
        let mut token = String::new();
        if bytes[self.at] == b'"' {
            self.at += 1;
            let mut chars = self.text[self.at..].char_indices();
            while let Some((offset, character)) = chars.next() {
                match character {
                    '"' => {
                        self.at += offset + 1;
                        return Some(token);
                    }
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            token.push(escaped);
                        }
                    }
                    _ => token.push(character),
                }
            }
            self.at = bytes.len(); // unterminated: the rest is the token
            return Some(token);
        }
        let start = self.at;
        while self.at < bytes.len() && !bytes[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
        token.push_str(&self.text[start..self.at]);
        Some(token)
    }

    /// Skips a `macdef` body: everything up to and including the next empty line.
    fn skip_macro(&mut self) {
        let rest = &self.text[self.at..];
        // The macro name's line ends first; the body runs to a blank line.
        let Some(line_end) = rest.find('\n') else {
            self.at = self.text.len();
            return;
        };
        let body = &rest[line_end + 1..];
        let mut offset = 0;
        for line in body.split_inclusive('\n') {
            offset += line.len();
            if line.trim_end_matches(['\r', '\n']).is_empty() {
                break;
            }
        }
        self.at += line_end + 1 + offset;
    }
}

impl Netrc {
    /// Parses `.netrc` text; never fails (see the module notes).
    pub fn parse(text: &str) -> Netrc {
        let mut netrc = Netrc::default();
        let mut tokens = Tokens { text, at: 0 };
        // The entry being filled: `Some(name)` for a machine, `None` for default.
        let mut current: Option<(Option<String>, NetrcEntry)> = None;
        let finish = |netrc: &mut Netrc, entry: Option<(Option<String>, NetrcEntry)>| match entry {
            Some((Some(name), entry)) => netrc.machines.push((name, entry)),
            Some((None, entry)) => {
                netrc.default.get_or_insert(entry);
            }
            None => {}
        };
        while let Some(token) = tokens.next_token() {
            match token.as_str() {
                "machine" => {
                    finish(&mut netrc, current.take());
                    let Some(name) = tokens.next_token() else { break };
                    current = Some((Some(name), NetrcEntry { login: String::new(), password: String::new() }));
                }
                "default" => {
                    finish(&mut netrc, current.take());
                    current = Some((None, NetrcEntry { login: String::new(), password: String::new() }));
                }
                "login" | "password" | "account" => {
                    let value = tokens.next_token().unwrap_or_default();
                    if let Some((_, entry)) = current.as_mut() {
                        match token.as_str() {
                            "login" => entry.login = value,
                            "password" => entry.password = value,
                            _ => {}
                        }
                    }
                }
                "macdef" => {
                    finish(&mut netrc, current.take());
                    tokens.skip_macro();
                }
                _ => {} // unknown tokens are skipped, as curl does
            }
        }
        finish(&mut netrc, current);
        netrc
    }

    /// Credentials for `host`: the first `machine` entry with that name (without case),
    /// else `default`.
    pub fn lookup(&self, host: &str) -> Option<&NetrcEntry> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.machines
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host))
            .map(|(_, entry)| entry)
            .or(self.default.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(netrc: &Netrc, host: &str) -> Option<(String, String)> {
        netrc.lookup(host).map(|entry| (entry.login.clone(), entry.password.clone()))
    }

    fn pair(login: &str, password: &str) -> Option<(String, String)> {
        Some((login.to_owned(), password.to_owned()))
    }

    #[test]
    fn machines_default_and_order() {
        let netrc = Netrc::parse(
            "# comment line\nmachine example.com login alice password s3cret\n\
             machine Example.com login shadowed password x\n\
             machine other.test\n  login bob\n  password \"with space \\\" quote\" # trailing\n\
             default login anon password guest\n",
        );
        assert_eq!(credentials(&netrc, "EXAMPLE.com"), pair("alice", "s3cret"));
        assert_eq!(credentials(&netrc, "other.test"), pair("bob", "with space \" quote"));
        assert_eq!(credentials(&netrc, "elsewhere"), pair("anon", "guest"));
    }

    #[test]
    fn macros_are_skipped() {
        let netrc = Netrc::parse(
            "macdef init\ncd /pub\nmachine fake login no password no\n\nmachine real login yes password ok\n",
        );
        assert_eq!(credentials(&netrc, "fake"), None);
        assert_eq!(credentials(&netrc, "real"), pair("yes", "ok"));
    }

    #[test]
    fn broken_files_keep_what_parses() {
        assert_eq!(Netrc::parse(""), Netrc::default());
        let netrc = Netrc::parse("machine a login x password");
        assert_eq!(credentials(&netrc, "a"), pair("x", ""));
        let netrc = Netrc::parse("login stray machine b password \"unterminated");
        assert_eq!(credentials(&netrc, "b"), pair("", "unterminated"));
        assert_eq!(credentials(&Netrc::parse("machine"), "machine"), None);
        assert_eq!(credentials(&Netrc::parse("machine ::1 login v6 password p"), "[::1]"), pair("v6", "p"));
        for text in ["\"", "\\", "macdef", "macdef x", "machine \"\\", "default default default", "\u{e9}\u{1F600}"] {
            let _ = Netrc::parse(text);
        }
    }
}
