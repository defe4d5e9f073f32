//! Scale: tidings-mio and hyper's client with 64, 1,000 and 10,000 requests in flight on one
//! thread, over loopback, in the same run.
//!
//! `TIDINGS_BENCH=scale bash benches/loopback.sh` starts nginx (with enough connections and
//! file descriptors for 10,000) and runs this. Each (client, origin, level) runs in a child
//! process of its own, so one's memory cannot hide in another's allocator, and is killed if it
//! runs past `TIDINGS_BENCH_CHILD_SECONDS` (default 180). Per run:
//!
//! - requests/s and client CPU per request (user + system) over
//!   `max(TIDINGS_BENCH_REQUESTS, 3 × level)` small GETs, after a warm-up round that opens
//!   `level` connections;
//! - resident memory per in-flight request: the process's peak resident set during the
//!   measured run (`VmHWM`, reset through `/proc/self/clear_refs` before it) less its resident
//!   set once the client was made and had done one request, over `level`;
//! - resident memory per idle pooled connection: after the warm-up round, every connection idle
//!   in the pool, less the same starting point, over `level`.
//!
//! - where the CPU goes, over the same measured run: the client's user and system time, the
//!   server's CPU (the children of `TIDINGS_BENCH_SERVER_PID`, the nginx master, from
//!   `/proc/PID/schedstat`), and the TCP segments sent and retransmitted on the machine
//!   (`/proc/net/snmp`; both ends are on it), each per request.
//!
//! Beside them runs the floor: a hand-written exchange over a blocking `TcpStream`
//! ([`Floor`](tidings_benches::peers::Floor)) on one thread per request in flight, as a
//! blocking program would keep that many — plain HTTP only, and up to 1,000 in flight
//! ([`FLOOR_THREADS`] threads).
//!
//! `TIDINGS_BENCH_LEVELS` (default `64,1000,10000`) sets the levels, `TIDINGS_BENCH_ONLY` keeps
//! the clients whose name holds it, and `TIDINGS_BENCH_PLOT` (default `benches/scale.svg`)
//! names the plot written at the end.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use tidings_benches::peers::{
    cpu_ticks, cpu_time, floors_in_flight, hyper_connector, hyper_get, loopback, mio_client, mio_in_flight, resident,
    run_child, tasks_in_flight, Failure, Floor, Loopback,
};

/// One measured run, as a child prints it and the parent reads it back.
#[derive(Debug, Clone)]
struct Run {
    client: String,
    tls: bool,
    level: usize,
    per_second: f64,
    cpu_us: f64,
    in_flight_bytes: f64,
    idle_bytes: f64,
    /// Where the CPU went, per request: the client's user and system time, the server's
    /// (NaN when its PID is unknown), in µs; TCP segments sent and retransmitted.
    user_us: f64,
    system_us: f64,
    server_us: f64,
    segments: f64,
    retransmitted: f64,
}

impl Run {
    fn line(&self) -> String {
        format!(
            "RUN\t{}\t{}\t{}\t{:.1}\t{:.3}\t{:.1}\t{:.1}\t{:.3}\t{:.3}\t{:.3}\t{:.3}\t{:.4}",
            self.client,
            self.tls,
            self.level,
            self.per_second,
            self.cpu_us,
            self.in_flight_bytes,
            self.idle_bytes,
            self.user_us,
            self.system_us,
            self.server_us,
            self.segments,
            self.retransmitted
        )
    }

    fn parse(line: &str) -> Option<Run> {
        let mut fields = line.strip_prefix("RUN\t")?.split('\t');
        Some(Run {
            client: fields.next()?.to_owned(),
            tls: fields.next()?.parse().ok()?,
            level: fields.next()?.parse().ok()?,
            per_second: fields.next()?.parse().ok()?,
            cpu_us: fields.next()?.parse().ok()?,
            in_flight_bytes: fields.next()?.parse().ok()?,
            idle_bytes: fields.next()?.parse().ok()?,
            user_us: fields.next()?.parse().ok()?,
            system_us: fields.next()?.parse().ok()?,
            server_us: fields.next()?.parse().ok()?,
            segments: fields.next()?.parse().ok()?,
            retransmitted: fields.next()?.parse().ok()?,
        })
    }
}

const CLIENTS: [&str; 3] = ["tidings-mio", "hyper", "floor"];

