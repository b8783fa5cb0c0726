//! A request body streaming to its handler's reader (see `inflow.rs`): the connection's
//! side, decoding the body out of the read buffer as it arrives.

use std::io;

use crate::answer::inflow::{InEnd, InflowGuard};
use crate::buf::ReadBuf;
use crate::http::chunked::{ChunkedDecoder, Cursor};
use crate::http::error::RequestError;

use super::respond::Pending;

/// How far a streamed body has arrived.
#[derive(Debug)]
pub(super) enum Incoming {
    /// `Content-Length`: this many bytes still to come.
    Length(u64),
    /// Chunked, decoded as it arrives.
    Chunked(Box<ChunkedDecoder>),
}

/// A request whose body streams to its reader while its answer is awaited.
#[derive(Debug)]
pub(crate) struct Upload {
    pub(super) body: Incoming,
    pub(super) inflow: InflowGuard,
    /// The deferred answer.
    pub(super) pending: Box<Pending>,
    /// The client waits for `100 Continue`, which goes out at the reader's first read.
    pub(super) expect_continue: bool,
}

/// What a step of the upload came to.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Every buffered byte is the reader's: read more.
    NeedMore,
    /// The reader has not taken what is queued: read nothing until it wakes us.
    Full,
    /// The body is complete; what is left in the buffer is the next request.
    Complete,
    /// The reader gave up: read no more of the body.
    Abandoned,
}

impl Upload {
    /// Hands the body bytes in `buf` to the reader, up to its bound.
    pub(super) fn step(&mut self, buf: &mut ReadBuf) -> Result<Step, RequestError> {
        if self.inflow.is_abandoned() {
            return Ok(Step::Abandoned);
        }
        if self.inflow.is_full() {
            return Ok(Step::Full);
        }
        match &mut self.body {
            Incoming::Length(remaining) => {
                let available = buf.filled().len();
                let n = usize::try_from(*remaining).map_or(available, |r| r.min(available));
                self.inflow.push(&buf.filled()[..n]);
                buf.consume(n);
                *remaining -= n as u64;
                Ok(if *remaining == 0 {
                    Step::Complete
                } else {
                    Step::NeedMore
                })
            }
            Incoming::Chunked(decoder) => {
                let mut cursor = Cursor::default();
                let done = decoder.decode(buf.filled_mut(), &mut cursor)?;
                self.inflow.push(&buf.filled()[..cursor.written]);
                buf.consume(cursor.read);
                Ok(if done { Step::Complete } else { Step::NeedMore })
            }
        }
    }

    /// The body cannot be completed: its reader learns why.
    pub(super) fn fail(&self, error: &RequestError) {
        let (kind, message) = match error {
            RequestError::BodyTimeout => (
                io::ErrorKind::TimedOut,
                "the client stalled past the body timeout",
            ),
            RequestError::BodyTooLarge => (
                io::ErrorKind::InvalidInput,
                "the body is larger than max_streamed_body",
            ),
            _ => (
                io::ErrorKind::InvalidData,
                "the body's framing is malformed",
            ),
        };
        self.inflow.end(InEnd::Failed(kind, message));
    }
}
