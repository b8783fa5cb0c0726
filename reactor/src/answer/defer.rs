//! Answers that come later, from another thread: the [`Responder`] a deferred request
//! hands out, the [`Job`]s a blocking pool runs, and the door they come back through.
//!
//! A handler that cannot answer at once calls [`Request::defer`](crate::Request::defer)
//! (or [`Request::blocking`](crate::Request::blocking), which queues a closure on a pool).
//! The loop gets a placeholder and moves on; the connection parses nothing more until
//! the answer is written, so responses stay in order. The [`Responder`] and the
//! connection share a ticket whose state decides, once, who concludes the request:
//!
//! ```text
//! Pending ──responder sends, or is dropped──▶ Answered  (a delivery is on its way)
//!    ├─────loop: deadline passed, 503 sent──▶ Expired
//!    ├─────loop: the connection closed──────▶ Gone
//!    └─────handler answered itself after all▶ Withdrawn
//! ```
//!
//! Each transition out of `Pending` is one compare-and-swap, so exactly one side wins and
//! a late answer is handed back to its sender instead of reaching the wire. The answer
//! travels through the reactor's door: a channel and the inbox's `mio::Waker`. A ticket
//! sends at most one answer, plus, for a streamed response, at most one wake-up in flight
//! (see `stream.rs`); a connection holds at most one ticket, so the channel never holds
//! more than two messages per connection of the reactor.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use mio::Waker;

use crate::answer::stream::{BodyWriter, Stream};
use crate::answer::upgrade::Upgrade;
use crate::http::request::{ConnId, OwnedRequest};
use crate::http::response::Response;
use crate::supervise::failure::{Failure, FailureKind, Frame};
use crate::supervise::frame;
use crate::timer::TimerKind;

const PENDING: u8 = 0;
const ANSWERED: u8 = 1;
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
    pub(crate) timer: TimerKind,
    pub(crate) request: OwnedRequest,
    /// The loop's thread (tickets are made by handlers, on the loop): what must never
    /// wait for the loop.
    pub(crate) loop_thread: std::thread::ThreadId,
}

