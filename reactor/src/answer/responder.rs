//! The [`Responder`] a deferred request hands out: it answers once, from any thread, and
//! wakes the worker's loop; an answer that can no longer be sent comes back in an
//! [`AnswerError`].

use std::fmt;
use std::sync::Arc;

use crate::answer::door::{Answer, Delivery, Door};
use crate::answer::stream::{Stream, StreamGuard};
use crate::answer::ticket::{ANSWERED, Ticket, Unanswerable, unanswerable};
use crate::answer::topic::Subscription;
use crate::http::owned::OwnedRequest;
use crate::http::response::Response;

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
    pub(crate) done: bool,
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

    pub(crate) fn deliver(&self, answer: Answer) -> Result<(), (Unanswerable, Answer)> {
        if let Err(state) = self.ticket.conclude(ANSWERED) {
            return Err((unanswerable(state), answer));
        }
        let delivery = Delivery::Answer {
            ticket: Arc::clone(&self.ticket),
            answer,
        };
        // A reactor that stopped counted the connection gone in its salvage.
        self.door
            .deliver(delivery)
            .map_err(|delivery| match delivery {
                Delivery::Answer { answer, .. } => (Unanswerable::Gone, answer),
                Delivery::Topic(_) => unreachable!("deliver hands back what it was given"),
            })
    }

    /// Makes the connection a subscriber of a broadcast topic (the subscription comes
    /// back when the request can no longer be answered; dropping it counts it out).
    pub(crate) fn subscribe(mut self, subscription: Subscription) -> Result<(), Box<Subscription>> {
        self.done = true;
        self.deliver(Answer::Subscribe(Box::new(subscription)))
            .map_err(|(_, answer)| match answer {
                Answer::Subscribe(subscription) => subscription,
                _ => unreachable!("deliver hands back what it was given"),
            })
    }

    /// When the request was deferred (a job's deadline counts from here).
    pub(crate) fn queued_at(&self) -> std::time::Instant {
        self.ticket.queued_at()
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
        self.deliver(Answer::Stream(head, StreamGuard::new(stream)))
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
