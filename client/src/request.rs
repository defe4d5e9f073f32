//! Building a request the way Requests does: `session.get(url).query(..).header(..)`, then
//! `.send()` through the session's blocking transport or `.build()` for an event-loop client.

use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tidings_core::{Headers, Method};
use url::Url;

use crate::auth::{BasicAuth, BearerAuth};
use crate::error::{Error, ErrorKind};
use crate::prepared::{Auth, PreparedBody, PreparedRequest};
use crate::response::Response;
use crate::session::Session;

impl Session {
    /// A request with any method.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        RequestBuilder::new(self.clone(), method, url)
    }

    /// `GET`.
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// `POST`.
    pub fn post(&self, url: &str) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// `PUT`.
    pub fn put(&self, url: &str) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// `PATCH`.
    pub fn patch(&self, url: &str) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// `DELETE`.
    pub fn delete(&self, url: &str) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// `HEAD`.
    pub fn head(&self, url: &str) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// `OPTIONS`.
    pub fn options(&self, url: &str) -> RequestBuilder {
        self.request(Method::OPTIONS, url)
    }
}

/// Builds one request on a session: `session.get(url).query(&[("q", "rust")]).send()`.
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder {
    session: Session,
    method: Method,
    url: Result<Url, Error>,
    headers: Headers,
    query: Vec<(String, String)>,
    raw_query: Vec<String>,
    body: Result<PreparedBody, Error>,
    auth: Option<Arc<dyn Auth>>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    cookies: Vec<(String, String)>,
}

impl RequestBuilder {
    pub(crate) fn new(session: Session, method: Method, url: &str) -> RequestBuilder {
        let invalid = |reason: String| Error::from(tidings_core::InvalidRequest::Url { url: url.to_owned(), reason });
        // The URL parser would quietly drop a CR, LF or tab; a URL holding a control byte is
        // refused instead, as Python's http.client does since CVE-2019-9740.
        let url = if url.bytes().any(|byte| byte < 0x20 || byte == 0x7f) {
            Err(invalid("it contains a control character (CR, LF, NUL, tab, …)".to_owned()))
        } else {
            match crate::urls::parse(url) {
                Err(error) => Err(invalid(format!("{error}{}", scheme_hint(url)))),
                // `localhost:8080/get` parses, with "localhost" as its scheme.
                Ok(parsed) if !matches!(parsed.scheme(), "http" | "https") && !scheme_hint(url).is_empty() => {
                    Err(invalid(format!("{:?} is not a scheme{}", parsed.scheme(), scheme_hint(url))))
                }
                Ok(parsed) => Ok(parsed),
            }
        };
        RequestBuilder {
            session,
            method,
            url,
            headers: Headers::new(),
            query: Vec::new(),
            raw_query: Vec::new(),
            body: Ok(PreparedBody::Empty),
            auth: None,
            timeout: None,
            connect_timeout: None,
            read_timeout: None,
            cookies: Vec::new(),
        }
    }

    /// Adds query parameters, in order; repeated keys stay repeated. Encoded as
    /// `application/x-www-form-urlencoded`, as Requests does. Pairs come in any shape:
    /// `&[("q", "rust")]`, `[("q", "rust")]`, a `Vec` or a map (by value or reference), an
    /// iterator (see [`Param`](crate::Param)); a struct goes through
    /// [`query_serialize`](Self::query_serialize).
    pub fn query(mut self, pairs: impl IntoIterator<Item = impl crate::params::Param>) -> Self {
        self.query.extend(crate::params::collect(pairs));
        self
    }

