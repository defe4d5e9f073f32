//! The prepared request (Requests' `PreparedRequest`): what a call sends, hop by hop, and
//! the credentials that act on it ([`Auth`], here beside the type it changes).

use std::fmt;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tidings_core::{Body, Headers, Method, ResponseHead};
use url::Url;

use crate::body::{RequestBody, Rewound, SeekRead};
use crate::error::{Error, ErrorKind};

/// Something that adds credentials to a request (Requests' `AuthBase`).
///
/// Credentials are applied for the origin of the request they were given with, and again on
/// redirect hops back to that origin; they never travel to another one.
pub trait Auth: Send + Sync {
    /// Adds whatever the scheme needs (usually an `Authorization` header).
    fn apply(&self, request: &mut PreparedRequest) -> Result<(), Error>;

    /// A `401` from the credentials' origin answered `request` (`response` is its head; the
    /// body is not read yet). Return `true` after updating `request` to have it sent again,
    /// once (Digest answers its challenge this way); a second 401 is returned to the caller.
    /// The default declines.
    fn retry_unauthorized(&self, request: &mut PreparedRequest, response: &ResponseHead) -> Result<bool, Error> {
        let _ = (request, response);
        Ok(false)
    }
}

/// The body of a prepared request.
pub(crate) enum PreparedBody {
    Empty,
    /// In memory, so it can be replayed.
    Bytes(Vec<u8>),
    /// Streamed from a reader (not replayable). The mutex only makes the request `Sync`
    /// (so errors carrying a response are); access is always through `&mut`.
    Reader {
        reader: Mutex<Box<dyn Read + Send>>,
        length: Option<u64>,
    },
    /// Streamed from a reader that can seek back to `start` (replayable, as a file).
    Seekable {
        reader: Mutex<Box<dyn SeekRead>>,
        start: u64,
        length: u64,
    },
    /// A streamed body that went out and was not kept (a response's copy of its request):
    /// only its length, which decided the framing, remains.
    Sent {
        length: Option<u64>,
    },
}

impl PreparedBody {
    /// Whether the body can be sent again (redirects, retries, auth challenges).
    pub(crate) fn is_replayable(&self) -> bool {
        !matches!(self, PreparedBody::Reader { .. } | PreparedBody::Sent { .. })
    }

    /// What a response's copy of the request keeps of a streamed body: its length, which
    /// decided the framing. `None` for a body kept as it is (none, or bytes).
    fn sent(&self) -> Option<PreparedBody> {
        match self {
            PreparedBody::Empty | PreparedBody::Bytes(_) => None,
            PreparedBody::Reader { length, .. } | PreparedBody::Sent { length } => {
                Some(PreparedBody::Sent { length: *length })
            }
            PreparedBody::Seekable { length, .. } => Some(PreparedBody::Sent { length: Some(*length) }),
        }
    }
}

/// A request ready to send, to inspect first if wanted (Requests' `PreparedRequest`).
pub struct PreparedRequest {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: Headers,
    pub(crate) body: PreparedBody,
    pub(crate) timeout: Option<Duration>,
    /// Connect and read (send and between-bytes) limits of this request, over the session's.
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) read_timeout: Option<Duration>,
    /// The credentials given with the request (or the session's), and the origin they are for.
    pub(crate) auth: Option<(Arc<dyn Auth>, url::Origin)>,
    /// No credentials were given: `.netrc` is consulted for each host the request reaches.
    pub(crate) netrc: bool,
    /// Cookies for this request alone (bound to its origin, never kept by the session).
    pub(crate) cookies: Vec<(String, String)>,
}

impl fmt::Debug for PreparedRequest {
    /// Method, URL (its password hidden), headers in order with credentials (`Authorization`,
    /// `Proxy-Authorization`, `Cookie`) redacted, and the body's length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut url = self.url.clone();
        if url.password().is_some() {
            let _ = url.set_password(Some("redacted"));
        }
        f.debug_struct("PreparedRequest")
            .field("method", &self.method)
            .field("url", &url.as_str())
            .field("headers", &Redacted(&self.headers))
            .field("body", &self.body().map(<[u8]>::len))
            .finish()
    }
}

