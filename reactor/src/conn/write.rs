//! The write side of a connection: the output waiting for the socket.

use std::io::{self, Write};

use crate::buf::{Pool, WriteBuf};
use crate::stats::Stats;

use super::Conn;

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
}

impl Writing {
    /// The output buffer to encode into, borrowed from the pool if there was none.
    pub(super) fn buf(&mut self, pool: &mut Pool) -> &mut Vec<u8> {
        if let Writing::Idle = self {
            *self = Writing::Buffered(pool.take_write());
        }
        match self {
            Writing::Buffered(out) => &mut out.data,
            Writing::Idle => unreachable!("made Buffered just above"),
        }
    }

    /// Whether output is waiting (even if all of it was written already).
    pub(super) fn is_buffered(&self) -> bool {
        matches!(self, Writing::Buffered(_))
    }

    /// Bytes not yet written.
    pub(super) fn pending(&self) -> &[u8] {
        match self {
            Writing::Idle => &[],
            Writing::Buffered(out) => out.pending(),
        }
    }

    /// Whether no byte waits to be written.
    pub(super) fn is_empty(&self) -> bool {
        self.pending().is_empty()
    }

    /// Whether the output has reached its high-water mark.
    pub(super) fn is_full(&self) -> bool {
        self.pending().len() >= HIGH_WATER
    }

    /// Gives the buffer back to the pool: written, or the connection is closing.
    pub(super) fn release(&mut self, pool: &mut Pool) {
        if let Writing::Buffered(out) = std::mem::take(self) {
            pool.put_write(out);
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

impl Conn {
    /// Writes pending output, until it is all written or the socket is full.
    pub(super) fn flush(&mut self, stats: &Stats) -> io::Result<Flushed> {
        let Writing::Buffered(out) = &mut self.writing else {
            return Ok(Flushed::All);
        };
        let start = out.pos;
        while !out.is_empty() {
            match self.stream.write(out.pending()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    out.pos += n;
                    stats.wrote_bytes(n);
                    self.unread_response = true;
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
        Ok(Flushed::All)
    }
}
