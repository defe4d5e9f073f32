//! One connection's exchange: the request written as the socket takes it (body data framed
//! by the core while it wants it), the response read and fed to the core, and its events
//! applied to the connection's task under the call's decisions. A step works on one
//! connection and its task only; what follows for the client (complete the task, pool the
//! connection, attempt again) comes back as a [`Step`].

use std::io;
use std::time::{Duration, Instant};

use tidings_client::buffers::{BODY_FRAME, CHUNK_FRAMING, HEAD_FRAME};
use tidings_client::pool::drain_before_reuse;
use tidings_client::{wire, Error, ErrorKind, Failure, Next, RequestBody};
use tidings_core::{BodyState, ContentDecoder};

use crate::conn::{Conn, Received};
use crate::task::{Stage, Task};

/// What a connection's exchange asks of its client after a step.
pub(crate) enum Step {
    /// Nothing until readiness or a deadline.
    Waiting,
    /// The final head of a streamed call is in: deliver it; the body waits for its reader.
    StreamHead,
    /// The response ended (with the error that cut its decoding short, if one did): the
    /// connection is released and the task completes.
    Ended(Option<Error>),
    /// The dropped response was read off: the connection is released and the task attempts
    /// again after its wait.
    Drained,
    /// The dropped response's connection closes; the task attempts again after the wait.
    Again(Duration),
    /// The call fails (its policies said so); the connection closes.
    CallFailed(Error),
    /// The body could not be decoded; the connection closes and the task completes with
    /// what it has.
    BodyFailed(Error),
    /// The attempt failed before its head; the connection closes.
    AttemptFailed(Error, Failure),
    /// The connection failed (I/O, protocol, its end came too early).
    ConnFailed(Error),
    /// An idle connection closed (the server closed it, or sent bytes nobody asked for).
    IdleClosed,
}

/// Starts the task's attempt on a connected connection: the request goes to its core.
pub(crate) fn begin(conn: &mut Conn, task: &mut Task, now: Instant) -> Result<(), Error> {
    let Some(attempt) = task.attempt.as_ref() else {
        return Err(Error::new(ErrorKind::InvalidRequest, "no attempt to send"));
    };
    // A pooled connection takes this request's read timeout.
    conn.core.set_read_timeouts(attempt.read_timeout, attempt.read_timeout);
    conn.core.send_request(now, &attempt.request)?;
    wire::log_request_head(conn.core.pending_output());
    if let Some(deadline) = attempt.deadline {
        conn.core.set_call_deadline(deadline);
    }
    conn.sent = 0;
    conn.filled = 0;
    conn.write_failed = None;
    Ok(())
}

/// Writes what the core has framed (and body data it asks for), then reads and handles what
/// arrived, until the socket would block both ways or the exchange reaches a step the
/// client must act on. `streamed`: the task's body is read by its reader, not here.
pub(crate) fn run(conn: &mut Conn, mut task: Option<&mut Task>, streamed: bool, now: Instant) -> Step {
    loop {
        let mut progress = false;
        if conn.write_failed.is_none() {
            if let Some(task) = task.as_deref_mut() {
                match write(conn, task, now) {
                    Ok(wrote) => progress |= wrote,
                    Err(error) => return Step::AttemptFailed(error, Failure::Exchange { stale_retry_safe: false }),
                }
            }
        }
        loop {
            if streamed {
                // The reader reads its own bytes; until it asks, the silence is the reader's,
                // not the server's.
                conn.core.pause_reading();
                break;
            }
            if !conn.unconsumed().is_empty() || conn.eof || conn.feed_pending {
                conn.feed_pending = false;
                if let Some(step) = feed(conn, task.as_deref_mut(), now) {
                    return step;
                }
                if conn.eof || (task.is_none() && conn.core.is_closed()) {
                    break;
                }
            }
            if !conn.readable {
                break;
            }
            match conn.read_some() {
                Ok(_) => progress = true,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => return Step::ConnFailed(Error::io(ErrorKind::Eof, "reading the response", error)),
            }
        }
        let Some(task) = task.as_deref() else {
            if conn.core.is_closed() || conn.eof {
                log::debug!("an idle connection to {}:{} closed", conn.key.host(), conn.key.port());
                return Step::IdleClosed;
            }
            return Step::Waiting;
        };
        // A failed write with no response to show for it fails the attempt.
        if let Some(error) = conn.write_failed.take() {
            if task.head.is_none() {
                let stale_retry_safe = conn.reused && conn.core.is_stale_retry_safe();
                let error = Error::io(ErrorKind::Eof, "sending the request", error);
                return Step::AttemptFailed(error, Failure::Exchange { stale_retry_safe });
            }
        }
        if !progress {
            return Step::Waiting;
        }
    }
}

/// Writes framed request bytes until the socket would block or nothing is left: returns
/// whether anything went. A failed write is kept on the connection (a response already on
/// its way may still be read).
fn write(conn: &mut Conn, task: &mut Task, now: Instant) -> Result<bool, Error> {
    let mut wrote = false;
    loop {
        if !conn.output_pending() && frame(conn, task, now)? == 0 {
            if conn.tls_pending() {
                let _ = conn.write_pending();
            }
            return Ok(wrote);
        }
        match conn.write_pending() {
            Ok(_) => wrote = true,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(wrote),
            Err(error) => {
                conn.write_failed = Some(error);
                return Ok(wrote);
            }
        }
    }
}

