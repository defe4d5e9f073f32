//! The head step against raw httparse, as a ratio measured in interleaved batches.
//!
//! `cargo bench -p tidings-benches --bench head_ratio`
//!
//! criterion times one bench after the other, so on a shared machine a burst of load can
//! land on one side only and move the ratio by ±10%. Here the two sides alternate in small
//! batches (which goes first alternates too) and each round yields one ratio; the report is
//! the median over thousands of rounds, with its spread. `TIDINGS_BENCH_ROUNDS` sets the
//! number of rounds (default 4000, about two seconds); `TIDINGS_BENCH_PROFILE=1` runs the
//! tidings side alone for about ten seconds, for `perf record`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use tidings_benches::{httparse_head, tidings_head, API_HEAD};
use tidings_core::ResponseDecoder;

const BATCH: u32 = 1000;

fn time_batch(mut step: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..BATCH {
        step();
    }
    start.elapsed().as_nanos() as f64 / f64::from(BATCH)
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

fn main() {
    let rounds: usize = std::env::var("TIDINGS_BENCH_ROUNDS").ok().and_then(|value| value.parse().ok()).unwrap_or(4000);
    let mut decoder = ResponseDecoder::default();
    let mut baseline = || {
        black_box(httparse_head(black_box(API_HEAD)));
    };
    let mut tidings = || {
        black_box(tidings_head(&mut decoder, black_box(API_HEAD)));
    };
    assert_eq!(tidings_head(&mut ResponseDecoder::default(), API_HEAD), (API_HEAD.len(), 200), "the head decodes");
    if std::env::var_os("TIDINGS_BENCH_PROFILE").is_some() {
        // For a profiler: the tidings side alone, for about ten seconds.
        for _ in 0..40_000 {
            time_batch(&mut tidings);
        }
        return;
    }
    let warm_up = Instant::now();
    while warm_up.elapsed() < Duration::from_millis(500) {
        time_batch(&mut baseline);
        time_batch(&mut tidings);
    }
    let (mut ratios, mut baseline_times, mut tidings_times) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let (base, ours) = if round % 2 == 0 {
            let base = time_batch(&mut baseline);
            (base, time_batch(&mut tidings))
        } else {
            let ours = time_batch(&mut tidings);
            (time_batch(&mut baseline), ours)
        };
        ratios.push(ours / base);
        baseline_times.push(base);
        tidings_times.push(ours);
    }
    for values in [&mut ratios, &mut baseline_times, &mut tidings_times] {
        values.sort_by(f64::total_cmp);
    }
    println!("head step, {} bytes, {rounds} interleaved rounds of {BATCH}:", API_HEAD.len());
    println!("  httparse (baseline)           median {:7.1} ns", percentile(&baseline_times, 0.5));
    println!("  tidings ResponseDecoder head  median {:7.1} ns", percentile(&tidings_times, 0.5));
    println!(
        "  ratio per round: median {:.3}x  (p10 {:.3}x, p90 {:.3}x)",
        percentile(&ratios, 0.5),
        percentile(&ratios, 0.1),
        percentile(&ratios, 0.9)
    );
}
