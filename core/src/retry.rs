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
//! * When a retryable status has used up its budget, the call fails (`raise_on_status`, on
//!   by default as in urllib3) with the last response kept in the error; off, the last
//!   response is returned as it is.
//!
//! Off by default (`total: Some(0)`): only the transport's stale-connection retry applies.
//!
//! # From urllib3's `Retry`
//!
//! | urllib3 | here | notes |
//! |---|---|---|
//! | `total` | [`RetryPolicy::total`] | `None` is no overall cap, as urllib3's `None` |
//! | `connect`, `read`, `status` | the fields of the same names | |
//! | `other` | — | every failure is a connect or a read failure here |
//! | `allowed_methods` | [`RetryPolicy::allowed_methods`] | same default set |
//! | `status_forcelist` | [`RetryPolicy::status_forcelist`] | |
//! | `backoff_factor`, `backoff_max`, `backoff_jitter` | the fields of the same names | durations, not float seconds |
//! | `raise_on_status` | [`RetryPolicy::raise_on_status`] | on by default, as in urllib3 |
//! | `respect_retry_after_header` | [`RetryPolicy::respect_retry_after`] | plus a cap, `retry_after_max` |
//! | `redirect`, `raise_on_redirect` | the session's redirect limit | going past it is always an error |
//! | `remove_headers_on_redirect` | — | credentials never follow a redirect to another origin |
//! | `MaxRetryError` on a status | [`Decision::Exhausted`]; the client's `retries_exhausted` error, with the last response | |
//! | `MaxRetryError` on a failure | the last failure's own error (kind `connect`, `timeout`, `eof`, …), "after N attempts" | |

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::Method;

/// The statuses urllib3 retries because of a `Retry-After` alone
/// (`RETRY_AFTER_STATUS_CODES`): 413, 429 and 503.
const RETRY_AFTER_STATUSES: [u16; 3] = [413, 429, 503];

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
    /// When a retryable status has used up its budget, fail (the client's
    /// `retries_exhausted`, carrying the last response) rather than return that response.
    pub raise_on_status: bool,
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
            raise_on_status: true,
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

    /// Sets the budget for connect failures (`None`: only `total` caps them).
    pub fn connect(mut self, retries: Option<u32>) -> Self {
        self.connect = retries;
        self
    }

    /// Sets the budget for failures after the request went out (`None`: only `total`).
    pub fn read(mut self, retries: Option<u32>) -> Self {
        self.read = retries;
        self
    }

    /// Sets the budget for retryable statuses (`None`: only `total`).
    pub fn status(mut self, retries: Option<u32>) -> Self {
        self.status = retries;
        self
    }

    /// Sets the methods retried after read failures and statuses (connect failures are
    /// retried for every method).
    pub fn allowed_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.allowed_methods = methods.into_iter().collect();
        self
    }

    /// Sets the longest backoff.
    pub fn backoff_max(mut self, max: Duration) -> Self {
        self.backoff_max = max;
        self
    }

    /// Sets the most random time added to each backoff.
    pub fn backoff_jitter(mut self, jitter: Duration) -> Self {
        self.backoff_jitter = jitter;
        self
    }

    /// Whether `Retry-After` on 413, 429 and 503 makes them retryable and sets the wait, and
    /// the longest wait honoured.
    pub fn respect_retry_after(mut self, respect: bool, max: Duration) -> Self {
        self.respect_retry_after = respect;
        self.retry_after_max = max;
        self
    }

    /// Whether a retryable status that used up its budget fails the call (the default) or
    /// is returned as the response.
    pub fn raise_on_status(mut self, raise: bool) -> Self {
        self.raise_on_status = raise;
        self
    }
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after this wait.
    Retry(Duration),
    /// Not a case for retrying (a status not in the forcelist, a method that may not be
    /// repeated): the response or the error stands as it is.
    Stop,
    /// A case for retrying, but a budget is used up: urllib3's `MaxRetryError`.
    Exhausted,
}

impl Decision {
    /// The wait before the next attempt, if there is one.
    pub fn wait(self) -> Option<Duration> {
        match self {
            Decision::Retry(wait) => Some(wait),
            Decision::Stop | Decision::Exhausted => None,
        }
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
    /// Shared: a session hands the same policy to every call (no copy of its lists per call).
    policy: Arc<RetryPolicy>,
    retried: u32,
    connect: u32,
    read: u32,
    status: u32,
}

impl Retries {
    /// A fresh call under `policy` (a [`RetryPolicy`], or one shared with other calls as an
    /// `Arc<RetryPolicy>`).
    pub fn new(policy: impl Into<Arc<RetryPolicy>>) -> Retries {
        Retries { policy: policy.into(), retried: 0, connect: 0, read: 0, status: 0 }
    }

