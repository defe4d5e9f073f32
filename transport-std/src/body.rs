//! A response body read from its connection on demand: decoded as it is read, and the
//! connection handed back to the pool (or closed) the moment the body ends.

use std::ops::Range;
use std::sync::Arc;

use tidings_client::buffers::DIRECT_READ;
use tidings_client::pool::drain_before_reuse;
use tidings_client::{Error, ErrorKind, ResponseBody};
use tidings_core::{BodyLength, CloseReason, ContentDecoder, Headers, ResponseHead};

use crate::conn::Conn;
use crate::pool::Pool;

pub(crate) struct BodyReader {
    pool: Arc<Pool>,
    conn: Option<Box<Conn>>,
    decoder: Option<ContentDecoder>,
    /// Received body bytes not yet decoded, as a range of the connection's buffer.
    pending: Range<usize>,
    ended: bool,
    trailers: Option<Headers>,
    /// Once the body ended: why the connection could not be kept, if it could not.
    close_reason: Option<CloseReason>,
    /// The content codings cannot be decoded (a chain too long): reading fails with this.
    error: Option<ErrorKind>,
}

impl BodyReader {
    /// The body of `head`, read from `conn`; decoded bodies are capped at `max_body` bytes.
    /// A response without a body (HEAD, 204, 304, `Content-Length: 0`) ends at once, without
    /// I/O, so its connection goes straight back to the pool.
    pub(crate) fn new(pool: Arc<Pool>, conn: Box<Conn>, head: &ResponseHead, max_body: u64) -> BodyReader {
        let (decoder, error) = match ContentDecoder::for_response(head.headers(), max_body) {
            Ok(decoder) => (Some(decoder), None),
            Err(error) => (None, Some(error.kind())),
        };
        let no_body = conn.core.decoder().framing().is_some_and(|framing| framing.length == BodyLength::Empty);
        let mut body = BodyReader {
            pool,
            conn: Some(conn),
            decoder,
            pending: 0..0,
            ended: false,
            trailers: None,
            close_reason: None,
            error,
        };
        if no_body {
            let _ = body.read(&mut [0u8; 1]);
        }
        body
    }

    /// The body is over: the connection goes back if the reuse rule allows.
    fn release(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.close_reason = self.pool.put(conn);
        }
    }
}

impl ResponseBody for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        if out.is_empty() {
            return Ok(0);
        }
        if let Some(kind) = self.error {
            self.conn = None;
            return Err(Error::new(kind, "the response's content codings cannot be decoded"));
        }
        loop {
            let Some(conn) = self.conn.as_mut() else { return Ok(0) };
            let Some(decoder) = self.decoder.as_mut() else { return Ok(0) };
            let room = usize::try_from(decoder.room()).unwrap_or(usize::MAX);
            let direct = self.pending.is_empty() && !self.ended && decoder.is_identity() && room > 0;
            if direct && out.len() >= DIRECT_READ && conn.can_read_direct() {
                let limit = out.len().min(room);
                match conn.read_direct(&mut out[..limit]) {
                    Ok(Some(0)) => continue,
                    Ok(Some(count)) => {
                        decoder.pass_through(count)?;
                        return Ok(count);
                    }
                    Ok(None) => {
                        self.ended = true;
                        continue;
                    }
                    Err(error) => {
                        self.conn = None;
                        return Err(error);
                    }
                }
            }
            if self.pending.is_empty() && !self.ended {
                match conn.next_data(&mut self.trailers) {
                    Ok(Some(range)) => self.pending = range,
                    Ok(None) => self.ended = true,
                    Err(error) => {
                        self.conn = None;
                        return Err(error);
                    }
                }
            }
            let result = if !self.pending.is_empty() {
                decoder.decode(conn.bytes(self.pending.clone()), out).map(|(used, written)| {
                    self.pending.start += used;
                    written
                })
            } else if self.ended {
                decoder.finish(out)
            } else {
                continue;
            };
            match result {
                Ok(0) if self.ended && self.pending.is_empty() => {
                    self.release();
                    return Ok(0);
                }
                Ok(0) => continue,
                Ok(written) => return Ok(written),
                Err(error) => {
                    self.conn = None;
                    return Err(error.into());
                }
            }
        }
    }

    fn trailers(&self) -> Option<&Headers> {
        self.trailers.as_ref()
    }

    fn close_reason(&self) -> Option<CloseReason> {
        self.close_reason
    }

    fn undecoded_coding(&self) -> Option<&str> {
        self.decoder.as_ref().and_then(ContentDecoder::undecoded)
    }

    /// A small body is read off (raw, never content-decoded) so the connection can be
    /// reused; a large or unknown one costs more than a new connection: it closes.
    fn discard(mut self: Box<Self>) {
        let Some(mut conn) = self.conn.take() else { return };
        if !drain_before_reuse(conn.core.decoder().framing()) {
            return;
        }
        let mut trailers = None;
        loop {
            match conn.next_data(&mut trailers) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.pool.put(conn);
                    return;
                }
                Err(_) => return,
            }
        }
    }
}
