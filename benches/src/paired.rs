//! Paired ratios: two sides of one comparison timed in alternating small batches.
//!
//! criterion times one bench after the other, so on a shared machine a burst of load can land
//! on one side only and move a ratio by ±10%. Here the two sides alternate in batches (which
//! goes first alternates too) and each round yields one ratio; the report is the median over
//! thousands of rounds, with its spread.

use std::time::{Duration, Instant};

/// Steps per timed batch.
pub const BATCH: u32 = 1000;

/// The medians of one paired comparison, in nanoseconds per step.
#[derive(Debug, Clone, Copy)]
pub struct Paired {
    /// The baseline's median time per step.
    pub baseline_ns: f64,
    /// tidings' median time per step.
    pub tidings_ns: f64,
    /// The median of the per-round ratios tidings / baseline.
    pub ratio: f64,
    /// The 10th percentile of the per-round ratios.
    pub ratio_p10: f64,
    /// The 90th percentile of the per-round ratios.
    pub ratio_p90: f64,
}

impl Paired {
    /// Prints the report under `title`, the baseline named `baseline`.
    pub fn print(&self, title: &str, baseline: &str, rounds: usize) {
        println!("{title}, {rounds} interleaved rounds of {BATCH}:");
        println!("  {baseline:<34} median {:7.1} ns", self.baseline_ns);
        println!("  {:<34} median {:7.1} ns", "tidings", self.tidings_ns);
        println!(
            "  ratio per round: median {:.3}x  (p10 {:.3}x, p90 {:.3}x)",
            self.ratio, self.ratio_p10, self.ratio_p90
        );
    }
}

/// Rounds to run: `TIDINGS_BENCH_ROUNDS`, default 4000 (about two seconds for a 200 ns step).
pub fn rounds() -> usize {
    std::env::var("TIDINGS_BENCH_ROUNDS").ok().and_then(|value| value.parse().ok()).unwrap_or(4000).max(1)
}

fn time_batch(step: &mut impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..BATCH {
        step();
    }
    start.elapsed().as_nanos() as f64 / f64::from(BATCH)
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

/// Runs `tidings` alone for `batches` batches (for `perf record` or callgrind).
pub fn profile(mut tidings: impl FnMut(), batches: usize) {
    for _ in 0..batches {
        time_batch(&mut tidings);
    }
}

/// Warms both sides for half a second, then times `rounds` alternating rounds.
pub fn compare(mut baseline: impl FnMut(), mut tidings: impl FnMut(), rounds: usize) -> Paired {
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
    Paired {
        baseline_ns: percentile(&baseline_times, 0.5),
        tidings_ns: percentile(&tidings_times, 0.5),
        ratio: percentile(&ratios, 0.5),
        ratio_p10: percentile(&ratios, 0.1),
        ratio_p90: percentile(&ratios, 0.9),
    }
}
