//! The serializer fed arbitrary method, path and header bytes: either the request is
//! refused before a byte is written, or what is written parses back to exactly the fields
//! given: no CR/LF injection, no extra header, no lost one.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use tidings_core::{Body, Config, Connection, Request};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&byte| byte == 0xff);
    let method = String::from_utf8_lossy(parts.next().unwrap_or(b"GET")).into_owned();
    let path = String::from_utf8_lossy(parts.next().unwrap_or(b"/")).into_owned();
    let Ok(request) = Request::parse(&method, &format!("http://fuzz.invalid/{path}")) else { return };
    let mut request = request.body(Body::Bytes(b"body".to_vec()));
    let mut given = Vec::new();
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        let name = String::from_utf8_lossy(name).into_owned();
        request.headers_mut().append(name.clone(), value);
        given.push((name, value.to_vec()));
    }
    let now = Instant::now();
    let mut connection = Connection::new(Config::default());
    if connection.send_request(now, &request).is_err() {
        assert_eq!(connection.poll_transmit(now, &mut [0u8; 64]), 0, "nothing written for a refused request");
        return;
    }
    let mut wire = Vec::new();
    let mut buf = [0u8; 37];
    loop {
        let count = connection.poll_transmit(now, &mut buf);
        if count == 0 {
            break;
        }
        wire.extend_from_slice(&buf[..count]);
    }
    let mut headers = vec![httparse::EMPTY_HEADER; given.len() + 16];
    let mut parsed = httparse::Request::new(&mut headers);
    let status = parsed.parse(&wire).expect("the serializer writes valid HTTP/1.1");
    assert!(status.is_complete());
    assert_eq!(parsed.method, Some(request.method().as_str()));
    for (name, value) in &given {
        if ["host", "content-length", "transfer-encoding"].iter().any(|skip| name.eq_ignore_ascii_case(skip)) {
            continue;
        }
        let trimmed = value.trim_ascii();
        assert!(
            parsed.headers.iter().any(|header| header.name == name && header.value == trimmed),
            "field {name:?} lost or altered"
        );
    }
});
