//! tidings-std against peer clients over loopback, in the same run: ureq 3, reqwest's
//! blocking client, and hyper's client on a current-thread tokio runtime.
//!
//! `bash benches/loopback.sh` starts nginx on loopback and runs this with
//! `TIDINGS_BENCH_URL` set. Scenarios: (a) sequential small GETs over one kept-alive
//! connection, (b) one large download, (c) a new connection per request. Each reports
//! requests per second and client CPU time per request (this process's user + system time,
//! from /proc/self/stat), and the ratio to tidings. Scenario (a) also runs the floor: a
//! hand-written exchange over a socket. `TIDINGS_BENCH_SCENARIOS=a` runs (a) alone.
#![allow(missing_docs)]

use std::io::Read;
use std::time::Instant;

use tidings_benches::peers::{cpu_time, hyper_connector, hyper_get, report, Failure, HyperClient, Measured};

/// One client's way of doing a GET and reading the whole body.
trait Client {
    fn name(&self) -> &'static str;
    fn get(&mut self, url: &str) -> Result<usize, Failure>;
}

struct Tidings(tidings_std::Session);

impl Client for Tidings {
    fn name(&self) -> &'static str {
        "tidings-std"
    }
    fn get(&mut self, url: &str) -> Result<usize, Failure> {
        let mut response = self.0.get(url).send()?;
        Ok(drain(&mut response)?)
    }
}

struct Ureq(ureq::Agent);

impl Client for Ureq {
    fn name(&self) -> &'static str {
        "ureq 3"
    }
    fn get(&mut self, url: &str) -> Result<usize, Failure> {
        let mut response = self.0.get(url).call()?;
        Ok(drain(&mut response.body_mut().as_reader())?)
    }
}

struct ReqwestBlocking(reqwest::blocking::Client);

impl Client for ReqwestBlocking {
    fn name(&self) -> &'static str {
        "reqwest blocking"
    }
    fn get(&mut self, url: &str) -> Result<usize, Failure> {
        let mut response = self.0.get(url).send()?;
        Ok(drain(&mut response)?)
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
    fn get(&mut self, url: &str) -> Result<usize, Failure> {
        let uri: hyper::Uri = url.parse()?;
        let client = self.client.clone();
        self.runtime.block_on(hyper_get(client, uri))
    }
}

/// The floor ([`tidings_benches::peers::Floor`]): what any client must at least pay.
struct Floor(tidings_benches::peers::Floor);

impl Client for Floor {
    fn name(&self) -> &'static str {
        "floor: hand-written exchange"
    }
    fn get(&mut self, url: &str) -> Result<usize, Failure> {
        self.0.get(url)
    }
}

/// Reads a body to its end into one buffer kept for the whole run (a fresh zeroed 256 KiB
/// per call cost more than the exchange itself: a 256 KiB memset per request, measured with
/// callgrind, charged to the clients that read through it).
fn drain(reader: &mut impl Read) -> std::io::Result<usize> {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 256 * 1024]);
    }
    BUFFER.with_borrow_mut(|buffer| {
        let mut total = 0;
        loop {
            match reader.read(buffer)? {
                0 => return Ok(total),
                count => total += count,
            }
        }
    })
}

/// Fresh clients; with `pooled == false` each keeps no connection between requests. With a
/// CA file, every client trusts exactly that CA (and nothing else) for HTTPS.
fn clients(pooled: bool, ca: Option<&str>) -> Result<Vec<Box<dyn Client>>, Failure> {
    let keep = usize::from(pooled);
    let pool_limits = if pooled {
        tidings_std::PoolLimits::default()
    } else {
        tidings_std::PoolLimits { max_idle_per_host: 0, max_idle: 0 }
    };
    let ca_pem = ca.map(std::fs::read).transpose()?;

    let mut tls = tidings_std::TlsSettings::default();
    if let Some(path) = ca {
        tls = tls.ca_bundle(path);
    }
    let tidings = tidings_std::Session::builder().pool_limits(pool_limits).max_body(1 << 30).tls(tls).build()?;

    let mut ureq_config = ureq::Agent::config_builder().max_idle_connections_per_host(keep).max_idle_connections(keep);
    if let Some(pem) = &ca_pem {
        let certificate = ureq::tls::Certificate::from_pem(pem)?;
        let roots = ureq::tls::RootCerts::new_with_certs(&[certificate]);
        ureq_config = ureq_config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
    }

    let mut reqwest = reqwest::blocking::Client::builder().pool_max_idle_per_host(keep).use_rustls_tls();
    if let Some(pem) = &ca_pem {
        reqwest = reqwest.tls_built_in_root_certs(false).add_root_certificate(reqwest::Certificate::from_pem(pem)?);
    }

    let connector = hyper_connector(ca)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let hyper = hyper_util_client::client::legacy::Client::builder(hyper_util_client::rt::TokioExecutor::new())
        .pool_max_idle_per_host(keep)
        .build(connector);

    let clients: Vec<Box<dyn Client>> = vec![
        Box::new(Tidings(tidings)),
        Box::new(Ureq(ureq_config.build().into())),
        Box::new(ReqwestBlocking(reqwest.build()?)),
        Box::new(Hyper { runtime, client: hyper }),
    ];
    Ok(only(clients))
}