    /// Adds the query parameters a `Serialize` value makes (a struct's fields in order, a
    /// map's entries), as reqwest's `query(&value)`.
    #[cfg(feature = "serde")]
    pub fn query_serialize<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match crate::params::serialized(value) {
            Ok(pairs) => self.query.extend(pairs),
            Err(error) => self.url = Err(error),
        }
        self
    }

    /// Adds a query string as written (`"a=1&flag"`, as Requests takes `params` as a string),
    /// after the URL's own query and the pairs; characters a query cannot hold are
    /// percent-encoded, nothing else is changed.
    pub fn query_raw(mut self, raw: impl Into<String>) -> Self {
        let raw = raw.into();
        let raw = raw.trim_start_matches('?');
        if !raw.is_empty() {
            self.raw_query.push(raw.to_owned());
        }
        self
    }

    /// Adds a header (repeatable; case and order kept).
    pub fn header(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Adds several headers.
    pub fn headers<N: Into<String>, V: AsRef<[u8]>>(mut self, headers: impl IntoIterator<Item = (N, V)>) -> Self {
        for (name, value) in headers {
            self.headers.append(name, value);
        }
        self
    }

    /// A raw body held in memory.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Ok(PreparedBody::Bytes(body.into()));
        self
    }

    /// A body streamed from `reader`: chunked when `length` is unknown. It is read once, so
    /// it is never sent twice: a redirect that keeps the body (307, 308, and 301 or 302 for
    /// any method but POST) fails with `invalid_request`, the redirect response kept in the
    /// error; it is retried only when the connection failed before anything was sent, and an
    /// authentication challenge is not answered. Use
    /// [`body_seekable`](Self::body_seekable) or [`body`](Self::body) for a body that may be
    /// sent again.
    pub fn body_reader(mut self, reader: impl Read + Send + 'static, length: Option<u64>) -> Self {
        self.body = Ok(PreparedBody::Reader { reader: Mutex::new(Box::new(reader)), length });
        self
    }

    /// A body streamed from something that can seek, usually a `File`: sent with
    /// `Content-Length` (the bytes from its current position to its end), and — unlike
    /// [`body_reader`](Self::body_reader) — sent again when a redirect that keeps the body,
    /// a retry or an auth challenge needs it, by seeking back.
    pub fn body_seekable(mut self, mut reader: impl Read + Seek + Send + 'static) -> Self {
        let measured = (|| {
            let start = reader.stream_position()?;
            let end = reader.seek(SeekFrom::End(0))?;
            reader.seek(SeekFrom::Start(start))?;
            Ok::<_, std::io::Error>((start, end.saturating_sub(start)))
        })();
        self.body = match measured {
            Ok((start, length)) => Ok(PreparedBody::Seekable { reader: Mutex::new(Box::new(reader)), start, length }),
            Err(error) => Err(Error::new(ErrorKind::InvalidRequest, "cannot measure the body").with_source(error)),
        };
        self
    }

    /// A `multipart/form-data` body, streamed (files are read while sending): with
    /// `Content-Length` when every part's size is known, chunked otherwise.
    pub fn multipart(mut self, form: crate::multipart::Multipart) -> Self {
        self.set_default_header("Content-Type", &form.content_type());
        let (reader, length) = form.into_reader();
        self.body = Ok(PreparedBody::Reader { reader: Mutex::new(Box::new(reader)), length });
        self
    }

    /// An `application/x-www-form-urlencoded` body, its fields in any shape
    /// [`query`](Self::query) takes.
    pub fn form(mut self, fields: impl IntoIterator<Item = impl crate::params::Param>) -> Self {
        let encoded =
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(crate::params::collect(fields)).finish();
        self.set_default_header("Content-Type", "application/x-www-form-urlencoded");
        self.body = Ok(PreparedBody::Bytes(encoded.into_bytes()));
        self
    }

    /// An `application/x-www-form-urlencoded` body from a `Serialize` value, as reqwest's
    /// `form(&value)`.
    #[cfg(feature = "serde")]
    pub fn form_serialize<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.set_default_header("Content-Type", "application/x-www-form-urlencoded");
        self.body = crate::params::serialized(value).map(|pairs| {
            PreparedBody::Bytes(
                url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish().into_bytes(),
            )
        });
        self
    }

    /// A JSON body (`Content-Type: application/json`).
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.body = serde_json::to_vec(value).map(PreparedBody::Bytes).map_err(|error| {
            Error::new(ErrorKind::InvalidRequest, "cannot serialize the JSON body").with_source(error)
        });
        self.set_default_header("Content-Type", "application/json");
        self
    }

    /// A cookie for this request alone (Requests' `cookies=`): sent to the request's own
    /// host, and overriding a session cookie of the same name; the session does not keep it.
    /// A name that is not a token or a value with `;`, `,`, spaces or control bytes is
    /// refused when the request is built.
    pub fn cookie(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.cookies.push((name.into(), value.into()));
        self
    }

    /// Basic auth for this request: `basic_auth("user", "pass")`, or `basic_auth("user",
    /// None)` for none.
    pub fn basic_auth<'a>(self, user: impl Into<String>, password: impl Into<Option<&'a str>>) -> Self {
        self.auth(BasicAuth::new(user, password))
    }

    /// Bearer-token auth for this request.
    pub fn bearer_auth(self, token: impl Into<String>) -> Self {
        self.auth(BearerAuth(token.into()))
    }

    /// Digest auth for this request (RFC 7616): answers the server's challenge once.
    pub fn digest_auth(self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth(crate::auth::DigestAuth::new(user, password))
    }

    /// Any [`Auth`] for this request (replaces the session's).
    pub fn auth(mut self, auth: impl Auth + 'static) -> Self {
        self.auth = Some(Arc::new(auth));
        self
    }

    /// The session the request is built on (whose configuration sends it).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// A whole-call time limit for this request (connect, send, wait, read).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// This request's connect limit (DNS, TCP, TLS), instead of the session's; it applies
    /// when a new connection is made for it.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// This request's longest silence while sending or reading, instead of the session's
    /// (on a pooled connection too).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = Some(timeout);
        self
    }

    /// Prepares the request without sending it: URL with query, session defaults, auth.
    pub fn build(self) -> Result<PreparedRequest, Error> {
        let mut url = self.url?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(tidings_core::InvalidRequest::UnsupportedScheme { scheme: url.scheme().to_owned() }.into());
        }
        let settings = self.session.inner();
        let query: Vec<&(String, String)> = settings.query.iter().chain(self.query.iter()).collect();
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(key, value)| (key, value)));
        }
        if !self.raw_query.is_empty() {
            let raw = self.raw_query.join("&");
            let combined = match url.query().filter(|existing| !existing.is_empty()) {
                Some(existing) => format!("{existing}&{raw}"),
                None => raw,
            };
            url.set_query(Some(&combined));
        }
        let mut headers = Headers::new();
        for (name, value) in settings.headers.iter() {
            if !self.headers.contains(name) {
                headers.append(name, value);
            }
        }
        for (name, value) in self.headers.iter() {
            headers.append(name, value);
        }
        // RFC 6265 §4.1.1: cookie-name is a token; cookie-value is cookie-octets.
        for (name, value) in &self.cookies {
            let token = !name.is_empty()
                && name.bytes().all(|byte| byte.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&byte));
            let octets = value.bytes().all(|byte| byte.is_ascii_graphic() && !b"\",;\\".contains(&byte));
            if !token || !octets {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    format!("cookie {name:?} is not a valid name=value pair"),
                ));
            }
        }
        let auth = self.auth.or_else(|| settings.auth.clone());
        // `.netrc` stands in only when the caller gave no credentials at all (Requests' rule).
        let netrc = auth.is_none()
            && settings.netrc.is_some()
            && !headers.contains("authorization")
            && url.username().is_empty()
            && url.password().is_none();
        let mut prepared = PreparedRequest {
            method: self.method,
            auth: auth.map(|auth| (auth, url.origin())),
            url,
            headers,
            body: self.body?,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            read_timeout: self.read_timeout,
            netrc,
            cookies: self.cookies,
        };
        if let Some((auth, _)) = prepared.auth.clone() {
            auth.apply(&mut prepared)?;
        } else if netrc {
            self.session.apply_netrc(&mut prepared);
        }
        Ok(prepared)
    }

    /// Sends the request and returns the response once its head has arrived; the body is
    /// read from the response.
    pub fn send(self) -> Result<Response, Error> {
        let session = self.session.clone();
        let prepared = self.build()?;
        session.send(prepared)
    }

    fn set_default_header(&mut self, name: &str, value: &str) {
        if !self.headers.contains(name) {
            self.headers.append(name, value);
        }
    }
}

