//! `embed`: tidings driven from your own runtime, at two depths.
//!
//! 1. The core alone, by hand, over a plain `std::net::TcpStream`, deadlines honoured: one GET.
//! 2. A complete client call — a redirect, a retry on 503, the pool key, a kept-alive
//!    connection reused — driven by tidings-client through a transport of our own
//!    (`transport.rs`, the size a user's transport should be).
//!
//! `cargo run -p tidings-examples --bin embed [http://host:port/path]` (the URL is for part 1;
//! without one, and for part 2, it starts loopback servers so it runs anywhere).

mod transport;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::Instant;

use tidings_client::{RetryPolicy, Session};
use tidings_core::{Config, Connection, ContentDecoder, Event, Request};

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => serve_once()?,
    };
    println!("# 1. The core alone, by hand: GET {url}");
    core_alone(&url)?;
    println!("\n# 2. A whole call through tidings-client, over our own transport");
    client_call()
}

/// Part 2: the session decides every hop; `transport::TcpTransport` moves the bytes.
fn client_call() -> Result<(), Failure> {
    let base = serve_script()?;
    let session = Session::builder()
        .transport(transport::TcpTransport::default())
        .retries(RetryPolicy::new(2).status_forcelist([503]))
        .build()?;
    for _ in 0..2 {
        let response = session.get(&format!("{base}/start")).send()?;
        let (status, url, attempts) = (response.status(), response.url().clone(), response.attempts());
        let (history, reused) = (response.history().len(), response.reused_connection());
        println!("< {status} from {url} after {history} redirect(s) and {attempts} attempt(s); reused: {reused}");
        println!("{}", response.text()?);
    }
    Ok(())
}

/// Part 1: one GET through the core, every byte and deadline by hand.
fn core_alone(url: &str) -> Result<(), Failure> {
    let request = Request::get(url)?;
    let (host, port) = (request.url().host_str().unwrap_or_default(), request.url().port_or_known_default());
    if request.url().scheme() != "http" {
        return Err("this example speaks plain http; the transports add TLS".into());
    }

    // Connect within the core's connect deadline.
    let mut connection = Connection::connecting(Config::default(), Instant::now());
    let budget = connection.poll_timeout().map(|deadline| deadline - Instant::now());
    let address = (host, port.unwrap_or(80)).to_socket_addrs()?.next().ok_or("no address")?;
    let mut stream = match budget {
        Some(budget) => TcpStream::connect_timeout(&address, budget)?,
        None => TcpStream::connect(address)?,
    };
    stream.set_nodelay(true)?;
    connection.handle_connected(Instant::now())?;

    // Send: the core fills our buffer; we write it.
    connection.send_request(Instant::now(), &request)?;
    let mut out = [0u8; 4096];
    loop {
        let count = connection.poll_transmit(Instant::now(), &mut out);
        if count == 0 {
            break;
        }
        stream.write_all(&out[..count])?;
    }

    // Receive: feed bytes, keep what the core did not consume, sleep until the next deadline.
    let mut buffer = vec![0u8; 64 * 1024];
    let (mut start, mut filled) = (0, 0);
    let mut decoder: Option<ContentDecoder> = None;
    let mut body = Vec::new();
    'exchange: loop {
        loop {
            let (used, event) = connection.handle_input(Instant::now(), &buffer[start..filled])?;
            start += used;
            match event {
                None => break,
                Some(Event::Informational(head)) => println!("< {} (informational)", head.status()),
                Some(Event::Head(head)) => {
                    println!("< {} {}", head.status(), String::from_utf8_lossy(head.reason()));
                    for (name, value) in head.headers().iter() {
                        println!("< {name}: {}", String::from_utf8_lossy(value));
                    }
                    decoder = Some(ContentDecoder::for_response(head.headers(), 64 << 20)?);
                }
                Some(Event::Data(data)) => {
                    if let Some(decoder) = decoder.as_mut() {
                        decoder.decode_into(data, &mut body)?;
                    }
                }
                Some(Event::Trailers(trailers)) => println!("< trailers: {} field(s)", trailers.len()),
                Some(Event::End) => break 'exchange,
            }
        }
        buffer.copy_within(start..filled, 0);
        (filled, start) = (filled - start, 0);

        let now = Instant::now();
        match connection.poll_timeout() {
            Some(deadline) if deadline <= now => {
                connection.handle_timeout(now)?;
                continue;
            }
            Some(deadline) => stream.set_read_timeout(Some(deadline - now))?,
            None => stream.set_read_timeout(None)?,
        }
        match stream.read(&mut buffer[filled..]) {
            Ok(0) => {
                if let Some(Event::End) = connection.handle_eof(Instant::now())? {
                    break;
                }
            }
            Ok(count) => filled += count,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                connection.handle_timeout(Instant::now())?;
            }
            Err(error) => return Err(error.into()),
        }
    }
    if let Some(decoder) = decoder.as_mut() {
        decoder.finish_into(&mut body)?;
    }
    println!("{}", String::from_utf8_lossy(&body));
    match connection.close_reason() {
        None => println!("* connection kept alive for the next request"),
        Some(reason) => println!("* connection not reusable: {reason}"),
    }
    Ok(())
}

/// A one-shot loopback server answering with a chunked body and a trailer.
fn serve_once() -> Result<String, Failure> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/embedded", listener.local_addr()?);
    std::thread::spawn(move || -> std::io::Result<()> {
        let (mut socket, _) = listener.accept()?;
        let mut request = Vec::new();
        let mut byte = [0u8; 1];
        while !request.ends_with(b"\r\n\r\n") && socket.read(&mut byte)? == 1 {
            request.push(byte[0]);
        }
        socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")?;
        socket.write_all(b"7\r\nhello, \r\n")?;
        socket.write_all(b"d\r\nfrom the core\r\n0\r\nX-Served-By: embed\r\n\r\n")
    });
    Ok(url)
}

/// A keep-alive loopback server for part 2: `/start` redirects to `/retry`, which answers 503
/// the first time and then a chunked body.
fn serve_script() -> Result<String, Failure> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let busy_once = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            let busy_once = busy_once.clone();
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut socket = socket;
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while socket.read(&mut byte)? == 1 {
                    request.push(byte[0]);
                    if !request.ends_with(b"\r\n\r\n") {
                        continue;
                    }
                    let line = String::from_utf8_lossy(&request).lines().next().unwrap_or_default().to_owned();
                    let answer: &[u8] = if line.contains("/start") {
                        b"HTTP/1.1 302 Found\r\nLocation: /retry\r\nContent-Length: 0\r\n\r\n"
                    } else if busy_once.swap(false, std::sync::atomic::Ordering::SeqCst) {
                        b"HTTP/1.1 503 Busy\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
                    } else {
                        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1c\r\nhello through tidings-client\r\n0\r\n\r\n"
                    };
                    socket.write_all(answer)?;
                    request.clear();
                }
                Ok(())
            });
        }
    });
    Ok(base)
}
