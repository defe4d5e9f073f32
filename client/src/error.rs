//! One error type for every transport, with the stable kinds of the CLI's JSON report.
//!
//! Printed, an error says each thing once: its message is self-contained (what was being
//! done, and why it failed), `source()` goes on only with causes the message does not already
//! tell, and `Debug` — what `main` returning the error prints — adds the kind and the rest of
//! the chain, the way anyhow shows "Caused by:".
//!
//! This file sits below the response model: an error that carries the response behind it
//! (`http_status`, `retries_exhausted`, `redirect_limit`) holds it as an extension, and `Error::response` is
//! written beside the response (`response.rs`), so the two files do not import each other.

use std::any::Any;
use std::fmt;

pub use tidings_core::ErrorKind;
use url::Url;

/// What went wrong, for which URL, and why (the cause is kept as the source). One pointer
/// wide, so results stay small.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    url: Option<Url>,
    status: Option<u16>,
    /// The direct cause, kept whole for downcasting ([`Error::cause`]).
    cause: Option<Box<dyn std::error::Error + Send + Sync>>,
    /// The message already includes the cause's text: the chain goes on from the cause's own
    /// source.
    cause_in_message: bool,
    /// The response that made this an error (a `Response`; see `response.rs`).
    pub(crate) response: Option<Box<dyn Any + Send + Sync>>,
}

