//! An httpbin-compatible server on hyper, for tests and the tour: started in-process on an
//! ephemeral loopback port, stopped when dropped.
//!
//! ```no_run
//! let server = tidings_httpbin::Server::start().expect("loopback");
//! println!("{}", server.url("/get"));
//! ```
//!
//! Endpoints follow httpbin's shapes: `/get`, `/post`, `/put`, `/patch`, `/delete`,
//! `/anything`, `/status/{code}`, `/redirect/{n}`, `/relative-redirect/{n}`,
//! `/absolute-redirect/{n}`, `/redirect-to`, `/basic-auth/{user}/{pass}`,
//! `/digest-auth/{qop}/{user}/{pass}[/{algorithm}]`, `/bearer`,
//! `/cookies`, `/cookies/set`, `/delay/{s}`, `/drip`, `/stream/{n}`, `/bytes/{n}`, `/gzip`,
//! `/deflate`, `/brotli`, `/headers`, `/response-headers`, `/encoding/utf8`.

#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};

type Body = BoxBody<Bytes, Infallible>;

/// A running server; dropping it stops it.
pub struct Server {
    address: SocketAddr,
    scheme: &'static str,
    ca_pem: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts on `127.0.0.1` with an ephemeral port.
    pub fn start() -> std::io::Result<Server> {
        Server::start_on(0, false)
    }

    /// Starts an HTTPS server with a certificate for `localhost` and `127.0.0.1`, issued by a
    /// CA made for it; [`ca_pem`](Self::ca_pem) is that CA, for the client to trust.
    pub fn start_tls() -> std::io::Result<Server> {
        Server::start_on(0, true)
    }

