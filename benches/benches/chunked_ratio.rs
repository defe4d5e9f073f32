//! Head + chunked body against raw httparse, as paired ratios (see `tidings_benches::paired`).
//!
//! `cargo bench -p tidings-benches --bench chunked_ratio`
//!
//! The baseline is the least a parser must do: httparse's head parse, then
//! `httparse::parse_chunk_size` per chunk with each chunk's data handed out as a slice. The
//! tidings side is the whole `ResponseDecoder` step with every strictness rule on.
//!
//! - `TIDINGS_BENCH_ROUNDS`: rounds per case (default 4000);
//! - `TIDINGS_BENCH_CASE=substring`: only the cases whose name holds it;
//! - `TIDINGS_BENCH_PROFILE=1`: the tidings side alone, about ten seconds, for `perf record`;
//! - `TIDINGS_BENCH_ITERATIONS=N`: each side N times, untimed, through the two functions
//!   `count_httparse` and `count_tidings`, for instruction counts under callgrind
//!   (`benches/instructions.sh` does it).
#![allow(missing_docs)]

use std::hint::black_box;

use tidings_benches::{chunked_cases, httparse_chunked, paired, tidings_response};
use tidings_core::ResponseDecoder;

#[inline(never)]
fn count_httparse(bytes: &[u8], iterations: usize) {
    for _ in 0..iterations {
        black_box(httparse_chunked(black_box(bytes)));
    }
}

#[inline(never)]
fn count_tidings(decoder: &mut ResponseDecoder, bytes: &[u8], iterations: usize) {
    for _ in 0..iterations {
        black_box(tidings_response(decoder, black_box(bytes)));
    }
}

fn main() {
    let only = std::env::var("TIDINGS_BENCH_CASE").unwrap_or_default();
    let iterations: Option<usize> = std::env::var("TIDINGS_BENCH_ITERATIONS").ok().and_then(|value| value.parse().ok());
    let rounds = paired::rounds();
    let mut decoder = ResponseDecoder::default();
    for (name, bytes) in chunked_cases().into_iter().filter(|(name, _)| name.contains(only.as_str())) {
        let body = httparse_chunked(&bytes);
        assert!(body > 0 && body == tidings_response(&mut decoder, &bytes), "both sides decode {name}");
        if let Some(iterations) = iterations {
            count_httparse(&bytes, iterations);
            count_tidings(&mut decoder, &bytes, iterations);
            continue;
        }
        if std::env::var_os("TIDINGS_BENCH_PROFILE").is_some() {
            paired::profile(
                || {
                    black_box(tidings_response(&mut decoder, black_box(&bytes)));
                },
                20_000,
            );
            continue;
        }
        let report = paired::compare(
            || {
                black_box(httparse_chunked(black_box(&bytes)));
            },
            || {
                black_box(tidings_response(&mut decoder, black_box(&bytes)));
            },
            rounds,
        );
        report.print(
            &format!("head + chunked body, {name} ({} bytes)", bytes.len()),
            "httparse + parse_chunk_size",
            rounds,
        );
    }
}