impl Error {
    /// An error of `kind` (for transports, and for [`Auth`](crate::Auth) implementations).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                url: None,
                status: None,
                cause: None,
                cause_in_message: false,
                response: None,
            }),
        }
    }

    /// An error from the protocol core; its kind is the core's, and its message the core's.
    pub fn core(error: tidings_core::Error) -> Error {
        let kind = error.kind();
        Error::new(kind, error.to_string()).caused_by(error)
    }

    /// An I/O failure during `doing` (connect, TLS, read, write). A timed-out or would-block
    /// read is `timeout`; an error rustls reported is `tls`; anything else is `kind`.
    pub fn io(kind: ErrorKind, doing: &str, error: std::io::Error) -> Error {
        // An error we wrapped to pass through `Read` comes back out whole.
        if error.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Some(inner) = error.into_inner() {
                if let Ok(ours) = inner.downcast::<Error>() {
                    return *ours;
                }
            }
            return Error::new(kind, doing.to_owned());
        }
        let kind = match error.kind() {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => ErrorKind::Timeout,
            // rustls reports through io::Error; a TLS alert after the handshake (a refused
            // client certificate under TLS 1.3) is still a TLS failure.
            _ if error.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => ErrorKind::Tls,
            _ => kind,
        };
        Error::new(kind, format!("{doing}: {error}")).caused_by(error)
    }

    /// Keeps `source` as the cause, told by the chain (`source()`): the message says what
    /// was being done, the source why it failed.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.inner.cause = Some(Box::new(source));
        self.inner.cause_in_message = false;
        self
    }

    /// Keeps `cause`, whose text the message already includes: the chain goes on from the
    /// cause's own source, so nothing is said twice.
    pub fn caused_by(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.inner.cause = Some(Box::new(cause));
        self.inner.cause_in_message = true;
        self
    }

    /// The direct cause, to downcast (an `io::Error`, a `tidings_core::Error`, a
    /// `rustls::Error`, a `serde_json::Error`, …), whether or not the message tells it.
    pub fn cause(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.cause.as_deref().map(|cause| cause as &(dyn std::error::Error + 'static))
    }

    /// The protocol core's error behind this one, if there is one (its variants say exactly
    /// what was wrong with the bytes).
    pub fn core_error(&self) -> Option<&tidings_core::Error> {
        self.cause().and_then(|cause| cause.downcast_ref::<tidings_core::Error>())
    }

    /// An `http_status` error for a 4xx or 5xx response of `url`.
    pub(crate) fn status(status: u16, reason: &str, url: &Url) -> Error {
        let class = if status >= 500 { "server error" } else { "client error" };
        Error::about_status(ErrorKind::HttpStatus, status, format!("{status} {reason} ({class})"), url)
    }

    /// An error of `kind` about a response with `status` (`http_status`, `retries_exhausted`).
    pub(crate) fn about_status(kind: ErrorKind, status: u16, message: String, url: &Url) -> Error {
        let mut error = Error::new(kind, message).at(url);
        error.inner.status = Some(status);
        error
    }

    /// The response slot (typed access is `Error::response`, beside the response model).
    pub(crate) fn response_slot(&mut self) -> &mut Option<Box<dyn Any + Send + Sync>> {
        &mut self.inner.response
    }

    /// The response slot, read only.
    pub(crate) fn response_ref(&self) -> Option<&(dyn Any + Send + Sync)> {
        self.inner.response.as_deref()
    }

    /// Takes the response slot out.
    pub(crate) fn take_response(self) -> Option<Box<dyn Any + Send + Sync>> {
        self.inner.response
    }

    /// Attaches the URL, unless one is already there.
    pub fn at(mut self, url: &Url) -> Error {
        self.inner.url.get_or_insert_with(|| url.clone());
        self
    }

    /// Prefixes the message with what was being done, keeping kind, URL and source.
    pub fn context(mut self, doing: &str) -> Error {
        self.inner.message = format!("{doing}: {}", self.inner.message);
        self
    }

    /// The stable category (`connect`, `tls`, `timeout`, `protocol`, …).
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The URL being requested when it happened, if known.
    pub fn url(&self) -> Option<&Url> {
        self.inner.url.as_ref()
    }

    /// For `http_status` and `retries_exhausted` errors, the status.
    pub fn status_code(&self) -> Option<u16> {
        self.inner.status
    }

    /// Wraps this error in an `io::Error` (for `Read` impls) that [`Error::io`] unwraps.
    pub fn into_io(self) -> std::io::Error {
        let kind = match self.inner.kind {
            ErrorKind::Timeout => std::io::ErrorKind::TimedOut,
            ErrorKind::Eof => std::io::ErrorKind::UnexpectedEof,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, self)
    }
}

impl fmt::Debug for Error {
    /// What `Display` prints, the kind, and every further cause, one per line — so that
    /// `fn main() -> Result<(), tidings_std::Error>` prints something a person can read:
    ///
    /// ```text
    /// cannot connect to 127.0.0.1:9: Connection refused (os error 111) for url http://127.0.0.1:9/ [kind: connect]
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} [kind: {}]", self.inner.kind)?;
        let mut source = std::error::Error::source(self);
        if source.is_some() {
            f.write_str("\n\nCaused by:")?;
        }
        let mut level = 0;
        while let Some(cause) = source {
            write!(f, "\n    {level}: {cause}")?;
            source = cause.source();
            level += 1;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(url) = &self.inner.url {
            write!(f, " for url {url}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    /// The first cause the message does not already tell.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let cause = self.cause()?;
        if self.inner.cause_in_message {
            cause.source()
        } else {
            Some(cause)
        }
    }
}

impl From<std::io::Error> for Error {
    /// An I/O error, by what it says: one that carries a tidings error (from a
    /// [`Response`](crate::Response)'s `Read`) comes back out whole; a timeout is `timeout`; a
    /// connection closed, reset or cut short is `eof`; anything else (a file the caller named
    /// is missing, say) is the caller's input: `invalid_request`.
    fn from(error: std::io::Error) -> Error {
        use std::io::ErrorKind as Io;
        let kind = match error.kind() {
            Io::UnexpectedEof | Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::WriteZero => {
                ErrorKind::Eof
            }
            Io::ConnectionRefused | Io::NotConnected | Io::AddrNotAvailable => ErrorKind::Connect,
            _ => ErrorKind::InvalidRequest,
        };
        Error::io(kind, "I/O", error)
    }
}

impl From<tidings_core::Error> for Error {
    fn from(error: tidings_core::Error) -> Error {
        Error::core(error)
    }
}

impl From<tidings_core::InvalidRequest> for Error {
    fn from(error: tidings_core::InvalidRequest) -> Error {
        Error::core(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_threads_and_unwrap_from_io() {
        fn sendable<T: Send + Sync + 'static>() {}
        sendable::<Error>();
        let original = Error::new(ErrorKind::Eof, "closed early");
        let back = Error::io(ErrorKind::Eof, "reading", original.into_io());
        assert_eq!(back.kind(), ErrorKind::Eof);
        assert_eq!(back.to_string(), "closed early");
        let timed_out = Error::from(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert_eq!(timed_out.kind(), ErrorKind::Timeout);
    }
}
