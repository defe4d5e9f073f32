//! Streamed bodies ([`Client::send_streaming`](crate::Client::send_streaming)): the body's
//! bytes stay in the connection (the socket, then its read buffer) until its reader asks, so
//! TCP's own flow control holds a slow reader's server back and nothing grows in between.

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
use std::time::Instant;

use tidings_client::buffers::DIRECT_READ;
use tidings_client::{Error, ErrorKind};
use tidings_core::Headers;

use crate::completion::ByIdMap;
use crate::conn::{Conn, Received};
use crate::task::Task;

/// Streamed bodies that ended with trailers the caller has not taken
/// ([`Client::take_trailers`](crate::Client::take_trailers)) are kept for this many of the
/// most recent; older ones go.
pub const KEPT_TRAILERS: usize = 64;

/// One streamed body.
pub(crate) struct StreamedBody {
    pub(crate) url: url::Url,
    /// The connection delivering it, until it ends or fails.
    pub(crate) slot: Option<usize>,
    /// Received body bytes not yet decoded, as a range of the connection's read buffer.
    pending: Range<usize>,
    /// The core saw the body's end.
    ended: bool,
    /// What cut the body short, to return at the next read.
    pub(crate) error: Option<Error>,
    /// Trailer fields, kept once the body ended (with `slot` gone) until taken.
    trailers: Option<Headers>,
}

/// One step of reading a streamed body.
pub(crate) enum StreamStep {
    Bytes(usize),
    Again,
    /// Nothing until the socket is readable again.
    Wait,
    Done,
    Failed(Error),
}

/// Every streamed body, by request id.
#[derive(Default)]
pub(crate) struct Streams {
    map: ByIdMap<StreamedBody>,
    /// Streams that ended with trailers not yet taken, oldest first (ids already taken or
    /// dropped may linger; they are skipped).
    ended_with_trailers: VecDeque<u64>,
}

impl Streams {
    /// The body of request `id` (for `url`) will be read from the connection in `slot`.
    pub(crate) fn start(&mut self, id: u64, url: url::Url, slot: usize) {
        let body = StreamedBody { url, slot: Some(slot), pending: 0..0, ended: false, error: None, trailers: None };
        self.map.insert(id, body);
    }

    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut StreamedBody> {
        self.map.get_mut(&id)
    }

    pub(crate) fn remove(&mut self, id: u64) -> Option<StreamedBody> {
        self.map.remove(&id)
    }

    /// Whether request `id`'s body is streamed (still being read, or its trailers kept).
    pub(crate) fn contains(&self, id: u64) -> bool {
        self.map.contains_key(&id)
    }

    /// The trailers of a body that ended, taken once.
    pub(crate) fn take_trailers(&mut self, id: u64) -> Option<Headers> {
        let stream = self.map.get_mut(&id)?;
        if stream.slot.is_some() {
            return None;
        }
        let trailers = stream.trailers.take()?;
        self.map.remove(&id);
        Some(trailers)
    }

    /// The body of `id` ended with trailers: its stream stays, without a connection, until
    /// they are taken or read past; beyond [`KEPT_TRAILERS`] such streams the oldest go.
    pub(crate) fn keep_trailers(&mut self, id: u64, trailers: Headers) {
        if let Some(stream) = self.map.get_mut(&id) {
            stream.slot = None;
            stream.trailers = Some(trailers);
            self.ended_with_trailers.push_back(id);
        }
        while self.ended_with_trailers.len() > KEPT_TRAILERS {
            let Some(oldest) = self.ended_with_trailers.pop_front() else { break };
            if self.map.get(&oldest).is_some_and(|stream| stream.slot.is_none() && stream.trailers.is_some()) {
                self.map.remove(&oldest);
            }
        }
    }
}

/// One step of a streamed body's reader on its connection: decode what is pending, finish
/// at the end, feed the core, or read from the socket.
pub(crate) fn step(
    stream: &mut StreamedBody,
    task: &mut Task,
    conn: &mut Conn,
    buf: &mut [u8],
    now: Instant,
) -> StreamStep {
    let Some(decoder) = task.decoder.as_mut() else {
        return StreamStep::Failed(Error::new(ErrorKind::Decode, "no decoder for the streamed body"));
    };
    if !stream.pending.is_empty() {
        return match decoder.decode(conn.bytes(stream.pending.clone()), buf) {
            Ok((0, 0)) => StreamStep::Failed(Error::new(ErrorKind::Decode, "the body's decoder made no progress")),
            Ok((used, written)) => {
                stream.pending.start += used;
                if written > 0 {
                    StreamStep::Bytes(written)
                } else {
                    StreamStep::Again
                }
            }
            Err(error) => StreamStep::Failed(error.into()),
        };
    }
    if stream.ended {
        return match decoder.finish(buf) {
            Ok(0) => StreamStep::Done,
            Ok(written) => StreamStep::Bytes(written),
            Err(error) => StreamStep::Failed(error.into()),
        };
    }
    if !conn.unconsumed().is_empty() || conn.eof || conn.feed_pending {
        conn.feed_pending = false;
        let at_eof = conn.eof && conn.unconsumed().is_empty();
        match conn.feed(now) {
            Ok(Some(received)) => {
                match received {
                    Received::Data(range) => stream.pending = range,
                    Received::Trailers(trailers) => task.trailers = Some(trailers),
                    Received::End => stream.ended = true,
                    Received::Informational(..) | Received::Head(_) => {}
                }
                // The core may have another event for no further input (the end).
                conn.feed_pending = true;
                return StreamStep::Again;
            }
            Ok(None) if at_eof => {
                return StreamStep::Failed(Error::new(ErrorKind::Eof, "connection closed before the body ended"))
            }
            Ok(None) if !conn.unconsumed().is_empty() => return StreamStep::Again,
            Ok(None) => {}
            Err(error) => return StreamStep::Failed(error.into()),
        }
    }
    if !conn.readable {
        return StreamStep::Wait;
    }
    let room = usize::try_from(decoder.room()).unwrap_or(usize::MAX);
    if decoder.is_identity() && buf.len() >= DIRECT_READ && room > 0 && conn.can_read_direct() {
        let limit = buf.len().min(room);
        return match conn.read_into(&mut buf[..limit]) {
            Ok(0) => StreamStep::Again,
            Ok(count) => match conn.feed_direct(now, &buf[..count]) {
                Ok(0) => StreamStep::Again,
                Ok(body) => match decoder.pass_through(body) {
                    Ok(()) => StreamStep::Bytes(body),
                    Err(error) => StreamStep::Failed(error.into()),
                },
                Err(error) => StreamStep::Failed(error.into()),
            },
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => StreamStep::Wait,
            Err(error) => StreamStep::Failed(Error::io(ErrorKind::Eof, "reading the response", error)),
        };
    }
    match conn.read_some() {
        Ok(_) => StreamStep::Again,
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => StreamStep::Wait,
        Err(error) => StreamStep::Failed(Error::io(ErrorKind::Eof, "reading the response", error)),
    }
}