/// The most requests in flight the floor runs (a thread each).
const FLOOR_THREADS: usize = 1000;

/// One figure of a run, for a panel of the plot.
type Measure = fn(&Run) -> f64;

/// The peak resident set since the last reset, in bytes.
fn peak_resident() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Resets the peak resident set to the current one (Linux ≥ 4.0).
fn reset_peak() -> Result<(), Failure> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    Ok(())
}

/// What the machine has done so far, read before and after a measured run.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    /// This process's user and system time, in 10 ms ticks.
    user_ticks: u64,
    system_ticks: u64,
    /// The server's CPU time, in ns, if its PID is known.
    server_ns: Option<u64>,
    /// TCP segments sent and retransmitted by every socket on the machine.
    segments: u64,
    retransmitted: u64,
}

impl Counters {
    fn read(server: Option<u32>) -> Counters {
        let (user_ticks, system_ticks) = cpu_ticks();
        let (segments, retransmitted) = tcp_segments();
        Counters { user_ticks, system_ticks, server_ns: server.map(server_cpu_ns), segments, retransmitted }
    }
}

/// The CPU time of the server's worker processes (the children of `master`), in ns.
fn server_cpu_ns(master: u32) -> u64 {
    let children = std::fs::read_to_string(format!("/proc/{master}/task/{master}/children")).unwrap_or_default();
    children
        .split_whitespace()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok())
        .filter_map(|schedstat| schedstat.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()))
        .sum()
}

/// `OutSegs` and `RetransSegs` from `/proc/net/snmp` (the `Tcp:` header line names the
/// columns of the line after it).
fn tcp_segments() -> (u64, u64) {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut tcp = snmp.lines().filter(|line| line.starts_with("Tcp:"));
    let (Some(names), Some(values)) = (tcp.next(), tcp.next()) else { return (0, 0) };
    let column = |name: &str| {
        let index = names.split_whitespace().position(|field| field == name)?;
        values.split_whitespace().nth(index)?.parse::<u64>().ok()
    };
    (column("OutSegs").unwrap_or(0), column("RetransSegs").unwrap_or(0))
}

/// The child's side: one client, one origin, one level.
fn child(client: &str, url: &str, ca: Option<&str>, level: usize, requests: usize) -> Result<Run, Failure> {
    let server: Option<u32> = std::env::var("TIDINGS_BENCH_SERVER_PID").ok().and_then(|pid| pid.trim().parse().ok());
    let mut spent = (Counters::default(), Counters::default());
    let mut run = |runner: &mut dyn FnMut(usize) -> Result<usize, Failure>| -> Result<(f64, f64, f64, f64), Failure> {
        // The starting point: the client made and one request done (its runtime, TLS
        // configuration and first allocations are not per-connection costs).
        runner(1)?;
        let base = resident();
        runner(level)?; // warm up: `level` connections, then idle in the pool
        let idle = resident().saturating_sub(base) as f64 / level as f64;
        reset_peak()?;
        let before = Counters::read(server);
        let (wall, cpu) = (Instant::now(), cpu_time());
        runner(requests)?;
        let (wall, cpu) = (wall.elapsed(), cpu_time() - cpu);
        spent = (before, Counters::read(server));
        let in_flight = peak_resident().saturating_sub(base) as f64 / level as f64;
        Ok((requests as f64 / wall.as_secs_f64(), cpu.as_secs_f64() * 1e6 / requests as f64, in_flight, idle))
    };
    let (per_second, cpu_us, in_flight_bytes, idle_bytes) = match client {
        "tidings-mio" => {
            let mut mio = mio_client(level, ca)?;
            run(&mut |requests| mio_in_flight(&mut mio, url, requests, level))?
        }
        "floor" => {
            let mut floors: Vec<Floor> = (0..level).map(|_| Floor::default()).collect();
            run(&mut |requests| floors_in_flight(&mut floors, url, requests))?
        }
        _ => {
            let hyper = hyper_util_client::client::legacy::Client::builder(hyper_util_client::rt::TokioExecutor::new())
                .pool_max_idle_per_host(level)
                .build(hyper_connector(ca)?);
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let uri: hyper::Uri = url.parse()?;
            run(&mut |requests| {
                let (hyper, uri) = (hyper.clone(), uri.clone());
                runtime.block_on(tasks_in_flight(requests, level, move || hyper_get(hyper.clone(), uri.clone())))
            })?
        }
    };
    let (before, after) = spent;
    let per_request = |count: u64| count as f64 / requests as f64;
    Ok(Run {
        client: client.to_owned(),
        tls: ca.is_some(),
        level,
        per_second,
        cpu_us,
        in_flight_bytes,
        idle_bytes,
        // 10 ms ticks, in µs.
        user_us: per_request(after.user_ticks - before.user_ticks) * 10_000.0,
        system_us: per_request(after.system_ticks - before.system_ticks) * 10_000.0,
        server_us: match (before.server_ns, after.server_ns) {
            (Some(before), Some(after)) => per_request(after.saturating_sub(before)) / 1000.0,
            _ => f64::NAN,
        },
        segments: per_request(after.segments - before.segments),
        retransmitted: per_request(after.retransmitted - before.retransmitted),
    })
}

