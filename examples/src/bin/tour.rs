//! The Requests quickstart, step by step, with the `tidings` crate.
//!
//! `cargo run -p tidings-examples --bin tour` runs it against an in-process httpbin on
//! loopback; `--base http://127.0.0.1:8080` runs it against another httpbin.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;
use tidings::{Auth, Error, PreparedRequest, Session, StatusCode};

type Result<T> = std::result::Result<T, Error>;

fn main() -> std::process::ExitCode {
    let mut arguments = std::env::args().skip(1);
    let (base, _server) = match (arguments.next().as_deref(), arguments.next()) {
        (Some("--base"), Some(base)) => (base.trim_end_matches('/').to_owned(), None),
        (None, _) => match tidings_httpbin::Server::start() {
            Ok(server) => (server.url(""), Some(server)),
            Err(error) => {
                eprintln!("tour: cannot start the local httpbin: {error}");
                return std::process::ExitCode::FAILURE;
            }
        },
        _ => {
            eprintln!("usage: tour [--base URL]");
            return std::process::ExitCode::from(2);
        }
    };
    println!("# The tour: the Requests quickstart with tidings, against {base}\n");
    match tour(&base) {
        Ok(()) => {
            println!("\nTour complete.");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tour failed: {} error: {error}", error.kind());
            std::process::ExitCode::FAILURE
        }
    }
}

fn step(title: &str) {
    println!("\n## {title}");
}

fn show(code: &str, result: impl std::fmt::Display) {
    println!(">>> {code}\n{result}");
}

