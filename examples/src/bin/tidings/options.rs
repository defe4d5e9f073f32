//! The request options of `tidings [OPTIONS] [METHOD] URL...`, parsed with curl's and httpie's
//! habits. A mistake is a [`Usage`] error naming the one option at fault.

use std::io::Read;
use std::time::Duration;

use lexopt::prelude::*;

use crate::Usage;

/// Everything the request options say.
#[derive(Default)]
pub struct FetchOptions {
    pub method: Option<String>,
    pub urls: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    /// `-d`, `--data-raw`, `--data-binary`: pieces joined with `&`, as curl joins them.
    pub data: Vec<Vec<u8>>,
    /// `--data-binary @FILE` as the only data: streamed from the file (it can seek).
    pub upload: Option<String>,
    /// `-G`: the data goes in the query of a GET.
    pub data_in_query: bool,
    pub form: Vec<(String, String)>,
    pub json: Option<String>,
    pub user: Option<String>,
    /// `-u` is Digest credentials.
    pub digest: bool,
    /// `--proxy URL` (`Some(Some)`), `--no-proxy` (`Some(None)`), else the environment.
    pub proxy: Option<Option<tidings_std::Proxy>>,
    pub bearer: Option<String>,
    pub timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub read_timeout: Option<Duration>,
    pub max_body: Option<u64>,
    pub fail: bool,
    pub cacert: Option<String>,
    pub insecure: bool,
    pub cert: Option<String>,
    pub key: Option<String>,
    /// `-o FILE`; `-o -` is stdout, binary or not.
    pub output: Option<String>,
    pub max_redirects: Option<Option<u32>>,
    pub retries: Option<u32>,
    pub retry_status: Vec<u16>,
    pub backoff: Option<Duration>,
    pub include: bool,
    /// `-I`: HEAD, and the head is all that is printed.
    pub head_only: bool,
    pub verbose: bool,
    /// `-s`: no progress bars, notices or error messages (`-S` brings errors back).
    pub silent: bool,
    pub show_error: bool,
    /// `-w FORMAT`, printed after each response.
    pub write_out: Option<String>,
    pub json_report: bool,
    /// `--transport mio`: every URL is sent at once on one event loop.
    pub mio: bool,
}

/// Parses the request options and positionals (`[METHOD] URL...`), in any order.
pub fn parse(mut parser: lexopt::Parser) -> Result<FetchOptions, Usage> {
    let mut options = FetchOptions::default();
    let mut positionals = Vec::new();
    while let Some(argument) = parser.next()? {
        // The argument borrows the parser; a copy of its name frees it for the value.
        let (argument, spelled) = match argument {
            Short(short) => (Word::Short(short), Some(format!("-{short}"))),
            Long(long) => (Word::Long(long.to_owned()), Some(format!("--{long}"))),
            Value(value) => (Word::Value(value), None),
        };
        let argument = match &argument {
            Word::Short(short) => Short(*short),
            Word::Long(long) => Long(long),
            Word::Value(value) => Value(value.clone()),
        };
        one(argument, &mut parser, &mut options, &mut positionals).map_err(|usage| usage.at(spelled))?;
    }
    // `METHOD URL...`: a first word without ':', '/' or '.' is a method.
    if positionals.len() > 1 && !positionals[0].contains([':', '/', '.']) {
        let method = positionals.remove(0);
        options.method.get_or_insert(method);
    }
    if positionals.is_empty() {
        return Err(Usage::new("no URL given"));
    }
    if options.json_report && options.write_out.is_some() {
        return Err(Usage::new("--report json prints the report alone on stdout: drop -w (or use -w '%{json}')"));
    }
    if options.upload.is_some() && options.data.len() > 1 {
        // Mixed with other data, the file is read whole and joined like the rest.
        let path = options.upload.take().unwrap_or_default();
        options.data.push(read_file(&path, false)?);
    }
    options.urls = positionals.into_iter().map(|url| shorthand(&url)).collect();
    Ok(options)
}

/// A command-line argument, owned.
enum Word {
    Short(char),
    Long(String),
    Value(std::ffi::OsString),
}