/// `TIDINGS_BENCH_ONLY=floor` keeps the clients whose name contains it (for profiling).
fn only(clients: Vec<Box<dyn Client>>) -> Vec<Box<dyn Client>> {
    let only = std::env::var("TIDINGS_BENCH_ONLY").unwrap_or_default();
    clients.into_iter().filter(|client| client.name().contains(&only)).collect()
}

fn measure(client: &mut dyn Client, url: &str, requests: usize) -> Result<Measured, Failure> {
    client.get(url)?; // warm up (and connect, for the pooled case)
    let (wall, cpu) = (Instant::now(), cpu_time());
    let mut bytes = 0;
    for _ in 0..requests {
        bytes += client.get(url)?;
    }
    let (wall, cpu) = (wall.elapsed(), cpu_time() - cpu);
    Ok(Measured {
        name: client.name(),
        per_second: requests as f64 / wall.as_secs_f64(),
        cpu_per_request: cpu / requests as u32,
        bytes_per_second: bytes as f64 / wall.as_secs_f64(),
    })
}

fn main() -> Result<(), Failure> {
    let Ok(base) = std::env::var("TIDINGS_BENCH_URL") else {
        println!("TIDINGS_BENCH_URL is not set: run `bash benches/loopback.sh`, which starts nginx");
        return Ok(());
    };
    let requests: usize = std::env::var("TIDINGS_BENCH_REQUESTS").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let small = format!("{base}/small.txt");
    let large = format!("{base}/large.bin");

    let mut results = Vec::new();
    let floor: Box<dyn Client> = Box::new(Floor(tidings_benches::peers::Floor::default()));
    for mut client in only(clients(true, None)?.into_iter().chain([floor]).collect()) {
        results.push(measure(client.as_mut(), &small, requests)?);
    }
    report(&format!("(a) {requests} sequential small GETs over one kept-alive connection"), &results, false);
    if std::env::var("TIDINGS_BENCH_SCENARIOS").is_ok_and(|scenarios| scenarios == "a") {
        return Ok(());
    }

    let mut results = Vec::new();
    for mut client in clients(true, None)? {
        results.push(measure(client.as_mut(), &large, 5)?);
    }
    report("(b) large download (5 × the file, kept alive)", &results, true);

    let fresh = requests / 4;
    let mut results = Vec::new();
    for mut client in clients(false, None)? {
        results.push(measure(client.as_mut(), &small, fresh)?);
    }
    report(&format!("(c) {fresh} small GETs, a new connection each"), &results, false);

    let (Ok(tls_base), Ok(ca)) = (std::env::var("TIDINGS_BENCH_TLS_URL"), std::env::var("TIDINGS_BENCH_CA")) else {
        return Ok(());
    };
    let small = format!("{tls_base}/small.txt");
    let large = format!("{tls_base}/large.bin");
    let mut results = Vec::new();
    for mut client in clients(true, Some(&ca))? {
        results.push(measure(client.as_mut(), &small, requests)?);
    }
    report(&format!("(a, TLS) {requests} sequential small GETs over one kept-alive connection"), &results, false);
    let mut results = Vec::new();
    for mut client in clients(true, Some(&ca))? {
        results.push(measure(client.as_mut(), &large, 5)?);
    }
    report("(b, TLS) large download (5 × the file, kept alive)", &results, true);
    let fresh = requests / 10;
    let mut results = Vec::new();
    for mut client in clients(false, Some(&ca))? {
        results.push(measure(client.as_mut(), &small, fresh)?);
    }
    report(&format!("(c, TLS) {fresh} small GETs, a new connection (and handshake) each"), &results, false);
    Ok(())
}
