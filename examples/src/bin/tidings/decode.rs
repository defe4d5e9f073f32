//! `tidings decode`: feed a raw response capture through the core alone, with no network.

use std::time::Instant;

use tidings_core::coding::DEFAULT_DECODED_LIMIT;
use tidings_core::{Config, Connection, ContentDecoder, Error, Event, Request};

use crate::report::{fields, informational, Report};

/// How the capture is cut into pieces before it is fed.
#[derive(Debug, Clone, Copy)]
pub enum Split {
    Whole,
    Every(usize),
    Seeded(u64),
}

#[derive(Debug, Clone)]
pub struct DecodeOptions {
    pub method: String,
    pub split: Split,
    pub eof: bool,
    pub max_body: Option<u64>,
}

/// Decodes `capture` as the response to `options.method` and reports what a client would.
pub fn decode(capture: &[u8], options: &DecodeOptions) -> Report {
    let started = Instant::now();
    let mut report = Report::default();
    let mut run = Run {
        body: Vec::new(),
        content_type: None,
        decoder: None,
        ended: false,
        limit: options.max_body.unwrap_or(DEFAULT_DECODED_LIMIT),
    };
    let mut connection = Connection::new(Config::default());
    let result = feed(&mut connection, capture, options, &mut run, &mut report);
    if let Err(error) = result {
        report.set_error(&error);
    }
    report.set_body(&run.body, run.content_type.as_deref());
    // A response abandoned midway (say, on a decode error) leaves its connection unusable.
    let abandoned = (!connection.is_idle()).then_some(tidings_core::CloseReason::Aborted);
    report.set_close(connection.close_reason().or(abandoned));
    report.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    report
}

struct Run {
    body: Vec<u8>,
    content_type: Option<Vec<u8>>,
    decoder: Option<ContentDecoder>,
    ended: bool,
    limit: u64,
}

fn feed(
    connection: &mut Connection,
    capture: &[u8],
    options: &DecodeOptions,
    run: &mut Run,
    report: &mut Report,
) -> Result<(), Error> {
    let request = Request::parse(&options.method, "http://capture.invalid/")?;
    connection.send_request(Instant::now(), &request)?;
    let mut sink = [0u8; 1024];
    while connection.poll_transmit(Instant::now(), &mut sink) > 0 {}

    let mut pending: Vec<u8> = Vec::new();
    for piece in pieces(capture.len(), options.split) {
        pending.extend_from_slice(&capture[piece]);
        let used = pump(connection, &pending, run, report)?;
        pending.drain(..used);
        if run.ended {
            return Ok(());
        }
    }
    if options.eof {
        if let Some(Event::End) = connection.handle_eof(Instant::now())? {
            finish(run)?;
        }
        return Ok(());
    }
    // The capture stops without a close: a client would wait until its read deadline.
    match connection.poll_timeout() {
        Some(deadline) => connection.handle_timeout(deadline),
        None => Ok(()),
    }
}

/// Feeds `input` until the connection wants more; returns bytes consumed.
fn pump(connection: &mut Connection, input: &[u8], run: &mut Run, report: &mut Report) -> Result<usize, Error> {
    let mut position = 0;
    loop {
        let (used, event) = connection.handle_input(Instant::now(), &input[position..])?;
        position += used;
        match event {
            None => return Ok(position),
            Some(Event::Informational(head)) => report.informational.push(informational(head)),
            Some(Event::Head(head)) => {
                report.set_head(head);
                run.content_type = head.headers().get("content-type").map(<[u8]>::to_vec);
                let decoder = ContentDecoder::for_response(head.headers(), run.limit)?;
                report.undecoded_coding = decoder.undecoded().map(str::to_owned);
                run.decoder = Some(decoder);
            }
            Some(Event::Data(data)) => decode_into(run, data)?,
            Some(Event::Trailers(trailers)) => report.trailers = fields(trailers),
            Some(Event::End) => {
                finish(run)?;
                return Ok(position);
            }
        }
    }
}

fn decode_into(run: &mut Run, data: &[u8]) -> Result<(), Error> {
    match run.decoder.as_mut() {
        Some(decoder) => decoder.decode_into(data, &mut run.body),
        None => Ok(()),
    }
}

fn finish(run: &mut Run) -> Result<(), Error> {
    run.ended = true;
    match run.decoder.as_mut() {
        Some(decoder) => decoder.finish_into(&mut run.body),
        None => Ok(()),
    }
}

/// The byte ranges the capture is fed in.
fn pieces(length: usize, split: Split) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut random = SplitMix(match split {
        Split::Seeded(seed) => seed,
        _ => 0,
    });
    while start < length {
        let size = match split {
            Split::Whole => length,
            Split::Every(size) => size.max(1),
            Split::Seeded(_) => 1 + (random.next() % 64) as usize,
        };
        let end = (start + size).min(length);
        ranges.push(start..end);
        start = end;
    }
    ranges
}

/// splitmix64: a tiny deterministic generator, so a seed names one split forever.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
