//! tidings-core against raw httparse on the same bytes, in the same run.
//!
//! `cargo bench -p tidings-benches --bench core`
#![allow(missing_docs)] // criterion's macros generate undocumented items

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tidings_benches::{
    chunked_cases, chunked_response, content_length_response, httparse_chunked, httparse_head, tidings_head,
    tidings_response, API_HEAD,
};
use tidings_core::{Body, Config, Connection, Event, Request, ResponseContext, ResponseDecoder};

fn head(c: &mut Criterion) {
    let mut group = c.benchmark_group("head");
    group.throughput(Throughput::Bytes(API_HEAD.len() as u64));
    assert!(httparse_head(API_HEAD), "httparse parses the head");
    group.bench_function("httparse (baseline)", |b| b.iter(|| black_box(httparse_head(black_box(API_HEAD)))));
    group.bench_function("httparse as tidings calls it (uninit fields, head copied)", |b| {
        let mut raw = Vec::with_capacity(1024);
        b.iter(|| {
            raw.clear();
            raw.extend_from_slice(black_box(API_HEAD));
            let mut stack = [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; 128];
            let mut response = httparse::Response::new(&mut []);
            let config = httparse::ParserConfig::default();
            black_box(
                config.parse_response_with_uninit_headers(&mut response, &raw, &mut stack).map(|s| s.is_complete()),
            )
        })
    });
    let mut decoder = ResponseDecoder::default();
    assert_eq!(tidings_head(&mut decoder, API_HEAD), (API_HEAD.len(), 200), "the head decodes");
    group.bench_function("tidings ResponseDecoder head", |b| {
        b.iter(|| black_box(tidings_head(&mut decoder, black_box(API_HEAD))))
    });
    group.finish();
}

fn chunked(c: &mut Criterion) {
    let mut group = c.benchmark_group("chunked");
    let mut decoder = ResponseDecoder::default();
    for (name, bytes) in chunked_cases() {
        let body = httparse_chunked(&bytes);
        assert!(body > 0 && body == tidings_response(&mut decoder, &bytes), "both sides decode {name}");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format!("{name}: httparse (baseline)"), |b| {
            b.iter(|| black_box(httparse_chunked(black_box(&bytes))))
        });
        group.bench_function(format!("{name}: tidings ResponseDecoder"), |b| {
            b.iter(|| black_box(tidings_response(&mut decoder, black_box(&bytes))))
        });
    }
    group.finish();
}

fn bodies(c: &mut Criterion) {
    let mut group = c.benchmark_group("body");
    let small = chunked_response(1024, 128);
    let large = chunked_response(1 << 20, 16 * 1024);
    let fixed = content_length_response(1 << 20);
    let mut decoder = ResponseDecoder::default();
    for (name, bytes) in [
        ("chunked 1 KiB in 8 chunks", &small),
        ("chunked 1 MiB in 16 KiB chunks", &large),
        ("content-length 1 MiB", &fixed),
    ] {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| b.iter(|| black_box(tidings_response(&mut decoder, black_box(bytes)))));
    }
    // The decoder hands out slices without touching the data, so the rows above measure its
    // overhead alone. What a consumer pays, next to a plain memcpy of the same bytes:
    let mut sink = vec![0u8; 2 << 20];
    group.throughput(Throughput::Bytes(large.len() as u64));
    group.bench_function("memcpy of the same 1 MiB (baseline)", |b| {
        b.iter(|| {
            sink[..large.len()].copy_from_slice(black_box(&large));
            black_box(sink[0])
        })
    });
    group.bench_function("chunked 1 MiB in 16 KiB chunks, data copied out", |b| {
        b.iter(|| {
            decoder.start(ResponseContext::default());
            let (mut position, mut filled) = (0, 0);
            loop {
                match decoder.decode(&large[position..]) {
                    Ok((used, Some(Event::Data(data)))) => {
                        sink[filled..filled + data.len()].copy_from_slice(data);
                        filled += data.len();
                        position += used;
                    }
                    Ok((_, Some(Event::End))) | Ok((_, None)) | Err(_) => break,
                    Ok((used, Some(_))) => position += used,
                }
            }
            black_box(filled)
        })
    });
    group.finish();
}

fn exchange(c: &mut Criterion) {
    let mut group = c.benchmark_group("exchange");
    let full = {
        let mut bytes = API_HEAD.to_vec();
        let at = bytes.windows(17).position(|window| window == b"Content-Length: 0").unwrap_or(0);
        bytes.splice(at..at + 17, b"Content-Length: 17".iter().copied());
        bytes.extend_from_slice(b"{\"hello\":\"world\"}");
        bytes
    };
    group.throughput(Throughput::Bytes(full.len() as u64));
    let request =
        Request::get("http://api.example.com/v1/items?page=2").expect("valid").header("Authorization", "Bearer abc");
    let mut connection = Connection::new(Config::default());
    let mut wire = [0u8; 1024];
    let now = Instant::now();
    group.bench_function("serialize GET + decode 200 with JSON body", |b| {
        b.iter(|| {
            connection.send_request(now, &request).expect("valid");
            let written = connection.poll_transmit(now, &mut wire);
            let mut position = 0;
            let mut body = 0;
            loop {
                match connection.handle_input(now, &full[position..]) {
                    Ok((used, Some(Event::Data(data)))) => {
                        body += data.len();
                        position += used;
                    }
                    Ok((_, Some(Event::End))) => break,
                    Ok((used, _)) => position += used,
                    Err(error) => panic!("{error}"),
                }
            }
            black_box((written, body))
        })
    });
    let post = Request::get("http://api.example.com/v1/items").expect("valid").body(Body::Bytes(vec![b'x'; 512]));
    group.bench_function("serialize request head", |b| {
        let mut out = Vec::with_capacity(1024);
        b.iter(|| {
            out.clear();
            black_box(post.write_head(&mut out).expect("valid"));
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, head, chunked, bodies, exchange);
criterion_main!(benches);
