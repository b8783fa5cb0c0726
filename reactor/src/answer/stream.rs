//! Streamed response bodies: written from any thread through [`std::io::Write`] (a
//! [`BodyWriter`](crate::BodyWriter), `writer.rs`), sent by the loop as the client reads.
//! This file holds what the two share.
//!
//! [`Responder::stream`](crate::Responder::stream) sends the head and hands back a
//! [`BodyWriter`](crate::BodyWriter). The writer and the
//! connection share a small queue: the writer frames what it is given (chunks on HTTP/1.1,
//! raw bytes on HTTP/1.0, where the close ends the body) and appends it; the loop takes it
//! whenever the connection has written everything before it. Once the queue holds
//! [`STREAM_BOUND`] bytes the writer blocks until the loop takes them, that is, until the
//! client reads: memory stays bounded whatever the writer's pace. The queue's end says how
//! the stream ended:
//!
//! ```text
//! Open ──finish()──────────────────▶ Finished   (the last chunk is queued)
//!   ├───writer dropped (or panicked)▶ Abandoned  (the loop closes without the last chunk)
//!   └───the connection closed───────▶ Gone       (writes fail with BrokenPipe)
//! ```
//!
//! Waking the loop costs a message through the reactor's door only when the queue goes
//! from "seen" to "has news": at most one wake-up per stream is ever in flight.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::answer::ticket::Ticket;

/// Bytes a stream may queue for its connection before its writer blocks.
pub const STREAM_BOUND: usize = 64 * 1024;

/// Buffers this small are freed once drained rather than kept: what an event stream
/// writes is this small, and an idle stream then holds none (a bulk stream's buffers are
/// larger, and kept).
pub(crate) const SMALL: usize = 4 * 1024;

/// How a stream ended, or that it has not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The writer may write more.
    Open,
    /// The writer finished: the last chunk is queued.
    Finished,
    /// The writer was dropped before finishing; `panicked`: its thread was panicking.
    Abandoned { panicked: bool },
    /// The connection is gone.
    Gone,
}

/// What the writer and the loop share.
pub(crate) struct Queue {
    pub(crate) data: Vec<u8>,
    pub(crate) end: End,
}

/// One streamed response, shared by its writer and its connection.
pub(crate) struct Stream {
    pub(crate) ticket: Arc<Ticket>,
    queue: Mutex<Queue>,
    /// The writer waits here for room.
    pub(crate) room: Condvar,
    /// A wake-up is on its way to the loop: no other is sent until the loop has looked.
    pub(crate) notified: AtomicBool,
    /// The connection is gone: read by every write, without the lock.
    pub(crate) gone: AtomicBool,
}

impl Stream {
    /// The stream of `ticket`'s response, whose head is about to be delivered.
    pub(crate) fn new(ticket: Arc<Ticket>) -> Stream {
        Stream {
            ticket,
            queue: Mutex::new(Queue {
                data: Vec::new(),
                end: End::Open,
            }),
            room: Condvar::new(),
            // The delivery of the head is the first wake-up.
            notified: AtomicBool::new(true),
            gone: AtomicBool::new(false),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        // A writer that panicked while holding the lock left the queue consistent (every
        // change is one assignment or one append).
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The loop takes what is queued, appending it to `out`, and learns how the stream
    /// stands. Wakes a writer waiting for room.
    pub(crate) fn take(&self, out: &mut Vec<u8>) -> End {
        // Cleared before looking: whatever is queued after this look wakes the loop again.
        self.notified.store(false, Ordering::SeqCst);
        let mut queue = self.lock();
        out.extend_from_slice(&queue.data);
        queue.data.clear();
        if queue.data.capacity() > 2 * STREAM_BOUND {
            queue.data.shrink_to(STREAM_BOUND);
        } else if queue.data.capacity() <= SMALL {
            // An event stream's few bytes: freed, so an idle stream holds no buffer.
            queue.data = Vec::new();
        }
        let end = queue.end;
        drop(queue);
        self.room.notify_all();
        end
    }

    /// The connection closed. `true` if the writer had not finished: its client left
    /// (or its worker stopped) in the middle of the stream.
    pub(crate) fn close(&self) -> bool {
        self.gone.store(true, Ordering::SeqCst);
        let mut queue = self.lock();
        let open = queue.end == End::Open;
        if open {
            queue.end = End::Gone;
        }
        queue.data = Vec::new();
        drop(queue);
        self.room.notify_all();
        open
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let queue = self.lock();
        f.debug_struct("Stream")
            .field("conn", &self.ticket.conn())
            .field("queued", &queue.data.len())
            .field("end", &queue.end)
            .finish()
    }
}