/// Feeds received bytes (and the end of the stream) to the core and applies its events to
/// the task, until the core has no more: `Some(step)` when the client must act.
fn feed(conn: &mut Conn, mut task: Option<&mut Task>, now: Instant) -> Option<Step> {
    loop {
        let at_eof = conn.eof && conn.unconsumed().is_empty();
        let received = match conn.feed(now) {
            Ok(received) => received,
            Err(error) => return Some(Step::ConnFailed(Error::from(error))),
        };
        let Some(received) = received else {
            if at_eof && task.is_some() && conn.core.is_closed() && !conn.core.is_idle() {
                // The core did not finish the exchange at the end of the stream.
                let error = Error::new(ErrorKind::Eof, "connection closed before the response ended");
                return Some(Step::ConnFailed(error));
            }
            return None;
        };
        let Some(task) = task.as_deref_mut() else { continue };
        if let Some(step) = apply(conn, task, received, now) {
            return Some(step);
        }
        if at_eof {
            return None;
        }
    }
}

/// Applies one received event to the task, under the call's decisions.
fn apply(conn: &mut Conn, task: &mut Task, received: Received, now: Instant) -> Option<Step> {
    let slot = task.stage.slot()?;
    match received {
        Received::Informational(status, headers) => task.informational.push((status, headers)),
        Received::Head(head) => {
            task.head_at = Some(now);
            let call = task.call.as_mut()?;
            let next = call.after_head(&head, now);
            log::debug!("{} {} -> {}", call.method(), call.url(), head.status());
            match next {
                Next::Finish => {
                    let max_body = task.attempt.as_ref().map_or(u64::MAX, |attempt| attempt.max_body);
                    match ContentDecoder::for_response(head.headers(), max_body) {
                        Ok(decoder) => task.decoder = Some(decoder),
                        Err(error) => return Some(Step::CallFailed(Error::from(error).at(call.url()))),
                    }
                    task.head = Some(head);
                    task.stage = Stage::Body(slot);
                    if task.streaming {
                        // A body-less response (to HEAD, a 204 or 304, `Content-Length: 0`)
                        // has its end in the core for no further input: the reader feeds
                        // the core before it waits on the socket, which has nothing more.
                        conn.feed_pending = true;
                        return Some(Step::StreamHead);
                    }
                }
                Next::Again(wait) => {
                    task.head = Some(head);
                    task.then = wait;
                    if !drain_before_reuse(conn.core.decoder().framing()) {
                        return Some(Step::Again(wait));
                    }
                    task.stage = Stage::Drain(slot);
                }
                Next::Fail(error) => return Some(Step::CallFailed(error)),
            }
        }
        Received::Data(range) => {
            if let (Stage::Body(_), Some(decoder)) = (task.stage, task.decoder.as_mut()) {
                if let Err(error) = decoder.decode_into(conn.bytes(range), &mut task.body) {
                    return Some(Step::BodyFailed(Error::from(error)));
                }
            }
        }
        Received::Trailers(trailers) => task.trailers = Some(trailers),
        Received::End => match task.stage {
            Stage::Body(_) => {
                let finished = task.decoder.as_mut().and_then(|decoder| decoder.finish_into(&mut task.body).err());
                return Some(Step::Ended(finished.map(Error::from)));
            }
            Stage::Drain(_) => return Some(Step::Drained),
            _ => {}
        },
    }
    None
}

/// Frames request bytes into the connection's output: what the core holds (head, chunk
/// framing, trailers), then body data while the core wants it. Returns how many.
fn frame(conn: &mut Conn, task: &mut Task, now: Instant) -> Result<usize, Error> {
    // Small to start (a head fits, and the core resumes a longer one); a body gets more.
    if conn.output.is_empty() {
        conn.output.resize(HEAD_FRAME, 0);
    }
    conn.sent = 0;
    conn.filled = 0;
    let mut filled = conn.core.poll_transmit(now, &mut conn.output);
    let Task { call, body_position, scratch, .. } = task;
    if let Some(call) = call.as_mut() {
        if conn.core.wants_body() && conn.output.len() < BODY_FRAME {
            conn.output.resize(BODY_FRAME, 0);
        }
        while conn.core.wants_body() && conn.output.len() - filled > 64 {
            match call.body_resume() {
                RequestBody::Empty => break,
                RequestBody::Bytes(bytes) => {
                    let sent = conn.core.send_body(now, &bytes[*body_position..], &mut conn.output[filled..])?;
                    *body_position += sent.consumed;
                    filled += sent.written;
                    if sent.state != BodyState::Wanted {
                        break;
                    }
                }
                RequestBody::Reader(mut reader) => {
                    // Leave room for the chunk framing around the data.
                    let room = conn.output.len() - filled - CHUNK_FRAMING;
                    scratch.resize(room, 0);
                    let count = match reader.read(&mut scratch[..room]) {
                        Ok(count) => count,
                        Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                        Err(error) => {
                            conn.core.abort();
                            return Err(Error::io(ErrorKind::InvalidRequest, "reading the request body", error));
                        }
                    };
                    if count == 0 {
                        conn.core.finish_body(now, None)?;
                        filled += conn.core.poll_transmit(now, &mut conn.output[filled..]);
                        break;
                    }
                    let sent = conn.core.send_body(now, &scratch[..count], &mut conn.output[filled..])?;
                    filled += sent.written;
                }
            }
        }
    }
    conn.filled = filled;
    Ok(filled)
}