/// Runs one child to its end or its time limit; returns its run, or why there is none.
fn spawn(client: &str, tls: bool, level: usize, limit: Duration) -> Result<Run, String> {
    let stdout = run_child(&[("TIDINGS_SCALE_CHILD", format!("{client},{tls},{level}"))], limit)?;
    stdout.lines().find_map(Run::parse).ok_or_else(|| format!("no result: {stdout}"))
}

fn kib(bytes: f64) -> String {
    format!("{:.1} KiB", bytes / 1024.0)
}

/// The curve as an SVG: requests/s and CPU per request against requests in flight (log scale),
/// one line per client and origin.
fn plot(runs: &[Run], path: &str) -> std::io::Result<()> {
    let levels: Vec<usize> = {
        let mut levels: Vec<usize> = runs.iter().map(|run| run.level).collect();
        levels.sort_unstable();
        levels.dedup();
        levels
    };
    let (width, height, margin) = (360.0, 240.0, 50.0);
    let x = |level: usize, left: f64| {
        let (low, high) =
            ((*levels.first().unwrap_or(&1) as f64).log10(), (*levels.last().unwrap_or(&10) as f64).log10().max(1.0));
        left + margin + (width - 2.0 * margin) * ((level as f64).log10() - low) / (high - low).max(1e-9)
    };
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#7f7f7f"];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        2.0 * width,
        height + 40.0
    );
    let panels: [(&str, Measure); 2] =
        [("requests/s", |run| run.per_second), ("client CPU per request, µs", |run| run.cpu_us)];
    for (panel, (title, value)) in panels.iter().enumerate() {
        let left = panel as f64 * width;
        let top = runs.iter().map(value).fold(0.0, f64::max) * 1.15;
        let y = |v: f64| height - margin + 10.0 - (height - margin - 10.0) * v / top.max(1e-9);
        svg += &format!(
            "<text x=\"{}\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>\n\
             <line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"black\"/>\n\
             <line x1=\"{l}\" y1=\"20\" x2=\"{l}\" y2=\"{b}\" stroke=\"black\"/>\n",
            left + width / 2.0,
            l = left + margin,
            r = left + width - margin,
            b = y(0.0),
        );
        for tick in 0..=4 {
            let v = top / 1.15 * f64::from(tick) / 4.0;
            let label = if v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") };
            svg += &format!(
                "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>\n",
                left + margin - 4.0,
                y(v) + 4.0
            );
        }
        for &level in &levels {
            svg += &format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{level}</text>\n",
                x(level, left),
                y(0.0) + 14.0
            );
        }
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">requests in flight (log scale)</text>\n",
            left + width / 2.0,
            y(0.0) + 28.0
        );
        let mut series: Vec<(String, bool)> = runs.iter().map(|run| (run.client.clone(), run.tls)).collect();
        series.sort();
        series.dedup();
        for (index, (client, tls)) in series.iter().enumerate() {
            let colour = colours[index % colours.len()];
            let dash = if *tls { " stroke-dasharray=\"5,3\"" } else { "" };
            let mut points: Vec<&Run> = runs.iter().filter(|run| &run.client == client && run.tls == *tls).collect();
            points.sort_by_key(|run| run.level);
            let line: Vec<String> =
                points.iter().map(|run| format!("{:.1},{:.1}", x(run.level, left), y(value(run)))).collect();
            svg += &format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\n",
                line.join(" ")
            );
            for run in &points {
                svg += &format!(
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>\n",
                    x(run.level, left),
                    y(value(run))
                );
            }
            if panel == 0 {
                let label = format!("{client}{}", if *tls { ", TLS" } else { "" });
                // Two columns, one under each panel.
                let ly = height + 10.0 + 14.0 * (index / 2) as f64;
                let lx = 20.0 + (index % 2) as f64 * width;
                svg += &format!(
                    "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\
                     <text x=\"{}\" y=\"{}\">{label}</text>\n",
                    lx + 24.0,
                    lx + 30.0,
                    ly + 4.0
                );
            }
        }
    }
    svg += "</svg>\n";
    std::fs::write(path, svg)
}

