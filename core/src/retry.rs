//! Retries with urllib3's `Retry` semantics, as a pure decision: the transport reports what
//! happened, the policy says whether to go again and how long to wait first. The wait is a
//! duration, so a blocking transport sleeps and an event loop sets a timer.
//!
//! * Separate budgets: `total`, `connect`, `read`, `status`; any one running out stops.
//! * A connect failure is retried whatever the method (nothing reached the server); a read
//!   failure (the request went out) and a retryable status only for `allowed_methods`
//!   (HEAD, GET, PUT, DELETE, OPTIONS, TRACE by default: the idempotent ones).
//! * A status is retryable when in `status_forcelist`, or when it is 413, 429 or 503 with a
//!   `Retry-After` and `respect_retry_after` is on.
//! * Backoff: none before the first retry, then `backoff_factor × 2^(n−1)` for the n-th
//!   consecutive failure, plus up to `backoff_jitter`, capped at `backoff_max` (120 s).
//!   `Retry-After` (seconds or an HTTP-date) replaces it, capped at `retry_after_max`.
//!
//! Off by default (`total: Some(0)`): only the transport's stale-connection retry applies.

use std::time::{Duration, SystemTime};

use http::Method;

/// How to retry.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries of any kind (`None`: no overall cap).
    pub total: Option<u32>,
    /// Retries after connect failures.
    pub connect: Option<u32>,
    /// Retries after failures once the request was sent.
    pub read: Option<u32>,
    /// Retries after retryable statuses.
    pub status: Option<u32>,
    /// Statuses that are retried.
    pub status_forcelist: Vec<u16>,
    /// Methods retried after read failures and statuses.
    pub allowed_methods: Vec<Method>,
    /// The backoff's base.
    pub backoff_factor: Duration,
    /// The longest backoff.
    pub backoff_max: Duration,
    /// Up to this much random time is added to each backoff.
    pub backoff_jitter: Duration,
    /// Wait as `Retry-After` says on 413, 429 and 503.
    pub respect_retry_after: bool,
    /// The longest `Retry-After` honoured.
    pub retry_after_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy::new(0)
    }
}

impl RetryPolicy {
    /// Up to `total` retries of any kind, with urllib3's other defaults.
    pub fn new(total: u32) -> Self {
        RetryPolicy {
            total: Some(total),
            connect: None,
            read: None,
            status: None,
            status_forcelist: Vec::new(),
            allowed_methods: [Method::HEAD, Method::GET, Method::PUT, Method::DELETE, Method::OPTIONS, Method::TRACE]
                .into(),
            backoff_factor: Duration::ZERO,
            backoff_max: Duration::from_secs(120),
            backoff_jitter: Duration::ZERO,
            respect_retry_after: true,
            retry_after_max: Duration::from_secs(120),
        }
    }

    /// Sets the statuses that are retried.
    pub fn status_forcelist(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.status_forcelist = statuses.into_iter().collect();
        self
    }

    /// Sets the backoff base.
    pub fn backoff_factor(mut self, factor: Duration) -> Self {
        self.backoff_factor = factor;
        self
    }
}

/// What happened to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// The connection could not be made: nothing reached the server.
    ConnectFailed,
    /// The request went out and then the exchange failed (reset, timeout, early close).
    ReadFailed,
    /// A response arrived with this status and `Retry-After` value.
    Status {
        /// The status code.
        status: u16,
        /// The `Retry-After` field value, if any.
        retry_after: Option<&'a [u8]>,
    },
}

/// The retry state of one call.
#[derive(Debug, Clone)]
pub struct Retries {
    policy: RetryPolicy,
    retried: u32,
    connect: u32,
    read: u32,
    status: u32,
}

impl Retries {
    /// A fresh call under `policy`.
    pub fn new(policy: RetryPolicy) -> Retries {
        Retries { policy, retried: 0, connect: 0, read: 0, status: 0 }
    }

    /// Attempts made so far (the first one included).
    pub fn attempts(&self) -> u32 {
        self.retried + 1
    }

    /// After `outcome` of a `method` request: `Some(wait)` to try again after `wait`, `None`
    /// to give up (return the response or the error). `now` reads an HTTP-date
    /// `Retry-After`; `random` in `[0, 1)` draws the jitter.
    pub fn next(&mut self, method: &Method, outcome: Outcome<'_>, now: SystemTime, random: f64) -> Option<Duration> {
        let allowed = self.policy.allowed_methods.contains(method);
        let (budget, used) = match outcome {
            Outcome::ConnectFailed => (self.policy.connect, &mut self.connect),
            Outcome::ReadFailed if allowed => (self.policy.read, &mut self.read),
            Outcome::Status { status, retry_after } if allowed && self.retryable_status(status, retry_after) => {
                (self.policy.status, &mut self.status)
            }
            _ => return None,
        };
        if budget.is_some_and(|budget| *used >= budget) || self.policy.total.is_some_and(|total| self.retried >= total)
        {
            return None;
        }
        *used += 1;
        self.retried += 1;
        if let Outcome::Status { retry_after: Some(value), .. } = outcome {
            if self.policy.respect_retry_after {
                if let Some(wait) = parse_retry_after(value, now) {
                    return Some(wait.min(self.policy.retry_after_max));
                }
            }
        }
        Some(self.backoff(random))
    }

    fn retryable_status(&self, status: u16, retry_after: Option<&[u8]>) -> bool {
        self.policy.status_forcelist.contains(&status)
            || (self.policy.respect_retry_after && retry_after.is_some() && matches!(status, 413 | 429 | 503))
    }

