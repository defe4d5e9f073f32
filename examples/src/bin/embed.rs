//! `embed`: tidings-core driven by hand over a plain `std::net::TcpStream`, deadlines
//! honoured, as an embedder would in their own runtime.
//!
//! `cargo run -p tidings-examples --bin embed [http://host:port/path]` (with no URL it starts
//! a one-shot loopback server so it runs anywhere).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::Instant;

use tidings_core::{Config, Connection, ContentDecoder, Event, Request};

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => serve_once()?,
    };
    let request = Request::get(&url)?;
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
