//! Shared helpers: drive a `Connection` through a response under a chosen split, and write
//! down everything it did as a transcript that does not depend on the split.
#![allow(dead_code)]

use std::time::Instant;

use tidings_core::{Config, Connection, Event, Method, Request};

/// Everything observable about one decoded response, independent of how input was split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Events in order; body data is merged into one `data` line between other events.
    pub events: Vec<String>,
    /// Bytes left unconsumed after the response ended.
    pub unconsumed: usize,
    /// The connection's verdict: `keep-alive`, `close <reason>`, `error <kind> <message>`,
    /// or `pending` when more input would be needed.
    pub outcome: String,
}

impl Transcript {
    pub fn body(&self) -> Vec<u8> {
        self.events
            .iter()
            .filter_map(|event| event.strip_prefix("data "))
            .flat_map(|data| data.chars().map(|c| c as u32 as u8))
            .collect()
    }
}

/// Sends `method /` on a fresh connection and feeds `response` in pieces at `cuts`
/// (sorted offsets), then EOF if `eof`.
#[allow(clippy::disallowed_methods)] // a test picks any base instant; the core never reads the clock
pub fn run(config: &Config, method: &str, response: &[u8], cuts: &[usize], eof: bool) -> Transcript {
    let now = Instant::now();
    let mut connection = Connection::new(config.clone());
    let method = Method::from_bytes(method.as_bytes()).expect("test method");
    let request = Request::new(method, "http://test.invalid/").expect("test request");
    connection.send_request(now, &request).expect("valid request");
    let mut sink = [0u8; 4096];
    while connection.poll_transmit(now, &mut sink) > 0 {}

    let mut events = Vec::new();
    let mut data = String::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&cut| cut > 0 && cut < response.len()).collect();
    bounds.sort_unstable();
    bounds.dedup();
    bounds.push(response.len());
    let mut start = 0;
    let mut ended = false;
    'feed: for end in bounds {
        pending.extend_from_slice(&response[start..end]);
        start = end;
        loop {
            match connection.handle_input(now, &pending) {
                Err(error) => {
                    flush(&mut data, &mut events);
                    return Transcript { events, unconsumed: 0, outcome: format!("error {} {error}", error.kind()) };
                }
                Ok((used, event)) => {
                    let wants_more = event.is_none();
                    ended = record(event, &mut data, &mut events);
                    pending.drain(..used);
                    if ended {
                        break 'feed;
                    }
                    if wants_more {
                        break;
                    }
                }
            }
        }
    }
    let unconsumed = pending.len() + (response.len() - start);
    if !ended && eof {
        match connection.handle_eof(now) {
            Ok(event) => ended = record(event, &mut data, &mut events),
            Err(error) => {
                flush(&mut data, &mut events);
                return Transcript { events, unconsumed: 0, outcome: format!("error {} {error}", error.kind()) };
            }
        }
    }
    flush(&mut data, &mut events);
    let outcome = match (ended, connection.close_reason()) {
        (false, _) => "pending".to_owned(),
        (true, None) => "keep-alive".to_owned(),
        (true, Some(reason)) => format!("close {reason}"),
    };
    Transcript { events, unconsumed, outcome }
}

/// Records one event; returns true at the end of the response.
fn record(event: Option<Event<'_>>, data: &mut String, events: &mut Vec<String>) -> bool {
    match event {
        None => false,
        Some(Event::Data(bytes)) => {
            data.extend(bytes.iter().map(|&byte| char::from(byte)));
            false
        }
        Some(other) => {
            flush(data, events);
            match other {
                Event::Informational(head) => events.push(format!("info {} {}", head.status(), fields(head.headers()))),
                Event::Head(head) => events.push(format!(
                    "head {} {} {:?} {}",
                    head.version().as_str(),
                    head.status(),
                    String::from_utf8_lossy(head.reason()),
                    fields(head.headers())
                )),
                Event::Trailers(trailers) => events.push(format!("trailers {}", fields(trailers))),
                Event::End => events.push("end".to_owned()),
                Event::Data(_) => unreachable!("handled above"),
            }
            matches!(other, Event::End)
        }
    }
}

fn flush(data: &mut String, events: &mut Vec<String>) {
    if !data.is_empty() {
        events.push(format!("data {}", std::mem::take(data)));
    }
}

fn fields(block: &tidings_core::HeaderBlock) -> String {
    let fields: Vec<String> =
        block.iter().map(|(name, value)| format!("{name}={}", String::from_utf8_lossy(value))).collect();
    format!("[{}]", fields.join("|"))
}

/// Cuts for "every byte on its own".
pub fn every_byte(length: usize) -> Vec<usize> {
    (1..length).collect()
}

/// Decodes `encoded` fed in pieces of `piece` bytes into an output buffer of `output` bytes,
/// then finishes: the way a driver with small buffers would.
pub fn decode_in_pieces(
    decoder: &mut tidings_core::ContentDecoder,
    encoded: &[u8],
    piece: usize,
    output: usize,
) -> Result<Vec<u8>, tidings_core::Error> {
    let mut out = vec![0u8; output];
    let mut body = Vec::new();
    for mut piece in encoded.chunks(piece.max(1)) {
        loop {
            let (used, written) = decoder.decode(piece, &mut out)?;
            body.extend_from_slice(&out[..written]);
            piece = &piece[used..];
            if piece.is_empty() && written < out.len() {
                break;
            }
        }
    }
    loop {
        let written = decoder.finish(&mut out)?;
        if written == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&out[..written]);
    }
}