    /// urllib3: no wait before the first retry, then `factor × 2^(n−1)` plus jitter, capped.
    fn backoff(&self, random: f64) -> Duration {
        if self.retried <= 1 {
            return Duration::ZERO;
        }
        let exponent = (self.retried - 1).min(30);
        let base = self.policy.backoff_factor.as_secs_f64() * f64::from(1u32 << exponent);
        let jitter = self.policy.backoff_jitter.as_secs_f64() * random.clamp(0.0, 1.0);
        Duration::try_from_secs_f64((base + jitter).min(self.policy.backoff_max.as_secs_f64()))
            .unwrap_or(self.policy.backoff_max)
    }
}

/// `Retry-After = HTTP-date / delay-seconds` (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text.parse::<u64>().ok().map(Duration::from_secs);
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: SystemTime = SystemTime::UNIX_EPOCH;

    fn status(code: u16) -> Outcome<'static> {
        Outcome::Status { status: code, retry_after: None }
    }

    #[test]
    fn off_by_default() {
        let mut retries = Retries::new(RetryPolicy::default());
        assert_eq!(retries.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0), None);
        assert_eq!(retries.attempts(), 1);
    }

    #[test]
    fn connect_failures_retry_any_method_read_failures_only_idempotent_ones() {
        let mut retries = Retries::new(RetryPolicy::new(3));
        assert_eq!(retries.next(&Method::POST, Outcome::ConnectFailed, NOW, 0.0), Some(Duration::ZERO));
        assert_eq!(retries.next(&Method::POST, Outcome::ReadFailed, NOW, 0.0), None, "POST may have been processed");
        assert!(retries.next(&Method::PUT, Outcome::ReadFailed, NOW, 0.0).is_some());
        assert_eq!(retries.attempts(), 3);
    }

    #[test]
    fn separate_budgets_each_stop_the_retries() {
        let mut policy = RetryPolicy::new(10);
        policy.connect = Some(1);
        policy.read = Some(2);
        let mut retries = Retries::new(policy);
        assert!(retries.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0).is_some());
        assert_eq!(retries.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0), None, "connect budget spent");
        assert!(retries.next(&Method::GET, Outcome::ReadFailed, NOW, 0.0).is_some());
        assert!(retries.next(&Method::GET, Outcome::ReadFailed, NOW, 0.0).is_some());
        assert_eq!(retries.next(&Method::GET, Outcome::ReadFailed, NOW, 0.0), None, "read budget spent");
        let mut total = Retries::new(RetryPolicy::new(2));
        assert!(total.next(&Method::GET, Outcome::ReadFailed, NOW, 0.0).is_some());
        assert!(total.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0).is_some());
        assert_eq!(total.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0), None, "total spent");
    }

    #[test]
    fn statuses_from_the_forcelist_or_with_retry_after() {
        let mut retries = Retries::new(RetryPolicy::new(5).status_forcelist([500, 502]));
        assert!(retries.next(&Method::GET, status(502), NOW, 0.0).is_some());
        assert_eq!(retries.next(&Method::GET, status(404), NOW, 0.0), None);
        assert_eq!(retries.next(&Method::POST, status(502), NOW, 0.0), None, "POST is not retried on a status");
        assert_eq!(retries.next(&Method::GET, status(503), NOW, 0.0), None, "503 without Retry-After, not listed");
        let wait = retries.next(&Method::GET, Outcome::Status { status: 503, retry_after: Some(b"7") }, NOW, 0.0);
        assert_eq!(wait, Some(Duration::from_secs(7)));
        let wait = retries.next(&Method::GET, Outcome::Status { status: 429, retry_after: Some(b"100000") }, NOW, 0.0);
        assert_eq!(wait, Some(Duration::from_secs(120)), "capped");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(b" 120 ", NOW), Some(Duration::from_secs(120)));
        let date = b"Thu, 01 Jan 1970 00:01:40 GMT";
        assert_eq!(parse_retry_after(date, NOW), Some(Duration::from_secs(100)));
        assert_eq!(parse_retry_after(date, NOW + Duration::from_secs(500)), Some(Duration::ZERO), "a past date: now");
        assert_eq!(parse_retry_after(b"-5", NOW), None);
        assert_eq!(parse_retry_after(b"soon", NOW), None);
        assert_eq!(parse_retry_after(b"99999999999999999999999", NOW), None);
    }

    #[test]
    fn exponential_backoff_with_jitter_and_cap() {
        let mut policy = RetryPolicy::new(10).backoff_factor(Duration::from_millis(500));
        policy.backoff_jitter = Duration::from_secs(1);
        policy.backoff_max = Duration::from_secs(3);
        let mut retries = Retries::new(policy);
        let waits: Vec<Duration> =
            (0..5).map(|_| retries.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0).expect("retry")).collect();
        let millis: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [0, 1000, 2000, 3000, 3000]);
        let jittered = retries.clone().next(&Method::GET, Outcome::ConnectFailed, NOW, 0.5);
        assert_eq!(jittered, Some(Duration::from_secs(3)), "jitter stays under the cap");
        let mut early = Retries::new(RetryPolicy {
            backoff_jitter: Duration::from_secs(1),
            ..RetryPolicy::new(3).backoff_factor(Duration::from_millis(100))
        });
        early.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0);
        assert_eq!(early.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.5), Some(Duration::from_millis(700)));
    }
}
