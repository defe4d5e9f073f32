//! Fetches many URLs at once on one thread with tidings-mio, with a progress bar.
//!
//! ```text
//! fetch-many [--concurrency N] [--per-host N] [--timeout S] [URL... | --file FILE]
//! ```
//!
//! With no URL it starts the in-process httpbin and fetches 200 of its pages (a mix of
//! JSON, gzip, streams, redirects, delays and statuses), so it runs anywhere. One line per
//! failure and a summary go to stdout; the bar goes to stderr when it is a terminal.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tidings::mio::{Client, RequestId};
use tidings::Session;

struct Options {
    urls: Vec<String>,
    concurrency: usize,
    per_host: usize,
    timeout: Duration,
}

fn main() -> ExitCode {
    let options = match parse() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("fetch-many: {message}");
            eprintln!("usage: fetch-many [--concurrency N] [--per-host N] [--timeout S] [URL... | --file FILE]");
            return ExitCode::from(2);
        }
    };
    // Without URLs, the local httpbin serves a mixed list.
    let (_server, urls) = if options.urls.is_empty() {
        match tidings_httpbin::Server::start() {
            Ok(server) => {
                let urls = (0..200).map(|index| server.url(&sample_path(index))).collect();
                (Some(server), urls)
            }
            Err(error) => {
                eprintln!("fetch-many: cannot start the local httpbin: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        (None, options.urls.clone())
    };
    match fetch_all(&urls, &options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("fetch-many: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The mix fetched from the local httpbin.
fn sample_path(index: usize) -> String {
    match index % 8 {
        0 => format!("/get?page={index}"),
        1 => "/gzip".to_owned(),
        2 => format!("/stream/{}", 1 + index % 5),
        3 => "/redirect/2".to_owned(),
        4 => format!("/delay/0.{}", index % 3),
        5 => format!("/bytes/{}", 1024 * (1 + index % 64)),
        6 => "/brotli".to_owned(),
        _ => format!("/status/{}", [200, 204, 404][index % 3]),
    }
}

fn parse() -> Result<Options, String> {
    let mut options = Options { urls: Vec::new(), concurrency: 32, per_host: 16, timeout: Duration::from_secs(30) };
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let mut value = |name: &str| arguments.next().ok_or_else(|| format!("{name} needs a value"));
        match argument.as_str() {
            "--concurrency" => options.concurrency = number(&value("--concurrency")?)?,
            "--per-host" => options.per_host = number(&value("--per-host")?)?,
            "--timeout" => {
                let seconds: f64 = value("--timeout")?.parse().map_err(|_| "--timeout needs seconds".to_owned())?;
                options.timeout = Duration::try_from_secs_f64(seconds).map_err(|error| error.to_string())?;
            }
            "--file" => {
                let path = value("--file")?;
                let text = std::fs::read_to_string(&path).map_err(|error| format!("{path}: {error}"))?;
                options.urls.extend(text.lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned));
            }
            url if !url.starts_with('-') => options.urls.push(url.to_owned()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

fn number(text: &str) -> Result<usize, String> {
    text.parse().ok().filter(|value| *value > 0).ok_or_else(|| format!("{text:?} is not a positive number"))
}

/// Sends every URL, then takes completions as they come; returns whether all succeeded.
fn fetch_all(urls: &[String], options: &Options) -> Result<bool, Box<dyn std::error::Error>> {
    let session = Session::builder().timeout(options.timeout).build()?;
    let mut client =
        Client::builder(session).max_in_flight(options.concurrency).max_per_host(options.per_host).build()?;
    let started = Instant::now();
    let mut names: BTreeMap<RequestId, &str> = BTreeMap::new();
    let mut failures = 0;
    for url in urls {
        match client.get(url).build() {
            Ok(request) => {
                names.insert(client.send(request), url);
            }
            Err(error) => {
                println!("{url}: {} error: {error}", error.kind());
                failures += 1;
            }
        }
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(names.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{pos}/{len} {wide_bar} {per_sec} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut bytes = 0usize;
    for completion in client.completions(None) {
        let url = names.get(&completion.id).copied().unwrap_or("?");
        match completion.result.and_then(|response| {
            let status = response.status().as_u16();
            response.bytes().map(|body| (status, body.len()))
        }) {
            Ok((status, length)) => {
                *statuses.entry(status).or_default() += 1;
                bytes += length;
            }
            Err(error) => {
                bar.suspend(|| println!("{url}: {} error: {error}", error.kind()));
                failures += 1;
            }
        }
        bar.inc(1);
        bar.set_message(format!("{} left", (names.len() as u64).saturating_sub(bar.position())));
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let summary: Vec<String> = statuses.iter().map(|(status, count)| format!("{status}×{count}")).collect();
    println!(
        "{} URLs in {:.2} s ({:.0}/s), {} body bytes; statuses {}; {} failed",
        urls.len(),
        elapsed.as_secs_f64(),
        urls.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        bytes,
        summary.join(" "),
        failures
    );
    Ok(failures == 0)
}
