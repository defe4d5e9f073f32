//! `tidings`: a curl-like HTTP/1.1 client and raw-bytes debugging tool.
//!
//! `tidings [OPTIONS] [METHOD] URL...` sends a request to each URL in order over one session
//! and pool, on the blocking transport (`--transport std`, the default) or a `tidings-mio`
//! event loop (`--transport mio`), with curl's and httpie's habits.
//! `tidings decode [OPTIONS] [FILE|-]` parses a raw response capture with the core alone.
//! `tidings serve [--port N] [--tls]` runs the test httpbin on loopback.
//! The JSON report (`--report json`) is a stable contract: see `docs/report.md`.
//! `tidings --help` lists every option; `tidings --help OPTION` shows one with an example.

mod decode;
mod fetch;
mod help;
mod options;
mod output;
mod report;
mod serve;

use std::io::{Read, Write};
use std::process::ExitCode;

use decode::{DecodeOptions, Split};
use lexopt::prelude::*;

/// A command-line mistake (exit status 2): what was wrong, and the option at fault.
pub struct Usage {
    message: String,
    option: Option<String>,
}

impl Usage {
    /// A mistake described by `message`.
    pub fn new(message: impl Into<String>) -> Usage {
        Usage { message: message.into(), option: None }
    }

    /// Names the option at fault (once), in the message too unless it already says it.
    pub fn at(mut self, option: Option<String>) -> Usage {
        if let (None, Some(option)) = (&self.option, option) {
            if !self.message.contains(option.as_str()) {
                self.message = format!("{option}: {}", self.message);
            }
            self.option = Some(option);
        }
        self
    }
}

impl<E: std::fmt::Display> From<E> for Usage {
    fn from(error: E) -> Self {
        Usage::new(error.to_string())
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(Usage { message, option }) => {
            eprintln!("{}", help::mistake(&message, option.as_deref()));
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, Usage> {
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let words: Vec<&str> = arguments.iter().take(2).map(|word| word.to_str().unwrap_or_default()).collect();
    match words.as_slice() {
        ["decode", ..] => decode_command(lexopt::Parser::from_args(arguments.into_iter().skip(1))),
        ["serve", ..] => serve::run(lexopt::Parser::from_args(arguments.into_iter().skip(1))),
        ["--help" | "help", option] => match help::one(option) {
            Some(text) => {
                print!("{text}");
                Ok(ExitCode::SUCCESS)
            }
            None => Err(Usage::new(format!("no option is called {option}"))),
        },
        ["--help" | "help"] => {
            print!("{}", help::full());
            Ok(ExitCode::SUCCESS)
        }
        ["-h"] => {
            println!("{}\n\nsee 'tidings --help' for every option, with examples", help::USAGE);
            Ok(ExitCode::SUCCESS)
        }
        [] => Err(Usage::new("no URL given")),
        _ => {
            let options = options::parse(lexopt::Parser::from_args(arguments))?;
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
                    return Err(
                        Usage::new(format!("unknown report format {format:?} (only json)")).at(Some("--report".into()))
                    );
                }
                json = true;
            }
            Short('h') | Long("help") => {
                for option in help::DECODE {
                    println!("{}", help::one(option.names.split(", ").next().unwrap_or_default()).unwrap_or_default());
                }
                return Ok(ExitCode::SUCCESS);
            }
            Value(path) if input.is_none() => input = Some(path.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let capture = read_input(input.as_deref()).map_err(|error| Usage::new(format!("cannot read input: {error}")))?;
    let report = decode::decode(&capture, &options);
    let failed = report.error.is_some();
    let mut stdout = std::io::stdout().lock();
    let written = if json {
        writeln!(stdout, "{}", report.to_json())
    } else {
        output::print_human(&mut stdout, &report, true, output::Body::Shown)
    };
    if let Err(error) = written {
        eprintln!("tidings: cannot write output: {error}");
        return Ok(ExitCode::FAILURE);
    }
    if let (false, Some(error)) = (json, &report.error) {
        eprintln!("tidings: {}", error.message);
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
