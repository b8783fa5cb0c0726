//! The write side of a connection: the output waiting for the socket.

use std::io;

use crate::buf::{Pool, WriteBuf};
use crate::http::response::FileBody;
use crate::observe::stats::Stats;
use crate::transport::Transport;

/// Past this much unwritten output, stop answering buffered requests until it drains, so a
/// client that pipelines without reading cannot grow our memory without bound.
const HIGH_WATER: usize = 256 * 1024;

/// What the connection is writing.
#[derive(Debug, Default)]
pub(super) enum Writing {
    /// Nothing to write, and no buffer held: the state of every idle connection. Left for
    /// `Buffered` when a response (or a `100 Continue`) is encoded.
    #[default]
    Idle,
    /// Encoded responses, in order, not yet all written. Back to `Idle`, the buffer
    /// returned to the pool, once the socket took every byte.
    Buffered(WriteBuf),
    /// Encoded output, then a file's range, sent from the page cache (`sendfile`). Nothing
    /// more is encoded meanwhile (it would belong after the file): the state counts as
    /// full. Back to `Idle` once the socket took the last byte of the range.
    Sending(Box<(WriteBuf, FileBody)>),
}

/// Bytes of a file one `sendfile` call may send: large enough to fill any socket buffer,
/// small enough that one connection's download does not hold the loop for long.
const SENDFILE_MAX: usize = 1 << 20;

impl Writing {
    /// The output buffer to encode into, borrowed from the pool if there was none.
    pub(super) fn buf(&mut self, pool: &mut Pool) -> &mut Vec<u8> {
        if let Writing::Idle = self {
            *self = Writing::Buffered(pool.take_write());
        }
        match self {
            Writing::Buffered(out) => &mut out.data,
            Writing::Idle => unreachable!("made Buffered just above"),
            Writing::Sending(_) => {
                unreachable!("nothing is encoded while a file is sent: the output counts as full")
            }
        }
    }

    /// Sends `file` after what is buffered.
    pub(super) fn send_file(&mut self, pool: &mut Pool, file: FileBody) {
        let out = match std::mem::take(self) {
            Writing::Idle => pool.take_write(),
            Writing::Buffered(out) => out,
            Writing::Sending(_) => unreachable!("one file at a time: the output counts as full"),
        };
        *self = Writing::Sending(Box::new((out, file)));
    }

    /// Whether output is waiting (even if all of it was written already).
    pub(super) fn is_buffered(&self) -> bool {
        matches!(self, Writing::Buffered(_) | Writing::Sending(_))
    }

    /// Encoded bytes not yet written (a file's range not included).
    pub(super) fn pending(&self) -> &[u8] {
        match self {
            Writing::Idle => &[],
            Writing::Buffered(out) => out.pending(),
            Writing::Sending(sending) => sending.0.pending(),
        }
    }

    /// The file range still to send after the buffered output, if any.
    pub(super) fn file(&self) -> Option<&FileBody> {
        match self {
            Writing::Sending(sending) => Some(&sending.1),
            _ => None,
        }
    }

    /// Whether no byte waits to be written.
    pub(super) fn is_empty(&self) -> bool {
        match self {
            Writing::Sending(sending) => sending.0.is_empty() && sending.1.len == 0,
            _ => self.pending().is_empty(),
        }
    }

    /// Whether nothing more may be encoded now: the output reached its high-water mark,
    /// or a file is being sent.
    pub(super) fn is_full(&self) -> bool {
        matches!(self, Writing::Sending(_)) || self.pending().len() >= HIGH_WATER
    }

    /// Gives the buffer back to the pool: written, or the connection is closing.
    pub(super) fn release(&mut self, pool: &mut Pool) {
        match std::mem::take(self) {
            Writing::Buffered(out) => pool.put_write(out),
            Writing::Sending(sending) => pool.put_write(sending.0),
            Writing::Idle => {}
        }
    }
}

/// How much of the pending output a flush wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flushed {
    /// All of it.
    All,
    /// Some, then the socket was full.
    Some,
    /// Nothing: the socket was full from the start.
    None,
}

impl Writing {
    /// Writes pending output, until it is all written or the socket is full.
    pub(super) fn flush<T: Transport>(
        &mut self,
        io: &mut T,
        stats: &Stats,
        unread_response: &mut bool,
    ) -> io::Result<Flushed> {
        let (out, file) = match self {
            Writing::Idle => return Ok(Flushed::All),
            Writing::Buffered(out) => (out, None),
            Writing::Sending(sending) => {
                let (out, file) = &mut **sending;
                (out, Some(file))
            }
        };
        let start = out.pos;
        while !out.is_empty() {
            match io.write(out.pending()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    out.pos += n;
                    stats.wrote_bytes(n);
                    *unread_response = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(if out.pos == start {
                        Flushed::None
                    } else {
                        Flushed::Some
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let Some(file) = file else {
            return settle(io, out.pos != start);
        };
        let mut progress = out.pos != start;
        while file.len > 0 {
            let count = usize::try_from(file.len)
                .unwrap_or(usize::MAX)
                .min(SENDFILE_MAX);
            match io.send_file(&file.file, &mut file.offset, count) {
                // The file is shorter than when it was opened: the promised length can
                // no longer be kept, and only closing tells the client.
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file shrank while it was sent",
                    ));
                }
                Ok(n) => {
                    file.len -= n as u64;
                    stats.wrote_bytes(n);
                    *unread_response = true;
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(if progress {
                        Flushed::Some
                    } else {
                        Flushed::None
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        settle(io, progress)
    }
}

/// Everything was handed to the transport: all of it is written once the transport holds
/// nothing back (TLS records the socket had no room for). Until then the output stays, and
/// the connection waits to write as if the socket were full.
#[inline(always)]
fn settle<T: Transport>(io: &mut T, progress: bool) -> io::Result<Flushed> {
    Ok(if io.flush_pending()? {
        Flushed::All
    } else if progress {
        Flushed::Some
    } else {
        Flushed::None
    })
}
