//! The `tidings` binary end to end: `decode` reports are identical under every split, the
//! report's fields, retries, Digest, `-v`, uploads; and (ignored unless run with `--ignored`
//! beside `../shared`) the shared contract checker. curl's and httpie's habits are in
//! `habits.rs`.

use std::path::Path;
use std::process::{Command, Stdio};

#[path = "../../transport-std/tests/common/socks.rs"]
mod socks;

fn tidings(args: &[&str], stdin: &[u8]) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tidings binary runs");
    child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
    let output = child.wait_with_output().expect("tidings finishes");
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

fn report(args: &[&str], stdin: &[u8]) -> (i32, serde_json::Value) {
    let (code, stdout) = tidings(args, stdin);
    let mut value: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    value.as_object_mut().expect("an object").remove("elapsed_ms");
    (code, value)
}

fn captures() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut paths: Vec<_> =
        std::fs::read_dir(dir).expect("captures").map(|entry| entry.expect("entry").path()).collect();
    paths.sort();
    paths
}

#[test]
fn decode_reports_do_not_depend_on_the_split() {
    for path in captures() {
        let bytes = std::fs::read(&path).expect("capture");
        let (code, whole) = report(&["decode", "--report", "json", "-"], &bytes);
        assert_eq!(code, 0, "{}", path.display());
        for split in [["--split", "1"], ["--split", "7"], ["--split-seed", "1"], ["--split-seed", "99"]] {
            let (_, other) = report(&["decode", "--report", "json", split[0], split[1], "-"], &bytes);
            assert_eq!(whole, other, "{} with {split:?}", path.display());
        }
    }
}

#[test]
fn decode_report_fields() {
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/early-hints.http");
    let (code, value) = report(&["decode", "--report", "json", capture.to_str().expect("utf-8 path")], b"");
    assert_eq!(code, 0);
    assert_eq!(value["status"], 200);
    assert_eq!(value["informational"][0]["status"], 103);
    assert_eq!(value["informational"][0]["headers"][0][0], "Link");
    assert_eq!(value["body_b64"], "aGVsbG8gd29ybGQK");
    assert_eq!(value["keep_alive"], true);
    assert_eq!(value["close_reason"], serde_json::Value::Null);
    assert!(value.get("text").is_none(), "no charset named, no text");
}

#[test]
fn text_appears_when_a_charset_is_named() {
    let capture =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Length: 4\r\n\r\ncaf\xe9";
    let (code, value) = report(&["decode", "--report", "json"], capture);
    assert_eq!(code, 0);
    assert_eq!(value["text"], "caf\u{e9}");
    assert_eq!(value["body_b64"], "Y2Fm6Q==");
}

