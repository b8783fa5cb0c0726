//! What a deferred request and its connection share: a [`Ticket`], whose state decides,
//! once, who concludes the request:
//!
//! ```text
//! Pending ──responder sends, or is dropped──▶ Answered  (a delivery is on its way)
//!    ├─────loop: deadline passed, 503 sent──▶ Expired
//!    ├─────loop: the connection closed──────▶ Gone
//!    └─────handler answered itself after all▶ Withdrawn
//! ```
//!
//! Each transition out of `Pending` is one compare-and-swap, so exactly one side wins and
//! a late answer is handed back to its sender instead of reaching the wire.

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::http::owned::OwnedRequest;
use crate::http::request::ConnId;
use crate::supervise::failure::{Failure, FailureKind, Frame};

const PENDING: u8 = 0;
pub(crate) const ANSWERED: u8 = 1;
const EXPIRED: u8 = 2;
const GONE: u8 = 3;
const WITHDRAWN: u8 = 4;

/// What a deferred request and its connection share.
#[derive(Debug)]
pub(crate) struct Ticket {
    state: AtomicU8,
    /// Microseconds from `queued_at` to the start of the job, plus one; 0 until it starts.
    started: AtomicU64,
    queued_at: Instant,
    /// The connection's slab key; with the request's `ConnId`, which a reactor never
    /// reuses, it finds the connection and nothing else.
    pub(crate) key: usize,
    pub(crate) listener: usize,
    /// The deadline that applies: the handler deadline, or the blocking pool's.
    pub(crate) deadline: Deadline,
    pub(crate) request: OwnedRequest,
    /// How long the other side may wait on the connection.
    pub(crate) patience: Patience,
    /// The loop's thread (tickets are made by handlers, on the loop): what must never
    /// wait for the loop.
    pub(crate) loop_thread: std::thread::ThreadId,
}

impl Ticket {
    pub(crate) fn new(
        request: OwnedRequest,
        key: usize,
        listener: usize,
        deadline: Deadline,
        patience: Patience,
    ) -> Ticket {
        Ticket {
            state: AtomicU8::new(PENDING),
            started: AtomicU64::new(0),
            queued_at: Instant::now(),
            key,
            listener,
            deadline,
            request,
            patience,
            loop_thread: std::thread::current().id(),
        }
    }

    /// When the handler deferred the request.
    pub(crate) fn queued_at(&self) -> Instant {
        self.queued_at
    }

    pub(crate) fn conn(&self) -> ConnId {
        self.request.conn_id()
    }

    /// Leaves `Pending` for `to`; `Err` with the state some other side reached first.
    pub(crate) fn conclude(&self, to: u8) -> Result<(), u8> {
        self.state
            .compare_exchange(PENDING, to, Ordering::AcqRel, Ordering::Acquire)
            .map(drop)
    }

    /// The loop gives up at the deadline; `false` if an answer is already on its way.
    pub(crate) fn expire(&self) -> bool {
        self.conclude(EXPIRED).is_ok()
    }

    /// The connection closed. `true` if the answer had not been sent yet: it never will
    /// be delivered, and the caller reports the client gone.
    pub(crate) fn abandon(&self) -> bool {
        self.conclude(GONE).is_ok()
    }

    /// The handler answered (or panicked) after all; a later `send` is refused.
    pub(crate) fn withdraw(&self) {
        let _ = self.conclude(WITHDRAWN);
    }

    /// Whether an answer was sent (or the responder dropped) and is on its way.
    pub(crate) fn is_answered(&self) -> bool {
        self.state.load(Ordering::Acquire) == ANSWERED
    }

    pub(crate) fn is_pending(&self) -> bool {
        self.state.load(Ordering::Acquire) == PENDING
    }

    /// Where the request stands: `Err` with why it can no longer be answered, once
    /// another side concluded it.
    pub(crate) fn still_pending(&self) -> Result<(), Unanswerable> {
        match self.state.load(Ordering::Acquire) {
            PENDING => Ok(()),
            state => Err(unanswerable(state)),
        }
    }

