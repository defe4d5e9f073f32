//! A scripted raw-TCP server on loopback: it reads each request (head and body) and answers
//! with exact bytes chosen by a script, so tests can play well-behaved and hostile servers.
#![allow(dead_code)]

pub mod faults;
pub mod proxy;
pub mod socks;

#[allow(unused_imports)] // not every test binary uses it
pub use proxy::ForwardProxy;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub head: String,
    pub body: Vec<u8>,
    /// Which connection (0-based, in accept order) carried it.
    pub connection: usize,
}

impl Recorded {
    pub fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }
}

/// What the server does with a request.
pub enum Action {
    /// Write these bytes and keep reading requests on the connection.
    Respond(Vec<u8>),
    /// Write these bytes, then close the connection (over TLS with a `close_notify` first).
    RespondAndClose(Vec<u8>),
    /// Write these bytes, then close the connection without a TLS `close_notify` — a
    /// sloppy server, or an attacker ending the TCP connection (plain: as `RespondAndClose`).
    RespondAndCut(Vec<u8>),
    /// Write these bytes, wait, then close (a stall).
    Stall(Vec<u8>, Duration),
    /// Close at once without a byte.
    Close,
    /// Write these bytes one at a time, this long apart, and keep the connection.
    Trickle(Vec<u8>, Duration),
    /// Write these bytes, then reset the connection (RST, not FIN).
    Reset(Vec<u8>),
    /// Write these bytes, wait, write the second ones unasked (to an idle connection), and
    /// keep the connection.
    RespondThenLater(Vec<u8>, Duration, Vec<u8>),
}

type Script = dyn Fn(&Recorded, usize) -> Action + Send + Sync;

pub struct Server {
    pub port: u16,
    pub connections: Arc<AtomicUsize>,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    /// TLS connections the client ended with a `close_notify`.
    pub close_notifies: Arc<AtomicUsize>,
}

impl Server {
    /// Starts a server; `script(request, index)` decides each answer (`index` counts requests
    /// across all connections).
    pub fn start(script: impl Fn(&Recorded, usize) -> Action + Send + Sync + 'static) -> Server {
        Server::launch(None, Arc::new(script))
    }

    /// The same over TLS with this certificate chain and key (DER).
    pub fn start_tls(
        chain: Vec<rustls::pki_types::CertificateDer<'static>>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
        script: impl Fn(&Recorded, usize) -> Action + Send + Sync + 'static,
    ) -> Server {
        Server::start_tls_with(server_config(chain, key), script)
    }

    /// The same with any rustls server configuration (for example, one requiring client
    /// certificates).
    pub fn start_tls_with(
        config: Arc<rustls::ServerConfig>,
        script: impl Fn(&Recorded, usize) -> Action + Send + Sync + 'static,
    ) -> Server {
        Server::launch(Some(config), Arc::new(script))
    }

    /// Accepts connections on a loopback port, each served on its own thread (over TLS when
    /// a configuration is given).
    fn launch(tls: Option<Arc<rustls::ServerConfig>>, script: Arc<Script>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let close_notifies = Arc::new(AtomicUsize::new(0));
        let (count, log, notified) = (connections.clone(), requests.clone(), close_notifies.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
                let connection = count.fetch_add(1, Ordering::SeqCst);
                let (script, log, tls, notified) = (script.clone(), log.clone(), tls.clone(), notified.clone());
                thread::spawn(move || match tls {
                    None => {
                        let handle = stream.try_clone();
                        let mut stream = stream;
                        if serve(&mut stream, connection, &*script, &log) == Ended::Reset {
                            // Linger 0: closing sends RST.
                            if let Ok(handle) = handle {
                                let _ = socket2::SockRef::from(&handle).set_linger(Some(Duration::ZERO));
                            }
                        }
                    }
                    Some(config) => {
                        let Ok(session) = rustls::ServerConnection::new(config) else { return };
                        let mut tls = rustls::StreamOwned::new(session, stream);
                        let ended = serve(&mut tls, connection, &*script, &log);
                        if tls.conn.process_new_packets().is_ok_and(|state| state.peer_has_closed()) {
                            notified.fetch_add(1, Ordering::SeqCst);
                        }
                        if ended != Ended::Cut {
                            // A TLS server ends with close_notify (RFC 8446 §6.1), as nginx does.
                            tls.conn.send_close_notify();
                            let _ = tls.flush();
                        }
                    }
                });
            }
        });
        Server { port, connections, requests, close_notifies }
    }

    /// A server answering every request with the same bytes, kept alive.
    pub fn always(response: &'static [u8]) -> Server {
        Server::start(move |_, _| Action::Respond(response.to_vec()))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().expect("log").clone()
    }
}

/// How a connection's service ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Closed,
    /// Closed without a TLS close_notify.
    Cut,
    Reset,
}

