//! The redirect policy: given a response, whether and where to go next, with which method,
//! body and credentials. A pure decision shared by every transport.
//!
//! The rules follow Requests (which follows browsers) and RFC 9110 §15.4:
//! * 301, 302, 303, 307 and 308 with a `Location` are followed; anything else is final.
//! * 303 turns every method but HEAD into GET; 301 and 302 turn POST into GET (§15.4.2–4,
//!   "for historical reasons"); a GET drops the body and its framing and type headers.
//! * 307 and 308 keep method and body, and so do 301 and 302 for any method but POST; a body
//!   that cannot be replayed (streamed) stops the chain on any hop that would resend it.
//! * `Location` is resolved against the current URL (relative, scheme-relative, absolute);
//!   the fragment carries over when the new one has none (§10.2.2); only http and https.
//! * `Authorization`, `Cookie` and `Proxy-Authorization` are dropped when scheme, host or
//!   effective port changes — except http to https on default ports, as Requests allows.

use http::Method;
use url::Url;

use crate::headers::Headers;

/// How many redirects to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectPolicy {
    /// `None`: return redirect responses as they are.
    pub max_redirects: Option<u32>,
}

impl Default for RedirectPolicy {
    /// Follow up to 30, as Requests does.
    fn default() -> Self {
        RedirectPolicy { max_redirects: Some(30) }
    }
}

impl RedirectPolicy {
    /// Never follow.
    pub fn none() -> Self {
        RedirectPolicy { max_redirects: None }
    }
}

/// The request the next hop sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    /// The method (possibly rewritten to GET).
    pub method: Method,
    /// The resolved URL.
    pub url: Url,
    /// The body is not sent again (the method became GET).
    pub drop_body: bool,
    /// The origin changed: credentials must not follow.
    pub strip_credentials: bool,
}

impl RedirectTarget {
    /// Removes from `headers` what must not go to the target: credentials across origins,
    /// and the body's framing and type when the body is dropped. Names match in any case.
    pub fn adjust_headers(&self, headers: &mut Headers) {
        if self.strip_credentials {
            for name in ["authorization", "cookie", "proxy-authorization", "host"] {
                headers.remove(name);
            }
        }
        if self.drop_body {
            for name in ["content-length", "content-type", "transfer-encoding", "content-encoding", "expect"] {
                headers.remove(name);
            }
        }
    }
}

/// Why a redirect chain stopped with an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// More redirects than the policy allows (`redirect_limit`).
    #[error("more than {limit} redirects (last: {status} to {location})")]
    TooMany {
        /// The limit.
        limit: u32,
        /// The last redirect's status.
        status: u16,
        /// Where it pointed.
        location: String,
    },
    /// The `Location` is not a URL, even relative to the current one (the server's fault).
    #[error("invalid Location {location:?}: {reason}")]
    InvalidLocation {
        /// The field value, lossily decoded.
        location: String,
        /// What the URL parser said.
        reason: String,
    },
    /// The target's scheme is neither http nor https.
    #[error("redirect to an unsupported scheme: {url}")]
    UnsupportedScheme {
        /// The resolved target.
        url: String,
    },
    /// 307/308 must resend the body, and this one was streamed.
    #[error("a {status} redirect must resend the body, which was streamed and cannot be replayed")]
    BodyNotReplayable {
        /// The status.
        status: u16,
    },
}

