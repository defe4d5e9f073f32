//! Inputs shared by the benches (realistic response bytes built once) and the two sides of
//! the head comparison, so every bench measures exactly the same calls.

use tidings_core::{Event, ResponseContext, ResponseDecoder};

/// A realistic head of a JSON API response (358 bytes, ten fields).
pub const API_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Mon, 23 Nov 2026 20:44:58 GMT\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Content-Length: 0\r\n\
Connection: keep-alive\r\n\
Cache-Control: private, max-age=0, must-revalidate\r\n\
ETag: W/\"5e1a-8f3c2b1d\"\r\n\
Vary: Accept-Encoding\r\n\
X-Request-Id: 3f2a9c4e-7b1d-4e8f-9a6b-2c5d8e1f0a3b\r\n\
Strict-Transport-Security: max-age=63072000\r\n\
Server: nginx\r\n\r\n";

/// A chunked response whose `body_len` bytes come in chunks of `chunk` bytes.
pub fn chunked_response(body_len: usize, chunk: usize) -> Vec<u8> {
    let mut bytes =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let body: Vec<u8> = (0..body_len).map(|index| (index % 251) as u8).collect();
    for piece in body.chunks(chunk) {
        bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        bytes.extend_from_slice(piece);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

/// A response with a `Content-Length` body of `body_len` bytes.
pub fn content_length_response(body_len: usize) -> Vec<u8> {
    let mut bytes =
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {body_len}\r\n\r\n")
            .into_bytes();
    bytes.extend((0..body_len).map(|index| (index % 251) as u8));
    bytes
}

/// The baseline of the head comparison: raw `httparse::Response::parse` with 32 header
/// slots. Returns whether the head was complete.
#[inline]
pub fn httparse_head(bytes: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    matches!(response.parse(bytes), Ok(httparse::Status::Complete(_)))
}

/// The whole head step of tidings: start a response, decode its head (find the end, copy,
/// parse, index, framing and keep-alive). Returns the bytes used and the status.
#[inline]
pub fn tidings_head(decoder: &mut ResponseDecoder, bytes: &[u8]) -> (usize, u16) {
    decoder.start(ResponseContext::default());
    match decoder.decode(bytes) {
        Ok((used, Some(Event::Head(head)))) => (used, head.status()),
        _ => (0, 0),
    }
}

#[cfg(feature = "peers")]
pub mod peers;
