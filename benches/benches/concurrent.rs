//! tidings-mio against async peers over loopback, in the same run, all on one thread:
//! reqwest's async client and hyper's client, each on a current-thread tokio runtime.
//!
//! `TIDINGS_BENCH=concurrent bash benches/loopback.sh` starts nginx and runs this.
//! Scenarios: (a) small GETs with 64 in flight, (b) the large file (100 MiB) downloaded and
//! streamed, (c) memory per open connection (plain and TLS): N connections opened at once
//! and left idle, resident memory measured before and after, each origin in a child process
//! of its own (memory the other scenarios freed would otherwise hide the growth). Client CPU
//! is this process's user + system time (`/proc/self/stat`); ratios are to tidings-mio.
#![allow(missing_docs)]

use std::time::Instant;

use tidings_benches::peers::{
    cpu_time, hyper_connector, hyper_get, loopback, mio_client, mio_in_flight, report, resident, run_child,
    tasks_in_flight, Failure, HyperClient, Loopback, Measured,
};

const IN_FLIGHT: usize = 64;

/// One client's way of running `requests` GETs of `url` with `IN_FLIGHT` at once; returns
/// the body bytes read.
trait Client {
    fn name(&self) -> &'static str;
    fn run(&mut self, url: &str, requests: usize) -> Result<usize, Failure>;
}

struct Mio(tidings_mio::Client);

impl Client for Mio {
    fn name(&self) -> &'static str {
        "tidings-mio"
    }

    fn run(&mut self, url: &str, requests: usize) -> Result<usize, Failure> {
        let client = &mut self.0;
        let mut total = 0;
        if requests == 1 {
            // One large body, streamed (never held whole).
            let id = client.send_streaming(client.get(url).build()?);
            client.wait(id)?;
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                match client.read(id, &mut buffer)? {
                    0 => return Ok(total),
                    count => total += count,
                }
            }
        }
        mio_in_flight(client, url, requests, IN_FLIGHT)
    }
}

struct Reqwest {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Client for Reqwest {
    fn name(&self) -> &'static str {
        "reqwest async (current-thread tokio)"
    }

    fn run(&mut self, url: &str, requests: usize) -> Result<usize, Failure> {
        let client = self.client.clone();
        let url = url.to_owned();
        self.runtime.block_on(tasks_in_flight(requests, IN_FLIGHT, move || {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let mut response = client.get(&url).send().await?;
                let mut total = 0;
                while let Some(chunk) = response.chunk().await? {
                    total += chunk.len();
                }
                Ok(total)
            }
        }))
    }
}

struct Hyper {
    runtime: tokio::runtime::Runtime,
    client: HyperClient,
}

impl Client for Hyper {
    fn name(&self) -> &'static str {
        "hyper client (current-thread tokio)"
    }

    fn run(&mut self, url: &str, requests: usize) -> Result<usize, Failure> {
        let uri: hyper::Uri = url.parse()?;
        let client = self.client.clone();
        self.runtime.block_on(tasks_in_flight(requests, IN_FLIGHT, move || {
            let (client, uri) = (client.clone(), uri.clone());
            hyper_get(client, uri)
        }))
    }
}

/// Fresh clients, each allowed `connections` connections to the host, trusting only `ca`
/// for HTTPS when given.
fn clients(connections: usize, ca: Option<&str>) -> Result<Vec<Box<dyn Client>>, Failure> {
    let mut tls = tidings_std::TlsSettings::default();
    if let Some(path) = ca {
        tls = tls.ca_bundle(path);
    }
    let session = tidings_std::Session::builder()
        .pool_limits(tidings_std::PoolLimits { max_idle_per_host: connections, max_idle: connections })
        .max_body(1 << 30)
        .tls(tls)
        .build()?;
    let mio = tidings_mio::Client::builder(session).max_in_flight(connections).max_per_host(connections).build()?;

    let ca_pem = ca.map(std::fs::read).transpose()?;
    let mut reqwest = reqwest::Client::builder().pool_max_idle_per_host(connections).use_rustls_tls();
    if let Some(pem) = &ca_pem {
        reqwest = reqwest.tls_built_in_root_certs(false).add_root_certificate(reqwest::Certificate::from_pem(pem)?);
    }
    let reqwest_runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let reqwest = {
        let _entered = reqwest_runtime.enter();
        reqwest.build()?
    };

    let connector = hyper_connector(ca)?;
    let hyper = hyper_util_client::client::legacy::Client::builder(hyper_util_client::rt::TokioExecutor::new())
        .pool_max_idle_per_host(connections)
        .build(connector);
    let hyper_runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    let clients: Vec<Box<dyn Client>> = vec![
        Box::new(Mio(mio)),
        Box::new(Reqwest { runtime: reqwest_runtime, client: reqwest }),
        Box::new(Hyper { runtime: hyper_runtime, client: hyper }),
    ];
    // `TIDINGS_BENCH_ONLY=hyper` keeps the clients whose name contains it (for profiling).
    let only = std::env::var("TIDINGS_BENCH_ONLY").unwrap_or_default();
    Ok(clients.into_iter().filter(|client| client.name().contains(&only)).collect())
}

