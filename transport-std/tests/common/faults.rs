//! A server that fails a fixed share of its answers — resets, closes mid-body, stalls past
//! the read timeout, sends garbage — chosen from a fixed seed, and what each call must come
//! back as. Shared by the fault tests of both transports.

use std::time::Duration;

use super::{ok, Action, Server};

/// How long a stalled answer waits before its connection closes (the clients' read timeout
/// is well below it).
pub const STALL: Duration = Duration::from_millis(1500);

/// What the server does with call `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A whole answer naming the call: `call N`.
    None,
    /// A reset before any byte.
    Reset,
    /// The head and part of the body, then a reset.
    ResetMidBody,
    /// The head and part of the body, then a close.
    CloseMidBody,
    /// Part of the head, then silence past the read timeout.
    Stall,
    /// Bytes that are not HTTP.
    Garbage,
}

/// The fault for call `n`: half the calls answered whole, a tenth of each fault, from a fixed
/// seed (the same every run).
pub fn fault(n: usize) -> Fault {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (n as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    match x % 10 {
        0..=4 => Fault::None,
        5 => Fault::Reset,
        6 => Fault::ResetMidBody,
        7 => Fault::CloseMidBody,
        8 => Fault::Stall,
        _ => Fault::Garbage,
    }
}

/// A server answering `GET /call/N` as [`fault`] says for N.
pub fn faulty_server() -> Server {
    Server::start(|request, _| {
        let n: usize =
            request.request_line().split('/').nth(2).and_then(|n| n.split(' ').next()?.parse().ok()).unwrap_or(0);
        let partial = format!("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart of call {n}").into_bytes();
        match fault(n) {
            Fault::None => Action::Respond(ok(&format!("call {n}"))),
            Fault::Reset => Action::Reset(Vec::new()),
            Fault::ResetMidBody => Action::Reset(partial),
            Fault::CloseMidBody => Action::RespondAndClose(partial),
            Fault::Stall => Action::Stall(b"HTTP/1.1 200 OK\r\nContent-Le".to_vec(), STALL),
            Fault::Garbage => Action::RespondAndClose(b"\x00\x01garbage, not HTTP at all\r\n\r\n".to_vec()),
        }
    })
}

/// Checks what call `n` came back as: its own body (`Ok(text)`) or the kind of its error
/// (`Err(kind)`), whether the head or the body failed.
pub fn check(n: usize, outcome: Result<String, &'static str>) {
    match (fault(n), outcome) {
        (Fault::None, Ok(text)) => assert_eq!(text, format!("call {n}"), "call {n} got another call's answer"),
        (Fault::Reset | Fault::ResetMidBody | Fault::CloseMidBody, Err(kind)) => assert_eq!(kind, "eof", "call {n}"),
        (Fault::Stall, Err(kind)) => assert_eq!(kind, "timeout", "call {n}"),
        (Fault::Garbage, Err(kind)) => assert_eq!(kind, "protocol", "call {n}"),
        (fault, outcome) => panic!("call {n} ({fault:?}) came back as {outcome:?}"),
    }
}

/// File descriptors this process holds now.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// Waits (up to ten seconds) until the process holds at most `baseline` descriptors: the
/// scripted server's threads close their ends once the client closed its own, and stalled
/// ones after [`STALL`]. Returns the count it settled at.
pub fn settle_fds(baseline: usize) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let count = open_fds();
        if count <= baseline || std::time::Instant::now() >= deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