    /// The policy in force.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Attempts made so far (the first one included).
    pub fn attempts(&self) -> u32 {
        self.retried + 1
    }

    /// After `outcome` of a `method` request: [`Decision::Retry`] after a wait, or give up
    /// because the outcome is not retryable ([`Decision::Stop`]) or a budget is used up
    /// ([`Decision::Exhausted`]). `now` reads an HTTP-date `Retry-After`; `random` in
    /// `[0, 1)` draws the jitter.
    pub fn next(&mut self, method: &Method, outcome: Outcome<'_>, now: SystemTime, random: f64) -> Decision {
        if !self.considers(method, outcome) {
            return Decision::Stop;
        }
        let (budget, used) = match outcome {
            Outcome::ConnectFailed => (self.policy.connect, &mut self.connect),
            Outcome::ReadFailed => (self.policy.read, &mut self.read),
            Outcome::Status { .. } => (self.policy.status, &mut self.status),
        };
        if budget.is_some_and(|budget| *used >= budget) || self.policy.total.is_some_and(|total| self.retried >= total)
        {
            return Decision::Exhausted;
        }
        *used += 1;
        self.retried += 1;
        if let Outcome::Status { retry_after: Some(value), .. } = outcome {
            if self.policy.respect_retry_after {
                if let Some(wait) = parse_retry_after(value, now) {
                    return Decision::Retry(wait.min(self.policy.retry_after_max));
                }
            }
        }
        Decision::Retry(self.backoff(random))
    }

    /// Whether the policy retries this kind of outcome at all (its budgets aside): when it
    /// does not, [`next`](Self::next) answers [`Decision::Stop`] whatever its other inputs,
    /// so a caller may skip reading the clock and drawing the jitter.
    pub fn considers(&self, method: &Method, outcome: Outcome<'_>) -> bool {
        match outcome {
            Outcome::ConnectFailed => true,
            Outcome::ReadFailed => self.policy.allowed_methods.contains(method),
            Outcome::Status { status, retry_after } => {
                self.retryable_status(status, retry_after) && self.policy.allowed_methods.contains(method)
            }
        }
    }

    fn retryable_status(&self, status: u16, retry_after: Option<&[u8]>) -> bool {
        self.policy.status_forcelist.contains(&status)
            || (retry_after.is_some() && self.policy.respect_retry_after && RETRY_AFTER_STATUSES.contains(&status))
    }

    /// Whether a response with `status` may be retried by this policy with its `Retry-After`
    /// read: a caller that asks first need not look the field up for any other response.
    pub fn reads_retry_after(&self, status: u16) -> bool {
        self.policy.respect_retry_after
            && (self.policy.status_forcelist.contains(&status) || RETRY_AFTER_STATUSES.contains(&status))
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
    fn retry_after_is_read_only_for_statuses_it_can_make_retried() {
        let retries = Retries::new(RetryPolicy::new(3).status_forcelist([500]));
        for status in [413, 429, 503, 500] {
            assert!(retries.reads_retry_after(status), "{status}");
            let retry_after = Outcome::Status { status, retry_after: Some(b"1") };
            assert!(retries.considers(&Method::GET, retry_after), "{status} is retried with it");
        }
        for status in [200, 404, 502] {
            assert!(!retries.reads_retry_after(status), "{status}");
            let retry_after = Outcome::Status { status, retry_after: Some(b"1") };
            assert!(!retries.considers(&Method::GET, retry_after), "{status} is not retried, with it or not");
        }
        let ignoring = Retries::new(RetryPolicy::new(3).respect_retry_after(false, Duration::ZERO));
        assert!(!ignoring.reads_retry_after(503));
    }

    #[test]
    fn off_by_default() {
        let mut retries = Retries::new(RetryPolicy::default());
        assert_eq!(retries.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0).wait(), None);
        assert_eq!(retries.attempts(), 1);
    }

