//! Limits, named leniencies and time budgets: everything a connection is configured with.

use std::time::Duration;

/// Everything a [`Connection`](crate::Connection) is configured with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Caps on what the peer can make the core hold or process.
    pub limits: Limits,
    /// Named, opt-in relaxations of the HTTP/1.1 grammar for real-world servers.
    pub leniency: Leniency,
    /// Time budgets; the core turns them into deadlines.
    pub budgets: TimeBudgets,
}

/// Caps inside the core; exceeding one is a typed [`LimitExceeded`](crate::LimitExceeded)
/// error, never an unbounded allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Bytes in one response head, status line included (default 64 KiB).
    pub max_head_bytes: usize,
    /// Field lines in one response head or trailer section (default 128).
    pub max_headers: usize,
    /// Bytes of extensions on one chunk-size line (default 4 KiB).
    pub max_chunk_extension_bytes: usize,
    /// Bytes in the trailer section (default 16 KiB).
    pub max_trailer_bytes: usize,
    /// Body bytes as framed on the wire, before content decoding (default: no cap; the
    /// decoded-size cap lives on [`ContentDecoder`](crate::ContentDecoder)).
    pub max_body_bytes: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 64 * 1024,
            max_headers: 128,
            max_chunk_extension_bytes: 4 * 1024,
            max_trailer_bytes: 16 * 1024,
            max_body_bytes: None,
        }
    }
}

/// Relaxations real servers sometimes need. Off by default — a strict parser is the defence
/// against response splitting and smuggling, so leniency is always named — except where RFC
/// 9112 asks a client to be forgiving: obs-fold in an ordinary field is unfolded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Leniency {
    /// Accept obs-fold (a field line continued on the next line starting with SP/HTAB) in
    /// ordinary fields, each fold becoming spaces: RFC 9112 §5.2 says a user agent "MUST
    /// replace each received obs-fold with one or more SP octets prior to interpreting the
    /// field value". On by default; a fold in a framing field (`Content-Length`,
    /// `Transfer-Encoding`, `Connection`) is refused either way. Off refuses every fold.
    pub allow_obs_fold: bool,
    /// Accept a status line with no space and no reason after the code (`HTTP/1.1 200`).
    pub allow_missing_reason: bool,
    /// Accept whitespace between a header name and its colon (`Name : value`); the space is
    /// dropped. RFC 9112 §5.1 forbids it because proxies disagree about such fields.
    pub allow_space_before_colon: bool,
    /// Accept a bare LF as the end of a line in the head, chunk lines and trailers
    /// (RFC 9112 §2.2 allows a recipient to; off by default).
    pub allow_bare_lf: bool,
    /// Take a TLS close without `close_notify` as the end of a body delimited by the close.
    /// RFC 9112 §9.8: such a response "is complete only if a valid closure alert has been
    /// received. Treating an incomplete message as complete could expose implementations to
    /// attack." Off by default; bodies framed by `Content-Length` or chunked are judged by
    /// their framing either way.
    pub allow_close_without_notify: bool,
}

impl Default for Leniency {
    /// What RFC 9112 asks of a user agent: obs-fold unfolded in ordinary fields; every other
    /// relaxation off.
    fn default() -> Self {
        Leniency { allow_obs_fold: true, ..Leniency::strict() }
    }
}

impl Leniency {
    /// Every relaxation off, obs-fold refused too.
    pub fn strict() -> Self {
        Leniency {
            allow_obs_fold: false,
            allow_missing_reason: false,
            allow_space_before_colon: false,
            allow_bare_lf: false,
            allow_close_without_notify: false,
        }
    }

    /// Every relaxation on: what browsers and curl accept.
    pub fn permissive() -> Self {
        Leniency {
            allow_obs_fold: true,
            allow_missing_reason: true,
            allow_space_before_colon: true,
            allow_bare_lf: true,
            allow_close_without_notify: true,
        }
    }
}

/// Time budgets per phase of a connection, which the core turns into deadlines (the client
/// layer's `Timeouts` — connect, read, whole call — are set from them). `None` means no limit
/// for that phase. Finite defaults: connect 10 s, send and between-bytes read 30 s,
/// `100-continue` wait 1 s, idle connections 90 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TimeBudgets {
    /// From [`Connection::connecting`](crate::Connection::connecting) until
    /// [`handle_connected`](crate::Connection::handle_connected).
    pub connect: Option<Duration>,
    /// Longest time without write progress while the request is being sent.
    pub send: Option<Duration>,
    /// From the request being fully sent until the final response head is complete.
    pub wait_for_head: Option<Duration>,
    /// Longest gap between received bytes while waiting for or reading a response.
    pub between_bytes: Option<Duration>,
    /// The whole exchange, from `send_request` until the response ends.
    pub total: Option<Duration>,
    /// How long a body announced with `Expect: 100-continue` waits for `100 Continue`
    /// before it is sent anyway (RFC 9110 §10.1.1).
    pub expect_continue: Duration,
    /// How long an idle kept-alive connection is worth keeping.
    pub idle: Option<Duration>,
}

impl Default for TimeBudgets {
    fn default() -> Self {
        TimeBudgets {
            connect: Some(Duration::from_secs(10)),
            send: Some(Duration::from_secs(30)),
            wait_for_head: None,
            between_bytes: Some(Duration::from_secs(30)),
            total: None,
            expect_continue: Duration::from_secs(1),
            idle: Some(Duration::from_secs(90)),
        }
    }
}

impl TimeBudgets {
    /// No deadline at all (for tests and for drivers that keep their own clocks).
    pub fn none() -> Self {
        TimeBudgets {
            connect: None,
            send: None,
            wait_for_head: None,
            between_bytes: None,
            total: None,
            expect_continue: Duration::from_secs(1),
            idle: None,
        }
    }
}

/// The per-phase time budgets' old name (one name, one meaning: `Timeouts` is the client
/// layer's).
#[deprecated(since = "0.2.0", note = "renamed TimeBudgets (Config::budgets)")]
pub type Timeouts = TimeBudgets;
