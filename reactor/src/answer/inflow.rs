//! Streamed request bodies: the loop hands a body to its handler's [`BodyReader`] as it
//! arrives, instead of buffering it whole.
//!
//! The loop appends decoded body bytes to a queue shared with the reader; once the queue
//! holds [`INFLOW_BOUND`] bytes, the loop stops reading the socket (the kernel's window
//! then holds the client back) until the reader has taken them and wakes it. The reader,
//! on another thread (the blocking pool, or the application's), blocks while the queue is
//! empty. Its first read is what sends `100 Continue` to a client that asked for it, so a
//! handler can refuse an upload before a byte of it is sent. How the body ended:
//!
//! ```text
//! Open ──the last byte arrived─────────▶ Complete  (reads drain the queue, then 0)
//!   ├───framing error, timeout, EOF────▶ Failed    (reads fail with its kind)
//!   ├───the reader gave up─────────────▶ Abandoned (the loop reads no more of the body)
//!   └───the connection ended───────────▶ Gone      (reads fail: ConnectionAborted)
//! ```
//!
//! Every wait of the reader is bounded: by the body timeout, and, on a blocking job, by
//! the job's deadline; past it `read` fails with `TimedOut`, and the loop, told that the
//! reader gave up, reads no more of the body and closes after the answer. The loop holds
//! its side as an [`InflowGuard`], which ends the body as `Gone` when dropped, however
//! the connection ends.

use std::fmt;
use std::io::{self, Read};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::ThreadId;
use std::time::Instant;

use crate::answer::door::Door;
use crate::answer::ticket::Ticket;

/// Body bytes a streamed request may queue for its reader before the loop stops reading.
pub const INFLOW_BOUND: usize = 256 * 1024;

/// How a streamed body ended, or that it has not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InEnd {
    Open,
    Complete,
    /// The body cannot be completed: reads fail with this kind and message.
    Failed(io::ErrorKind, &'static str),
    /// The reader gave up (waited past its limit, or was dropped): nothing more is read.
    Abandoned,
    Gone,
}

struct Queue {
    data: Vec<u8>,
    /// Bytes of `data` already read.
    pos: usize,
    end: InEnd,
    /// The reader's waits end here at the latest: the deadline of the job it runs on.
    until: Option<Instant>,
}

/// One streamed request body, shared by the connection and its reader.
pub(crate) struct Inflow {
    /// Finds the connection (its key and id) when the reader wakes the loop.
    pub(crate) ticket: Arc<Ticket>,
    door: Door,
    queue: Mutex<Queue>,
    /// The reader waits here for bytes.
    arrived: Condvar,
    /// The reader has asked for the body: `100 Continue` may go out.
    started: AtomicBool,
    /// A reader was made: there is only one.
    claimed: AtomicBool,
    /// A wake-up is on its way to the loop.
    notified: AtomicBool,
    /// The loop's thread: a reader there would wait for itself.
    loop_thread: ThreadId,
}