    #[test]
    fn connect_failures_retry_any_method_read_failures_only_idempotent_ones() {
        let mut retries = Retries::new(RetryPolicy::new(3));
        assert_eq!(retries.next(&Method::POST, Outcome::ConnectFailed, NOW, 0.0).wait(), Some(Duration::ZERO));
        assert_eq!(
            retries.next(&Method::POST, Outcome::ReadFailed, NOW, 0.0).wait(),
            None,
            "POST may have been processed"
        );
        assert!(retries.next(&Method::PUT, Outcome::ReadFailed, NOW, 0.0).wait().is_some());
        assert_eq!(retries.attempts(), 3);
    }

    #[test]
    fn separate_budgets_each_stop_the_retries() {
        let mut policy = RetryPolicy::new(10);
        policy.connect = Some(1);
        policy.read = Some(2);
        let mut retries = Retries::new(policy);
        assert!(retries.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0).wait().is_some());
        assert_eq!(retries.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0).wait(), None, "connect budget spent");
        assert!(retries.next(&Method::GET, Outcome::ReadFailed, NOW, 0.0).wait().is_some());
        assert!(retries.next(&Method::GET, Outcome::ReadFailed, NOW, 0.0).wait().is_some());
        assert_eq!(retries.next(&Method::GET, Outcome::ReadFailed, NOW, 0.0).wait(), None, "read budget spent");
        let mut total = Retries::new(RetryPolicy::new(2));
        assert!(total.next(&Method::GET, Outcome::ReadFailed, NOW, 0.0).wait().is_some());
        assert!(total.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0).wait().is_some());
        assert_eq!(total.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0).wait(), None, "total spent");
    }

    #[test]
    fn statuses_from_the_forcelist_or_with_retry_after() {
        let mut retries = Retries::new(RetryPolicy::new(5).status_forcelist([500, 502]));
        assert!(retries.next(&Method::GET, status(502), NOW, 0.0).wait().is_some());
        assert_eq!(retries.next(&Method::GET, status(404), NOW, 0.0).wait(), None);
        assert_eq!(retries.next(&Method::POST, status(502), NOW, 0.0).wait(), None, "POST is not retried on a status");
        assert_eq!(
            retries.next(&Method::GET, status(503), NOW, 0.0).wait(),
            None,
            "503 without Retry-After, not listed"
        );
        let wait =
            retries.next(&Method::GET, Outcome::Status { status: 503, retry_after: Some(b"7") }, NOW, 0.0).wait();
        assert_eq!(wait, Some(Duration::from_secs(7)));
        let wait =
            retries.next(&Method::GET, Outcome::Status { status: 429, retry_after: Some(b"100000") }, NOW, 0.0).wait();
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
        let waits: Vec<Duration> = (0..5)
            .map(|_| retries.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0).wait().expect("retry"))
            .collect();
        let millis: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [0, 1000, 2000, 3000, 3000]);
        let jittered = retries.clone().next(&Method::GET, Outcome::ConnectFailed, NOW, 0.5).wait();
        assert_eq!(jittered, Some(Duration::from_secs(3)), "jitter stays under the cap");
        let mut early = Retries::new(RetryPolicy {
            backoff_jitter: Duration::from_secs(1),
            ..RetryPolicy::new(3).backoff_factor(Duration::from_millis(100))
        });
        early.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0).wait();
        assert_eq!(early.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.5).wait(), Some(Duration::from_millis(700)));
    }

    #[test]
    fn a_spent_budget_is_exhausted_a_non_retryable_outcome_stops() {
        let mut retries = Retries::new(RetryPolicy::new(1).status_forcelist([503]));
        assert_eq!(retries.next(&Method::GET, status(503), NOW, 0.0), Decision::Retry(Duration::ZERO));
        assert_eq!(retries.next(&Method::GET, status(503), NOW, 0.0), Decision::Exhausted, "urllib3's MaxRetryError");
        assert_eq!(retries.next(&Method::GET, status(404), NOW, 0.0), Decision::Stop, "not in the forcelist");
        assert_eq!(retries.next(&Method::POST, status(503), NOW, 0.0), Decision::Stop, "POST is not retried");
        assert_eq!(retries.next(&Method::GET, Outcome::ConnectFailed, NOW, 0.0), Decision::Exhausted);
        let policy = RetryPolicy::new(5).status(Some(0)).status_forcelist([502]).raise_on_status(false);
        assert!(!policy.raise_on_status);
        assert_eq!(Retries::new(policy).next(&Method::GET, status(502), NOW, 0.0), Decision::Exhausted);
    }
}
