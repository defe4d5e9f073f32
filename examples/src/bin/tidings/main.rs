//! `tidings`: a curl-like HTTP/1.1 client and raw-bytes debugging tool.
//!
//! `tidings decode [OPTIONS] [FILE|-]` parses a raw response capture with the core alone.
//! The JSON report (`--report json`) is a stable contract: see `docs/report.md`.
//! `tidings [METHOD] URL...` sends a request to each URL in order over one session and pool,
//! on the blocking transport (`--transport std`, the default) or a `tidings-mio` event loop
//! (`--transport mio`).

mod decode;
mod fetch;
mod report;

use std::io::{Read, Write};
use std::process::ExitCode;

use decode::{DecodeOptions, Split};
use lexopt::prelude::*;

const USAGE: &str = "\
usage: tidings [OPTIONS] [METHOD] URL...   send a request to each URL over one session
       tidings decode [OPTIONS] [FILE|-]    parse a raw response capture with the core alone

request options (see docs/report.md):
  -H, --header 'Name: value'   -q, --query k=v     -d, --data TEXT   --data-binary @FILE
  --form k=v   --json TEXT     -u, --user U:P  --digest   --bearer TOKEN
  --timeout S  --connect-timeout S  --read-timeout S  --max-body BYTES  --fail
  --max-redirects N  --no-redirects  --retries N  --retry-status CODES  --backoff S
  --cacert FILE  --insecure  --cert FILE --key FILE  --transport std|mio
  --proxy URL  --no-proxy (default: http_proxy, https_proxy, all_proxy, no_proxy)
  -o, --output FILE  -i, --include  -v, --verbose  --report json

decode options:
  --method M          the request method the bytes answer (default GET; HEAD changes framing)
  --split N           feed the bytes in pieces of N bytes
  --split-seed S      feed the bytes in random pieces chosen by seed S
  --eof / --no-eof    whether the capture ends with the peer closing (default --eof)
  --max-body BYTES    cap on the decoded body (error kind too_large)
  --report json       print one JSON object (see docs/report.md) and nothing else on stdout
  -h, --help          this text
";

/// Exit status 2: bad command-line usage.
struct Usage(String);

impl<E: std::fmt::Display> From<E> for Usage {
    fn from(error: E) -> Self {
        Usage(error.to_string())
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(Usage(message)) => {
            eprintln!("tidings: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, Usage> {
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    match arguments.first().and_then(|first| first.to_str()) {
        Some("decode") => decode_command(lexopt::Parser::from_args(arguments.into_iter().skip(1))),
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            Ok(if arguments.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        Some(_) => {
            let options = fetch::parse(lexopt::Parser::from_args(arguments))?;
            Ok(if fetch::run(&options)? { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

fn decode_command(mut parser: lexopt::Parser) -> Result<ExitCode, Usage> {
    let mut options = DecodeOptions { method: "GET".into(), split: Split::Whole, eof: true, max_body: None };
    let mut json = false;
    let mut input: Option<String> = None;
    while let Some(argument) = parser.next()? {
        match argument {
            Long("method") => options.method = parser.value()?.string()?,
            Long("split") => options.split = Split::Every(parser.value()?.parse::<usize>()?.max(1)),
            Long("split-seed") => options.split = Split::Seeded(parser.value()?.parse()?),
            Long("eof") => options.eof = true,
            Long("no-eof") => options.eof = false,
            Long("max-body") => options.max_body = Some(parser.value()?.parse()?),
            Long("report") => {
                let format = parser.value()?.string()?;
                if format != "json" {
                    return Err(Usage(format!("unknown report format {format:?} (only json)")));
                }
                json = true;
            }
            Short('h') | Long("help") => {
                print!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            Value(path) if input.is_none() => input = Some(path.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let capture = read_input(input.as_deref()).map_err(|error| Usage(format!("cannot read input: {error}")))?;
    let report = decode::decode(&capture, &options);
    let failed = report.error.is_some();
    let mut stdout = std::io::stdout().lock();
    let written = if json { writeln!(stdout, "{}", report.to_json()) } else { print_human(&mut stdout, &report, true) };
    if let Err(error) = written {
        eprintln!("tidings: cannot write output: {error}");
        return Ok(ExitCode::FAILURE);
    }
    if let (false, Some(error)) = (json, &report.error) {
        eprintln!("tidings: {} error: {}", error.kind, error.message);
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn read_input(path: Option<&str>) -> std::io::Result<Vec<u8>> {
    match path {
        None | Some("-") => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes)?;
            Ok(bytes)
        }
        Some(path) => std::fs::read(path),
    }
}

/// curl `-i` style: informational heads, the final head, then the decoded body.
fn print_human(out: &mut impl Write, report: &report::Report, include_head: bool) -> std::io::Result<()> {
    for interim in report.informational.iter().filter(|_| include_head) {
        writeln!(out, "{} {}", report.version.as_deref().unwrap_or("HTTP/1.1"), interim.status)?;
        for [name, value] in &interim.headers {
            writeln!(out, "{name}: {value}")?;
        }
        writeln!(out)?;
    }
    if let (true, Some(status)) = (include_head, report.status) {
        let version = report.version.as_deref().unwrap_or("HTTP/1.1");
        writeln!(out, "{version} {status} {}", report.reason.as_deref().unwrap_or(""))?;
        for [name, value] in &report.headers {
            writeln!(out, "{name}: {value}")?;
        }
        writeln!(out)?;
    }
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.decode(&report.body_b64).unwrap_or_default();
    out.write_all(&body)?;
    for [name, value] in &report.trailers {
        writeln!(out, "\n{name}: {value}")?;
    }
    Ok(())
}
