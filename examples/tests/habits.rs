//! The `tidings` binary with curl's and httpie's habits, each through the binary: -X, -d as a
//! form, --data-binary, -G, -L, -I, -s/-S, -w, -o -, httpie's URL shorthands, binary bodies on a
//! terminal, per-option help, short usage errors, one message per error, and `tidings serve`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

fn tidings(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tidings")).args(args).output().expect("the tidings binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn echoed(output: &Output) -> serde_json::Value {
    assert_eq!(output.status.code(), Some(0), "{}", stderr(output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{error}: {}", stdout(output)))
}

/// `tidings serve` on a free port, stopped (by its PID) when dropped.
struct Served {
    child: Child,
    base: String,
    /// With --tls: the CA certificate's file.
    ca: Option<String>,
}

impl Served {
    fn start(tls: bool) -> Served {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tidings"));
        command.args(["serve", "--port", "0"]);
        if tls {
            command.arg("--tls");
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("tidings serve runs");
        // Read the banner to its end, so the server never writes into a closed pipe.
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let base = first.split_whitespace().find(|word| word.contains("://")).unwrap_or_default().to_owned();
        assert!(!base.is_empty(), "no address in {first:?}");
        let second = lines.next().and_then(Result::ok).unwrap_or_default();
        let ca =
            tls.then(|| second.split_whitespace().find(|word| word.ends_with(".pem")).unwrap_or_default().to_owned());
        Served { child, base, ca }
    }

    fn port(&self) -> &str {
        self.base.rsplit(':').next().unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn curls_request_and_body_options() {
    let server = Served::start(false);
    let url = |path: &str| format!("{}{path}", server.base);

    // -X with -d: a form, with its content type, repeated -d joined with '&'.
    let echo = echoed(&tidings(&["-X", "PUT", "-d", "a=1", "-d", "b=2", &url("/put")]));
    assert_eq!(echo["form"], serde_json::json!({"a": "1", "b": "2"}));
    assert_eq!(echo["headers"]["Content-Type"], "application/x-www-form-urlencoded");
    // -d alone means POST; -H names another type.
    let echo = echoed(&tidings(&["-d", "{}", "-H", "Content-Type: application/json", &url("/post")]));
    assert_eq!((&echo["headers"]["Content-Type"], &echo["json"]), (&"application/json".into(), &serde_json::json!({})));
    // --data-binary: the bytes as given, newlines kept.
    let echo = echoed(&tidings(&["--data-binary", "line 1\nline 2", "-H", "Content-Type: text/plain", &url("/post")]));
    assert_eq!(echo["data"], "line 1\nline 2");
    // -G: the data goes in the query of a GET.
    let echo = echoed(&tidings(&["-G", "-d", "q=rust", &url("/get")]));
    assert_eq!(echo["args"]["q"], "rust");
    // -L is accepted (following is the default); --max-redirs is curl's spelling.
    let echo = echoed(&tidings(&["-L", "--max-redirs", "5", &url("/redirect/2")]));
    assert!(echo["url"].as_str().is_some_and(|url| url.ends_with("/get")), "{echo}");
}

#[test]
fn curls_output_options() {
    let server = Served::start(false);
    let url = |path: &str| format!("{}{path}", server.base);

    // -I: HEAD, and only the head is printed.
    let output = tidings(&["-I", &url("/get")]);
    let text = stdout(&output);
    assert!(text.starts_with("HTTP/1.1 200 OK\n"), "{text}");
    assert!(text.ends_with("\n\n") && !text.contains('{'), "no body: {text}");

    // -w: curl's variables after the body; %{json} is the JSON report.
    let output =
        tidings(&["-o", "/dev/null", "-w", "%{http_code} %{num_redirects} %{size_download}\\n", &url("/redirect/1")]);
    let text = stdout(&output);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(&words[..2], ["200", "1"], "{text}");
    assert!(words[2].parse::<u64>().is_ok_and(|size| size > 0), "{text}");
    let output = tidings(&["-s", "-o", "/dev/null", "-w", "%{json}", &url("/status/418")]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the JSON report");
    assert_eq!(report["status"], 418);

    // -s: nothing on stderr, the exit status still tells; -S brings the message back.
    let output = tidings(&["-s", "http://127.0.0.1:1/"]);
    assert_eq!((output.status.code(), stderr(&output).as_str()), (Some(1), ""));
    let output = tidings(&["-sS", "http://127.0.0.1:1/"]);
    assert!(stderr(&output).starts_with("tidings: cannot connect to 127.0.0.1:1"), "{}", stderr(&output));
}

#[test]
fn httpies_url_shorthands_default_to_http() {
    let server = Served::start(false);
    for url in [format!("localhost:{}/get", server.port()), format!(":{}/get", server.port())] {
        let echo = echoed(&tidings(&[&url]));
        assert_eq!(echo["url"], format!("http://localhost:{}/get", server.port()), "{url}");
    }
}

#[test]
fn a_binary_body_on_a_terminal_is_a_notice_unless_asked_for() {
    let server = Served::start(false);
    let url = format!("{}/bytes/2048?seed=3", server.base);
    // `script` gives the binary a terminal for stdout, as a user's shell would.
    let run = |extra: &str| {
        let command = format!("{} {extra} '{url}'", env!("CARGO_BIN_EXE_tidings"));
        Command::new("script").args(["-qec", &command, "/dev/null"]).output().expect("script runs")
    };
    let output = run("");
    let seen = stdout(&output);
    assert!(seen.contains("binary body not shown on a terminal (2048 bytes"), "{seen}");
    assert!(seen.contains("-o -"), "says how to print it anyway: {seen}");
    let output = run("-o -");
    assert!(output.stdout.len() >= 2048, "-o - prints the bytes: {} bytes", output.stdout.len());
    assert!(!stdout(&output).contains("not shown"));
    // Not a terminal: the bytes go through, as to a file.
    assert_eq!(tidings(&[&url]).stdout.len(), 2048);
}

#[test]
fn help_for_every_option_and_for_one() {
    let output = tidings(&["--help"]);
    let text = stdout(&output);
    for option in
        ["--request", "--data", "--data-binary", "--location", "--head", "--silent", "--write-out", "--output"]
    {
        assert!(text.contains(option), "{option} missing from --help");
    }
    assert!(text.contains("Examples:") && text.contains("docs/report.md"), "{text}");
    for asked in ["timeout", "--timeout"] {
        let one = stdout(&tidings(&["--help", asked]));
        assert!(one.starts_with("tidings --timeout SECONDS"), "{one}");
        assert!(one.contains("example:\n  tidings --timeout"), "{one}");
    }
    let one = stdout(&tidings(&["--help", "-X"]));
    assert!(one.contains("the method"), "{one}");
}

#[test]
fn a_mistake_gets_a_short_usage_error_naming_the_option() {
    let output = tidings(&["--timeout", "soon", "localhost:1/"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.starts_with("tidings: --timeout: \"soon\" is not a number of seconds\n"), "{text}");
    assert!(text.contains("see 'tidings --help --timeout'"), "{text}");
    assert!(text.lines().count() <= 3, "short: {text}");
    let text = stderr(&tidings(&["--max-redirect", "2", "localhost:1/"]));
    assert!(text.starts_with("tidings: unknown option --max-redirect (did you mean --max-redirects?)"), "{text}");
    let text = stderr(&tidings(&["-X"]));
    assert!(text.starts_with("tidings: ") && text.contains("-X"), "{text}");
}

#[test]
fn one_clean_message_per_error() {
    let output = tidings(&["http://127.0.0.1:1/"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with("tidings: cannot connect to 127.0.0.1:1: "), "{text}");
    assert!(!text.contains("connect error"), "the kind is not repeated: {text}");
}

#[test]
fn serve_runs_the_test_httpbin_over_http_and_https() {
    let plain = Served::start(false);
    let echo = echoed(&tidings(&[&format!("{}/get", plain.base)]));
    assert_eq!(echo["url"], format!("{}/get", plain.base));

    let secure = Served::start(true);
    let ca = secure.ca.clone().unwrap_or_default();
    let echo = echoed(&tidings(&["--cacert", &ca, &format!("{}/get", secure.base)]));
    assert!(echo["url"].as_str().is_some_and(|url| url.starts_with("https://localhost:")), "{echo}");
    // Without its CA, verification refuses it.
    let output = tidings(&[&format!("{}/get", secure.base)]);
    assert_eq!(output.status.code(), Some(1));
    let _ = std::fs::remove_file(ca);
}
