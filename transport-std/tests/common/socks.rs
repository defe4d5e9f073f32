//! A SOCKS4/4a/5 proxy on loopback, written from the RFCs independently of the client's
//! handshake: it relays to the target it is asked for, records each request, and can be
//! scripted to misbehave (refuse, break the protocol, cut its reply short, stall). Also used
//! by the CLI's tests (`examples/tests/cli.rs`).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How the proxy answers.
#[derive(Debug, Clone)]
pub enum Socks {
    /// Relay to the target; with `Some(credentials)`, SOCKS5 clients must authenticate
    /// with them (RFC 1929).
    Relay(Option<(&'static str, &'static str)>),
    /// Refuse every connect request with this reply code (SOCKS5) or 91 (SOCKS4).
    Refuse(u8),
    /// Answer the greeting as an HTTP server would (not a SOCKS proxy at all).
    HttpInstead,
    /// Answer the connect request with half a reply, then close.
    Truncate,
    /// Read the greeting and say nothing.
    Stall,
    /// Open the tunnel, then send a byte before the client has spoken.
    EarlyBytes,
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocksRequest {
    /// 4 or 5.
    pub version: u8,
    /// `host:port` as asked: a name, or an address.
    pub target: String,
    /// Whether the target was given as a name (the proxy resolves it).
    pub by_name: bool,
    /// The user name (SOCKS5 authentication, or the SOCKS4 user id).
    pub user: Option<String>,
}

pub struct SocksProxy {
    pub port: u16,
    requests: Arc<Mutex<Vec<SocksRequest>>>,
}

impl SocksProxy {
    pub fn start(script: Socks) -> SocksProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(client) = stream else { return };
                let (log, script) = (log.clone(), script.clone());
                thread::spawn(move || {
                    let _ = serve(client, &script, &log);
                });
            }
        });
        SocksProxy { port, requests }
    }

    /// `scheme://[user:password@]127.0.0.1:PORT`.
    pub fn url(&self, scheme: &str, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((user, password)) => format!("{scheme}://{user}:{password}@127.0.0.1:{}", self.port),
            None => format!("{scheme}://127.0.0.1:{}", self.port),
        }
    }

    pub fn requests(&self) -> Vec<SocksRequest> {
        self.requests.lock().expect("log").clone()
    }
}

fn read_exact(stream: &mut TcpStream, count: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0; count];
    stream.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn read_until_nul(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    loop {
        let byte = read_exact(stream, 1)?[0];
        if byte == 0 {
            return Ok(String::from_utf8_lossy(&bytes).into_owned());
        }
        bytes.push(byte);
    }
}

fn serve(mut client: TcpStream, script: &Socks, log: &Mutex<Vec<SocksRequest>>) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let version = read_exact(&mut client, 1)?[0];
    if let Socks::HttpInstead = script {
        client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    }
    let request = match version {
        5 => socks5_request(&mut client, script)?,
        4 => socks4_request(&mut client)?,
        _ => return Ok(()),
    };
    let Some(request) = request else { return Ok(()) };
    log.lock().expect("log").push(request.clone());
    let granted: &[u8] = if version == 5 { &[5, 0, 0, 1, 127, 0, 0, 1, 0, 0] } else { &[0, 90, 0, 0, 0, 0, 0, 0] };
    match script {
        Socks::Stall => {
            thread::sleep(Duration::from_secs(5));
            return Ok(());
        }
        Socks::Refuse(code) => {
            let refused: Vec<u8> =
                if version == 5 { vec![5, *code, 0, 1, 0, 0, 0, 0, 0, 0] } else { vec![0, 91, 0, 0, 0, 0, 0, 0] };
            return client.write_all(&refused);
        }
        Socks::Truncate => return client.write_all(&granted[..3]),
        Socks::EarlyBytes => {
            client.write_all(&[granted, b"X"].concat())?;
            thread::sleep(Duration::from_secs(1));
            return Ok(());
        }
        Socks::Relay(_) | Socks::HttpInstead => {}
    }
    let target = request.target.replace("localhost", "127.0.0.1");
    let Ok(upstream) = TcpStream::connect(&target) else {
        let refused: &[u8] = if version == 5 { &[5, 5, 0, 1, 0, 0, 0, 0, 0, 0] } else { &[0, 91, 0, 0, 0, 0, 0, 0] };
        return client.write_all(refused);
    };
    client.write_all(granted)?;
    client.set_read_timeout(None)?;
    splice(client, upstream);
    Ok(())
}

