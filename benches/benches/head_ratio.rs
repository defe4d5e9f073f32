//! The head step against raw httparse, as a ratio measured in interleaved batches.
//!
//! `cargo bench -p tidings-benches --bench head_ratio`
//!
//! The two sides alternate in small batches (see `tidings_benches::paired`); the report is the
//! median ratio over thousands of rounds, with its spread. `TIDINGS_BENCH_ROUNDS` sets the
//! number of rounds (default 4000, about two seconds); `TIDINGS_BENCH_PROFILE=1` runs the
//! tidings side alone for about ten seconds, for `perf record`.
#![allow(missing_docs)]

use std::hint::black_box;

use tidings_benches::{httparse_head, paired, tidings_head, API_HEAD};
use tidings_core::ResponseDecoder;

fn main() {
    let mut decoder = ResponseDecoder::default();
    assert_eq!(tidings_head(&mut ResponseDecoder::default(), API_HEAD), (API_HEAD.len(), 200), "the head decodes");
    let tidings = |decoder: &mut ResponseDecoder| {
        black_box(tidings_head(decoder, black_box(API_HEAD)));
    };
    if std::env::var_os("TIDINGS_BENCH_PROFILE").is_some() {
        paired::profile(|| tidings(&mut decoder), 40_000);
        return;
    }
    let rounds = paired::rounds();
    let report = paired::compare(
        || {
            black_box(httparse_head(black_box(API_HEAD)));
        },
        || tidings(&mut decoder),
        rounds,
    );
    report.print(&format!("head step, {} bytes", API_HEAD.len()), "httparse (baseline)", rounds);
}