impl Ticket {
    pub(crate) fn new(
        request: OwnedRequest,
        key: usize,
        listener: usize,
        timer: TimerKind,
    ) -> Ticket {
        Ticket {
            state: AtomicU8::new(PENDING),
            started: AtomicU64::new(0),
            queued_at: Instant::now(),
            key,
            listener,
            timer,
            request,
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
    fn conclude(&self, to: u8) -> Result<(), u8> {
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

    fn is_pending(&self) -> bool {
        self.state.load(Ordering::Acquire) == PENDING
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
        let mut failure = match self.timer {
            TimerKind::Blocking if started == 0 => Failure::new(
                FailureKind::Timeout,
                format!(
                    "blocking job never started: queued for {waited:?}, every pool thread busy"
                ),
            ),
            TimerKind::Blocking => Failure::new(
                FailureKind::Timeout,
                format!(
                    "blocking job past its deadline: queued {waited:?}, ran {ran:?}; its answer will be discarded"
                ),
            ),
            _ => {
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
        if self.timer == TimerKind::Blocking {
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

/// How an answer comes back to its reactor: a channel plus the inbox's waker.
#[derive(Clone)]
pub(crate) struct Door {
    tx: Sender<Delivery>,
    waker: Arc<Waker>,
}

impl Door {
    pub(crate) fn new(waker: Arc<Waker>) -> (Door, Receiver<Delivery>) {
        // Unbounded in type only: at most two deliveries per connection (see the module).
        let (tx, rx) = crossbeam_channel::unbounded();
        (Door { tx, waker }, rx)
    }

    /// Tells the loop that the stream or body of `ticket` has news, unless `notified`
    /// says it was told already and has not looked since (the loop clears it when it
    /// looks): at most one such wake-up per connection is ever in flight.
    pub(crate) fn wake_once(&self, notified: &std::sync::atomic::AtomicBool, ticket: &Arc<Ticket>) {
        if notified.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.deliver(Delivery {
            ticket: Arc::clone(ticket),
            answer: Answer::Ready,
        });
    }

    /// Sends `delivery` and wakes the loop; back if the reactor has stopped.
    pub(crate) fn deliver(&self, delivery: Delivery) -> Result<(), Delivery> {
        match self.tx.send(delivery) {
            Ok(()) => {
                if let Err(e) = self.waker.wake() {
                    // Fails only when the eventfd counter is saturated: a wake-up is
                    // pending anyway.
                    log::warn!("waking the reactor for an answer failed: {e}");
                }
                Ok(())
            }
            Err(crossbeam_channel::SendError(delivery)) => Err(delivery),
        }
    }
}

impl fmt::Debug for Door {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Door")
            .field("queued", &self.tx.len())
            .finish()
    }
}

/// One answer on its way to the loop.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) ticket: Arc<Ticket>,
    pub(crate) answer: Answer,
}

/// What came back for a deferred request.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The response to send.
    Response(Response),
    /// The responder was dropped without answering.
    Dropped,
    /// The blocking job panicked: the failure, without the request's context yet.
    Panicked(Box<Failure>),
    /// The head of a streamed response; its body comes through the stream.
    Stream(Response, Arc<Stream>),
    /// A streamed response has news: more body, or its end.
    Ready,
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

fn unanswerable(state: u8) -> Unanswerable {
    match state {
        EXPIRED => Unanswerable::Expired,
        WITHDRAWN => Unanswerable::Withdrawn,
        _ => Unanswerable::Gone,
    }
}

/// An answer that was not sent, with the response handed back.
#[derive(Debug)]
pub struct AnswerError {
    reason: Unanswerable,
    response: Response,
}

impl AnswerError {
    /// Why it was not sent.
    pub fn reason(&self) -> Unanswerable {
        self.reason
    }

    /// The response, back in the caller's hands.
    pub fn into_response(self) -> Response {
        self.response
    }
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "answer not sent: {}", self.reason)
    }
}

impl std::error::Error for AnswerError {}

/// Answers one deferred request, once, from any thread, and wakes the worker's loop.
///
/// Made by [`Request::defer`](crate::Request::defer) with an owned copy of the request
/// ([`Responder::request`]). Dropped without answering, it answers 500 and reports an
/// `Unanswered` failure with the request's context.
///
/// ```
/// use warden_reactor::{Request, Response};
///
/// fn handler(req: &Request<'_>) -> Response {
///     let (pending, responder) = req.defer();
///     std::thread::spawn(move || {
///         let path = responder.request().path().to_owned();
///         // An error means the client left or the deadline passed: nobody to tell.
///         let _ = responder.send(Response::text(format!("later: {path}")));
///     });
///     pending
/// }
/// # let _ = handler;
/// ```
pub struct Responder {
    ticket: Arc<Ticket>,
    door: Door,
    /// Sent, or handed back: nothing to do on drop.
    done: bool,
}

impl Responder {
    pub(crate) fn new(ticket: Arc<Ticket>, door: Door) -> Responder {
        Responder {
            ticket,
            door,
            done: false,
        }
    }

    /// The request being answered.
    pub fn request(&self) -> &OwnedRequest {
        &self.ticket.request
    }

    /// Whether an answer would still be sent: the client is there and the deadline has
    /// not passed. Work whose answer nobody waits for can stop early.
    pub fn is_wanted(&self) -> bool {
        self.ticket.is_pending()
    }

    /// Sends the answer and wakes the loop.
    ///
    /// # Errors
    ///
    /// The response comes back when it can no longer be sent ([`Unanswerable`]).
    pub fn send(mut self, response: Response) -> Result<(), AnswerError> {
        self.done = true;
        self.deliver(Answer::Response(response))
            .map_err(|(reason, answer)| AnswerError {
                reason,
                response: match answer {
                    Answer::Response(response) => response,
                    _ => unreachable!("deliver hands back what it was given"),
                },
            })
    }

    /// Gives up without a delivery: the handler or the pool answered another way.
    pub(crate) fn withdraw(mut self) {
        self.done = true;
        self.ticket.withdraw();
    }

    fn deliver(&self, answer: Answer) -> Result<(), (Unanswerable, Answer)> {
        if let Err(state) = self.ticket.conclude(ANSWERED) {
            return Err((unanswerable(state), answer));
        }
        let delivery = Delivery {
            ticket: Arc::clone(&self.ticket),
            answer,
        };
        // A reactor that stopped counted the connection gone in its salvage.
        self.door
            .deliver(delivery)
            .map_err(|delivery| (Unanswerable::Gone, delivery.answer))
    }

    pub(crate) fn ticket(&self) -> Arc<Ticket> {
        Arc::clone(&self.ticket)
    }

    pub(crate) fn door(&self) -> &Door {
        &self.door
    }

    /// Sends the head of a streamed response, whose body comes through `stream`.
    pub(crate) fn send_stream(
        mut self,
        head: Response,
        stream: Arc<Stream>,
    ) -> Result<(), AnswerError> {
        self.done = true;
        self.deliver(Answer::Stream(head, stream))
            .map_err(|(reason, answer)| AnswerError {
                reason,
                response: match answer {
                    Answer::Stream(head, _) => head,
                    _ => unreachable!("deliver hands back what it was given"),
                },
            })
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.deliver(Answer::Dropped);
        }
    }
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("conn", &self.ticket.conn())
            .field("method", &self.ticket.request.method())
            .field("path", &self.ticket.request.path())
            .field("wanted", &self.is_wanted())
            .finish()
    }
}

/// Where a request's blocking work runs: implemented by `warden-worker`'s blocking pool,
/// handed to a reactor with [`Reactor::set_offload`](crate::Reactor::set_offload).
///
/// `submit` is called on the loop: it must never wait (a full queue hands the job back).
pub trait Offload: Send + Sync + 'static {
    /// Queues `job` to run on another thread.
    ///
    /// # Errors
    ///
    /// The job comes back when there is no room for it: the client is answered 503 with
    /// `Retry-After` and an `Overload` failure is reported.
    fn submit(&self, job: Job) -> Result<(), Job>;
}

/// The work of a closure passed to [`Request::blocking`](crate::Request::blocking),
/// queued on a pool: the closure and the responder of its request.
pub struct Job {
    work: Work,
    responder: Responder,
}

/// What a job does with its request.
pub(crate) enum Work {
    /// Returns the response.
    Answer(Box<dyn FnOnce(&OwnedRequest) -> Response + Send>),
    /// Sends this head, then writes the body.
    Stream(Box<Response>, Box<StreamWork>),
}

/// The body of a streamed job's response, written on the pool.
pub(crate) type StreamWork =
    dyn FnOnce(&OwnedRequest, &mut BodyWriter) -> std::io::Result<()> + Send;

/// How a job ended, for the pool's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobEnd {
    /// It ran and its answer went to the loop.
    Answered,
    /// It ran, but its answer could not be sent.
    Late(Unanswerable),
    /// It was not run: its deadline had passed or its client had left while it queued.
    Skipped(Unanswerable),
    /// It panicked: the loop answers in the request frame. Replace the thread.
    Panicked,
}

