//! What both transports' random-sequence tests share: a seeded generator, the mix of
//! requests they draw against the in-process httpbin, and what each response's body must be
//! — the check that no response ever reaches another request.
#![allow(dead_code)]

use tidings_client::Method;

/// A small deterministic generator (xorshift64*): the same seed, the same sequence.
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound
    }
}

/// httpbin paths drawn beside the two made per request (bytes of their own, an echo of
/// their own): a delay, a redirect, retries, a chunked stream, a slow drip, a coded body.
pub const PATHS: [&str; 7] =
    ["/get", "/delay/0.05", "/redirect/1", "/status/503", "/stream/5", "/drip?duration=0.1&numbytes=4", "/gzip"];

/// What a response's body must be.
pub enum Body {
    Exact(Vec<u8>),
    /// The echo of the request's own path (closing quote included).
    Holds(String),
    Any,
}

impl Body {
    /// Panics, naming `what`, unless `body` is what it must be.
    pub fn check(&self, body: &[u8], what: &str) {
        match self {
            Body::Exact(expected) => assert!(
                body == &expected[..],
                "{what} got {} bytes that are not its body ({} expected)",
                body.len(),
                expected.len()
            ),
            Body::Holds(marker) => assert!(
                body.windows(marker.len()).any(|window| window == marker.as_bytes()),
                "{what}'s body does not echo {marker}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ),
            Body::Any => {}
        }
    }
}

/// One drawn request.
pub struct Drawn {
    pub method: Method,
    /// The path and query, to append to the server's base URL.
    pub path: String,
    /// A POST's body (up to 70 KB).
    pub upload: Option<Vec<u8>>,
    /// What the response's body must be.
    pub body: Body,
}

/// Draws the `index`th request of a sequence: GET, HEAD or POST, of a path of the list, of
/// bytes of a length and seed drawn for it, or of an echo of a path of its own.
pub fn draw(dice: &mut Dice, index: usize) -> Drawn {
    let (method, pick) = (dice.below(3), dice.below(PATHS.len() as u64 + 2) as usize);
    let (path, body) = match pick.checked_sub(PATHS.len()) {
        Some(0) => {
            let (count, seed) = (dice.below(30_000) as usize, dice.below(1 << 32));
            (format!("/bytes/{count}?seed={seed}"), Body::Exact(tidings_httpbin::pseudo_random(count, seed)))
        }
        Some(_) => {
            let path = format!("/anything/{index}");
            let marker = format!("{path}\"");
            (path, Body::Holds(marker))
        }
        // A GET of /get or /redirect/1 (which ends at /get) echoes /get; a POST's redirect is
        // a 302, which turns it into that GET.
        None if (PATHS[pick] == "/get" && method == 0) || PATHS[pick] == "/redirect/1" => {
            (PATHS[pick].to_owned(), Body::Holds("/get\"".to_owned()))
        }
        None => (PATHS[pick].to_owned(), Body::Any),
    };
    match method {
        0 => Drawn { method: Method::GET, path, upload: None, body },
        1 => Drawn { method: Method::HEAD, path, upload: None, body: Body::Exact(Vec::new()) },
        _ => {
            let upload = vec![b'x'; dice.below(70_000) as usize];
            Drawn { method: Method::POST, path, upload: Some(upload), body }
        }
    }
}

/// Runs `run(seed, base URL, TLS settings)` for each of `TIDINGS_SEQUENCE_SEEDS` seeds (else
/// `default`) against an in-process httpbin, plain or over TLS with its CA trusted (from seed
/// 1000 then, so each draws other sequences than the plain run's).
pub fn each_seed(tls: bool, default: u64, run: impl Fn(u64, &str, Option<&tidings_client::TlsSettings>)) {
    let seeds: u64 =
        std::env::var("TIDINGS_SEQUENCE_SEEDS").ok().and_then(|value| value.parse().ok()).unwrap_or(default);
    if !tls {
        let httpbin = tidings_httpbin::Server::start().expect("httpbin on loopback");
        (0..seeds).for_each(|seed| run(seed, &httpbin.url(""), None));
        return;
    }
    let httpbin = tidings_httpbin::Server::start_tls().expect("httpbin over TLS on loopback");
    let name = format!("tidings-sequences-ca-{}-{:?}.pem", std::process::id(), std::thread::current().id());
    let ca = std::env::temp_dir().join(name);
    std::fs::write(&ca, httpbin.ca_pem().expect("a TLS httpbin has a CA")).expect("CA file");
    let settings = tidings_client::TlsSettings::default().ca_bundle(&ca);
    (1000..1000 + seeds).for_each(|seed| run(seed, &httpbin.url(""), Some(&settings)));
    let _ = std::fs::remove_file(&ca);
}
