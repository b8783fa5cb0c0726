//! The jobs a blocking pool runs: the closure of
//! [`Request::blocking`](crate::Request::blocking) (or of a streamed body) with the
//! [`Responder`] of its request, and the [`Offload`] trait through which a reactor queues
//! them on a pool it does not own.

use std::fmt;
use std::time::{Duration, Instant};

use crate::answer::door::Answer;
use crate::answer::responder::Responder;
use crate::answer::ticket::Unanswerable;
use crate::answer::writer::BodyWriter;
use crate::http::owned::OwnedRequest;
use crate::http::response::Response;
use crate::supervise::failure::{Failure, FailureKind};
use crate::supervise::frame;

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
        self.responder.queued_at()
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
        let ticket = responder.ticket();
        if let Err(reason) = ticket.still_pending() {
            responder.done = true;
            return JobEnd::Skipped(reason);
        }
        let waited = ticket.start();
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
                        .queued_at()
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
    if !body.wants_body() {
        // A HEAD request: its head was all it asked for, and nothing is made.
        return match body.finish() {
            Ok(()) => JobEnd::Answered,
            Err(_) => JobEnd::Late(Unanswerable::Gone),
        };
    }
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
