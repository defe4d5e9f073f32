//! A sequence of exchanges on one `Connection`, the server's bytes fed in fuzzer-chosen
//! pieces: several requests (GET, HEAD), 1xx responses, keep-alive and leftover bytes. Never
//! a panic, never a response without a request outstanding, never bytes of one response in
//! another's body: every data slice lies within the input consumed while its own response
//! was the one outstanding, and a connection with bytes beyond its response is not reused
//! (the client layer's reuse rule, as a transport applies it).
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use tidings_client::pool::{reuse_verdict, Received};
use tidings_core::{Config, Connection, Event, Method, Request};

fuzz_target!(|data: &[u8]| {
    // [methods: 4 two-bit choices, piece size, server bytes ...]
    let Some((&methods, rest)) = data.split_first() else { return };
    let Some((&piece, bytes)) = rest.split_first() else { return };
    let piece = usize::from(piece).max(1);
    let now = Instant::now();
    let mut config = Config::default();
    config.limits.max_head_bytes = 4096;
    let mut connection = Connection::new(config);
    let mut consumed = 0;
    for exchange in 0..4 {
        let method = if (methods >> (2 * exchange)) & 1 == 0 { Method::GET } else { Method::HEAD };
        let request = Request::new(method, "http://fuzz.invalid/").expect("valid");
        connection.send_request(now, &request).expect("an idle connection takes a request");
        while connection.poll_transmit(now, &mut [0u8; 256]) > 0 {}
        let start = consumed;
        let mut ended = false;
        // The bytes arrive a piece at a time; the unconsumed rest is offered again.
        let mut available = start;
        'feed: while available < bytes.len() {
            available = (available + piece).min(bytes.len());
            loop {
                let input = &bytes[consumed..available];
                let base = input.as_ptr() as usize;
                match connection.handle_input(now, input) {
                    Err(_) => return,
                    Ok((used, event)) => {
                        if let Some(Event::Data(data)) = &event {
                            let offset = data.as_ptr() as usize - base;
                            assert!(offset + data.len() <= used, "body bytes beyond what the decoder consumed");
                            assert!(consumed + offset >= start, "body bytes from before this request");
                        }
                        let (none, end) = (event.is_none(), matches!(event, Some(Event::End)));
                        consumed += used;
                        if end {
                            ended = true;
                            break 'feed;
                        }
                        if none {
                            break;
                        }
                    }
                }
            }
        }
        if !ended {
            return;
        }
        let left = consumed < available;
        if reuse_verdict(&connection, Received { unconsumed: left, peer_closed: false }).is_err() {
            // Not reused: a later request would go on a new connection.
            assert!(left || !connection.is_idle(), "a reusable connection was refused");
            return;
        }
        assert!(connection.is_idle());
    }
});
