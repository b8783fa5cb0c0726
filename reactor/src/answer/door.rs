//! The one way into a reactor for answers made elsewhere: a channel plus the inbox's
//! `mio::Waker`. A ticket sends at most one answer, plus, for a streamed response or
//! body, at most one wake-up in flight; a connection holds at most one ticket, so the
//! channel never holds more than two messages per connection of the reactor.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Receiver, Sender};
use mio::Waker;

use crate::answer::stream::StreamGuard;
use crate::answer::ticket::Ticket;
use crate::answer::topic::{Subscription, Topic};
use crate::http::response::Response;
use crate::supervise::failure::Failure;

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
    pub(crate) fn wake_once(&self, notified: &AtomicBool, ticket: &Arc<Ticket>) {
        if notified.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.deliver(Delivery::Answer {
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

/// What comes through the door.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// An answer (or news of a stream or body) for the request of `ticket`.
    Answer { ticket: Arc<Ticket>, answer: Answer },
    /// A topic this reactor has subscribers to has new events (at most one such wake-up
    /// per topic and reactor is in flight).
    Topic(Arc<Topic>),
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
    Stream(Response, StreamGuard),
    /// A streamed response has news: more body, or its end.
    Ready,
    /// The request subscribes to a broadcast topic: its event-stream head is sent, then
    /// the topic's events.
    Subscribe(Box<Subscription>),
}
