//! What the loopback comparisons share: CPU and memory readings, the report tables, and
//! hyper's TLS connector.

use std::time::Duration;

/// Any error a bench run may stop on.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// hyper's connector: TCP with TCP_NODELAY, rustls for `https`.
pub type HyperConnector = hyper_rustls::HttpsConnector<hyper_util_client::client::legacy::connect::HttpConnector>;

/// Process CPU time (user + system) so far, from `/proc/self/stat` (10 ms ticks).
pub fn cpu_time() -> Duration {
    let (user, system) = cpu_ticks();
    Duration::from_millis((user + system) * 10)
}

/// This process's user and system time so far, in `/proc/self/stat`'s 10 ms ticks.
pub fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 (1-based), 12 and 13 after the ')'; 100 ticks/s.
    (ticks(11), ticks(12))
}

/// Runs this bench binary again with `vars` set, waits for it (killing it past `limit`) and
/// returns what it printed: for a measurement that needs a process of its own.
pub fn run_child(vars: &[(&str, String)], limit: Duration) -> Result<String, String> {
    use std::process::{Command, Stdio};
    let me = std::env::current_exe().map_err(|error| error.to_string())?;
    let mut command = Command::new(me);
    for (name, value) in vars {
        command.env(name, value);
    }
    let mut process =
        command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().map_err(|error| error.to_string())?;
    let started = std::time::Instant::now();
    loop {
        match process.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() > limit => {
                let _ = process.kill();
                let _ = process.wait();
                return Err(format!("killed after {} s", limit.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => return Err(error.to_string()),
        }
    }
    let output = process.wait_with_output().map_err(|error| error.to_string())?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Resident memory now, in bytes (`/proc/self/statm`, 4 KiB pages).
pub fn resident() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|pages| pages.parse::<usize>().ok()).unwrap_or(0) * 4096
}

/// One client's result in one scenario.
#[derive(Debug)]
pub struct Measured {
    /// The client.
    pub name: &'static str,
    /// Requests per second of wall time.
    pub per_second: f64,
    /// Process CPU per request.
    pub cpu_per_request: Duration,
    /// Body bytes per second of wall time.
    pub bytes_per_second: f64,
}

/// Prints a Markdown table of `results`, with ratios to the first.
pub fn report(title: &str, results: &[Measured], throughput: bool) {
    println!("\n### {title}\n");
    let Some(base) = results.first() else { return };
    let versus = format!("vs {}", base.name);
    if throughput {
        println!("| client | MiB/s | {versus} |\n|---|---|---|");
        for result in results {
            let rate = result.bytes_per_second / (1 << 20) as f64;
            println!("| {} | {rate:.0} | {:.2}× |", result.name, result.bytes_per_second / base.bytes_per_second);
        }
    } else {
        println!("| client | requests/s | client CPU per request | {versus} (requests/s) | {versus} (CPU) |");
        println!("|---|---|---|---|---|");
        for result in results {
            println!(
                "| {} | {:.0} | {:.1} µs | {:.2}× | {:.2}× |",
                result.name,
                result.per_second,
                result.cpu_per_request.as_secs_f64() * 1e6,
                result.per_second / base.per_second,
                result.cpu_per_request.as_secs_f64() / base.cpu_per_request.as_secs_f64().max(1e-9),
            );
        }
    }
}

/// hyper's client as the benches build it.
pub type HyperClient = hyper_util_client::client::legacy::Client<HyperConnector, http_body_util::Empty<bytes::Bytes>>;

/// One GET with hyper's client, its body read frame by frame; returns the body's length.
pub async fn hyper_get(client: HyperClient, uri: hyper::Uri) -> Result<usize, Failure> {
    use http_body_util::BodyExt as _;
    let mut body = client.get(uri).await?.into_body();
    let mut total = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            total += data.len();
        }
    }
    Ok(total)
}

/// hyper's connector trusting exactly the CA in `ca` (none without it), with TCP_NODELAY as
/// every other client here sets it (hyper's connector leaves it off).
pub fn hyper_connector(ca: Option<&str>) -> Result<HyperConnector, Failure> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = ca {
        use rustls::pki_types::pem::PemObject;
        for certificate in rustls::pki_types::CertificateDer::pem_file_iter(path)? {
            roots.add(certificate?)?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = hyper_util_client::client::legacy::connect::HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

/// Runs `requests` GETs of `url` on tidings-mio with `in_flight` at once, as the async peers'
/// workers do: a new request for each completion, each small body read whole. Returns the body
/// bytes read.
pub fn mio_in_flight(
    client: &mut tidings_mio::Client,
    url: &str,
    requests: usize,
    in_flight: usize,
) -> Result<usize, Failure> {
    let mut total = 0;
    let mut sent = 0;
    while sent < requests.min(in_flight) {
        client.send(client.get(url).build()?);
        sent += 1;
    }
    let mut done = 0;
    while done < requests {
        let Some(completion) = client.completions(None).next() else { break };
        total += completion.result?.bytes()?.len();
        done += 1;
        if sent < requests {
            client.send(client.get(url).build()?);
            sent += 1;
        }
    }
    Ok(total)
}

/// Runs `requests` calls of `call`, `in_flight` tasks at a time, on the current runtime (each
/// task takes the next request when its last one ends). Returns the sum of what they return.
pub async fn tasks_in_flight<F, Fut>(requests: usize, in_flight: usize, call: F) -> Result<usize, Failure>
where
    F: Fn() -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = Result<usize, Failure>> + 'static,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = std::sync::Arc::new(AtomicUsize::new(0));
    let local = tokio::task::LocalSet::new();
    let mut workers = Vec::new();
    for _ in 0..in_flight.min(requests) {
        let (next, call) = (next.clone(), call.clone());
        workers.push(local.spawn_local(async move {
            let mut total = 0;
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                total += call().await?;
            }
            Ok::<usize, Failure>(total)
        }));
    }
    local
        .run_until(async move {
            let mut total = 0;
            for worker in workers {
                total += worker.await??;
            }
            Ok(total)
        })
        .await
}

