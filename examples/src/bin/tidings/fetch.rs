//! `tidings [METHOD] URL...`: requests over one session and pool, one report per URL.

use std::io::{IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use lexopt::prelude::*;
use tidings_std::{Error, Method, Response, Session, TlsSettings};

use crate::report::{octets, ErrorReport, Informational, Report};
use crate::Usage;

/// Everything the request options say.
#[derive(Default)]
pub struct FetchOptions {
    method: Option<String>,
    urls: Vec<String>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    /// `--data-binary @FILE`: streamed from the file (replayable: it can seek).
    upload: Option<String>,
    form: Vec<(String, String)>,
    json: Option<String>,
    user: Option<String>,
    /// `-u` is Digest credentials.
    digest: bool,
    /// `--proxy URL` (`Some(Some)`), `--no-proxy` (`Some(None)`), else the environment.
    proxy: Option<Option<tidings_std::Proxy>>,
    bearer: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    max_body: Option<u64>,
    fail: bool,
    cacert: Option<String>,
    insecure: bool,
    cert: Option<String>,
    key: Option<String>,
    output: Option<String>,
    max_redirects: Option<Option<u32>>,
    retries: Option<u32>,
    retry_status: Vec<u16>,
    backoff: Option<Duration>,
    include: bool,
    verbose: bool,
    json_report: bool,
    /// `--transport mio`: every URL is sent at once on one event loop.
    mio: bool,
}

/// Parses the request options and positionals (`[METHOD] URL...`), in any order.
pub fn parse(mut parser: lexopt::Parser) -> Result<FetchOptions, Usage> {
    let mut options = FetchOptions::default();
    let mut positionals = Vec::new();
    while let Some(argument) = parser.next()? {
        match argument {
            Short('H') | Long("header") => {
                let line = parser.value()?.string()?;
                let (name, value) =
                    line.split_once(':').ok_or_else(|| Usage(format!("header {line:?} is not 'Name: value'")))?;
                options.headers.push((name.trim().to_owned(), value.trim_start().to_owned()));
            }
            Short('q') | Long("query") => options.query.push(pair(&parser.value()?.string()?)?),
            Short('d') | Long("data") => options.body = Some(parser.value()?.string()?.into_bytes()),
            Long("data-binary") => {
                let value = parser.value()?.string()?;
                match value.strip_prefix('@') {
                    Some(path) => options.upload = Some(path.to_owned()),
                    None => options.body = Some(value.into_bytes()),
                }
            }
            Long("form") => options.form.push(pair(&parser.value()?.string()?)?),
            Long("json") => options.json = Some(parser.value()?.string()?),
            Short('u') | Long("user") => options.user = Some(parser.value()?.string()?),
            Long("bearer") => options.bearer = Some(parser.value()?.string()?),
            Long("timeout") => options.timeout = Some(seconds(&parser.value()?.string()?)?),
            Long("connect-timeout") => options.connect_timeout = Some(seconds(&parser.value()?.string()?)?),
            Long("read-timeout") => options.read_timeout = Some(seconds(&parser.value()?.string()?)?),
            Long("max-body") => options.max_body = Some(parser.value()?.parse()?),
            Long("fail") => options.fail = true,
            Long("cacert") => options.cacert = Some(parser.value()?.string()?),
            Long("insecure") => options.insecure = true,
            Long("cert") => options.cert = Some(parser.value()?.string()?),
            Long("key") => options.key = Some(parser.value()?.string()?),
            Short('o') | Long("output") => options.output = Some(parser.value()?.string()?),
            Short('i') | Long("include") => options.include = true,
            Short('v') | Long("verbose") => options.verbose = true,
            Long("report") => {
                let format = parser.value()?.string()?;
                if format != "json" {
                    return Err(Usage(format!("unknown report format {format:?} (only json)")));
                }
                options.json_report = true;
            }
            Long("transport") => {
                let transport = parser.value()?.string()?;
                options.mio = match transport.as_str() {
                    "std" => false,
                    "mio" => true,
                    _ => return Err(Usage(format!("transport {transport:?} is not std or mio"))),
                };
            }
            Long("max-redirects") => options.max_redirects = Some(Some(parser.value()?.parse()?)),
            Long("no-redirects") => options.max_redirects = Some(None),
            Long("no-proxy") => options.proxy = Some(None),
            Long("proxy") => {
                let url = parser.value()?.string()?;
                let proxy = tidings_std::Proxy::parse(&url).map_err(|error| Usage(error.to_string()))?;
                options.proxy = Some(Some(proxy));
            }
            Long("retries") => options.retries = Some(parser.value()?.parse()?),
            Long("retry-status") => {
                let codes = parser.value()?.string()?;
                for code in codes.split(',') {
                    options
                        .retry_status
                        .push(code.trim().parse().map_err(|_| Usage(format!("{code:?} is not a status code")))?);
                }
            }
            Long("backoff") => options.backoff = Some(seconds(&parser.value()?.string()?)?),
            Long("digest") => options.digest = true,
            Value(value) => positionals.push(value.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    // `METHOD URL...`: a first word without ':' or '/' is a method.
    if positionals.len() > 1 && !positionals[0].contains([':', '/']) {
        options.method = Some(positionals.remove(0));
    }
    if positionals.is_empty() {
        return Err(Usage("no URL given".into()));
    }
    options.urls = positionals;
    Ok(options)
}

fn pair(text: &str) -> Result<(String, String), Usage> {
    let (key, value) = text.split_once('=').ok_or_else(|| Usage(format!("{text:?} is not key=value")))?;
    Ok((key.to_owned(), value.to_owned()))
}

fn seconds(text: &str) -> Result<Duration, Usage> {
    let value: f64 = text.parse().map_err(|_| Usage(format!("{text:?} is not a number of seconds")))?;
    Duration::try_from_secs_f64(value).map_err(|_| Usage(format!("{text:?} is not a duration")))
}

/// Sends a request to each URL in order over one session and pool — through the blocking
/// transport, or a `tidings-mio` client's event loop with `--transport mio`. Returns
/// whether all succeeded.
pub fn run(options: &FetchOptions) -> Result<bool, Usage> {
    if options.verbose {
        // Every head as it crossed the wire — redirects, retries, auth and tunnels included.
        if log::set_logger(&WIRE).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    }
    let session = session(options)?;
    let mut client = if options.mio {
        let client = tidings_mio::Client::new(session.clone())
            .map_err(|error| Usage(format!("cannot start the event loop: {error}")))?;
        Some(client)
    } else {
        None
    };
    let mut all_ok = true;
    let mut stdout = std::io::stdout().lock();
    for url in &options.urls {
        let started = Instant::now();
        let mut report = Report { url: Some(url.clone()), ..Report::default() };
        let response = prepare(&session, options, url).and_then(|request| match client.as_mut() {
            Some(client) => {
                let id = client.send(request);
                client.wait(id)
            }
            None => session.send(request),
        });
        let result = response.and_then(|response| finish(response, options, &mut report));
        if let Err(error) = &result {
            report.error = Some(ErrorReport { kind: error.kind().as_str(), message: error.to_string() });
            all_ok = false;
        }
        report.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let written = if options.json_report {
            writeln!(stdout, "{}", report.to_json())
        } else {
            crate::print_human(&mut stdout, &report, options.include)
        };
        written.map_err(|error| Usage(format!("cannot write output: {error}")))?;
        if let (false, Some(error)) = (options.json_report, &report.error) {
            eprintln!("tidings: {} error: {}", error.kind, error.message);
        }
    }
    Ok(all_ok)
}

fn session(options: &FetchOptions) -> Result<Session, Usage> {
    let mut tls = TlsSettings::default();
    if let Some(path) = &options.cacert {
        tls = tls.ca_bundle(path);
    }
    if options.insecure {
        tls = tls.danger_accept_invalid_certs();
    }
    match (&options.cert, &options.key) {
        (Some(cert), Some(key)) => tls = tls.client_identity(cert, key),
        (None, None) => {}
        _ => return Err(Usage("--cert and --key go together".into())),
    }
    let mut builder = Session::builder().tls(tls);
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(timeout) = options.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(timeout) = options.read_timeout {
        builder = builder.read_timeout(timeout);
    }
    if let Some(max_body) = options.max_body {
        builder = builder.max_body(max_body);
    }
    match options.max_redirects {
        Some(Some(max)) => builder = builder.redirect_limit(max),
        Some(None) => builder = builder.no_redirects(),
        None => {}
    }
    if options.retries.is_some() || !options.retry_status.is_empty() || options.backoff.is_some() {
        let policy = tidings_std::RetryPolicy::new(options.retries.unwrap_or(3))
            .status_forcelist(options.retry_status.iter().copied())
            .backoff_factor(options.backoff.unwrap_or_default())
            // As curl's --retry: the last response is reported (and --fail makes a 4xx/5xx
            // an http_status error, as for any response).
            .raise_on_status(false);
        builder = builder.retries(policy);
    }
    match &options.proxy {
        Some(Some(proxy)) => builder = builder.proxy(proxy.clone()),
        Some(None) => builder = builder.no_proxy(),
        None => {}
    }
    builder.build().map_err(|error| Usage(format!("TLS settings: {error}")))
}

/// The request the options describe for `url`.
fn prepare(session: &Session, options: &FetchOptions, url: &str) -> Result<tidings_std::PreparedRequest, Error> {
    let has_body =
        options.body.is_some() || options.upload.is_some() || !options.form.is_empty() || options.json.is_some();
    let method = match &options.method {
        Some(method) => Method::from_bytes(method.as_bytes())
            .map_err(|_| Error::from(tidings_core::InvalidRequest::Method { method: method.to_owned() }))?,
        None if has_body => Method::POST,
        None => Method::GET,
    };
    let mut request = session.request(method, url).query(options.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (name, value) in &options.headers {
        request = request.header(name.clone(), value);
    }
    if let Some(path) = &options.upload {
        let file = std::fs::File::open(path).map_err(|error| io_error(path, error))?;
        let length = file.metadata().map_err(|error| io_error(path, error))?.len();
        request = request.body_seekable(Uploading { file, bar: progress_bar(Some(length), UPLOAD_BAR_FROM) });
    }
    if let Some(body) = &options.body {
        request = request.body(body.clone());
    }
    if !options.form.is_empty() {
        request = request.form(options.form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    if let Some(json) = &options.json {
        request = request.header("Content-Type", "application/json").body(json.clone().into_bytes());
    }
    if let Some(user) = &options.user {
        let (name, password) = match user.split_once(':') {
            Some((name, password)) => (name.to_owned(), Some(password.to_owned())),
            None => (user.clone(), None),
        };
        request = if options.digest {
            request.digest_auth(name, password.unwrap_or_default())
        } else {
            request.basic_auth(name, password.as_deref())
        };
    }
    if let Some(token) = &options.bearer {
        request = request.bearer_auth(token.clone());
    }
    request.build()
}

/// Reads a response: fills `report` with what arrived, even when it fails part way.
fn finish(mut response: Response, options: &FetchOptions, report: &mut Report) -> Result<(), Error> {
    describe(&response, report);
    let body = read_body(&mut response, options.output.as_deref())?;
    report.trailers = response
        .trailers()
        .map(|trailers| trailers.iter().map(|(n, v)| [n.to_owned(), octets(v)]).collect())
        .unwrap_or_default();
    report.set_close(response.close_reason());
    report.set_body(&body, response.headers().get("content-type"));
    if options.fail {
        response.error_for_status()?;
    }
    Ok(())
}

fn describe(response: &Response, report: &mut Report) {
    report.set_head(response.head());
    report.url = Some(response.url().to_string());
    report.reused_connection = response.reused_connection();
    report.redirects = response.history().iter().map(ToString::to_string).collect();
    report.informational = response
        .informational()
        .iter()
        .map(|(status, headers)| Informational {
            status: *status,
            headers: headers.iter().map(|(n, v)| [n.to_owned(), octets(v)]).collect(),
        })
        .collect();
    report.undecoded_coding = response.undecoded_coding().map(str::to_owned);
}

/// The decoded body, or written to `output` (then the report's body is empty), with a
/// progress bar on stderr when it is a terminal.
fn read_body(response: &mut Response, output: Option<&str>) -> Result<Vec<u8>, Error> {
    let Some(path) = output else { return response.read_body() };
    let mut file = std::fs::File::create(path).map_err(|error| io_error(path, error))?;
    let length = response.headers().get_str("content-length").and_then(|value| value.parse::<u64>().ok());
    let progress = progress_bar(length, 0);
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let count = match response.read(&mut chunk) {
            Ok(0) => {
                progress.finish();
                return Ok(Vec::new());
            }
            Ok(count) => count,
            Err(error) => {
                progress.abandon();
                return Err(io_error("the body", error));
            }
        };
        file.write_all(&chunk[..count]).map_err(|error| io_error(path, error))?;
        progress.inc(count as u64);
    }
}

/// Uploads at least this large show a progress bar.
const UPLOAD_BAR_FROM: u64 = 1 << 20;

/// A progress bar on stderr when it is a terminal and `length` (when known) reaches
/// `at_least`; hidden otherwise.
fn progress_bar(length: Option<u64>, at_least: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || length.is_some_and(|length| length < at_least) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = length.map_or_else(indicatif::ProgressBar::new_spinner, indicatif::ProgressBar::new);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bytes}/{total_bytes} {wide_bar} {bytes_per_sec} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// A file being uploaded, moving its progress bar (back to the start when a redirect,
/// retry or auth challenge sends it again).
struct Uploading {
    file: std::fs::File,
    bar: indicatif::ProgressBar,
}

impl Read for Uploading {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let count = self.file.read(buf)?;
        self.bar.inc(count as u64);
        if count == 0 {
            self.bar.finish_and_clear();
        }
        Ok(count)
    }
}

impl std::io::Seek for Uploading {
    fn seek(&mut self, position: std::io::SeekFrom) -> std::io::Result<u64> {
        let at = self.file.seek(position)?;
        self.bar.set_position(at);
        Ok(at)
    }
}

/// `-v`: prints the heads the transports log on `tidings::wire::*`, exactly as sent
/// (`> `) and received (`< `), on stderr.
struct WireLog;

static WIRE: WireLog = WireLog;

impl log::Log for WireLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == tidings_std::wire::WIRE_REQUEST || metadata.target() == tidings_std::wire::WIRE_RESPONSE
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let marker = if record.target() == tidings_std::wire::WIRE_REQUEST { '>' } else { '<' };
        let head = record.args().to_string();
        let mut stderr = std::io::stderr().lock();
        for line in head.split_terminator("\r\n") {
            let _ = writeln!(stderr, "{marker} {line}");
        }
    }

    fn flush(&self) {}
}

fn io_error(what: &str, error: std::io::Error) -> Error {
    Error::from(error).context(what)
}