    /// A job starts running: records how long it queued (the result, in microseconds).
    pub(crate) fn start(&self) -> u64 {
        let waited = u64::try_from(self.queued_at.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.started
            .store(waited.saturating_add(1), Ordering::Release);
        waited
    }

    /// The failure of an answer past its deadline, timed, without the request's context
    /// (the request frame adds it).
    pub(crate) fn overdue(&self) -> Failure {
        let elapsed = self.queued_at.elapsed();
        let started = self.started.load(Ordering::Acquire);
        let waited = match started {
            0 => elapsed,
            n => Duration::from_micros(n - 1).min(elapsed),
        };
        let ran = elapsed - waited;
        let mut failure = match self.deadline {
            Deadline::Blocking if started == 0 => Failure::new(
                FailureKind::Timeout,
                format!(
                    "blocking job never started: queued for {waited:?}, every pool thread busy"
                ),
            ),
            Deadline::Blocking => Failure::new(
                FailureKind::Timeout,
                format!(
                    "blocking job past its deadline: queued {waited:?}, ran {ran:?}; its answer will be discarded"
                ),
            ),
            Deadline::Handler => {
                let mut hung = Failure::new(
                    FailureKind::Hung,
                    format!(
                        "deferred answer still missing after {elapsed:?} (the handler deadline)"
                    ),
                );
                hung.frame = Frame::Request;
                hung
            }
        };
        if self.deadline == Deadline::Blocking {
            failure.waited = Some(waited);
            failure.ran = Some(ran);
        } else {
            // Deferred work runs wherever the application put it: all we know is how long
            // it has had.
            failure.ran = Some(elapsed);
        }
        failure
    }
}

/// How long a thread on the other side of a ticket may wait on its connection, from the
/// reactor's settings. Every such wait has a deadline, so no thread waits for good on a
/// connection nobody drives any more. In milliseconds (up to 49 days): every deferred
/// request and idle stream carries one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Patience {
    write_ms: u32,
    body_ms: u32,
    blocking_ms: u32,
}

impl Patience {
    /// From the write, body and blocking timeouts.
    pub(crate) fn new(write: Duration, body: Duration, blocking: Duration) -> Patience {
        let ms = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        Patience {
            write_ms: ms(write),
            body_ms: ms(body),
            blocking_ms: ms(blocking),
        }
    }

    /// A streamed response's writer, for room (the write timeout).
    pub(crate) fn write(self) -> Duration {
        Duration::from_millis(u64::from(self.write_ms))
    }

    /// A streamed request body's reader, for bytes (the body timeout).
    pub(crate) fn body(self) -> Duration {
        Duration::from_millis(u64::from(self.body_ms))
    }

    /// A job on the blocking pool, from the moment it is queued (the blocking timeout):
    /// a reader on such a job waits no longer than the job may run.
    pub(crate) fn blocking(self) -> Duration {
        Duration::from_millis(u64::from(self.blocking_ms))
    }
}

impl Default for Patience {
    /// The reactor's defaults: 30 s each.
    fn default() -> Patience {
        let default = Duration::from_secs(30);
        Patience::new(default, default, default)
    }
}

/// Which deadline a deferred request is held to; the loop arms the matching timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// The handler deadline, absolute from the dispatch: a deferred answer, a stream's
    /// head, a streamed upload's answer.
    Handler,
    /// The blocking pool's deadline, absolute from the moment the job was queued.
    Blocking,
}

/// Why an answer could not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unanswerable {
    /// The deadline passed first: the client was answered 503 and a failure reported.
    Expired,
    /// The connection is gone: the client left, or its worker stopped. Counted as
    /// client-gone.
    Gone,
    /// The handler that deferred the request answered it itself, or panicked.
    Withdrawn,
}

impl fmt::Display for Unanswerable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unanswerable::Expired => "its deadline passed and the client was answered 503",
            Unanswerable::Gone => "the connection is gone",
            Unanswerable::Withdrawn => "the handler answered the request itself",
        })
    }
}

pub(crate) fn unanswerable(state: u8) -> Unanswerable {
    match state {
        EXPIRED => Unanswerable::Expired,
        WITHDRAWN => Unanswerable::Withdrawn,
        _ => Unanswerable::Gone,
    }
}
