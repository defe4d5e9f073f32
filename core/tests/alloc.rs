//! No heap allocation per response in the steady state: once a connection's buffers have
//! grown, a whole exchange (serialize, decode head and body, trailers) allocates nothing.
#![allow(clippy::disallowed_methods)] // tests pick a base instant; the core never reads the clock

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use tidings_core::{Config, Connection, Event, Request};

/// Counts allocations per thread, so tests running in parallel do not count each other's.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn count() {
    // `try_with`: during thread teardown the slot may already be gone.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

#[allow(unsafe_code)] // a global allocator must be unsafe to implement; this one only counts and delegates
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn exchange(connection: &mut Connection, request: &Request, response: &[u8], now: Instant) -> usize {
    connection.send_request(now, request).expect("valid");
    let mut wire = [0u8; 1024];
    while connection.poll_transmit(now, &mut wire) > 0 {}
    let mut position = 0;
    let mut body = 0;
    loop {
        let (used, event) = connection.handle_input(now, &response[position..]).expect("valid response");
        position += used;
        match event {
            Some(Event::Data(data)) => body += data.len(),
            Some(Event::End) => return body,
            Some(_) => {}
            None => panic!("incomplete response"),
        }
    }
}

#[test]
fn a_kept_alive_connection_allocates_nothing_per_response() {
    let now = Instant::now();
    let request =
        Request::get("http://api.example.com/v1/items?page=2").expect("valid").header("Authorization", "Bearer t");
    let responses: [&[u8]; 3] = [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"hello\":\"world\"}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n",
    ];
    let mut connection = Connection::new(Config::default());
    // Warm up: buffers grow to the largest head and request seen.
    for response in responses.iter().cycle().take(30) {
        exchange(&mut connection, &request, response, now);
    }
    let before = allocations();
    let mut body = 0;
    for response in responses.iter().cycle().take(3000) {
        body += exchange(&mut connection, &request, response, now);
    }
    let allocations = allocations() - before;
    assert_eq!(body, 1000 * (17 + 11 + 3));
    assert_eq!(allocations, 0, "{allocations} allocations over 3000 responses");
    assert!(connection.is_idle());
}

#[test]
fn the_counter_counts() {
    let before = allocations();
    let boxed = std::hint::black_box(Box::new([0u8; 64]));
    assert!(allocations() > before, "the allocator hook must see allocations");
    drop(boxed);
}
