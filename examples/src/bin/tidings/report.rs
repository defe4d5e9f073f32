//! The JSON report of `docs/report.md`: one object per response, a stable contract.

use base64::Engine as _;
use serde::Serialize;
use tidings_core::{CloseReason, Error, HeaderBlock, ResponseHead};

/// One response (or failure), as the contract lays it out. Fields are only ever added.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub version: Option<String>,
    pub headers: Vec<[String; 2]>,
    pub body_b64: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub informational: Vec<Informational>,
    pub trailers: Vec<[String; 2]>,
    pub error: Option<ErrorReport>,
    pub url: Option<String>,
    pub redirects: Vec<String>,
    pub reused_connection: bool,
    pub keep_alive: bool,
    pub close_reason: Option<String>,
    pub elapsed_ms: f64,
    /// A coding the client could not decode, so the body is as received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecoded_coding: Option<String>,
}

/// A 1xx response received before the final one.
#[derive(Debug, Serialize)]
pub struct Informational {
    pub status: u16,
    pub headers: Vec<[String; 2]>,
}

/// `{"kind": ..., "message": ...}`.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub kind: &'static str,
    pub message: String,
}

impl Report {
    pub fn set_head(&mut self, head: &ResponseHead) {
        self.status = Some(head.status());
        self.reason = Some(octets(head.reason()));
        self.version = Some(head.version().as_str().to_owned());
        self.headers = fields(head.headers());
    }

    /// The decoded body, and its text when `Content-Type` names a charset (docs/report.md).
    pub fn set_body(&mut self, body: &[u8], content_type: Option<&[u8]>) {
        self.body_b64 = base64::engine::general_purpose::STANDARD.encode(body);
        if content_type.and_then(tidings_core::text::charset).is_some() {
            self.text = Some(tidings_core::text::decode_text(content_type, body).into_owned());
        }
    }

    pub fn set_error(&mut self, error: &Error) {
        self.error = Some(ErrorReport { kind: error.kind().as_str(), message: error.to_string() });
    }

    pub fn set_close(&mut self, reason: Option<CloseReason>) {
        self.keep_alive = reason.is_none();
        self.close_reason = reason.map(|reason| reason.as_str().to_owned());
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|error| format!("{{\"error\":{{\"kind\":\"io\",\"message\":\"{error}\"}}}}"))
    }
}

pub fn informational(head: &ResponseHead) -> Informational {
    Informational { status: head.status(), headers: fields(head.headers()) }
}

/// Wire order and case, one entry per field line.
pub fn fields(block: &HeaderBlock) -> Vec<[String; 2]> {
    block.iter().map(|(name, value)| [name.to_owned(), octets(value)]).collect()
}

/// UTF-8 when the octets are UTF-8; otherwise each octet maps to U+0000..U+00FF.
pub fn octets(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&byte| char::from(byte)).collect(),
    }
}