/// A tidings-mio client allowed `connections` connections to the host (and as many idle in
/// its pool), trusting only the CA in `ca` for HTTPS when given.
pub fn mio_client(connections: usize, ca: Option<&str>) -> Result<tidings_mio::Client, Failure> {
    let mut tls = tidings_std::TlsSettings::default();
    if let Some(path) = ca {
        tls = tls.ca_bundle(path);
    }
    let session = tidings_std::Session::builder()
        .pool_limits(tidings_std::PoolLimits { max_idle_per_host: connections, max_idle: connections })
        .tls(tls)
        .build()?;
    Ok(tidings_mio::Client::builder(session).max_in_flight(connections).max_per_host(connections).build()?)
}

/// What `benches/loopback.sh` hands a bench through the environment.
pub struct Loopback {
    /// The plain origin (`TIDINGS_BENCH_URL`).
    pub base: String,
    /// Requests per scenario (`TIDINGS_BENCH_REQUESTS`, default 20,000).
    pub requests: usize,
    /// The TLS origin and the CA file that signed its certificate, when given.
    pub tls: Option<(String, String)>,
}

/// The loopback setup, or `None` (after saying how to run the bench) outside the script.
pub fn loopback(bench: &str) -> Option<Loopback> {
    let Ok(base) = std::env::var("TIDINGS_BENCH_URL") else {
        println!("TIDINGS_BENCH_URL is not set: run `TIDINGS_BENCH={bench} bash benches/loopback.sh`");
        return None;
    };
    let requests = std::env::var("TIDINGS_BENCH_REQUESTS").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let tls = std::env::var("TIDINGS_BENCH_TLS_URL").ok().zip(std::env::var("TIDINGS_BENCH_CA").ok());
    Some(Loopback { base, requests, tls })
}

/// The floor: a hand-written exchange over one kept-alive `TcpStream` (TCP_NODELAY, as every
/// client here): the request's bytes written whole, the response read until httparse finds
/// its head and the `Content-Length` body is in. No URL parsing, no header checks, no
/// framing rules, no timeouts, no pool: what any client must at least pay.
pub struct Floor {
    stream: Option<std::net::TcpStream>,
    buffer: Vec<u8>,
}

impl Default for Floor {
    fn default() -> Floor {
        Floor { stream: None, buffer: vec![0; 4096] }
    }
}

impl Floor {
    /// One GET of `url` (plain `http://` only); returns the body's length.
    pub fn get(&mut self, url: &str) -> Result<usize, Failure> {
        use std::io::{Read as _, Write as _};
        let rest = url.strip_prefix("http://").ok_or("the floor speaks plain HTTP only")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if self.stream.is_none() {
            let stream = std::net::TcpStream::connect(authority)?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().ok_or("no stream")?;
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())?;
        let mut filled = 0;
        loop {
            if filled == self.buffer.len() {
                self.buffer.resize(self.buffer.len() * 2, 0);
            }
            let count = stream.read(&mut self.buffer[filled..])?;
            if count == 0 {
                return Err("closed early".into());
            }
            filled += count;
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(head) = response.parse(&self.buffer[..filled])? {
                let length = response
                    .headers
                    .iter()
                    .find(|header| header.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|header| std::str::from_utf8(header.value).ok()?.parse::<usize>().ok())
                    .ok_or("no Content-Length")?;
                if filled >= head + length {
                    return Ok(length);
                }
            }
        }
    }
}

/// Runs `requests` GETs of `url` on the floors given, one thread each (a floor per request in
/// flight, as a blocking program would hold them), each taking the next request when its last
/// one ends. The floors keep their connections for the next run. Returns the body bytes read.
pub fn floors_in_flight(floors: &mut [Floor], url: &str, requests: usize) -> Result<usize, Failure> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = floors
            .iter_mut()
            .take(requests)
            .map(|floor| {
                let next = &next;
                std::thread::Builder::new().stack_size(128 * 1024).spawn_scoped(scope, move || {
                    let mut total = 0;
                    while next.fetch_add(1, Ordering::Relaxed) < requests {
                        total += floor.get(url)?;
                    }
                    Ok::<usize, Failure>(total)
                })
            })
            .collect();
        let mut total = 0;
        for worker in workers {
            total += worker?.join().map_err(|_| "a floor thread panicked")??;
        }
        Ok(total)
    })
}
