//! The whole response path through a `Connection`: any bytes, fed whole and in
//! fuzzer-chosen pieces, must give the same transcript and never panic.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use tidings_core::{Config, Connection, Event, Leniency, Method, Request};

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (control, bytes) = data.split_at(3);
    let method = [Method::GET, Method::HEAD, Method::CONNECT, Method::POST][usize::from(control[0] & 3)].clone();
    let mut config = Config::default();
    config.limits.max_head_bytes = 4096;
    config.limits.max_body_bytes = Some(1 << 20);
    if control[0] & 4 != 0 {
        config.leniency = Leniency::permissive();
    }
    let eof = control[0] & 8 != 0;
    let whole = transcript(&config, &method, bytes, &[], eof);
    // Cut points from the fuzzer: a stride and an offset.
    let stride = usize::from(control[1]).max(1);
    let cuts: Vec<usize> = (usize::from(control[2]) % stride..bytes.len()).step_by(stride).collect();
    let split = transcript(&config, &method, bytes, &cuts, eof);
    assert_eq!(whole, split, "split invariance");
});

fn transcript(config: &Config, method: &Method, bytes: &[u8], cuts: &[usize], eof: bool) -> Vec<String> {
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