/// RFC 1928 (and RFC 1929 when the script wants credentials): `None` when the client was
/// turned away before its connect request.
fn socks5_request(client: &mut TcpStream, script: &Socks) -> std::io::Result<Option<SocksRequest>> {
    let count = read_exact(client, 1)?[0];
    let methods = read_exact(client, usize::from(count))?;
    if let Socks::Stall = script {
        thread::sleep(Duration::from_secs(5));
        return Ok(None);
    }
    let mut user = None;
    match script {
        Socks::Relay(Some((wanted_user, wanted_password))) => {
            if !methods.contains(&2) {
                client.write_all(&[5, 0xff])?;
                return Ok(None);
            }
            client.write_all(&[5, 2])?;
            let _version = read_exact(client, 1)?;
            let length = read_exact(client, 1)?[0];
            let name = String::from_utf8_lossy(&read_exact(client, usize::from(length))?).into_owned();
            let length = read_exact(client, 1)?[0];
            let password = String::from_utf8_lossy(&read_exact(client, usize::from(length))?).into_owned();
            if name != *wanted_user || password != *wanted_password {
                client.write_all(&[1, 1])?;
                return Ok(None);
            }
            client.write_all(&[1, 0])?;
            user = Some(name);
        }
        _ => client.write_all(&[5, 0])?,
    }
    let head = read_exact(client, 4)?;
    let (host, by_name) = match head[3] {
        1 => {
            let octets = read_exact(client, 4)?;
            (format!("{}.{}.{}.{}", octets[0], octets[1], octets[2], octets[3]), false)
        }
        4 => {
            let octets: [u8; 16] = read_exact(client, 16)?.try_into().unwrap_or([0; 16]);
            (format!("[{}]", std::net::Ipv6Addr::from(octets)), false)
        }
        _ => {
            let length = read_exact(client, 1)?[0];
            (String::from_utf8_lossy(&read_exact(client, usize::from(length))?).into_owned(), true)
        }
    };
    let port = read_exact(client, 2)?;
    let port = u16::from_be_bytes([port[0], port[1]]);
    Ok(Some(SocksRequest { version: 5, target: format!("{host}:{port}"), by_name, user }))
}

fn socks4_request(client: &mut TcpStream) -> std::io::Result<Option<SocksRequest>> {
    let head = read_exact(client, 7)?;
    let port = u16::from_be_bytes([head[1], head[2]]);
    let address = &head[3..7];
    let user = read_until_nul(client)?;
    let (host, by_name) = if address[..3] == [0, 0, 0] && address[3] != 0 {
        (read_until_nul(client)?, true)
    } else {
        (format!("{}.{}.{}.{}", address[0], address[1], address[2], address[3]), false)
    };
    let user = (!user.is_empty()).then_some(user);
    Ok(Some(SocksRequest { version: 4, target: format!("{host}:{port}"), by_name, user }))
}

fn splice(client: TcpStream, mut upstream: TcpStream) {
    let (Ok(mut client_reader), Ok(mut upstream_writer)) = (client.try_clone(), upstream.try_clone()) else { return };
    let forward = thread::spawn(move || {
        let _ = std::io::copy(&mut client_reader, &mut upstream_writer);
        let _ = upstream_writer.shutdown(Shutdown::Write);
    });
    let mut client = client;
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = forward.join();
}