impl Inflow {
    pub(crate) fn new(ticket: Arc<Ticket>, door: Door) -> Inflow {
        Inflow {
            ticket,
            door,
            queue: Mutex::new(Queue {
                data: Vec::new(),
                pos: 0,
                end: InEnd::Open,
                until: None,
            }),
            arrived: Condvar::new(),
            started: AtomicBool::new(false),
            claimed: AtomicBool::new(false),
            notified: AtomicBool::new(false),
            loop_thread: std::thread::current().id(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the reader has asked for the body.
    pub(crate) fn started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    /// The one reader of this body; `None` once made.
    pub(crate) fn reader(self: &Arc<Inflow>) -> Option<BodyReader> {
        (!self.claimed.swap(true, Ordering::SeqCst)).then(|| BodyReader {
            inflow: Arc::clone(self),
        })
    }

    /// The body is read on a job that must be done by `deadline`: the reader waits no
    /// longer than that.
    pub(crate) fn bound_by(&self, deadline: Instant) {
        let mut queue = self.lock();
        queue.until = Some(queue.until.map_or(deadline, |u| u.min(deadline)));
    }

    /// Whether the reader gave up: the loop reads no more of the body.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.lock().end == InEnd::Abandoned
    }

    /// Whether the queue is full: the loop reads no more until the reader wakes it.
    pub(crate) fn is_full(&self) -> bool {
        // Cleared before looking: a read after this look wakes the loop again.
        self.notified.store(false, Ordering::SeqCst);
        let queue = self.lock();
        queue.data.len() - queue.pos >= INFLOW_BOUND
    }

    /// The loop appends body bytes.
    pub(crate) fn push(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut queue = self.lock();
        if queue.end != InEnd::Open {
            return;
        }
        // What was read goes: the queue holds no more than what is unread, whatever the
        // reader's read size (a reader taking less than the loop pushes would otherwise
        // keep the whole body).
        if queue.pos > 0 {
            let pos = queue.pos;
            queue.data.drain(..pos);
            queue.pos = 0;
        }
        queue.data.extend_from_slice(bytes);
        drop(queue);
        self.arrived.notify_all();
    }

    /// The loop ends the body (`Complete`, `Failed` or `Gone`); `true` if it was still
    /// open.
    pub(crate) fn end(&self, end: InEnd) -> bool {
        let mut queue = self.lock();
        let open = queue.end == InEnd::Open;
        if open {
            queue.end = end;
            if end == InEnd::Gone {
                queue.data = Vec::new();
                queue.pos = 0;
            }
        } else if end == InEnd::Gone && queue.end == InEnd::Abandoned {
            queue.data = Vec::new();
            queue.pos = 0;
        }
        drop(queue);
        self.arrived.notify_all();
        open
    }

    /// The reader gives up: the loop reads no more of the body (and closes after the
    /// answer).
    fn abandon(&self) {
        let mut queue = self.lock();
        if queue.end != InEnd::Open {
            return;
        }
        queue.end = InEnd::Abandoned;
        queue.data = Vec::new();
        queue.pos = 0;
        drop(queue);
        self.wake();
    }

    /// Tells the loop the reader wants more, unless it was told already.
    fn wake(&self) {
        // A stopped reactor ended the body as Gone: the reader learns it.
        self.door.wake_once(&self.notified, &self.ticket);
    }
}

impl fmt::Debug for Inflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let queue = self.lock();
        f.debug_struct("Inflow")
            .field("queued", &(queue.data.len() - queue.pos))
            .field("end", &queue.end)
            .field("started", &self.started())
            .finish()
    }
}

/// The body of a streamed request, read as it arrives (see
/// [`Request::body_reader`](crate::Request::body_reader)): `std::io::Read + Send`, for the
/// blocking pool or a thread of the application's. `read` blocks until bytes arrive and
/// returns 0 at the end of the body. A body that cannot be completed makes `read` fail:
/// `InvalidData` (malformed chunked framing), `TimedOut` (the client stalled past the body
/// timeout, or, on a blocking job, the job's deadline came first), `UnexpectedEof` (the
/// client closed first), `FileTooLarge`-like `InvalidInput` (past `max_streamed_body`),
/// `ConnectionAborted` (the connection ended, however it ended). Reading on the worker's
/// own loop fails with `WouldBlock`: the loop is what delivers the bytes. A reader that
/// gives up (times out, or is dropped before the end) stops the upload: the connection
/// closes after the answer.
pub struct BodyReader {
    inflow: Arc<Inflow>,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let inflow = &*self.inflow;
        if std::thread::current().id() == inflow.loop_thread {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "a streamed body cannot be read on its worker's loop: read it on the \
                 blocking pool (req.blocking) or a thread of your own",
            ));
        }
        if !inflow.started.swap(true, Ordering::SeqCst) {
            // The first read: the loop may now send 100 Continue.
            inflow.wake();
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let mut queue = inflow.lock();
        let mut deadline = None;
        loop {
            let available = queue.data.len() - queue.pos;
            if available > 0 {
                let was_full = available >= INFLOW_BOUND;
                let n = available.min(buf.len());
                let pos = queue.pos;
                buf[..n].copy_from_slice(&queue.data[pos..pos + n]);
                queue.pos += n;
                let now = queue.data.len() - queue.pos;
                drop(queue);
                if was_full && now < INFLOW_BOUND {
                    inflow.wake(); // room again: the loop reads on
                }
                return Ok(n);
            }
            match queue.end {
                InEnd::Complete => return Ok(0),
                InEnd::Failed(kind, message) => return Err(io::Error::new(kind, message)),
                InEnd::Abandoned => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "this body's reader gave up waiting; the body is cut short",
                    ));
                }
                InEnd::Gone => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the connection closed before the body was read",
                    ));
                }
                // Empty, so the loop is not held back by the bound: wait for bytes, up to
                // the body timeout (or the job's deadline).
                InEnd::Open => {
                    let now = Instant::now();
                    let until = *deadline.get_or_insert_with(|| {
                        let patience = now + inflow.ticket.patience.body();
                        queue.until.map_or(patience, |u| u.min(patience))
                    });
                    if now >= until {
                        drop(queue);
                        inflow.abandon();
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "no body bytes came within the body timeout (or the job's \
                             deadline); the upload is cut short",
                        ));
                    }
                    queue = inflow
                        .arrived
                        .wait_timeout(queue, until - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        // Read to its end, this is nothing; dropped before, the upload stops.
        self.inflow.abandon();
    }
}