fn serve(stream: &mut (impl Read + Write), connection: usize, script: &Script, log: &Mutex<Vec<Recorded>>) -> Ended {
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(stream, &mut buffer, connection) else { return Ended::Closed };
        let index = {
            let mut log = log.lock().expect("log");
            log.push(request.clone());
            log.len() - 1
        };
        match script(&request, index) {
            Action::Respond(bytes) => {
                if stream.write_all(&bytes).and_then(|()| stream.flush()).is_err() {
                    return Ended::Closed;
                }
            }
            Action::RespondAndClose(bytes) => {
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
                return Ended::Closed;
            }
            Action::RespondAndCut(bytes) => {
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
                return Ended::Cut;
            }
            Action::Stall(bytes, wait) => {
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
                thread::sleep(wait);
                return Ended::Closed;
            }
            Action::Close => return Ended::Closed,
            Action::Trickle(bytes, gap) => {
                for byte in bytes {
                    if stream.write_all(&[byte]).and_then(|()| stream.flush()).is_err() {
                        return Ended::Closed;
                    }
                    thread::sleep(gap);
                }
            }
            Action::Reset(bytes) => {
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
                return Ended::Reset;
            }
            Action::RespondThenLater(bytes, wait, later) => {
                if stream.write_all(&bytes).and_then(|()| stream.flush()).is_err() {
                    return Ended::Closed;
                }
                thread::sleep(wait);
                if stream.write_all(&later).and_then(|()| stream.flush()).is_err() {
                    return Ended::Closed;
                }
            }
        }
    }
}

/// Reads one request (head, then a Content-Length or chunked body); `None` at EOF.
fn read_request(stream: &mut (impl Read + Write), buffer: &mut Vec<u8>, connection: usize) -> Option<Recorded> {
    let head_end = loop {
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
        if !fill(stream, buffer) {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    buffer.drain(..head_end);
    let mut recorded = Recorded { head, body: Vec::new(), connection };
    let expects_continue = recorded.header("expect").is_some_and(|value| value.eq_ignore_ascii_case("100-continue"));
    if expects_continue {
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    if let Some(length) = recorded.header("content-length").and_then(|value| value.parse::<usize>().ok()) {
        while buffer.len() < length {
            if !fill(stream, buffer) {
                return None;
            }
        }
        recorded.body = buffer.drain(..length).collect();
    } else if recorded.header("transfer-encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked")) {
        loop {
            let line_end = loop {
                if let Some(position) = buffer.windows(2).position(|window| window == b"\r\n") {
                    break position;
                }
                if !fill(stream, buffer) {
                    return None;
                }
            };
            let size = usize::from_str_radix(std::str::from_utf8(&buffer[..line_end]).ok()?, 16).ok()?;
            buffer.drain(..line_end + 2);
            if size == 0 {
                // Trailers, then the final CRLF.
                loop {
                    let end = buffer.windows(2).position(|window| window == b"\r\n");
                    match end {
                        Some(0) => {
                            buffer.drain(..2);
                            return Some(recorded);
                        }
                        Some(end) => {
                            buffer.drain(..end + 2);
                        }
                        None => {
                            if !fill(stream, buffer) {
                                return None;
                            }
                        }
                    }
                }
            }
            while buffer.len() < size + 2 {
                if !fill(stream, buffer) {
                    return None;
                }
            }
            recorded.body.extend(buffer.drain(..size));
            buffer.drain(..2);
        }
    }
    Some(recorded)
}

pub(crate) fn fill(stream: &mut impl Read, buffer: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk) {
        Ok(0) | Err(_) => false,
        Ok(count) => {
            buffer.extend_from_slice(&chunk[..count]);
            true
        }
    }
}

/// A rustls server configuration presenting `chain` with `key`.
pub fn server_config(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
    Arc::new(config)
}

/// A response with a Content-Length body.
pub fn ok(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

pub struct Pki {
    pub ca_file: tempfile_path::TempPath,
    pub chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub key: rustls::pki_types::PrivateKeyDer<'static>,
}

/// A CA and a leaf for `names`, signed by it; the CA's PEM is written to a file.
pub fn pki(names: &[&str]) -> Pki {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "tidings test CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let leaf =
        rcgen::CertificateParams::new(names).expect("leaf params").signed_by(&leaf_key, &ca, &ca_key).expect("leaf");
    let ca_file = tempfile_path::TempPath::with_contents(ca.pem().as_bytes());
    Pki {
        ca_file,
        chain: vec![leaf.der().clone()],
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
            leaf_key.serialize_der(),
        )),
    }
}

/// A file removed when dropped (tests only; no extra crate needed).
pub mod tempfile_path {
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub struct TempPath(PathBuf);

    impl TempPath {
        pub fn with_contents(contents: &[u8]) -> TempPath {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let name = format!("tidings-test-{}-{}.pem", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, contents).expect("write temp file");
            TempPath(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