impl Job {
    pub(crate) fn new(work: Work, responder: Responder) -> Job {
        Job { work, responder }
    }

    /// When it was queued: its deadline counts from here.
    pub fn queued_at(&self) -> Instant {
        self.responder.ticket.queued_at
    }

    /// The request it answers.
    pub fn request(&self) -> &OwnedRequest {
        self.responder.request()
    }

    /// Runs the closure on this thread, catching a panic (mark the thread with
    /// [`set_supervised`](crate::set_supervised) so it is reported, not printed), and
    /// sends its answer. A job whose deadline passed or whose client left while it
    /// queued is not run: dropping it runs the closure's own cleanup.
    pub fn run(self) -> JobEnd {
        let Job {
            work,
            mut responder,
        } = self;
        let ticket = Arc::clone(&responder.ticket);
        let state = ticket.state.load(Ordering::Acquire);
        if state != PENDING {
            responder.done = true;
            return JobEnd::Skipped(unanswerable(state));
        }
        let waited = u64::try_from(ticket.queued_at.elapsed().as_micros()).unwrap_or(u64::MAX);
        ticket
            .started
            .store(waited.saturating_add(1), Ordering::Release);
        let work = match work {
            Work::Answer(work) => work,
            Work::Stream(head, work) => return stream_job(responder, *head, work),
        };
        match frame::catch(|| work(&ticket.request)) {
            Ok(response) => match responder.send(response) {
                Ok(()) => JobEnd::Answered,
                Err(e) => JobEnd::Late(e.reason()),
            },
            Err(payload) => {
                let mut failure = Failure::new(FailureKind::Panic, "");
                frame::describe_panic(payload.as_ref(), &mut failure);
                failure.waited = Some(Duration::from_micros(waited));
                failure.ran = Some(
                    ticket
                        .queued_at
                        .elapsed()
                        .saturating_sub(Duration::from_micros(waited)),
                );
                responder.done = true;
                let _ = responder.deliver(Answer::Panicked(Box::new(failure)));
                JobEnd::Panicked
            }
        }
    }

