//! A forward proxy on loopback — `CONNECT` tunnels and absolute-form forwarding, each client
//! connection spliced to one upstream connection — reached over plain TCP or over TLS (an
//! `https://` proxy). It records the first request head of every client connection (the
//! CONNECT, or the first forwarded request).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{fill, Recorded};

pub struct ForwardProxy {
    pub port: u16,
    pub heads: Arc<Mutex<Vec<Recorded>>>,
    tls: bool,
}

impl ForwardProxy {
    pub fn start() -> ForwardProxy {
        ForwardProxy::launch(None, None)
    }

    /// A proxy that answers every request with `response` and closes (a refusal).
    pub fn refusing(response: &'static [u8]) -> ForwardProxy {
        ForwardProxy::launch(Some(response), None)
    }

    /// The same proxy, reached over TLS with this certificate (an `https://` proxy).
    pub fn start_tls(
        chain: Vec<rustls::pki_types::CertificateDer<'static>>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> ForwardProxy {
        ForwardProxy::launch(None, Some(super::server_config(chain, key)))
    }

    fn launch(refusal: Option<&'static [u8]>, tls: Option<Arc<rustls::ServerConfig>>) -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("address").port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let log = heads.clone();
        let over_tls = tls.is_some();
        thread::spawn(move || {
            for (connection, stream) in listener.incoming().enumerate() {
                let Ok(client) = stream else { return };
                let (log, tls) = (log.clone(), tls.clone());
                thread::spawn(move || match tls {
                    None => proxy_connection(client, connection, refusal, &log),
                    Some(config) => proxy_tls_connection(client, config, connection, &log),
                });
            }
        });
        ForwardProxy { port, heads, tls: over_tls }
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` over TLS.
    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.port)
        } else {
            format!("http://127.0.0.1:{}", self.port)
        }
    }

    pub fn heads(&self) -> Vec<Recorded> {
        self.heads.lock().expect("log").clone()
    }
}

/// Reads the first request head from `client`, records it, and connects to where it
/// points: `(the upstream, the bytes to send it, whether it was a CONNECT)`.
fn open_upstream(
    client: &mut impl ReadWrite,
    connection: usize,
    refusal: Option<&'static [u8]>,
    log: &Mutex<Vec<Recorded>>,
) -> Option<(TcpStream, Vec<u8>, bool)> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
        if !fill(client, &mut buffer) {
            return None;
        }
    };
    let recorded =
        Recorded { head: String::from_utf8_lossy(&buffer[..head_end]).into_owned(), body: Vec::new(), connection };
    log.lock().expect("log").push(recorded.clone());
    if let Some(response) = refusal {
        let _ = client.write_all(response);
        return None;
    }
    let mut words = recorded.request_line().split(' ');
    let (method, target) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
    let authority = if method == "CONNECT" {
        target.to_owned()
    } else {
        let rest = target.strip_prefix("http://").unwrap_or(target);
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        }
    };
    let Ok(upstream) = TcpStream::connect(authority.replace("localhost", "127.0.0.1")) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return None;
    };
    let connect = method == "CONNECT";
    if connect {
        buffer.drain(..head_end);
        client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").ok()?;
        client.flush().ok()?;
    }
    Some((upstream, buffer, connect))
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn proxy_connection(
    mut client: TcpStream,
    connection: usize,
    refusal: Option<&'static [u8]>,
    log: &Mutex<Vec<Recorded>>,
) {
    let Some((mut upstream, first, _)) = open_upstream(&mut client, connection, refusal, log) else { return };
    if upstream.write_all(&first).is_err() {
        return;
    }
    let (Ok(mut client_reader), Ok(mut upstream_writer)) = (client.try_clone(), upstream.try_clone()) else { return };
    let forward = thread::spawn(move || {
        let _ = std::io::copy(&mut client_reader, &mut upstream_writer);
        let _ = upstream_writer.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = forward.join();
}

/// The same over TLS: one thread moves bytes both ways, polling each side with short read
/// timeouts (a rustls stream cannot be split between threads), for at most a minute.
fn proxy_tls_connection(
    socket: TcpStream,
    config: Arc<rustls::ServerConfig>,
    connection: usize,
    log: &Mutex<Vec<Recorded>>,
) {
    let Ok(session) = rustls::ServerConnection::new(config) else { return };
    let mut client = rustls::StreamOwned::new(session, socket);
    let Some((mut upstream, first, _)) = open_upstream(&mut client, connection, None, log) else { return };
    if upstream.write_all(&first).is_err() {
        return;
    }
    let poll = Some(Duration::from_millis(5));
    if client.sock.set_read_timeout(poll).is_err() || upstream.set_read_timeout(poll).is_err() {
        return;
    }
    let started = Instant::now();
    let mut chunk = vec![0u8; 16 * 1024];
    let waiting =
        |error: &std::io::Error| matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
    while started.elapsed() < Duration::from_secs(60) {
        match client.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => {
                if upstream.write_all(&chunk[..count]).is_err() {
                    break;
                }
            }
            Err(error) if waiting(&error) => {}
            Err(_) => break,
        }
        match upstream.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => {
                if client.write_all(&chunk[..count]).and_then(|()| client.flush()).is_err() {
                    break;
                }
            }
            Err(error) if waiting(&error) => {}
            Err(_) => break,
        }
    }
    client.conn.send_close_notify();
    let _ = client.flush();
}
