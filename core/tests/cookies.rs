//! The cookie jar against RFC 6265's rules that a public cookie-parser suite found off:
//! the Domain attribute loses exactly one leading dot (§5.2.3) and keeps a trailing one (so it
//! matches no host, as RFC 6265bis says), and a cookie that replaces one of the same name,
//! domain and path keeps the old one's creation time — and its place in the `Cookie` header
//! (§5.3 step 11.3).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tidings_core::cookie::CookieJar;
use url::Url;

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
}

fn url(text: &str) -> Url {
    Url::parse(text).expect("URL")
}

/// The `Cookie` header `target` gets after `origin` set each of `set_cookies` in turn.
fn header_after(origin: &str, set_cookies: &[&str], target: &str) -> Option<String> {
    let mut jar = CookieJar::new();
    for (second, value) in set_cookies.iter().enumerate() {
        let _ = jar.store(&url(origin), value.as_bytes(), at(second as u64));
    }
    jar.header_value(&url(target), at(100))
}

#[test]
fn the_domain_attribute_loses_one_leading_dot_and_nothing_else() {
    let home = "http://home.example.org/";
    let cases: [(&str, &str, Option<&str>); 8] = [
        ("a=1; Domain=home.example.org", home, Some("a=1")),
        ("a=1; Domain=.home.example.org", home, Some("a=1")),
        ("a=1; Domain=.example.org", "http://sub.example.org/", Some("a=1")),
        // Two leading dots: one goes, the other stays, and the domain matches nothing.
        ("a=1; Domain=..home.example.org", home, None),
        // A trailing dot is part of the name: it does not match the host without it.
        ("a=1; Domain=home.example.org.", home, None),
        ("a=1; Domain=.home.example.org.", home, None),
        ("a=1; Domain=HOME.Example.ORG", home, Some("a=1")),
        // An empty Domain is ignored: a host-only cookie.
        ("a=1; Domain=", home, Some("a=1")),
    ];
    for (set_cookie, target, expected) in cases {
        assert_eq!(header_after(home, &[set_cookie], target).as_deref(), expected, "{set_cookie} -> {target}");
    }
    assert_eq!(header_after(home, &["a=1; Domain="], "http://sub.home.example.org/"), None, "host-only");
}

#[test]
fn a_replaced_cookie_keeps_its_place_in_the_cookie_header() {
    let origin = "http://home.example.org/";
    let cases: [(&[&str], &str); 4] = [
        (&["a=1", "b=2", "a=3"], "a=3; b=2"),
        (&["a=1", "b=2", "c=3", "b=4"], "a=1; b=4; c=3"),
        // A cookie with another path is another cookie: longer paths still come first.
        (&["a=1; Path=/", "a=2; Path=/x", "a=3; Path=/"], "a=2; a=3"),
        // Deleting and setting again is a new cookie: it goes last.
        (&["a=1", "b=2", "a=; Max-Age=0", "a=5"], "b=2; a=5"),
    ];
    for (set_cookies, expected) in cases {
        let target = "http://home.example.org/x";
        assert_eq!(header_after(origin, set_cookies, target).as_deref(), Some(expected), "{set_cookies:?}");
    }
    // The order holds even when cookies were created in the same second.
    let mut jar = CookieJar::new();
    for value in ["a=1", "b=2", "a=3"] {
        jar.store(&url(origin), value.as_bytes(), at(0)).expect("stored");
    }
    assert_eq!(jar.header_value(&url(origin), at(1)).as_deref(), Some("a=3; b=2"));
}