/// For a URL written without `http://` (`example.com/x`, `localhost:8080/get`, `:8080/get`),
/// the hint that names the URL meant; empty otherwise.
fn scheme_hint(text: &str) -> String {
    if text.contains("://") || text.is_empty() {
        return String::new();
    }
    let (host, rest) = text.split_once([':', '/']).map_or((text, ""), |(host, _)| (host, &text[host.len()..]));
    // `localhost:8080/get` and `:8080/get`: a port after the colon; `example.com/x`: a dot.
    let port_follows = rest.strip_prefix(':').is_some_and(|after| after.starts_with(|c: char| c.is_ascii_digit()));
    let looks_like_host = host.contains('.') || host.eq_ignore_ascii_case("localhost") || host.is_empty();
    if !(port_follows || (looks_like_host && !host.is_empty())) {
        return String::new();
    }
    let host = if host.is_empty() { "localhost" } else { host };
    format!(" — did you mean http://{host}{rest}?")
}

#[cfg(test)]
mod tests {
    use super::scheme_hint;

    #[test]
    fn urls_without_a_scheme_get_a_hint() {
        assert_eq!(scheme_hint("example.com/x"), " — did you mean http://example.com/x?");
        assert_eq!(scheme_hint("localhost:8080/get"), " — did you mean http://localhost:8080/get?");
        assert_eq!(scheme_hint(":8080/get"), " — did you mean http://localhost:8080/get?");
        assert_eq!(scheme_hint("127.0.0.1:9/"), " — did you mean http://127.0.0.1:9/?");
        assert_eq!(scheme_hint("http://example.com/"), "");
        assert_eq!(scheme_hint("mailto:me"), "");
        assert_eq!(scheme_hint("ftp:/x"), "");
    }
}