    /// Starts on `127.0.0.1:port` (0: an ephemeral port), over HTTPS when `tls`.
    pub fn start_on(port: u16, tls: bool) -> std::io::Result<Server> {
        if !tls {
            return Server::launch(port, None, None);
        }
        let failure = |error: rcgen::Error| std::io::Error::other(error.to_string());
        let ca_key = rcgen::KeyPair::generate().map_err(failure)?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(failure)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "tidings-httpbin CA");
        let ca = ca_params.self_signed(&ca_key).map_err(failure)?;
        let key = rcgen::KeyPair::generate().map_err(failure)?;
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let leaf =
            rcgen::CertificateParams::new(names).map_err(failure)?.signed_by(&key, &ca, &ca_key).map_err(failure)?;
        let private = tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der());
        let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder.with_no_client_auth().with_single_cert(vec![leaf.der().clone()], private.into())
            })
            .map_err(std::io::Error::other)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        Server::launch(port, Some(acceptor), Some(ca.pem()))
    }

    fn launch(
        port: u16,
        acceptor: Option<tokio_rustls::TlsAcceptor>,
        ca_pem: Option<String>,
    ) -> std::io::Result<Server> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let thread = std::thread::spawn(move || runtime.block_on(serve(listener, acceptor, stopped)));
        Ok(Server { address, scheme, ca_pem, stop: Some(stop), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT`) followed by `path`.
    pub fn url(&self, path: &str) -> String {
        match self.scheme {
            "https" => format!("https://localhost:{}{path}", self.address.port()),
            _ => format!("http://{}{path}", self.address),
        }
    }

    /// For a TLS server, the PEM of the CA that issued its certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until the process ends (for `tidings serve`).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => return,
        };
        let Ok((stream, peer)) = accepted else { continue };
        let acceptor = acceptor.clone();
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| handle(request, peer, scheme));
            let http = hyper::server::conn::http1::Builder::new();
            let _ = match acceptor {
                None => http.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(tls) => http.serve_connection(hyper_util::rt::TokioIo::new(tls), service).await,
                    Err(_) => return,
                },
            };
        });
    }
}

async fn handle(request: Request<Incoming>, peer: SocketAddr, scheme: &str) -> Result<Response<Body>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|collected| collected.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let echo = || Echo { parts: &parts, body: &body, peer, scheme };
    let response = match (&parts.method, segments.as_slice()) {
        (&Method::GET | &Method::HEAD, ["get"]) => json_response(StatusCode::OK, echo().value(false)),
        (method, ["post" | "put" | "patch" | "delete"]) if method.as_str().eq_ignore_ascii_case(segments[0]) => {
            json_response(StatusCode::OK, echo().value(true))
        }
        (_, ["anything", ..]) => {
            let mut value = echo().value(true);
            value["method"] = json!(parts.method.as_str());
            json_response(StatusCode::OK, value)
        }
        (&Method::OPTIONS, _) => {
            let mut response = empty(StatusCode::OK);
            response
                .headers_mut()
                .insert("allow", HeaderValue::from_static("GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE"));
            response
        }
        (_, ["status", codes]) => {
            let code = codes.split(',').next().and_then(|code| code.parse::<u16>().ok());
            match code.and_then(|code| StatusCode::from_u16(code).ok()) {
                Some(status) => empty(status),
                None => text(StatusCode::BAD_REQUEST, "Invalid status code"),
            }
        }
        (_, ["redirect" | "relative-redirect", count]) => redirect(count, |next| format!("/relative-redirect/{next}")),
        (_, ["absolute-redirect", count]) => {
            let host = header(&parts, "host").unwrap_or_default();
            redirect(count, |next| format!("http://{host}/absolute-redirect/{next}"))
        }
        (_, ["redirect-to"]) => {
            let query = query_map(&parts);
            let status = query.get("status_code").and_then(|code| code.parse::<u16>().ok()).unwrap_or(302);
            let mut response = empty(StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND));
            if let Some(Ok(location)) = query.get("url").map(|url| HeaderValue::from_str(url)) {
                response.headers_mut().insert(LOCATION, location);
            }
            response
        }
        (_, ["basic-auth", user, password]) => {
            let expected =
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
            if header(&parts, "authorization").as_deref() == Some(expected.as_str()) {
                json_response(StatusCode::OK, json!({"authenticated": true, "user": user}))
            } else {
                let mut response = empty(StatusCode::UNAUTHORIZED);
                response
                    .headers_mut()
                    .insert("www-authenticate", HeaderValue::from_static("Basic realm=\"Fake Realm\""));
                response
            }
        }
        (_, ["digest-auth", qop, user, password, rest @ ..]) if rest.len() <= 1 => {
            let algorithm = rest.first().copied().unwrap_or("MD5");
            digest_auth(&parts, qop, user, password, algorithm)
        }
        (_, ["bearer"]) => {
            match header(&parts, "authorization").and_then(|value| value.strip_prefix("Bearer ").map(str::to_owned)) {
                Some(token) => json_response(StatusCode::OK, json!({"authenticated": true, "token": token})),
                None => {
                    let mut response = empty(StatusCode::UNAUTHORIZED);
                    response.headers_mut().insert("www-authenticate", HeaderValue::from_static("Bearer"));
                    response
                }
            }
        }
        (_, ["cookies"]) => json_response(StatusCode::OK, json!({"cookies": cookies(&parts)})),
        (_, ["cookies", "set"]) => {
            let mut response = empty(StatusCode::FOUND);
            response.headers_mut().insert(LOCATION, HeaderValue::from_static("/cookies"));
            for (name, value) in query_pairs(&parts) {
                if let Ok(cookie) = HeaderValue::from_str(&format!("{name}={value}; Path=/")) {
                    response.headers_mut().append("set-cookie", cookie);
                }
            }
            response
        }
        (_, ["delay", seconds]) => {
            let seconds: f64 = seconds.parse().unwrap_or(0.0);
            tokio::time::sleep(Duration::from_secs_f64(seconds.clamp(0.0, 10.0))).await;
            json_response(StatusCode::OK, echo().value(true))
        }
        (_, ["drip"]) => drip(&query_map(&parts)),
        (_, ["stream", count]) => stream_lines(count.parse().unwrap_or(1), echo().value(false)),
        (_, ["bytes", count]) => {
            let count: usize = count.parse::<usize>().unwrap_or(0).min(100 * 1024 * 1024);
            let seed = query_map(&parts).get("seed").and_then(|seed| seed.parse::<u64>().ok()).unwrap_or(0);
            let mut response = Response::new(full(pseudo_random(count, seed)));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            response
        }
        (_, [coding @ ("gzip" | "deflate" | "brotli")]) => {
            let mut value = echo().value(false);
            // httpbin's own keys: gzipped, deflated, brotli.
            let key = match *coding {
                "gzip" => "gzipped",
                "deflate" => "deflated",
                _ => "brotli",
            };
            value[key] = json!(true);
            encoded(coding, &value)
        }
        (_, ["headers"]) => json_response(StatusCode::OK, json!({"headers": echo().headers()})),
        (_, ["response-headers"]) => {
            let pairs = query_pairs(&parts);
            let mut response = json_response(
                StatusCode::OK,
                Value::Object(pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect()),
            );
            for (name, value) in pairs {
                if let (Ok(name), Ok(value)) =
                    (hyper::header::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
                {
                    response.headers_mut().append(name, value);
                }
            }
            response
        }
        (_, ["encoding", "utf8"]) => {
            let mut response = Response::new(full(
                "<h1>Unicode Demo</h1>\n∮ E⋅da = Q,  n → ∞, ∑ f(i) = ∏ g(i)\nΣὲ γνωρίζω ἀπὸ τὴν κόψη\n"
                    .as_bytes()
                    .to_vec(),
            ));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            response
        }
        _ => text(StatusCode::NOT_FOUND, "Not Found"),
    };
    Ok(response)
}

/// What httpbin echoes back about a request.
struct Echo<'a> {
    parts: &'a hyper::http::request::Parts,
    body: &'a Bytes,
    peer: SocketAddr,
    /// How the request arrived (`http` or `https`), for the echoed URL.
    scheme: &'a str,
}

impl Echo<'_> {
    fn headers(&self) -> Map<String, Value> {
        let mut headers = Map::new();
        for (name, value) in &self.parts.headers {
            let name = title_case(name.as_str());
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.get_mut(&name) {
                Some(Value::String(existing)) => *existing = format!("{existing},{value}"),
                _ => {
                    headers.insert(name, json!(value));
                }
            }
        }
        headers
    }

    fn value(&self, with_body: bool) -> Value {
        let host = header(self.parts, "host").unwrap_or_default();
        let mut args = Map::new();
        for (key, value) in query_pairs(self.parts) {
            match args.get_mut(&key) {
                Some(Value::Array(values)) => values.push(json!(value)),
                Some(existing) => *existing = json!([existing.clone(), value]),
                None => {
                    args.insert(key, json!(value));
                }
            }
        }
        let mut value = json!({
            "args": args,
            "headers": self.headers(),
            "origin": self.peer.ip().to_string(),
            // The URL as the client asked for it: an absolute-form target (through a proxy)
            // is already whole.
            "url": match self.parts.uri.scheme() {
                Some(_) => self.parts.uri.to_string(),
                None => format!("{}://{host}{}", self.scheme, self.parts.uri),
            },
        });
        if with_body {
            let content_type = header(self.parts, "content-type").unwrap_or_default();
            let text = String::from_utf8_lossy(self.body).into_owned();
            let (form, files): (Map<String, Value>, Map<String, Value>) = if content_type
                .starts_with("application/x-www-form-urlencoded")
            {
                (url::form_urlencoded::parse(self.body).map(|(k, v)| (k.into_owned(), json!(v))).collect(), Map::new())
            } else if content_type.starts_with("multipart/form-data") {
                multipart(&content_type, self.body)
            } else {
                (Map::new(), Map::new())
            };
            let structured = !form.is_empty() || !files.is_empty();
            value["data"] = json!(if structured { String::new() } else { text });
            value["form"] = Value::Object(form);
            value["files"] = Value::Object(files);
            value["json"] = serde_json::from_slice(self.body).unwrap_or(Value::Null);
        }
        value
    }
}

/// Splits a `multipart/form-data` body into text fields and files (as httpbin reports them).
fn multipart(content_type: &str, body: &[u8]) -> (Map<String, Value>, Map<String, Value>) {
    let (mut form, mut files) = (Map::new(), Map::new());
    let Some(boundary) = content_type.split(';').find_map(|parameter| parameter.trim().strip_prefix("boundary="))
    else {
        return (form, files);
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let text = String::from_utf8_lossy(body);
    for part in text.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let Some((head, content)) = part.split_once("\r\n\r\n") else { continue };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        let disposition =
            head.lines().find(|line| line.to_ascii_lowercase().starts_with("content-disposition:")).unwrap_or_default();
        let attribute = |key: &str| {
            disposition.split(';').find_map(|item| {
                item.trim()
                    .strip_prefix(&format!("{key}=\""))
                    .and_then(|rest| rest.strip_suffix('"'))
                    .map(str::to_owned)
            })
        };
        let Some(name) = attribute("name") else { continue };
        if attribute("filename").is_some() {
            files.insert(name, json!(content));
        } else {
            form.insert(name, json!(content));
        }
    }
    (form, files)
}

fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn header(parts: &hyper::http::request::Parts, name: &str) -> Option<String> {
    parts.headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
}

fn query_pairs(parts: &hyper::http::request::Parts) -> Vec<(String, String)> {
    url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

fn query_map(parts: &hyper::http::request::Parts) -> std::collections::HashMap<String, String> {
    query_pairs(parts).into_iter().collect()
}

fn cookies(parts: &hyper::http::request::Parts) -> Map<String, Value> {
    header(parts, "cookie")
        .unwrap_or_default()
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .map(|(name, value)| (name.to_owned(), json!(value)))
        .collect()
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = status;
    response
}

fn text(status: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = Response::new(full(message.as_bytes()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn json_response(status: StatusCode, value: Value) -> Response<Body> {
    let mut body = serde_json::to_vec_pretty(&value).unwrap_or_default();
    body.push(b'\n');
    let mut response = Response::new(full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn redirect(count: &str, location: impl Fn(u32) -> String) -> Response<Body> {
    let Ok(count) = count.parse::<u32>() else { return text(StatusCode::BAD_REQUEST, "Invalid count") };
    let target = if count <= 1 { "/get".to_owned() } else { location(count - 1) };
    let mut response = empty(StatusCode::FOUND);
    if let Ok(value) = HeaderValue::from_str(&target) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

fn encoded(coding: &str, value: &Value) -> Response<Body> {
    let plain = serde_json::to_vec_pretty(value).unwrap_or_default();
    let (body, name) = match coding {
        "gzip" => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = encoder.write_all(&plain);
            (encoder.finish().unwrap_or_default(), "gzip")
        }
        "deflate" => {
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = encoder.write_all(&plain);
            (encoder.finish().unwrap_or_default(), "deflate")
        }
        _ => {
            let mut out = Vec::new();
            {
                let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
                let _ = encoder.write_all(&plain);
            }
            (out, "br")
        }
    };
    let mut response = Response::new(full(body));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert("content-encoding", HeaderValue::from_static(name));
    response
}

/// `/drip?duration=S&numbytes=N&code=C&delay=S`: N asterisks spread over S seconds.
fn drip(query: &std::collections::HashMap<String, String>) -> Response<Body> {
    let number =
        |key: &str, default: f64| query.get(key).and_then(|value| value.parse::<f64>().ok()).unwrap_or(default);
    let bytes = number("numbytes", 10.0).clamp(0.0, 10_000.0) as u32;
    let duration = number("duration", 2.0).clamp(0.0, 10.0);
    let delay = number("delay", 0.0).clamp(0.0, 10.0);
    let status = StatusCode::from_u16(number("code", 200.0) as u16).unwrap_or(StatusCode::OK);
    let pause = if bytes > 0 { Duration::from_secs_f64(duration / f64::from(bytes)) } else { Duration::ZERO };
    let frames = futures_util::stream::unfold(0u32, move |sent| async move {
        if sent == 0 && delay > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(delay)).await;
        }
        if sent >= bytes {
            return None;
        }
        tokio::time::sleep(pause).await;
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"*"))), sent + 1))
    });
    let mut response = Response::new(StreamBody::new(frames).boxed());
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(length) = HeaderValue::from_str(&bytes.to_string()) {
        response.headers_mut().insert("content-length", length);
    }
    response
}

/// `/stream/N`: N JSON lines, chunked.
fn stream_lines(count: usize, value: Value) -> Response<Body> {
    let count = count.min(100);
    let frames = futures_util::stream::iter((0..count).map(move |id| {
        let mut line = value.clone();
        line["id"] = json!(id);
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.push(b'\n');
        Ok::<_, Infallible>(Frame::data(Bytes::from(bytes)))
    }));
    let mut response = Response::new(StreamBody::new(frames).boxed());
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Deterministic bytes (splitmix64), so tests can compare.
pub fn pseudo_random(count: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

/// Nonces handed out by `/digest-auth`, all distinct.
static NONCES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// httpbin's `/digest-auth`: a 401 with a fresh challenge unless `Authorization` answers it
/// correctly. The check is written from RFC 7616 §3.4 here, apart from the client's code.
fn digest_auth(
    parts: &hyper::http::request::Parts,
    qop: &str,
    user: &str,
    password: &str,
    algorithm: &str,
) -> Response<Body> {
    let hash = |text: String| -> String {
        use sha2::Digest as _;
        let bytes: Vec<u8> = match algorithm.trim_end_matches("-sess") {
            "SHA-256" => sha2::Sha256::digest(text.as_bytes()).to_vec(),
            _ => md5::Md5::digest(text.as_bytes()).to_vec(),
        };
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    };
    let fields: std::collections::HashMap<String, String> = header(parts, "authorization")
        .and_then(|value| value.strip_prefix("Digest ").map(str::to_owned))
        .map(|params| {
            // Split on commas outside quotes; this server only meets well-formed clients.
            let mut fields = Vec::new();
            let (mut current, mut quoted) = (String::new(), false);
            for character in params.chars() {
                match character {
                    '"' => quoted = !quoted,
                    ',' if !quoted => fields.push(std::mem::take(&mut current)),
                    _ => current.push(character),
                }
            }
            fields.push(current);
            fields
                .into_iter()
                .filter_map(|field| {
                    let (name, value) = field.trim().split_once('=')?;
                    Some((name.to_owned(), value.to_owned()))
                })
                .collect()
        })
        .unwrap_or_default();
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let target = parts.uri.path_and_query().map(|target| target.as_str()).unwrap_or("/");
    let mut ha1 = hash(format!("{user}:Fake Realm:{password}"));
    if algorithm.ends_with("-sess") {
        ha1 = hash(format!("{ha1}:{}:{}", field("nonce"), field("cnonce")));
    }
    let ha2 = hash(format!("{}:{}", parts.method, field("uri")));
    let expected = hash(format!("{ha1}:{}:{}:{}:{}:{ha2}", field("nonce"), field("nc"), field("cnonce"), field("qop")));
    let answered = !fields.is_empty()
        && field("username") == user
        && field("uri") == target
        && field("qop") == qop
        && field("algorithm") == algorithm
        && field("opaque") == "httpbin-opaque"
        && field("response") == expected;
    if answered {
        return json_response(StatusCode::OK, json!({"authenticated": true, "user": user, "nc": field("nc")}));
    }
    let nonce = format!("{:032x}", NONCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let challenge = format!(
        "Digest realm=\"Fake Realm\", nonce=\"{nonce}\", qop=\"{qop}\", opaque=\"httpbin-opaque\", algorithm={algorithm}, stale=FALSE"
    );
    let mut response = empty(StatusCode::UNAUTHORIZED);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert("www-authenticate", value);
    }
    response
}