/// Headers as a map in wire order, credentials' values replaced.
struct Redacted<'a>(&'a Headers);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sensitive = |name: &str| {
            ["authorization", "proxy-authorization", "cookie"].iter().any(|s| name.eq_ignore_ascii_case(s))
        };
        f.debug_map()
            .entries(self.0.iter().map(|(name, value)| {
                let shown = if sensitive(name) { "[redacted]".into() } else { String::from_utf8_lossy(value) };
                (name, shown)
            }))
            .finish()
    }
}

impl PreparedRequest {
    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL, query parameters included.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The headers. Before sending, those the caller and session set (the core adds
    /// `Host`, defaults and framing when it writes the head); for a response's
    /// [`request`](crate::Response::request), every field that went on the wire, in order.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, to change before sending.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body when it is in memory.
    pub fn body(&self) -> Option<&[u8]> {
        match &self.body {
            PreparedBody::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// Whether the body can be sent again (for a redirect, a retry or an auth challenge):
    /// true unless it is streamed from a reader that cannot seek.
    pub fn is_replayable(&self) -> bool {
        self.body.is_replayable()
    }

    /// The core's request for this one.
    pub(crate) fn to_core(&self) -> Result<tidings_core::Request, Error> {
        let body = match &self.body {
            PreparedBody::Empty => Body::Empty,
            PreparedBody::Bytes(bytes) => Body::Stream { length: Some(bytes.len() as u64) },
            PreparedBody::Reader { length, .. } => Body::Stream { length: *length },
            PreparedBody::Seekable { length, .. } => Body::Stream { length: Some(*length) },
            PreparedBody::Sent { length } => Body::Stream { length: *length },
        };
        let mut request = tidings_core::Request::from_url(self.method.clone(), self.url.clone())?.body(body);
        *request.headers_mut() = self.headers.clone();
        Ok(request)
    }

    /// The body from its start, for a new attempt (a seekable one is rewound).
    pub(crate) fn body_from_start(&mut self) -> Result<RequestBody<'_>, Error> {
        if let PreparedBody::Seekable { reader, start, .. } = &mut self.body {
            let reader = reader.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
            reader
                .seek(std::io::SeekFrom::Start(*start))
                .map_err(|error| Error::io(ErrorKind::InvalidRequest, "rewinding the request body", error))?;
        }
        Ok(self.body_resume())
    }

    /// The body where the last read left it (no rewind).
    pub(crate) fn body_resume(&mut self) -> RequestBody<'_> {
        match &mut self.body {
            PreparedBody::Empty | PreparedBody::Sent { .. } => RequestBody::Empty,
            PreparedBody::Bytes(bytes) => RequestBody::Bytes(bytes),
            PreparedBody::Reader { reader, .. } => RequestBody::Reader(Box::new(
                reader.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).as_mut(),
            )),
            PreparedBody::Seekable { reader, .. } => RequestBody::Reader(Box::new(Rewound(
                reader.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).as_mut(),
            ))),
        }
    }

    /// A copy for the response to keep, with `headers`: those the hop carried before the
    /// core added its own. A streamed body is not kept, only its length.
    pub(crate) fn summary(&self, headers: Headers) -> PreparedRequest {
        let body = match (self.body.sent(), &self.body) {
            (Some(sent), _) => sent,
            (None, PreparedBody::Bytes(bytes)) => PreparedBody::Bytes(bytes.clone()),
            (None, _) => PreparedBody::Empty,
        };
        PreparedRequest {
            method: self.method.clone(),
            url: self.url.clone(),
            headers,
            body,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            auth: self.auth.clone(),
            netrc: self.netrc,
            cookies: self.cookies.clone(),
        }
    }

    /// [`summary`](Self::summary) of a request that is done with: nothing is copied.
    pub(crate) fn into_summary(self, headers: Headers) -> PreparedRequest {
        let body = match self.body.sent() {
            Some(sent) => sent,
            None => self.body,
        };
        PreparedRequest { headers, body, ..self }
    }

    /// This request with the head the core writes for it: `Host`, `User-Agent`, `Accept`,
    /// `Accept-Encoding`, credentials from the URL and framing added, in wire order.
    pub(crate) fn as_sent(&self) -> PreparedRequest {
        let wire = self.to_core().ok().and_then(|core| core.wire_headers().ok());
        self.summary(wire.unwrap_or_else(|| self.headers.clone()))
    }
}