/// `requests` GETs in one run (`rounds == 1`), or `rounds` runs of `requests` each (one
/// large download at a time).
fn measure(client: &mut dyn Client, url: &str, requests: usize, rounds: usize) -> Result<Measured, Failure> {
    client.run(url, requests.min(IN_FLIGHT))?; // warm up: connect the pool
    let (wall, cpu) = (Instant::now(), cpu_time());
    let mut bytes = 0;
    for _ in 0..rounds {
        bytes += client.run(url, requests)?;
    }
    let requests = requests * rounds;
    let (wall, cpu) = (wall.elapsed(), cpu_time() - cpu);
    Ok(Measured {
        name: client.name(),
        per_second: requests as f64 / wall.as_secs_f64(),
        cpu_per_request: cpu / requests as u32,
        bytes_per_second: bytes as f64 / wall.as_secs_f64(),
    })
}

fn memory_per_connection(url: &str, count: usize, ca: Option<&str>) -> Result<(f64, f64), Failure> {
    let mut client = mio_client(count, ca)?;
    // Warm the allocator and TLS configuration with one connection first.
    let id = client.send(client.get(url).build()?);
    client.wait(id)?.bytes()?;
    let before = resident();
    for _ in 0..count {
        client.send(client.get(url).build()?);
    }
    for completion in client.wait_all()? {
        completion.result?.bytes()?;
    }
    let opened = client.open_connections().max(1);
    let after = resident();
    Ok(((after.saturating_sub(before)) as f64 / opened as f64, client.connection_buffer_bytes() as f64 / opened as f64))
}

fn main() -> Result<(), Failure> {
    let Some(Loopback { base, requests, tls }) = loopback("concurrent") else { return Ok(()) };
    if let Ok(url) = std::env::var("TIDINGS_CONCURRENT_MEMORY") {
        // The child of `memory_in_child`: one origin, nothing else run before it.
        let with_tls = std::env::var("TIDINGS_CONCURRENT_MEMORY_TLS").is_ok_and(|tls| tls == "true");
        let ca = if with_tls { tls.as_ref().map(|(_, ca)| ca.as_str()) } else { None };
        let (resident, buffers) = memory_per_connection(&url, 500, ca)?;
        println!("MEMORY\t{resident}\t{buffers}");
        return Ok(());
    }
    let mut origins = vec![(base, None, "")];
    if let Some((tls_base, ca)) = &tls {
        origins.push((tls_base.clone(), Some(ca.clone()), ", TLS"));
    }
    for (origin, ca, label) in &origins {
        let small = format!("{origin}/small.txt");
        let large = format!("{origin}/large.bin");
        let mut results = Vec::new();
        for mut client in clients(IN_FLIGHT, ca.as_deref())? {
            results.push(measure(client.as_mut(), &small, requests, 1)?);
        }
        report(&format!("(a{label}) {requests} small GETs, {IN_FLIGHT} in flight on one thread"), &results, false);
        let mut results = Vec::new();
        for mut client in clients(IN_FLIGHT, ca.as_deref())? {
            results.push(measure(client.as_mut(), &large, 1, 5)?);
        }
        report(&format!("(b{label}) the large file, streamed, five downloads one after another"), &results, true);
    }
    println!("\n### (c) memory per open connection (tidings-mio, 500 idle connections)\n");
    println!("| connections | resident memory per connection | client buffers per connection |\n|---|---|---|");
    for (origin, ca, _) in &origins {
        let kind = if ca.is_some() { "TLS" } else { "plain" };
        match memory_in_child(origin, ca.is_some()) {
            Ok((resident, buffers)) => {
                println!("| {kind} | {:.1} KiB | {:.1} KiB |", resident / 1024.0, buffers / 1024.0)
            }
            Err(why) => println!("| {kind} | failed: {why} | |"),
        }
    }
    Ok(())
}

/// Runs (c) for one origin in a fresh process (this bench again, told so by
/// `TIDINGS_CONCURRENT_MEMORY`), and reads its line back.
fn memory_in_child(origin: &str, tls: bool) -> Result<(f64, f64), Failure> {
    let vars = [
        ("TIDINGS_CONCURRENT_MEMORY", format!("{origin}/small.txt")),
        ("TIDINGS_CONCURRENT_MEMORY_TLS", tls.to_string()),
    ];
    let stdout = run_child(&vars, std::time::Duration::from_secs(180))?;
    let line =
        stdout.lines().find_map(|line| line.strip_prefix("MEMORY\t")).ok_or_else(|| format!("no result: {stdout}"))?;
    let mut fields = line.split('\t').map(str::parse::<f64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(resident)), Some(Ok(buffers))) => Ok((resident, buffers)),
        _ => Err(format!("unreadable result: {line}").into()),
    }
}
