//! The pure policies fed arbitrary text: challenge lists and Digest selection, `.netrc`,
//! `Set-Cookie` values and cookie dates, proxy URLs and `NO_PROXY` lists. None may panic;
//! what goes back on the wire never carries a control byte.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use tidings_core::auth::{parse_challenges, DigestAuth};
use tidings_core::cookie::{parse_cookie_date, CookieJar};
use tidings_core::netrc::Netrc;
use tidings_core::proxy::{NoProxy, Proxy};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_challenges(&text);
    let mut digest = DigestAuth::new("user", "pass");
    if digest.accept_challenge([text.as_ref()]) {
        let value = digest.authorize("GET", "/", [7; 16]).unwrap_or_default();
        assert!(!value.bytes().any(|byte| byte == b'\r' || byte == b'\n' || byte == 0), "{value:?}");
    }
    let _ = Netrc::parse(&text).lookup("example.com");
    let _ = parse_cookie_date(&text);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for origin in ["http://example.com/a/b", "https://sub.example.co.uk/", "http://127.0.0.1:8080/"] {
        let url = url::Url::parse(origin).expect("fixed URL");
        let mut jar = CookieJar::new();
        let _ = jar.store(&url, data, now);
        if let Some(header) = jar.header_value(&url, now) {
            assert!(!header.bytes().any(|byte| byte < 0x20 && byte != b'\t'), "{header:?}");
        }
        let _ = NoProxy::parse(&text).matches(&url);
    }
    if let Ok(proxy) = Proxy::parse(&text) {
        let _ = (proxy.host(), proxy.port(), proxy.authorization());
    }
});
