//! Parsing a request's URL (the `url` crate: the WHATWG URL Standard), remembering the last
//! origin each thread parsed.
//!
//! A client sends most requests to an origin it has just used, and the origin is most of a
//! URL's parse: the host goes through IDNA processing (UTS #46), an IPv4 or IPv6 literal is
//! parsed and written back, the port is checked against the scheme's default. So each thread
//! keeps the last origin it saw as a parsed base URL (`http://host:port/`), and the next URL
//! that begins with the same origin, written the same way, parses only its path, query and
//! fragment against that base — the URL Standard's relative "path-absolute" form, which the
//! `url` crate runs through the same path, query and fragment states as a whole URL. The
//! same URL as the last one is cloned. The result is identical, byte for byte, to parsing the
//! whole URL (a property test holds it to that); anything unusual takes the whole parse.

use std::cell::RefCell;

use url::{ParseError, Url};

/// What a thread parsed last.
struct Last {
    /// The origin as written (`http://Example.com:8080`) and the base URL it parses to.
    origin: String,
    base: Url,
    /// The last whole URL as written and its parse: a client that polls one endpoint, or
    /// sends the same request again, clones it.
    input: String,
    url: Url,
}

thread_local! {
    static LAST: RefCell<Option<Last>> = const { RefCell::new(None) };
}

/// `Url::parse(input)`, the same result, faster when `input` or its origin is the one this
/// thread parsed last.
pub(crate) fn parse(input: &str) -> Result<Url, ParseError> {
    let Some((origin, rest)) = split_origin(input) else {
        return Url::parse(input);
    };
    LAST.with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return Url::parse(input);
        };
        match last.as_mut() {
            Some(last) if last.input == input => Ok(last.url.clone()),
            Some(last) if last.origin == origin => {
                let url = Url::options().base_url(Some(&last.base)).parse(rest)?;
                last.input.replace_range(.., input);
                last.url.clone_from(&url);
                Ok(url)
            }
            _ => {
                let url = Url::parse(input)?;
                let mut base = url.clone();
                base.set_path("/");
                base.set_query(None);
                base.set_fragment(None);
                *last = Some(Last { origin: origin.to_owned(), base, input: input.to_owned(), url: url.clone() });
                Ok(url)
            }
        }
    })
}

/// Splits `http://authority` or `https://authority` from the rest when the rest parses the
/// same against the origin's base URL as it does after the authority: it is empty, or begins
/// with `?`, `#`, or one `/` (two slashes, or a backslash, would start a new authority or
/// need the whole parse). The authority is kept to the characters of a plain host name, an
/// IP literal and a port — no credentials, no percent-encoding — so the origin's text alone
/// decides its parse.
fn split_origin(input: &str) -> Option<(&str, &str)> {
    let scheme = if input.starts_with("http://") {
        "http://".len()
    } else if input.starts_with("https://") {
        "https://".len()
    } else {
        return None;
    };
    let authority = input.as_bytes()[scheme..]
        .iter()
        .position(|&byte| !matches!(byte, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b':' | b'[' | b']'))
        .unwrap_or(input.len() - scheme);
    if authority == 0 {
        return None;
    }
    let (origin, rest) = input.split_at(scheme + authority);
    match rest.as_bytes() {
        [] | [b'?' | b'#', ..] => Some((origin, rest)),
        [b'/', b'/' | b'\\', ..] => None,
        [b'/', ..] => Some((origin, rest)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Parses `input` both ways and requires the same outcome.
    fn same(input: &str) {
        let whole = Url::parse(input);
        let remembered = parse(input);
        match (&whole, &remembered) {
            (Ok(whole), Ok(remembered)) => {
                assert_eq!(whole.as_str(), remembered.as_str(), "{input:?}");
                // Every component, not only the text: the offsets are the crate's own.
                assert_eq!(whole, remembered, "{input:?}");
                assert_eq!(
                    (whole.host(), whole.port(), whole.path(), whole.query(), whole.fragment()),
                    (
                        remembered.host(),
                        remembered.port(),
                        remembered.path(),
                        remembered.query(),
                        remembered.fragment()
                    ),
                    "{input:?}"
                );
            }
            (Err(whole), Err(remembered)) => assert_eq!(whole, remembered, "{input:?}"),
            _ => panic!("{input:?}: whole parse {whole:?}, remembered {remembered:?}"),
        }
    }

    #[test]
    fn the_remembered_origin_parses_every_rest_as_the_whole_url_does() {
        for input in [
            "http://127.0.0.1:8080/small.txt",
            "http://127.0.0.1:8080/small.txt",
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080?q=1",
            "http://127.0.0.1:8080#top",
            "http://127.0.0.1:8080/a/../b/./c?x=%zz y#f g",
            "http://127.0.0.1:8080/ünïcode/path?ü=1",
            "http://127.0.0.1:8080//evil.example/",
            "http://127.0.0.1:8080/\\evil.example/",
            "http://127.0.0.1:8080\\x",
            "http://127.0.0.1:8080/trailing  ",
            "http://127.0.0.1:80/default-port",
            "http://127.0.0.1:80/default-port",
            "http://EXAMPLE.com/upper",
            "http://example.com/upper",
            "https://[::1]:8443/v6",
            "https://[::1]:8443/v6?again",
            "http://0x7f.1/hex-ipv4",
            "http://0x7f.1/hex-ipv4",
            "http://user:pass@example.com/credentials",
            "http://exa%41mple.com/percent",
            "http://:8080/empty-host",
            "http://bad host/",
            "http://256.256.256.256/",
            "http://256.256.256.256/",
            "http://example.com:99999/",
            "http://example.com:99999/",
        ] {
            same(input);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn any_url_parses_the_same_remembered_or_whole(
            scheme in prop::sample::select(vec!["http://", "https://", "HTTP://", "ftp://", "http:/", "http:"]),
            host in prop::sample::select(vec![
                "127.0.0.1", "localhost", "Example.COM", "example.com.", "[::1]", "[::ffff:127.0.0.1]",
                "0x7f.0.0.1", "1.2.3", "xn--nxasmq6b.example", "ex-ample.org", "", "a..b", "[::1", "999.1.1.1",
            ]),
            port in prop::sample::select(vec!["", ":80", ":443", ":8080", ":", ":65536", ":08080"]),
            rests in prop::collection::vec("[/?#\\\\a-z0-9.%= é]{0,24}", 3),
        ) {
            // A miss that remembers the origin, hits on the origin with other rests, and the
            // same URL again.
            for rest in rests.iter().chain(&rests[2..]) {
                same(&format!("{scheme}{host}{port}{rest}"));
            }
        }
    }
}