fn main() -> Result<(), Failure> {
    let Some(Loopback { base, requests, tls }) = loopback("scale") else { return Ok(()) };
    if let Ok(spec) = std::env::var("TIDINGS_SCALE_CHILD") {
        let mut parts = spec.split(',');
        let (client, with_tls, level) = (
            parts.next().unwrap_or_default(),
            parts.next() == Some("true"),
            parts.next().and_then(|level| level.parse().ok()).unwrap_or(64),
        );
        let (url, ca) = match (&tls, with_tls) {
            (Some((tls_base, ca)), true) => (format!("{tls_base}/small.txt"), Some(ca.as_str())),
            _ => (format!("{base}/small.txt"), None),
        };
        let run = child(client, &url, ca, level, requests.max(3 * level))?;
        println!("{}", run.line());
        return Ok(());
    }
    let levels: Vec<usize> = std::env::var("TIDINGS_BENCH_LEVELS")
        .unwrap_or_else(|_| "64,1000,10000".to_owned())
        .split(',')
        .filter_map(|level| level.trim().parse().ok())
        .filter(|&level| level > 0)
        .collect();
    let only = std::env::var("TIDINGS_BENCH_ONLY").unwrap_or_default();
    let limit = Duration::from_secs(
        std::env::var("TIDINGS_BENCH_CHILD_SECONDS").ok().and_then(|seconds| seconds.parse().ok()).unwrap_or(180),
    );
    let mut runs = Vec::new();
    println!("| client | origin | in flight | requests/s | vs 64 in flight | client CPU per request | resident per in-flight request | resident per idle pooled connection |");
    println!("|---|---|---|---|---|---|---|---|");
    for with_tls in [false, true].into_iter().filter(|with_tls| !with_tls || tls.is_some()) {
        for client in CLIENTS.into_iter().filter(|client| client.contains(only.as_str())) {
            let mut first: Option<f64> = None;
            for &level in &levels {
                if client == "floor" && (with_tls || level > FLOOR_THREADS) {
                    continue;
                }
                let origin = if with_tls { "TLS" } else { "plain" };
                match spawn(client, with_tls, level, limit) {
                    Ok(run) => {
                        let base = *first.get_or_insert(run.per_second);
                        println!(
                            "| {client} | {origin} | {level} | {:.0} | {:.2}× | {:.2} µs | {} | {} |",
                            run.per_second,
                            run.per_second / base,
                            run.cpu_us,
                            kib(run.in_flight_bytes),
                            kib(run.idle_bytes)
                        );
                        runs.push(run);
                    }
                    Err(why) => println!("| {client} | {origin} | {level} | failed: {why} | | | | |"),
                }
            }
        }
    }
    println!("\nWhere the CPU goes, per request of the same runs (the server is nginx's worker; segments are every TCP segment sent on the machine, both ends):\n");
    println!("| client | origin | in flight | client user | client system | server | client + server | segments | retransmitted |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for run in &runs {
        println!(
            "| {} | {} | {} | {:.2} µs | {:.2} µs | {:.2} µs | {:.2} µs | {:.2} | {:.3} |",
            run.client,
            if run.tls { "TLS" } else { "plain" },
            run.level,
            run.user_us,
            run.system_us,
            run.server_us,
            run.cpu_us + run.server_us,
            run.segments,
            run.retransmitted
        );
    }
    let path = std::env::var("TIDINGS_BENCH_PLOT")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/scale.svg").to_owned());
    plot(&runs, &path)?;
    println!("\nplot written to {path}");
    Ok(())
}
