//! Conversions to and from the `http` crate's types, for code that already holds them: send
//! an `http::Request` through a session, hand a response on as an `http::Response`.

use crate::error::Error;
use crate::request::RequestBuilder;
use crate::response::Response;
use crate::session::Session;

impl Session {
    /// A request built from the `http` crate's: its method, its (absolute) URI, its headers
    /// in order, and its body — through this session's defaults, as any other request.
    ///
    /// ```
    /// let session = tidings_client::Session::new();
    /// let request = http::Request::post("http://127.0.0.1:8080/post").header("X-Trace", "1").body("payload")?;
    /// let prepared = session.request_http(request).build()?;
    /// assert_eq!((prepared.method().as_str(), prepared.body()), ("POST", Some(&b"payload"[..])));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_http<B: Into<Vec<u8>>>(&self, request: http::Request<B>) -> RequestBuilder {
        let (parts, body) = request.into_parts();
        let mut builder = self.request(parts.method, &parts.uri.to_string());
        for (name, value) in &parts.headers {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
        let body = body.into();
        if body.is_empty() {
            builder
        } else {
            builder.body(body)
        }
    }
}

impl Response {
    /// The response as the `http` crate's, its body read whole (and decoded), up to the
    /// session's cap. Names become lowercase; fields `http` cannot represent are left out.
    pub fn into_http(mut self) -> Result<http::Response<Vec<u8>>, Error> {
        let body = self.read_body()?;
        let (parts, ()) = self.head().to_http().into_parts();
        Ok(http::Response::from_parts(parts, body))
    }

    /// The headers as the `http` crate's map.
    pub fn headers_http(&self) -> http::HeaderMap {
        self.headers().to_http()
    }
}