/// The loop's side of a streamed body: ends it as `Gone` when dropped, wherever that
/// happens, so that its reader never waits for a connection that no longer exists.
pub(crate) struct InflowGuard(Arc<Inflow>);

impl InflowGuard {
    pub(crate) fn new(inflow: Arc<Inflow>) -> InflowGuard {
        InflowGuard(inflow)
    }

    /// The shared body, for a request's dispatch.
    pub(crate) fn shared(&self) -> &Arc<Inflow> {
        &self.0
    }
}

impl Deref for InflowGuard {
    type Target = Inflow;

    fn deref(&self) -> &Inflow {
        &self.0
    }
}

impl Drop for InflowGuard {
    fn drop(&mut self) {
        self.0.end(InEnd::Gone);
    }
}

impl fmt::Debug for InflowGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader")
            .field("inflow", &self.inflow)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::ticket::{Deadline, Patience};
    use crate::http::request::Request;

    /// A body with no reactor behind it: wake-ups go nowhere.
    fn inflow() -> Arc<Inflow> {
        let poll = mio::Poll::new().expect("poll");
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).expect("waker"));
        let (door, _) = Door::new(waker);
        let request = Request::sample("/up", &[]).to_owned_request();
        let ticket = Arc::new(Ticket::new(
            request,
            0,
            0,
            Deadline::Handler,
            Patience::default(),
        ));
        Arc::new(Inflow::new(ticket, door))
    }

    #[test]
    fn the_queue_holds_no_more_than_what_is_unread() {
        // Made on another thread, that thread is "the loop": this one may read.
        let inflow = std::thread::spawn(inflow).join().expect("made");
        let reader = Arc::clone(&inflow);
        let mut reader = reader.reader().expect("the one reader");
        let piece = vec![7u8; 64 * 1024];
        let mut buf = [0u8; 8 * 1024];
        // The loop pushes 64 KiB at a time, the reader takes 8 KiB: what was read must
        // not stay behind, whatever the body's length.
        for _ in 0..200 {
            if !inflow.is_full() {
                inflow.push(&piece);
            }
            reader.read_exact(&mut buf).expect("bytes are there");
            let queue = inflow.lock();
            assert!(
                queue.data.len() <= INFLOW_BOUND + piece.len(),
                "the queue grew to {} bytes",
                queue.data.len()
            );
        }
    }

    #[test]
    fn a_reader_waits_no_longer_than_its_bound_and_then_stops_the_upload() {
        let inflow = inflow();
        let mut reader = inflow.reader().expect("the one reader");
        assert!(inflow.reader().is_none(), "one reader per body");
        inflow.bound_by(Instant::now());
        // A thread of its own: the loop's thread may not wait at all.
        let read = std::thread::spawn(move || reader.read(&mut [0u8; 16]).map_err(|e| e.kind()))
            .join()
            .expect("the reader returns");
        assert_eq!(read, Err(io::ErrorKind::TimedOut));
        assert!(inflow.is_abandoned(), "the loop learns the reader gave up");
    }

    #[test]
    fn the_loop_dropping_its_side_ends_the_body() {
        let inflow = inflow();
        let mut reader = inflow.reader().expect("the one reader");
        drop(InflowGuard::new(inflow));
        let read = std::thread::spawn(move || reader.read(&mut [0u8; 16]).map_err(|e| e.kind()))
            .join()
            .expect("the reader returns");
        assert_eq!(read, Err(io::ErrorKind::ConnectionAborted));
    }
}
