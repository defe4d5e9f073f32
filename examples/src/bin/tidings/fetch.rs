//! `tidings [METHOD] URL...`: requests over one session and pool, one report per URL.

use std::io::{IsTerminal, Read, Write};
use std::time::Instant;

use tidings_std::{Error, Method, Response, Session, TlsSettings};

use crate::options::FetchOptions;
use crate::output::{self, Body};
use crate::report::{octets, ErrorReport, Informational, Report};
use crate::Usage;

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
            .map_err(|error| Usage::new(format!("cannot start the event loop: {error}")))?;
        Some(client)
    } else {
        None
    };
    let mut all_ok = true;
    let mut stdout = std::io::stdout().lock();
    let terminal = std::io::stdout().is_terminal();
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
        let mut size = 0;
        let result = response.and_then(|response| finish(response, options, &mut report, &mut size));
        if let Err(error) = &result {
            report.error = Some(ErrorReport { kind: error.kind().as_str(), message: error.to_string() });
            all_ok = false;
        }
        report.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let written = if options.json_report {
            writeln!(stdout, "{}", report.to_json())
        } else {
            let body = if options.head_only || options.output.as_deref().is_some_and(|path| path != "-") {
                Body::Omitted
            } else if terminal && options.output.is_none() && output::is_binary(&output::body_bytes(&report)) {
                if !options.silent {
                    eprintln!("{}", output::binary_notice(&report, size as usize));
                }
                Body::Withheld
            } else {
                Body::Shown
            };
            output::print_human(&mut stdout, &report, options.include || options.head_only, body).and_then(|()| {
                match &options.write_out {
                    Some(format) => write!(stdout, "{}", output::write_out(format, &report, size)),
                    None => Ok(()),
                }
            })
        };
        written.and_then(|()| stdout.flush()).map_err(|error| Usage::new(format!("cannot write output: {error}")))?;
        // One message per error, unless -s (and not -S) asked for silence.
        if let (false, Some(error), true) = (options.json_report, &report.error, !options.silent || options.show_error)
        {
            eprintln!("tidings: {}", error.message);
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
        _ => return Err(Usage::new("--cert and --key go together").at(Some("--cert".into()))),
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
    builder.build().map_err(|error| Usage::new(format!("TLS settings: {error}")))
}

/// The request the options describe for `url`.
fn prepare(session: &Session, options: &FetchOptions, url: &str) -> Result<tidings_std::PreparedRequest, Error> {
    let data_as_body = !options.data.is_empty() && !options.data_in_query;
    let has_body = data_as_body || options.upload.is_some() || !options.form.is_empty() || options.json.is_some();
    let method = match &options.method {
        Some(method) => Method::from_bytes(method.as_bytes())
            .map_err(|_| Error::from(tidings_core::InvalidRequest::Method { method: method.to_owned() }))?,
        None if options.head_only => Method::HEAD,
        None if has_body => Method::POST,
        None => Method::GET,
    };
    let mut request = session.request(method, url).query(&options.query);
    let data = options.data.join(&b'&');
    if options.data_in_query {
        request = request.query_raw(String::from_utf8_lossy(&data));
    }
    // curl's -d and --data-binary send a form unless the caller names another type.
    let typed = options.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    if (data_as_body || options.upload.is_some()) && !typed {
        request = request.header("Content-Type", "application/x-www-form-urlencoded");
    }
    for (name, value) in &options.headers {
        request = request.header(name.clone(), value);
    }
    if let Some(path) = &options.upload {
        let file = std::fs::File::open(path).map_err(|error| io_error(path, error))?;
        let length = file.metadata().map_err(|error| io_error(path, error))?.len();
        let bar =
            if options.silent { indicatif::ProgressBar::hidden() } else { progress_bar(Some(length), UPLOAD_BAR_FROM) };
        request = request.body_seekable(Uploading { file, bar });
    }
    if data_as_body {
        request = request.body(data);
    }
    if !options.form.is_empty() {
        request = request.form(&options.form);
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

/// Reads a response: fills `report` with what arrived, even when it fails part way, and
/// `size` with the body's length.
fn finish(mut response: Response, options: &FetchOptions, report: &mut Report, size: &mut u64) -> Result<(), Error> {
    describe(&response, report);
    let to_file = options.output.as_deref().filter(|path| *path != "-");
    let body = read_body(&mut response, to_file, options.silent, size)?;
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
/// progress bar on stderr when it is a terminal (and not `silent`); `size` counts the bytes.
fn read_body(response: &mut Response, output: Option<&str>, silent: bool, size: &mut u64) -> Result<Vec<u8>, Error> {
    let Some(path) = output else {
        let body = response.read_body()?;
        *size = body.len() as u64;
        return Ok(body);
    };
    let mut file = std::fs::File::create(path).map_err(|error| io_error(path, error))?;
    let length = response.headers().get_str("content-length").and_then(|value| value.parse::<u64>().ok());
    let progress = if silent { indicatif::ProgressBar::hidden() } else { progress_bar(length, 0) };
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
        *size += count as u64;
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
