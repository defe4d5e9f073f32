//! Reading a streamed body ([`Client::send_streaming`]): the reader drives its connection.

use std::time::Instant;

use tidings_client::{Error, ErrorKind};

use crate::completion::RequestId;
use crate::event_loop::Client;
use crate::streams::{step, StreamStep};

impl Client {
    /// Reads a streamed body ([`send_streaming`](Self::send_streaming)) once its head has
    /// been delivered, running the loop until bytes arrive: `Ok(0)` at its end, or the error
    /// that cut it short.
    pub fn read(&mut self, id: RequestId, buf: &mut [u8]) -> Result<usize, Error> {
        loop {
            if let Some(result) = self.try_read(id, buf) {
                return result;
            }
            self.turn(None)?;
        }
    }

    /// [`read`](Self::read) without waiting: `None` when no byte is ready yet (then wait
    /// for the connection's readiness, for a client in the caller's event loop).
    ///
    /// The reader drives its connection: bytes already received are decoded into `buf`;
    /// an identity body framed by its length (or the close) is read from the socket
    /// straight into `buf` when nothing is buffered, one copy fewer for large downloads.
    /// The read timeout runs only while the reader waits for the server.
    pub fn try_read(&mut self, id: RequestId, buf: &mut [u8]) -> Option<Result<usize, Error>> {
        let Some(stream) = self.streams.get_mut(id.0) else {
            let error = Error::new(ErrorKind::InvalidRequest, format!("request {} has no streamed body to read", id.0));
            return Some(Err(error));
        };
        if let Some(error) = stream.error.take() {
            self.streams.remove(id.0);
            return Some(Err(error));
        }
        let Some(slot) = stream.slot else {
            self.streams.remove(id.0);
            return Some(Ok(0));
        };
        if buf.is_empty() {
            return Some(Ok(0));
        }
        let now = Instant::now();
        loop {
            let progress = self.read_step(id.0, slot, buf, now);
            match progress {
                StreamStep::Bytes(count) => return Some(Ok(count)),
                StreamStep::Again => {}
                StreamStep::Wait => {
                    // Waiting on the server now: its silence counts.
                    if let Some(conn) = self.conns.get_mut(slot) {
                        conn.core.resume_reading(now);
                    }
                    self.refresh_conn_timer(slot);
                    return None;
                }
                StreamStep::Done => {
                    match self.tasks.get_mut(id.0).and_then(|task| task.trailers.take()) {
                        Some(trailers) => self.streams.keep_trailers(id.0, trailers),
                        None => drop(self.streams.remove(id.0)),
                    }
                    let _ = self.release(slot, now);
                    self.forget(id.0);
                    // Its place under the limits is free for a queued request.
                    self.process(now);
                    return Some(Ok(0));
                }
                StreamStep::Failed(error) => {
                    let error = match self.streams.remove(id.0) {
                        Some(stream) => error.at(&stream.url),
                        None => error,
                    };
                    self.close_conn(slot);
                    self.forget(id.0);
                    self.process(now);
                    return Some(Err(error));
                }
            }
        }
    }

    fn read_step(&mut self, id: u64, slot: usize, buf: &mut [u8], now: Instant) -> StreamStep {
        let (Some(stream), Some(conn)) = (self.streams.get_mut(id), self.conns.get_mut(slot)) else {
            return StreamStep::Failed(Error::new(ErrorKind::Eof, "the connection of the streamed body is gone"));
        };
        let Some(task) = self.tasks.get_mut(id) else {
            return StreamStep::Failed(Error::new(ErrorKind::Eof, "the streamed body's request is gone"));
        };
        step(stream, task, conn, buf, now)
    }
}
