//! The scheduler of calls in flight (`tidings_client::schedule::Scheduler`, which tidings-mio
//! runs on every submission and completion): the cost per call of queueing, admitting and
//! finishing, with many calls waiting behind a full host.
//!
//! `cargo bench -p tidings-benches --features peers --bench schedule`
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tidings_std::client::schedule::Scheduler;
use tidings_std::client::ConcurrencyLimits;
use url::Url;

/// `calls` calls over `hosts` hosts, queued at once (as `fetch-many` does), then run to the
/// end: every admitted call finishes and the next is admitted, under the default limits (64
/// in flight, 16 per host).
fn run(urls: &[Url], calls: usize) -> usize {
    let mut scheduler = Scheduler::new(ConcurrencyLimits::default());
    let mut in_flight = Vec::new();
    let mut done = 0;
    for id in 0..calls {
        scheduler.queue(id, &urls[id % urls.len()]);
        while let Some(admitted) = scheduler.admit() {
            in_flight.push(admitted);
        }
    }
    while let Some(id) = in_flight.pop() {
        scheduler.finish(id);
        done += 1;
        while let Some(admitted) = scheduler.admit() {
            in_flight.push(admitted);
        }
    }
    done
}

fn schedule(c: &mut Criterion) {
    let mut group = c.benchmark_group("schedule");
    for (calls, hosts) in [(1_000, 1), (10_000, 1), (10_000, 100)] {
        let urls: Vec<Url> =
            (0..hosts).map(|host| Url::parse(&format!("http://host-{host}.example/")).expect("url")).collect();
        group.throughput(Throughput::Elements(calls as u64));
        group.bench_with_input(BenchmarkId::new(format!("{hosts} hosts"), calls), &calls, |b, &calls| {
            b.iter(|| assert_eq!(run(&urls, calls), calls))
        });
    }
    group.finish();
}

criterion_group!(benches, schedule);
criterion_main!(benches);