/// Whether `status` is one that [`next_hop`] follows (301, 302, 303, 307, 308): for any
/// other, its `Location` is not read.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Decides what follows a response with `status` and `location`, after `hops` redirects
/// already followed. `None` means the response is final.
pub fn next_hop(
    policy: RedirectPolicy,
    hops: u32,
    method: &Method,
    url: &Url,
    status: u16,
    location: Option<&[u8]>,
    body_replayable: bool,
) -> Result<Option<RedirectTarget>, RedirectError> {
    let (Some(limit), Some(location), true) = (policy.max_redirects, location, is_redirect(status)) else {
        return Ok(None);
    };
    let text = match std::str::from_utf8(location) {
        Ok(text) => text.trim().to_owned(),
        // Servers sometimes send Latin-1; read each byte as a code point, as Requests does.
        Err(_) => location.iter().map(|&byte| char::from(byte)).collect::<String>().trim().to_owned(),
    };
    if hops >= limit {
        return Err(RedirectError::TooMany { limit, status, location: text });
    }
    let mut target = url
        .join(&text)
        .map_err(|error| RedirectError::InvalidLocation { location: text.clone(), reason: error.to_string() })?;
    if !matches!(target.scheme(), "http" | "https") || target.host_str().is_none_or(str::is_empty) {
        return Err(RedirectError::UnsupportedScheme { url: target.to_string() });
    }
    if target.fragment().is_none() {
        target.set_fragment(url.fragment());
    }
    let (method, drop_body) = match status {
        303 if *method != Method::HEAD => (Method::GET, true),
        301 | 302 if *method == Method::POST => (Method::GET, true),
        // Any hop that keeps the method keeps the body: a 301 or 302 PUT stays a PUT, as in
        // curl (RFC 9110 §15.4.2: "For historical reasons, a user agent MAY change the request
        // method from POST to GET for the subsequent request" — POST only). A streamed body
        // was used up by this hop and cannot go again.
        _ if !body_replayable => return Err(RedirectError::BodyNotReplayable { status }),
        _ => (method.clone(), false),
    };
    let strip_credentials = !same_origin_for_credentials(url, &target);
    Ok(Some(RedirectTarget { method, url: target, drop_body, strip_credentials }))
}