    /// Gives the job up without running it: the queue had no room. No answer is sent;
    /// the request frame answers instead.
    pub(crate) fn reject(self) {
        self.responder.withdraw();
    }
}

/// Runs a streamed job: the head, then `work` writing the body, then its end. A panic in
/// `work` cuts the body short (the loop reports it) and retires the thread.
fn stream_job(responder: Responder, head: Response, work: Box<StreamWork>) -> JobEnd {
    let ticket = responder.ticket();
    let mut body = match responder.stream(head) {
        Ok(body) => body,
        Err(e) => return JobEnd::Late(e.reason()),
    };
    match frame::catch(std::panic::AssertUnwindSafe(|| {
        work(&ticket.request, &mut body)
    })) {
        Ok(Ok(())) => match body.finish() {
            Ok(()) => JobEnd::Answered,
            Err(_) => JobEnd::Late(Unanswerable::Gone),
        },
        // The client left: nothing to finish.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            JobEnd::Late(Unanswerable::Gone)
        }
        // The body could not be made: dropped unfinished, it is cut short and reported.
        Ok(Err(e)) => {
            log::debug!("a streamed job's body failed: {e}");
            drop(body);
            JobEnd::Answered
        }
        Err(_) => {
            body.abandon(true);
            JobEnd::Panicked
        }
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("responder", &self.responder)
            .finish_non_exhaustive()
    }
}

/// What a request needs to defer itself, made on the stack for each handler call.
pub(crate) struct Dispatch<'a> {
    pub(crate) door: &'a Door,
    pub(crate) offload: Option<&'a dyn Offload>,
    pub(crate) key: usize,
    pub(crate) listener: usize,
    /// The worker, and the requests its loop took before this one: a made request id.
    pub(crate) worker: usize,
    pub(crate) seq: u64,
    /// What the handler did about deferring, for the request frame to act on.
    pub(crate) taken: std::cell::Cell<Deferral>,
    /// The body of a streamed request, for [`Request::body_reader`](crate::Request::body_reader).
    /// (A reference: no drop glue on the path every request takes.)
    pub(crate) inflow: std::cell::Cell<Option<&'a Arc<crate::answer::inflow::Inflow>>>,
}

/// Whether the handler deferred its request.
#[derive(Debug, Default)]
pub(crate) enum Deferral {
    /// It did not.
    #[default]
    None,
    /// It did: the answer comes through this ticket.
    Pending(Arc<Ticket>),
    /// It asked for the blocking pool, whose queue was full.
    Overloaded,
    /// It accepted a protocol upgrade.
    Upgrade(Box<Upgrade>),
}

impl fmt::Debug for Dispatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatch")
            .field("key", &self.key)
            .field("listener", &self.listener)
            .field("pool", &self.offload.is_some())
            .finish()
    }
}
