//! zstd decoding: the pure-Rust decoder tidings uses by default (ruzstd, through
//! `ContentDecoder`), ruzstd alone, and libzstd (C, the `zstd-c` feature's decoder) on the
//! same payloads — a 2 KiB JSON response, 1 MiB of JSON, and 1 MiB of less compressible
//! text — each with its decoded size as throughput.
//!
//! `cargo bench -p tidings-benches --bench zstd`
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;
use std::io::Read;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tidings_core::{Coding, ContentDecoder};

/// JSON like an API's: records with repeated keys.
fn json(bytes: usize) -> Vec<u8> {
    let mut out = b"[".to_vec();
    let mut index = 0u64;
    while out.len() < bytes {
        let record = format!(
            "{{\"id\":{index},\"name\":\"user-{}\",\"email\":\"user{}@example.com\",\"active\":{},\"score\":{}.{}}},",
            index * 7919 % 10007,
            index,
            index % 3 == 0,
            index * 31 % 1000,
            index % 97
        );
        out.extend_from_slice(record.as_bytes());
        index += 1;
    }
    out.truncate(bytes - 1);
    out.push(b']');
    out
}

/// Words drawn by a small generator: compresses about 3:1, not 20:1.
fn mixed(bytes: usize) -> Vec<u8> {
    let words = ["alpha", "beta", "gamma", "delta", "http", "client", "zstd", "frame", "tidings", "rust"];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut out = Vec::with_capacity(bytes);
    while out.len() < bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(words[(state % 10) as usize].as_bytes());
        out.extend_from_slice(&(state >> 40).to_string().as_bytes()[..(state % 4) as usize]);
        out.push(if state % 11 == 0 { b'\n' } else { b' ' });
    }
    out.truncate(bytes);
    out
}

fn with_tidings(encoded: &[u8], out: &mut [u8]) -> usize {
    let mut decoder = ContentDecoder::new(&[Coding::Zstd], 1 << 30).expect("zstd compiled in");
    let (mut at, mut total) = (0, 0);
    loop {
        let (used, written) = decoder.decode(&encoded[at..], out).expect("valid zstd");
        at += used;
        total += written;
        if used == 0 && written == 0 {
            break;
        }
    }
    loop {
        match decoder.finish(out).expect("complete") {
            0 => return total,
            written => total += written,
        }
    }
}

fn with_ruzstd(encoded: &[u8], out: &mut [u8]) -> usize {
    let mut decoder = ruzstd::decoding::StreamingDecoder::new(encoded).expect("valid zstd");
    let mut total = 0;
    loop {
        match decoder.read(out).expect("valid zstd") {
            0 => return total,
            count => total += count,
        }
    }
}

fn with_libzstd(encoded: &[u8], out: &mut [u8]) -> usize {
    use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};
    let mut decoder = Decoder::new().expect("decoder");
    let mut input = InBuffer::around(encoded);
    let mut total = 0;
    loop {
        let mut sink = OutBuffer::around(&mut *out);
        let hint = decoder.run(&mut input, &mut sink).expect("valid zstd");
        total += sink.pos();
        // 0: the frame is decoded and flushed (after it, libzstd hints at the next header).
        if hint == 0 && input.pos() == encoded.len() {
            return total;
        }
    }
}

fn zstd(c: &mut Criterion) {
    let payloads = [("json 2 KiB", json(2048)), ("json 1 MiB", json(1 << 20)), ("mixed text 1 MiB", mixed(1 << 20))];
    let mut out = vec![0u8; 16 * 1024];
    for (name, data) in payloads {
        let encoded = zstd::encode_all(&data[..], 3).expect("encode");
        for decode in [with_tidings, with_ruzstd, with_libzstd] {
            assert_eq!(decode(&encoded, &mut out), data.len(), "{name}");
        }
        let mut group = c.benchmark_group(format!("zstd decode, {name} ({} bytes encoded)", encoded.len()));
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function("tidings ContentDecoder (ruzstd, the default)", |b| {
            b.iter(|| black_box(with_tidings(black_box(&encoded), &mut out)))
        });
        group.bench_function("ruzstd StreamingDecoder alone", |b| {
            b.iter(|| black_box(with_ruzstd(black_box(&encoded), &mut out)))
        });
        group.bench_function("libzstd (C, the zstd-c feature)", |b| {
            b.iter(|| black_box(with_libzstd(black_box(&encoded), &mut out)))
        });
        group.finish();
    }
}

criterion_group!(benches, zstd);
criterion_main!(benches);