fn tour(base: &str) -> Result<()> {
    let url = |path: &str| format!("{base}{path}");

    step("Make a request");
    let r = tidings::get(&url("/get"))?;
    show("r = tidings::get(\"/get\")?; r.status()", r.status());
    show("r.headers().get_str(\"content-type\")", r.headers().get_str("content-type").unwrap_or("-"));
    r.bytes()?;
    use tidings::Method;
    for (method, path) in [
        (Method::POST, "/post"),
        (Method::PUT, "/put"),
        (Method::DELETE, "/delete"),
        (Method::HEAD, "/get"),
        (Method::OPTIONS, "/get"),
    ] {
        let r = tidings::request(method.clone(), &url(path)).send()?;
        show(&format!("tidings::request(Method::{method}, \"{path}\").send()?.status()"), r.status());
    }

    step("Passing parameters in URLs");
    let r = tidings::request(tidings::Method::GET, &url("/get"))
        .query([("key1", "value1"), ("key2", "value2"), ("key2", "value3")])
        .send()?;
    show(".query([(\"key1\", \"value1\"), (\"key2\", \"value2\"), (\"key2\", \"value3\")]); r.url()", r.url());
    r.bytes()?;

    step("Response content: text, bytes, JSON");
    let r = tidings::get(&url("/encoding/utf8"))?;
    show("r.headers().get_str(\"content-type\")", r.headers().get_str("content-type").unwrap_or("-"));
    let text = r.text()?;
    show(
        "r.text()?  (charset from Content-Type, else BOM, else UTF-8)",
        text.lines().take(2).collect::<Vec<_>>().join("\n"),
    );
    let bytes = tidings::get(&url("/bytes/16?seed=1"))?.bytes()?;
    show("tidings::get(\"/bytes/16\")?.bytes()?", format!("{bytes:02x?}"));
    let json: Value = tidings::get(&url("/get"))?.json()?;
    show("r.json::<serde_json::Value>()?[\"url\"]", &json["url"]);

    step("Raw response content: streaming with Read");
    let mut r = tidings::get(&url("/stream/3"))?;
    let mut first = [0u8; 24];
    r.read_exact(&mut first).map_err(Error::from)?;
    show("r.read_exact(&mut [0u8; 24])", String::from_utf8_lossy(&first));
    let lines = tidings::get(&url("/stream/3"))?.lines()?;
    show("r.lines()?.count()", lines.count());

    step("Custom headers");
    let json: Value =
        tidings::request(tidings::Method::GET, &url("/headers")).header("user-agent", "my-app/0.0.1").send()?.json()?;
    show(".header(\"user-agent\", \"my-app/0.0.1\") -> server saw", &json["headers"]["User-Agent"]);

    step("More complicated POST requests");
    let session = Session::new();
    let json: Value = session.post(&url("/post")).form([("key1", "value1"), ("key2", "value2")]).send()?.json()?;
    show("session.post(..).form([(\"key1\", \"value1\"), (\"key2\", \"value2\")])  -> form", &json["form"]);
    let json: Value = session.post(&url("/post")).json(&serde_json::json!({"some": "data"})).send()?.json()?;
    show("session.post(..).json(&json!({\"some\": \"data\"}))  -> json", &json["json"]);
    let json: Value =
        session.post(&url("/post")).body_reader(std::io::Cursor::new(b"streamed".to_vec()), None).send()?.json()?;
    show("session.post(..).body_reader(reader, None)  -> sent chunked", &json["headers"]["Transfer-Encoding"]);

    step("Response status codes");
    let r = session.get(&url("/get")).send()?;
    show("r.status() == StatusCode::OK", r.status() == StatusCode::OK);
    r.bytes()?;
    let bad = session.get(&url("/status/404")).send()?;
    show("bad.status()", bad.status());
    match bad.error_for_status() {
        Err(error) => show("bad.error_for_status()", format!("Err({} error: {error})", error.kind())),
        Ok(_) => show("bad.error_for_status()", "Ok"),
    }

    step("Response headers (case-insensitive, wire order kept)");
    let r = session.get(&url("/response-headers")).query([("X-Custom", "1"), ("X-Custom", "2")]).send()?;
    show("r.headers().get_str(\"x-custom\")", r.headers().get_str("X-CUSTOM").unwrap_or("-"));
    show("r.headers().get_all(\"x-custom\").count()", r.headers().get_all("x-custom").count());
    r.bytes()?;

    step("Cookies (a session jar: domain, path, Secure and public-suffix rules)");
    let r = session.get(&url("/cookies/set")).query([("flavour", "ginger")]).send()?;
    let json: Value = r.json()?;
    show("session.get(\"/cookies/set?flavour=ginger\") -> /cookies", &json["cookies"]);
    show("session.cookies().get(\"flavour\")", session.cookies().get("flavour").unwrap_or("-"));
    let r = session.get(&url("/cookies")).cookie("extra", "1").send()?;
    let json: Value = r.json()?;
    show(".cookie(\"extra\", \"1\")  (this request only)", &json["cookies"]);

    step("Redirection and history");
    let r = session.get(&url("/redirect/2")).send()?;
    show("r = session.get(\"/redirect/2\"); r.url()", r.url());
    show("r.history()", format!("{:?}", r.history().iter().map(|url| url.path()).collect::<Vec<_>>()));
    r.bytes()?;
    let manual = Session::builder().no_redirects().build()?;
    let r = manual.get(&url("/redirect/1")).send()?;
    show(
        "Session::builder().no_redirects() .. get(\"/redirect/1\")",
        format!("{} -> {}", r.status(), r.headers().get_str("location").unwrap_or("-")),
    );

    step("Timeouts (finite by default: connect 10 s, read 30 s)");
    let quick = Session::builder().timeout(Duration::from_millis(500)).build()?;
    match quick.get(&url("/delay/3")).send() {
        Err(error) => {
            show("Session::builder().timeout(500 ms) .. get(\"/delay/3\")", format!("Err({} error)", error.kind()))
        }
        Ok(r) => show("get(\"/delay/3\")", r.status()),
    }

    step("Retries with backoff, mounted on a prefix (Requests' session.mount + HTTPAdapter(max_retries=Retry(..)))");
    let retries = tidings::RetryPolicy::new(2).status_forcelist([503]).backoff_factor(Duration::from_millis(50));
    let patient = Session::builder().mount(url("/status/"), tidings::Profile::new().retries(retries)).build()?;
    // Retries that run out are an error (urllib3's raise_on_status) that keeps the last response.
    let outcome = match patient.get(&url("/status/503")).send() {
        Err(error) => {
            let last = error.response().map(|r| format!("{} after {} attempts", r.status(), r.attempts()));
            format!(
                "get(\"/status/503\") -> Err({} error); error.response(): {}",
                error.kind(),
                last.unwrap_or_default()
            )
        }
        Ok(r) => format!("get(\"/status/503\") -> {} after {} attempts", r.status(), r.attempts()),
    };
    show(
        "Session::builder().mount(\"/status/\", Profile::new().retries(RetryPolicy::new(2).status_forcelist([503])))",
        outcome,
    );
    let r = patient.get(&url("/get")).send()?;
    show(
        "the same session, get(\"/get\") (outside the prefix)",
        format!("{} after {} attempt", r.status(), r.attempts()),
    );
    r.bytes()?;

    step("Errors");
    match tidings::get("http://127.0.0.1:9/") {
        Err(error) => show("tidings::get(\"http://127.0.0.1:9/\")", format!("Err({} error)", error.kind())),
        Ok(r) => show("tidings::get(\"http://127.0.0.1:9/\")", r.status()),
    }
    match session.get(&url("/get")).header("X-Evil", "a\r\nInjected: 1").send() {
        Err(error) => show(
            ".header(\"X-Evil\", \"a\\r\\nInjected: 1\")",
            format!("Err({} error) - nothing was sent", error.kind()),
        ),
        Ok(r) => show(".header(\"X-Evil\", ..)", r.status()),
    }

    step("Authentication");
    let r = session.get(&url("/basic-auth/user/pass")).basic_auth("user", Some("pass")).send()?;
    show(".basic_auth(\"user\", Some(\"pass\"))", r.status());
    r.bytes()?;
    let r = session.get(&url("/digest-auth/auth/user/pass/SHA-256")).digest_auth("user", "pass").send()?;
    show(".digest_auth(\"user\", \"pass\")  (RFC 7616, SHA-256; one challenge answered)", r.status());
    r.bytes()?;
    let r = session.get(&url("/bearer")).auth(TokenAuth("custom-token")).send()?;
    let json: Value = r.json()?;
    show(".auth(TokenAuth(..))  (a user-defined Auth, like Requests' AuthBase)", &json["token"]);

    step("Prepared requests");
    let prepared = session.post(&url("/post")).query([("q", "1")]).body("payload").build()?;
    show("prepared.method(), prepared.url()", format!("{} {}", prepared.method(), prepared.url()));
    let r = session.send(prepared)?;
    show("session.send(prepared)?.status()", r.status());
    r.bytes()?;

    step("Session objects: defaults and connection reuse");
    let session = Session::builder().header("X-Session", "tour").build()?;
    for round in 1..=3 {
        let r = session.get(&url("/headers")).send()?;
        let reused = r.reused_connection();
        let json: Value = r.json()?;
        show(
            &format!("round {round}: reused connection, X-Session seen"),
            format!("{reused}, {}", json["headers"]["X-Session"]),
        );
    }
    show("session.idle_connections()", session.idle_connections());

    step("TLS: verification on by default, a custom CA bundle");
    let secure = tidings_httpbin::Server::start_tls().map_err(Error::from)?;
    let ca_path = std::env::temp_dir().join(format!("tidings-tour-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_path, secure.ca_pem().unwrap_or_default()).map_err(Error::from)?;
    match tidings::get(&secure.url("/get")) {
        Err(error) => show(
            &format!("tidings::get(\"{}\")  (webpki roots)", secure.url("/get")),
            format!("Err({} error)", error.kind()),
        ),
        Ok(r) => show("tidings::get(https)", r.status()),
    }
    let trusting = Session::builder().tls(tidings::TlsSettings::default().ca_bundle(&ca_path)).build()?;
    let r = trusting.get(&secure.url("/get")).send()?;
    show("Session::builder().tls(TlsSettings::default().ca_bundle(\"ca.pem\")) .. get(https)", r.status());
    r.bytes()?;
    let _ = std::fs::remove_file(&ca_path);

    step("Compressed responses are decoded");
    for (coding, key) in [("gzip", "gzipped"), ("deflate", "deflated"), ("brotli", "brotli")] {
        let json: Value = session.get(&url(&format!("/{coding}"))).send()?.json()?;
        show(&format!("get(\"/{coding}\")?.json()?[\"{key}\"]"), &json[key]);
    }
    Ok(())
}

/// A custom auth scheme: the `AuthBase` of Requests.
struct TokenAuth(&'static str);

impl Auth for TokenAuth {
    fn apply(&self, request: &mut PreparedRequest) -> Result<()> {
        request.headers_mut().insert("Authorization", format!("Bearer {}", self.0));
        Ok(())
    }
}
