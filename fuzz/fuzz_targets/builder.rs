//! The request builder fed arbitrary method, URL and header bytes: what it accepts
//! serializes to a head that httparse parses back to the same method, target and fields;
//! anything with CR, LF or NUL is refused before a byte is written.
#![no_main]

use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

use libfuzzer_sys::fuzz_target;
use tidings_client::{Call, Method, Session};
use tidings_core::{Config, Connection};

fn session() -> &'static Session {
    static SESSION: OnceLock<Session> = OnceLock::new();
    // No environment: proxies from the environment would change the target form.
    SESSION.get_or_init(|| Session::builder().trust_env(false).cookie_store(false).build().expect("a session"))
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&byte| byte == 0xff);
    let (Some(method), Some(url)) = (parts.next(), parts.next()) else { return };
    let url = format!("http://fuzz.invalid/{}", String::from_utf8_lossy(url));
    let mut fields = Vec::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        fields.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
    }
    let forbidden = |bytes: &[u8]| bytes.iter().any(|&byte| matches!(byte, b'\r' | b'\n' | 0));
    let injected = forbidden(method)
        || forbidden(url.as_bytes())
        || fields.iter().any(|(name, value)| forbidden(name.as_bytes()) || forbidden(value));

    let wire = Method::from_bytes(method).ok().and_then(|method| {
        let mut builder = session().request(method, &url);
        for (name, value) in &fields {
            builder = builder.header(name.clone(), value);
        }
        let now = Instant::now();
        let mut call = Call::new(session(), builder.build().ok()?, now, SystemTime::UNIX_EPOCH);
        let attempt = call.attempt(now).ok()?;
        let mut connection = Connection::new(Config::default());
        if connection.send_request(now, &attempt.request).is_err() {
            assert_eq!(connection.poll_transmit(now, &mut [0u8; 64]), 0, "nothing written for a refused request");
            return None;
        }
        let mut wire = Vec::new();
        let mut buf = [0u8; 61];
        loop {
            let count = connection.poll_transmit(now, &mut buf);
            if count == 0 {
                return Some((wire, attempt.request));
            }
            wire.extend_from_slice(&buf[..count]);
        }
    });
    let Some((wire, request)) = wire else { return };
    assert!(!injected, "a request with CR, LF or NUL was written: {:?}", String::from_utf8_lossy(&wire));
    let mut headers = vec![httparse::EMPTY_HEADER; fields.len() + 16];
    let mut parsed = httparse::Request::new(&mut headers);
    let status = parsed.parse(&wire).expect("the serializer writes valid HTTP/1.1");
    assert!(status.is_complete(), "a whole head");
    assert_eq!(parsed.method, Some(request.method().as_str()));
    assert_eq!(parsed.path, Some(&*request.target()));
    for (name, value) in &fields {
        if ["host", "content-length", "transfer-encoding", "connection"].iter().any(|skip| name.eq_ignore_ascii_case(skip)) {
            continue;
        }
        let trimmed = value.trim_ascii();
        assert!(
            parsed.headers.iter().any(|header| header.name == name && header.value == trimmed),
            "field {name:?} lost or altered"
        );
    }
});
