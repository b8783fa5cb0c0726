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
//! Open ──finish()───────────────────▶ Finished  (the last chunk is queued)
//!   ├───writer dropped (or panicked)─▶ Abandoned (the loop closes without the last chunk)
//!   ├───writer waited past its limit─▶ TimedOut  (the loop closes: a write timeout)
//!   └───the connection ended─────────▶ Gone      (writes fail with BrokenPipe)
//! ```
//!
//! A HEAD request's stream starts `Finished`: its head is all there is.
//!
//! The loop holds its side of a stream as a [`StreamGuard`], which ends the stream as
//! `Gone` when dropped: however the connection ends (the client resets it before or after
//! the loop took the head, a restart salvages the worker, the reactor is dropped with the
//! head still in its channel), the writer is told, and its waits end.
//!
//! Waking the loop costs a message through the reactor's door only when the queue goes
//! from "seen" to "has news": at most one wake-up per stream is ever in flight.

use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::answer::ready::Readiness;
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
    /// The writer waited for room past the write timeout: the client reads nothing.
    TimedOut,
    /// The connection is gone.
    Gone,
}

/// What the writer and the loop share.
pub(crate) struct Queue {
    pub(crate) data: Vec<u8>,
    pub(crate) end: End,
    /// Where a non-blocking writer is told of room (and of the end), and its token.
    pub(crate) ready: Option<(Readiness, u64)>,
    /// The non-blocking writer found no room: tell it when there is.
    pub(crate) wants_room: bool,
}

impl Queue {
    /// Tells a non-blocking writer that it can go on (room, or an end to learn of).
    fn tell_ready(&mut self) {
        self.wants_room = false;
        if let Some((ready, token)) = &self.ready {
            ready.mark(*token);
        }
    }
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
    /// The stream of `ticket`'s response, whose head is about to be delivered; with
    /// `head_only` (a HEAD request) it is finished already.
    pub(crate) fn new(ticket: Arc<Ticket>, head_only: bool) -> Stream {
        Stream {
            ticket,
            queue: Mutex::new(Queue {
                data: Vec::new(),
                end: if head_only { End::Finished } else { End::Open },
                ready: None,
                wants_room: false,
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
        if queue.wants_room {
            queue.tell_ready();
        }
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
        queue.tell_ready();
        drop(queue);
        self.room.notify_all();
        open
    }
}

/// The loop's side of a stream: ends it as `Gone` when dropped, wherever that happens, so
/// that its writer never waits for a connection that no longer exists.
pub(crate) struct StreamGuard(Arc<Stream>);

impl StreamGuard {
    pub(crate) fn new(stream: Arc<Stream>) -> StreamGuard {
        StreamGuard(stream)
    }
}

impl Deref for StreamGuard {
    type Target = Stream;

    fn deref(&self) -> &Stream {
        &self.0
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        // Idempotent: a stream that ended otherwise keeps its end.
        self.0.close();
    }
}

impl fmt::Debug for StreamGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
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
