//! What a response prints as, for people: curl's `-i` head, the body (or a notice instead of
//! binary bytes on a terminal, as httpie does), and curl's `-w` format.

use std::io::Write;

use base64::Engine as _;

use crate::report::Report;
use crate::Usage;

/// The `-w` variables, as curl names them.
const VARIABLES: &[&str] = &[
    "json",
    "http_code",
    "response_code",
    "url_effective",
    "time_total",
    "num_redirects",
    "size_download",
    "content_type",
    "errormsg",
];

/// Refuses a `-w` format naming a variable this client does not know.
pub fn check_write_out(format: &str) -> Result<(), Usage> {
    for (_, rest) in format.match_indices("%{").map(|(at, _)| format.split_at(at + 2)) {
        let name = rest.split('}').next().unwrap_or_default();
        if !VARIABLES.contains(&name) {
            return Err(Usage::new(format!("unknown -w variable %{{{name}}} (known: {})", VARIABLES.join(", "))));
        }
    }
    Ok(())
}

/// `format` with its variables replaced by what `report` says (`size` is the body's length
/// as downloaded, also when written to a file).
pub fn write_out(format: &str, report: &Report, size: u64) -> String {
    let header = |name: &str| {
        report.headers.iter().find(|[field, _]| field.eq_ignore_ascii_case(name)).map(|[_, value]| value.clone())
    };
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find(['%', '\\']) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        if let Some(escaped) = rest.strip_prefix('\\') {
            let (replacement, used) = match escaped.chars().next() {
                Some('n') => ("\n", 2),
                Some('t') => ("\t", 2),
                Some('r') => ("\r", 2),
                Some('\\') => ("\\", 2),
                _ => ("\\", 1),
            };
            out.push_str(replacement);
            rest = &rest[used..];
            continue;
        }
        let Some(name) = rest.strip_prefix("%{").and_then(|inner| inner.split_once('}')).map(|(name, _)| name) else {
            out.push('%');
            rest = &rest[1..];
            continue;
        };
        let value = match name {
            "json" => report.to_json(),
            "http_code" | "response_code" => format!("{:03}", report.status.unwrap_or(0)),
            "url_effective" => report.url.clone().unwrap_or_default(),
            "time_total" => format!("{:.6}", report.elapsed_ms / 1000.0),
            "num_redirects" => report.redirects.len().to_string(),
            "size_download" => size.to_string(),
            "content_type" => header("content-type").unwrap_or_default(),
            "errormsg" => report.error.as_ref().map(|error| error.message.clone()).unwrap_or_default(),
            _ => String::new(),
        };
        out.push_str(&value);
        rest = &rest[name.len() + 3..];
    }
    out.push_str(rest);
    out
}

/// How the body is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Printed as it is.
    Shown,
    /// Not printed: binary bytes bound for a terminal (a notice goes to stderr instead).
    Withheld,
    /// Not printed at all (`-I`, or the body went to a file).
    Omitted,
}

/// Whether `body` looks like binary data: a NUL byte in its first 8 KiB (the rule git and
/// httpie use).
pub fn is_binary(body: &[u8]) -> bool {
    body[..body.len().min(8192)].contains(&0)
}

/// The one-line notice printed instead of a binary body.
pub fn binary_notice(report: &Report, size: usize) -> String {
    let kind = report
        .headers
        .iter()
        .find(|[name, _]| name.eq_ignore_ascii_case("content-type"))
        .map(|[_, value]| format!(", {value}"))
        .unwrap_or_default();
    format!("tidings: binary body not shown on a terminal ({size} bytes{kind}); use -o FILE to save it, or -o - to print it")
}

/// curl's `-i` style: informational heads and the final head when `include_head`, then the
/// decoded body as `body` says, then trailers.
pub fn print_human(out: &mut impl Write, report: &Report, include_head: bool, body: Body) -> std::io::Result<()> {
    let version = report.version.as_deref().unwrap_or("HTTP/1.1");
    for interim in report.informational.iter().filter(|_| include_head) {
        writeln!(out, "{version} {}", interim.status)?;
        for [name, value] in &interim.headers {
            writeln!(out, "{name}: {value}")?;
        }
        writeln!(out)?;
    }
    if let (true, Some(status)) = (include_head, report.status) {
        writeln!(out, "{version} {status} {}", report.reason.as_deref().unwrap_or(""))?;
        for [name, value] in &report.headers {
            writeln!(out, "{name}: {value}")?;
        }
        writeln!(out)?;
    }
    if body == Body::Shown {
        out.write_all(&body_bytes(report))?;
        for [name, value] in &report.trailers {
            writeln!(out, "\n{name}: {value}")?;
        }
    }
    Ok(())
}

/// The decoded body the report carries.
pub fn body_bytes(report: &Report) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(&report.body_b64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_out_expands_curls_variables_and_escapes() {
        let report = Report {
            status: Some(204),
            url: Some("http://x/".into()),
            redirects: vec!["http://x/a".into()],
            elapsed_ms: 1500.0,
            headers: vec![["Content-Type".into(), "text/plain".into()]],
            ..Report::default()
        };
        let out = write_out(
            "%{http_code} %{url_effective} %{num_redirects} %{time_total} %{content_type} %{size_download}\\n%",
            &report,
            7,
        );
        assert_eq!(out, "204 http://x/ 1 1.500000 text/plain 7\n%");
        assert!(write_out("%{json}", &report, 0).starts_with("{\"status\":204"));
        assert!(check_write_out("%{http_code}\\n").is_ok());
        assert!(check_write_out("%{nope}").is_err());
    }

    #[test]
    fn binary_is_a_nul_byte() {
        assert!(is_binary(b"\x89PNG\r\n\x1a\n\0\0"));
        assert!(!is_binary("café, ☕".as_bytes()));
    }
}