#[test]
fn decode_errors_exit_1_and_usage_errors_exit_2() {
    let (code, value) = report(&["decode", "--report", "json"], b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n");
    assert_eq!(code, 1);
    assert_eq!(value["error"]["kind"], "protocol");
    assert_eq!(value["status"], serde_json::Value::Null);
    let (code, _) = tidings(&["decode", "--split"], b"");
    assert_eq!(code, 2);
    let (code, _) = tidings(&["decode", "--report", "xml"], b"");
    assert_eq!(code, 2);
}

#[test]
fn non_utf8_octets_map_to_latin1() {
    let (_, value) =
        report(&["decode", "--report", "json"], b"HTTP/1.1 200 \xe9t\xe9\r\nX-A: caf\xe9\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(value["reason"], "\u{e9}t\u{e9}");
    assert_eq!(value["headers"][0][1], "caf\u{e9}");
}

#[test]
#[ignore = "needs ../shared/contract-check.py beside the checkout; CI's contract step runs the checker"]
fn shared_contract_checker_passes() {
    let checker = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/contract-check.py");
    assert!(checker.exists(), "{} is not beside this checkout", checker.display());
    let output = Command::new("python3")
        .arg(&checker)
        .arg(env!("CARGO_BIN_EXE_tidings"))
        .output()
        .expect("python3 runs the contract checker");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "contract check failed:\n{stdout}");
    assert!(stdout.contains("14 passed, 0 failed"), "{stdout}");
}

#[test]
fn digest_credentials_from_the_command_line() {
    let httpbin = tidings_httpbin::Server::start().expect("httpbin");
    let url = httpbin.url("/digest-auth/auth/user/pass/MD5");
    let (code, value) = report(&["--report", "json", "-u", "user:pass", "--digest", &url], b"");
    assert_eq!((code, &value["status"]), (0, &serde_json::json!(200)), "{value}");
    // Without --digest, -u is Basic, which this endpoint refuses.
    let (code, value) = report(&["--report", "json", "-u", "user:pass", &url], b"");
    assert_eq!((code, &value["status"]), (0, &serde_json::json!(401)), "{value}");
}

#[test]
fn verbose_shows_every_head_exactly_as_it_crossed_the_wire() {
    let httpbin = tidings_httpbin::Server::start().expect("httpbin");
    let url = httpbin.url("/redirect/1");
    let host = url.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
    for transport in ["std", "mio"] {
        let output = Command::new(env!("CARGO_BIN_EXE_tidings"))
            .args(["-v", "--transport", transport, "-H", "X-Trace: 1", &url])
            .output()
            .expect("the tidings binary runs");
        assert_eq!(output.status.code(), Some(0));
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Both hops, with what the core added: Host, User-Agent, Accept, Accept-Encoding.
        for line in [
            "> GET /redirect/1 HTTP/1.1".to_owned(),
            format!("> Host: {host}"),
            "> X-Trace: 1".to_owned(),
            "< HTTP/1.1 302 Found".to_owned(),
            "> GET /get HTTP/1.1".to_owned(),
            "< HTTP/1.1 200 OK".to_owned(),
        ] {
            assert!(stderr.lines().any(|seen| seen == line), "{transport}: {line:?} missing from\n{stderr}");
        }
        assert!(stderr.lines().any(|line| line.starts_with("> User-Agent: tidings/")), "{transport}: {stderr}");
        assert!(stderr.lines().any(|line| line.starts_with("> Accept-Encoding: gzip")), "{transport}: {stderr}");
    }
}

#[test]
fn data_binary_from_a_file_is_streamed_with_its_length() {
    use base64::Engine as _;
    let httpbin = tidings_httpbin::Server::start().expect("httpbin");
    let path = std::env::temp_dir().join(format!("tidings-upload-{}.bin", std::process::id()));
    let content: Vec<u8> = (0..300_000u32).map(|index| b'a' + (index % 26) as u8).collect();
    std::fs::write(&path, &content).expect("write the upload");
    let argument = format!("@{}", path.display());
    for transport in ["std", "mio"] {
        // As with curl, --data-binary is sent as a form unless -H names its type.
        let args = [
            "--report",
            "json",
            "--transport",
            transport,
            "--data-binary",
            &argument,
            "-H",
            "Content-Type: application/octet-stream",
            &httpbin.url("/anything"),
        ];
        let (code, value) = report(&args, b"");
        assert_eq!((code, &value["status"]), (0, &serde_json::json!(200)), "{transport}: {value}");
        let body = base64::engine::general_purpose::STANDARD
            .decode(value["body_b64"].as_str().unwrap_or_default())
            .expect("base64");
        let echoed: serde_json::Value = serde_json::from_slice(&body).expect("httpbin's JSON");
        assert_eq!(echoed["method"], "POST", "{transport}");
        assert_eq!(echoed["headers"]["Content-Length"], "300000", "{transport}: a file has a known length");
        assert_eq!(echoed["data"].as_str().map(str::len), Some(300_000), "{transport}");
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn retries_that_run_out_report_the_last_response_as_curl_does() {
    let httpbin = tidings_httpbin::Server::start().expect("httpbin");
    let url = httpbin.url("/status/503");
    let args = ["--report", "json", "--retries", "2", "--retry-status", "503", &url];
    let (code, value) = report(&args, b"");
    assert_eq!((code, &value["status"], &value["error"]), (0, &serde_json::json!(503), &serde_json::Value::Null));
    // With --fail, the last response is an http_status error, as any 5xx is.
    let (code, value) = report(&[&args[..], &["--fail"]].concat(), b"");
    assert_eq!((code, &value["error"]["kind"]), (1, &serde_json::json!("http_status")), "{value}");
}

#[test]
fn the_cli_goes_through_a_socks_proxy_on_both_transports() {
    let httpbin = tidings_httpbin::Server::start().expect("httpbin");
    let proxy = socks::SocksProxy::start(socks::Socks::Relay(Some(("me", "pw"))));
    let proxy_url = proxy.url("socks5h", Some(("me", "pw")));
    for transport in ["std", "mio"] {
        let args = ["--report", "json", "--transport", transport, "--proxy", &proxy_url, &httpbin.url("/get")];
        let (code, value) = report(&args, b"");
        assert_eq!((code, &value["status"]), (0, &serde_json::json!(200)), "{transport}: {value}");
    }
    let requests = proxy.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests.iter().all(|request| request.version == 5 && request.user.as_deref() == Some("me")));
}
