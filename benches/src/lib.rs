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

/// A chunked response whose `body_len` bytes come in chunks of `chunk` bytes, under a
/// three-field head.
pub fn chunked_response(body_len: usize, chunk: usize) -> Vec<u8> {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    chunked_after(head, body_len, chunk)
}

/// [`API_HEAD`] with `Transfer-Encoding: chunked` in place of its `Content-Length`, then
/// `body_len` bytes in chunks of `chunk` bytes: a JSON API's streamed answer.
pub fn chunked_api_response(body_len: usize, chunk: usize) -> Vec<u8> {
    let head = String::from_utf8_lossy(API_HEAD).replace("Content-Length: 0", "Transfer-Encoding: chunked");
    chunked_after(head.as_bytes(), body_len, chunk)
}

fn chunked_after(head: &[u8], body_len: usize, chunk: usize) -> Vec<u8> {
    let mut bytes = head.to_vec();
    let body: Vec<u8> = (0..body_len).map(|index| (index % 251) as u8).collect();
    for piece in body.chunks(chunk) {
        bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        bytes.extend_from_slice(piece);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

/// The chunked cases compared with raw httparse: under a JSON API's ten-field head, the
/// common small body, many tiny chunks (what a streaming server writes) and a few large
/// ones; and the small body under a three-field head, where the head step weighs most.
pub fn chunked_cases() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("API head, 1 KiB in 8 chunks", chunked_api_response(1024, 128)),
        ("API head, 1 KiB in 64 chunks of 16 B", chunked_api_response(1024, 16)),
        ("API head, 64 KiB in 4 chunks of 16 KiB", chunked_api_response(64 * 1024, 16 * 1024)),
        ("3-field head, 1 KiB in 8 chunks", chunked_response(1024, 128)),
    ]
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

/// The baseline of the chunked comparison: raw httparse on the same bytes, doing the least a
/// parser must: the head with 32 header slots, then `httparse::parse_chunk_size` per chunk,
/// each chunk's data handed out as a slice (no copy), its CRLF checked, the final empty line
/// checked. Returns the body bytes seen.
#[inline]
pub fn httparse_chunked(bytes: &[u8]) -> usize {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(mut position)) = response.parse(bytes) else { return 0 };
    let mut body = 0;
    loop {
        let Ok(httparse::Status::Complete((used, size))) = httparse::parse_chunk_size(&bytes[position..]) else {
            return 0;
        };
        position += used;
        if size == 0 {
            return if bytes[position..].starts_with(b"\r\n") { body } else { 0 };
        }
        let Some(data) = bytes.get(position..position + size as usize) else { return 0 };
        body += std::hint::black_box(data).len();
        position += data.len();
        if !bytes[position..].starts_with(b"\r\n") {
            return 0;
        }
        position += 2;
    }
}

/// Decodes one whole response with tidings-core, events handed out as the decoder gives them
/// (body data as slices of the input); returns the body bytes seen.
#[inline]
pub fn tidings_response(decoder: &mut ResponseDecoder, bytes: &[u8]) -> usize {
    decoder.start(ResponseContext::default());
    let mut position = 0;
    let mut body = 0;
    loop {
        match decoder.decode(&bytes[position..]) {
            Ok((used, Some(Event::Data(data)))) => {
                body += std::hint::black_box(data).len();
                position += used;
            }
            Ok((_, Some(Event::End))) | Ok((_, None)) | Err(_) => return body,
            Ok((used, Some(_))) => position += used,
        }
    }
}

pub mod paired;

#[cfg(feature = "peers")]
pub mod peers;
