//! What the fuzz targets share: a response fed to a `Connection`, whole or in pieces, written
//! down as a transcript to compare.

use std::time::Instant;

use tidings_core::{Config, Connection, Event, Method, Request};

/// Everything `bytes` (the answer to a `method` request) makes a connection say, fed in the
/// pieces that `cuts` (ascending positions) make: heads, trailers, the body's bytes (joined,
/// so any split must give the same), the end with its close reason and the bytes left over,
/// or the error — and, with `eof`, what the close means.
pub fn transcript(config: &Config, method: &Method, bytes: &[u8], cuts: &[usize], eof: bool) -> Vec<String> {
    let now = Instant::now();
    let mut connection = Connection::new(config.clone());
    let mut request = Request::new(method.clone(), "http://fuzz.invalid/").expect("valid");
    if method == Method::CONNECT {
        request = Request::connect("http://fuzz.invalid:443").expect("valid");
    }
    connection.send_request(now, &request).expect("valid request");
    let mut sink = [0u8; 512];
    while connection.poll_transmit(now, &mut sink) > 0 {}
    let mut log = Vec::new();
    let mut data = Vec::new();
    let mut pending = Vec::new();
    let mut start = 0;
    let ends = cuts.iter().copied().filter(|&cut| cut > 0).chain(std::iter::once(bytes.len()));
    for end in ends {
        if end <= start {
            continue;
        }
        pending.extend_from_slice(&bytes[start..end]);
        start = end;
        loop {
            match connection.handle_input(now, &pending) {
                Err(error) => {
                    log.push(format!("data {data:?}"));
                    log.push(format!("error {error}"));
                    return log;
                }
                Ok((used, event)) => {
                    let more = event.is_none();
                    let end = matches!(event, Some(Event::End));
                    match event {
                        Some(Event::Data(chunk)) => data.extend_from_slice(chunk),
                        Some(Event::Head(head)) | Some(Event::Informational(head)) => log.push(format!(
                            "head {} {:?} {:?}",
                            head.status(),
                            head.reason(),
                            head.headers().to_headers()
                        )),
                        Some(Event::Trailers(trailers)) => log.push(format!("trailers {:?}", trailers.to_headers())),
                        _ => {}
                    }
                    pending.drain(..used);
                    if end {
                        log.push(format!("data {data:?}"));
                        log.push(format!(
                            "end {:?} rest {}",
                            connection.close_reason(),
                            pending.len() + bytes.len() - start
                        ));
                        return log;
                    }
                    if more {
                        break;
                    }
                }
            }
        }
    }
    log.push(format!("data {data:?}"));
    if eof {
        log.push(format!("eof {:?}", connection.handle_eof(now).map(|event| event.is_some())));
    }
    log
}