/// Requests' `should_strip_auth`, inverted: same scheme, host and effective port, or an
/// upgrade from http to https on the default ports of the same host.
fn same_origin_for_credentials(from: &Url, to: &Url) -> bool {
    if from.host_str() != to.host_str() {
        return false;
    }
    if from.scheme() == "http" && to.scheme() == "https" && from.port().is_none() && to.port().is_none() {
        return true;
    }
    from.scheme() == to.scheme() && from.port_or_known_default() == to.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("test URL")
    }

    fn hop(method: Method, from: &str, status: u16, location: &str) -> Result<Option<RedirectTarget>, RedirectError> {
        next_hop(RedirectPolicy::default(), 0, &method, &url(from), status, Some(location.as_bytes()), true)
    }

    fn target(method: Method, from: &str, status: u16, location: &str) -> RedirectTarget {
        hop(method, from, status, location).expect("valid").expect("followed")
    }

    #[test]
    fn only_redirect_statuses_with_a_location_are_followed() {
        for status in [200, 300, 304, 305, 306, 404] {
            assert_eq!(hop(Method::GET, "http://a/", status, "/b"), Ok(None), "{status}");
        }
        assert_eq!(next_hop(RedirectPolicy::default(), 0, &Method::GET, &url("http://a/"), 302, None, true), Ok(None));
        assert_eq!(
            next_hop(RedirectPolicy::none(), 0, &Method::GET, &url("http://a/"), 302, Some(b"/b"), true),
            Ok(None)
        );
    }

    #[test]
    fn methods_are_rewritten_as_requests_does() {
        let cases = [
            (Method::POST, 301, Method::GET, true),
            (Method::POST, 302, Method::GET, true),
            (Method::POST, 303, Method::GET, true),
            (Method::PUT, 303, Method::GET, true),
            (Method::HEAD, 303, Method::HEAD, false),
            (Method::PUT, 301, Method::PUT, false),
            (Method::GET, 302, Method::GET, false),
            (Method::POST, 307, Method::POST, false),
            (Method::PATCH, 308, Method::PATCH, false),
        ];
        for (method, status, expected, drop_body) in cases {
            let next = target(method.clone(), "http://a/x", status, "/y");
            assert_eq!((next.method.clone(), next.drop_body), (expected, drop_body), "{method} {status}");
        }
    }

    #[test]
    fn a_streamed_body_stops_every_hop_that_would_resend_it() {
        let hop = |method: Method, status| {
            next_hop(RedirectPolicy::default(), 0, &method, &url("http://a/"), status, Some(b"/b"), false)
        };
        for status in [307, 308] {
            assert_eq!(hop(Method::POST, status), Err(RedirectError::BodyNotReplayable { status }));
        }
        // 301 and 302 keep a PUT (or PATCH, DELETE) and its body: found by the `call` fuzz
        // target, which saw the used-up reader sent again (empty, with chunked framing).
        for method in [Method::PUT, Method::PATCH, Method::DELETE] {
            for status in [301, 302] {
                assert_eq!(hop(method.clone(), status), Err(RedirectError::BodyNotReplayable { status }), "{method}");
            }
        }
        for (method, status) in [(Method::POST, 303), (Method::PUT, 303), (Method::POST, 301), (Method::POST, 302)] {
            let result = hop(method.clone(), status);
            assert!(
                matches!(result, Ok(Some(RedirectTarget { drop_body: true, .. }))),
                "{method} {status} drops the body"
            );
        }
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        assert_eq!(target(Method::GET, "http://a/x/y?q", 302, "z").url.as_str(), "http://a/x/z");
        assert_eq!(target(Method::GET, "http://a/x/y", 302, "/root").url.as_str(), "http://a/root");
        assert_eq!(target(Method::GET, "https://a/x", 302, "//b/c").url.as_str(), "https://b/c");
        assert_eq!(target(Method::GET, "http://a/x", 302, "https://b:8443/c").url.as_str(), "https://b:8443/c");
        assert_eq!(target(Method::GET, "http://a/x#frag", 302, "/y").url.as_str(), "http://a/y#frag");
        assert_eq!(target(Method::GET, "http://a/x#frag", 302, "/y#new").url.as_str(), "http://a/y#new");
        assert_eq!(target(Method::GET, "http://a/x", 302, " /spaced ").url.as_str(), "http://a/spaced");
        assert_eq!(target(Method::GET, "http://a/x", 302, "/caf\u{e9}").url.as_str(), "http://a/caf%C3%A9");
        let latin1 =
            next_hop(RedirectPolicy::default(), 0, &Method::GET, &url("http://a/"), 302, Some(b"/caf\xe9"), true);
        assert_eq!(latin1.expect("valid").expect("followed").url.as_str(), "http://a/caf%C3%A9");
    }

    #[test]
    fn bad_targets_are_errors_not_panics() {
        assert!(matches!(
            hop(Method::GET, "http://a/", 302, "ftp://b/file"),
            Err(RedirectError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            hop(Method::GET, "http://a/", 302, "javascript:alert(1)"),
            Err(RedirectError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            hop(Method::GET, "http://a/", 302, "http://[::1"),
            Err(RedirectError::InvalidLocation { .. })
        ));
        assert!(matches!(hop(Method::GET, "http://a/", 302, "http://"), Err(RedirectError::InvalidLocation { .. })));
    }

    #[test]
    fn the_limit_is_an_error_naming_the_last_hop() {
        let policy = RedirectPolicy { max_redirects: Some(2) };
        assert!(next_hop(policy, 1, &Method::GET, &url("http://a/"), 302, Some(b"/b"), true).expect("valid").is_some());
        assert_eq!(
            next_hop(policy, 2, &Method::GET, &url("http://a/"), 302, Some(b"/b"), true),
            Err(RedirectError::TooMany { limit: 2, status: 302, location: "/b".into() })
        );
    }

    #[test]
    fn credentials_never_cross_origins() {
        let strips = |from: &str, to: &str| target(Method::GET, from, 302, to).strip_credentials;
        assert!(!strips("http://a/x", "/y"));
        assert!(!strips("http://a:8080/x", "http://a:8080/y"));
        assert!(!strips("http://a/x", "http://a:80/y"), "the effective port is the same");
        assert!(!strips("http://a/x", "https://a/y"), "http to https on default ports keeps them");
        assert!(strips("https://a/x", "http://a/y"), "a downgrade drops them");
        assert!(strips("http://a/x", "http://b/y"));
        assert!(strips("http://a/x", "http://a:8080/y"));
        assert!(strips("http://a:8080/x", "https://a:8443/y"));
        assert!(strips("http://a/x", "http://A.evil/y"));
    }

    #[test]
    fn headers_are_adjusted_whatever_their_case() {
        let mut headers: Headers = [
            ("AUTHORIZATION", "Basic x"),
            ("cookie", "a=1"),
            ("Proxy-Authorization", "Basic y"),
            ("Content-Type", "application/json"),
            ("X-Keep", "1"),
        ]
        .into_iter()
        .collect();
        target(Method::POST, "http://a/", 303, "http://b/").adjust_headers(&mut headers);
        assert_eq!(headers.iter().collect::<Vec<_>>(), vec![("X-Keep", &b"1"[..])]);
    }
}