/// One option (or positional) and its value.
fn one(
    argument: lexopt::Arg<'_>,
    parser: &mut lexopt::Parser,
    options: &mut FetchOptions,
    positionals: &mut Vec<String>,
) -> Result<(), Usage> {
    match argument {
        Short('X') | Long("request") => options.method = Some(parser.value()?.string()?),
        Short('H') | Long("header") => {
            let line = parser.value()?.string()?;
            let (name, value) =
                line.split_once(':').ok_or_else(|| Usage::new(format!("{line:?} is not 'Name: value'")))?;
            options.headers.push((name.trim().to_owned(), value.trim_start().to_owned()));
        }
        Short('q') | Long("query") => options.query.push(pair(&parser.value()?.string()?)?),
        Short('G') | Long("get") => options.data_in_query = true,
        Short('d') | Long("data") => {
            let value = parser.value()?.string()?;
            let data = match value.strip_prefix('@') {
                Some(path) => read_file(path, true)?,
                None => value.into_bytes(),
            };
            options.data.push(data);
        }
        Long("data-raw") => options.data.push(parser.value()?.string()?.into_bytes()),
        Long("data-binary") => {
            let value = parser.value()?.string()?;
            match value.strip_prefix('@') {
                Some("-") => options.data.push(read_file("-", false)?),
                Some(path) if options.data.is_empty() && options.upload.is_none() => {
                    options.upload = Some(path.to_owned());
                }
                Some(path) => options.data.push(read_file(path, false)?),
                None => options.data.push(value.into_bytes()),
            }
        }
        Long("form") => options.form.push(pair(&parser.value()?.string()?)?),
        Long("json") => options.json = Some(parser.value()?.string()?),
        Short('u') | Long("user") => options.user = Some(parser.value()?.string()?),
        Long("digest") => options.digest = true,
        Long("bearer") => options.bearer = Some(parser.value()?.string()?),
        Long("timeout") => options.timeout = Some(seconds(&parser.value()?.string()?)?),
        Long("connect-timeout") => options.connect_timeout = Some(seconds(&parser.value()?.string()?)?),
        Long("read-timeout") => options.read_timeout = Some(seconds(&parser.value()?.string()?)?),
        Long("retries") => options.retries = Some(number(&parser.value()?.string()?)?),
        Long("retry-status") => {
            for code in parser.value()?.string()?.split(',') {
                let status = code.trim().parse().ok().filter(|status| (100..1000).contains(status));
                options.retry_status.push(status.ok_or_else(|| Usage::new(format!("{code:?} is not a status code")))?);
            }
        }
        Long("backoff") => options.backoff = Some(seconds(&parser.value()?.string()?)?),
        Long("max-body") => options.max_body = Some(number(&parser.value()?.string()?)?),
        Long("fail") => options.fail = true,
        Short('L') | Long("location") => {} // redirects are followed by default
        Long("max-redirects" | "max-redirs") => options.max_redirects = Some(Some(number(&parser.value()?.string()?)?)),
        Long("no-redirects") => options.max_redirects = Some(None),
        Long("cacert") => options.cacert = Some(parser.value()?.string()?),
        Short('k') | Long("insecure") => options.insecure = true,
        Long("cert") => options.cert = Some(parser.value()?.string()?),
        Long("key") => options.key = Some(parser.value()?.string()?),
        Long("proxy") => {
            let url = parser.value()?.string()?;
            options.proxy = Some(Some(tidings_std::Proxy::parse(&url).map_err(|error| Usage::new(error.to_string()))?));
        }
        Long("no-proxy") => options.proxy = Some(None),
        Short('i') | Long("include") => options.include = true,
        Short('I') | Long("head") => options.head_only = true,
        Short('v') | Long("verbose") => options.verbose = true,
        Short('o') | Long("output") => options.output = Some(parser.value()?.string()?),
        Short('s') | Long("silent") => options.silent = true,
        Short('S') | Long("show-error") => options.show_error = true,
        Short('w') | Long("write-out") => {
            let format = parser.value()?.string()?;
            crate::output::check_write_out(&format)?;
            options.write_out = Some(format);
        }
        Long("report") => {
            let format = parser.value()?.string()?;
            if format != "json" {
                return Err(Usage::new(format!("unknown report format {format:?} (only json)")));
            }
            options.json_report = true;
        }
        Long("transport") => {
            let transport = parser.value()?.string()?;
            options.mio = match transport.as_str() {
                "std" => false,
                "mio" => true,
                _ => return Err(Usage::new(format!("transport {transport:?} is not std or mio"))),
            };
        }
        Long(name) => {
            let hint = crate::help::closest(name).map(|near| format!(" (did you mean {near}?)")).unwrap_or_default();
            return Err(Usage::new(format!("unknown option --{name}{hint}")));
        }
        Short(short) => return Err(Usage::new(format!("unknown option -{short}"))),
        Value(value) => positionals.push(value.string()?),
    }
    Ok(())
}

/// httpie's shorthands: `:8080/get` and `localhost:8080/get` are `http://localhost:8080/get`;
/// a URL without a scheme is `http://`.
pub fn shorthand(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else if let Some(rest) = url.strip_prefix(':') {
        // `:/path` is the default port; `:8080/path` names one.
        match rest.strip_prefix('/') {
            Some(path) => format!("http://localhost/{path}"),
            None => format!("http://localhost:{rest}"),
        }
    } else {
        format!("http://{url}")
    }
}

/// A file's bytes (`-` is stdin); `-d @FILE` drops carriage returns and newlines, as curl does.
fn read_file(path: &str, strip_newlines: bool) -> Result<Vec<u8>, Usage> {
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(drop)
    } else {
        std::fs::read(path).map(|content| bytes = content)
    };
    read.map_err(|error| Usage::new(format!("cannot read {path}: {error}")))?;
    if strip_newlines {
        bytes.retain(|byte| *byte != b'\r' && *byte != b'\n');
    }
    Ok(bytes)
}

fn pair(text: &str) -> Result<(String, String), Usage> {
    let (key, value) = text.split_once('=').ok_or_else(|| Usage::new(format!("{text:?} is not key=value")))?;
    Ok((key.to_owned(), value.to_owned()))
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, Usage> {
    text.parse().map_err(|_| Usage::new(format!("{text:?} is not a whole number")))
}

fn seconds(text: &str) -> Result<Duration, Usage> {
    let value: f64 = text.parse().map_err(|_| Usage::new(format!("{text:?} is not a number of seconds")))?;
    Duration::try_from_secs_f64(value).map_err(|_| Usage::new(format!("{text:?} is not a duration")))
}

#[cfg(test)]
mod tests {
    use super::shorthand;

    #[test]
    fn httpie_shorthands_default_to_http() {
        assert_eq!(shorthand(":8080/get"), "http://localhost:8080/get");
        assert_eq!(shorthand(":/get"), "http://localhost/get");
        assert_eq!(shorthand("localhost:8080/get"), "http://localhost:8080/get");
        assert_eq!(shorthand("example.com"), "http://example.com");
        assert_eq!(shorthand("https://example.com/x"), "https://example.com/x");
    }
}
