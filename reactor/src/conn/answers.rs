//! What comes back to a connection from other threads: a deferred answer, the head of a
//! streamed response and then its body, as the writer queues it.

use crate::answer::door::Answer;
use crate::answer::stream::{End, StreamGuard};
use crate::answer::topic::Subscription;
use crate::buf::ReadBuf;
use crate::http::handler::Handler;
use crate::http::response::Response;
use crate::observe::stats::CloseReason;
use crate::shared::Shared;
use crate::supervise::failure::{Failure, FailureKind};

use super::reading::Reading;
use super::respond::{Pending, ticket_failure};
use super::{Conn, Outcome, Pumped};

impl Conn {
    /// The answer it was waiting for has come: encode it (or what its failure's restart
    /// chooses), then go on with the requests buffered behind it.
    pub(crate) fn deliver<H: Handler>(&mut self, answer: Answer, cx: &mut Shared<H>) -> Outcome {
        let answer = match answer {
            Answer::Response(response) => Ok(response),
            Answer::Dropped => Err(Failure::new(
                FailureKind::Unanswered,
                "the Responder was dropped without answering",
            )),
            Answer::Panicked(failure) => Err(*failure),
            Answer::Stream(head, stream) => return self.begin_stream(head, stream, cx),
            Answer::Ready => return self.drive(cx),
            Answer::Subscribe(subscription) => return self.begin_subscription(*subscription, cx),
        };
        self.conclude(answer, cx)
    }

    /// The head of a streamed response has come: encode it, then send the body as its
    /// writer queues it.
    pub(super) fn begin_stream<H: Handler>(
        &mut self,
        head: Response,
        stream: StreamGuard,
        cx: &mut Shared<H>,
    ) -> Outcome {
        let (pending, last, _) = self.settle(cx);
        match pending.begin_stream(cx, &mut self.writing, &head, stream, last) {
            Ok(streaming) => {
                self.reading = Reading::Streaming(Box::new(streaming));
            }
            Err((stream, close)) => {
                // The head was refused (the client got the policy's answer): the writer
                // learns it from its next write.
                stream.close();
                if let Some(why) = close {
                    self.reading = Reading::Closing { linger: !last, why };
                }
            }
        }
        self.served += 1;
        self.drive(cx)
    }

    /// A subscription completed off the loop has come: encode its head, then send the
    /// topic's events as they are published.
    fn begin_subscription<H: Handler>(
        &mut self,
        subscription: Subscription,
        cx: &mut Shared<H>,
    ) -> Outcome {
        let (pending, last, _) = self.settle(cx);
        match pending.subscribe(cx, &mut self.writing, subscription, last) {
            Ok(subscriber) => self.reading = Reading::Subscribed(Box::new(subscriber)),
            Err(Some(why)) => self.reading = Reading::Closing { linger: !last, why },
            Err(None) => {}
        }
        self.served += 1;
        self.drive(cx)
    }

    /// Takes what the writer of the streamed body queued, once everything before it is
    /// written, and follows the stream to its end.
    pub(super) fn pump<H>(&mut self, cx: &mut Shared<H>) -> Pumped {
        let Reading::Streaming(streaming) = &mut self.reading else {
            return Pumped::Nothing;
        };
        let buf = self.writing.buf(&mut cx.pool);
        let before = buf.len();
        let end = streaming.stream.take(buf);
        streaming.bytes += (buf.len() - before) as u64;
        let output = !self.writing.is_empty();
        if !output {
            self.writing.release(&mut cx.pool);
        }
        let last = self.rbuf.as_ref().is_none_or(ReadBuf::is_empty);
        if end != End::Open {
            streaming.log_end(cx);
        }
        self.reading = match end {
            End::Open if output => return Pumped::Output,
            End::Open => return Pumped::Nothing,
            End::Finished if streaming.close => Reading::Closing {
                linger: !last,
                why: CloseReason::Done,
            },
            End::Finished => Reading::Head,
            End::Abandoned { panicked } => {
                let (kind, message) = if panicked {
                    (
                        FailureKind::Panic,
                        "the thread writing a streamed response panicked; the body is cut short",
                    )
                } else {
                    (
                        FailureKind::Unanswered,
                        "the writer of a streamed response was dropped before finish(); the body is cut short",
                    )
                };
                let failure = ticket_failure(&streaming.stream.ticket, kind, message.to_owned());
                let restart = cx.supervisor.failure(failure);
                cx.stop_for(&restart);
                Reading::Closing {
                    linger: false,
                    why: CloseReason::ServerError,
                }
            }
            End::Gone => Reading::Closing {
                linger: false,
                why: CloseReason::ClientGone,
            },
            // The writer waited past the write timeout: the client reads nothing.
            End::TimedOut => Reading::Closing {
                linger: false,
                why: CloseReason::WriteTimeout,
            },
        };
        Pumped::Ended
    }

    /// The deferred answer has come: the request's streamed body is cut, the wait ends and
    /// is counted. Returns the pending request, whether nothing is buffered after it, and
    /// whether a body was cut.
    fn settle<H>(&mut self, cx: &mut Shared<H>) -> (Box<Pending>, bool, bool) {
        let cut = self.cut_upload();
        let Reading::Dispatched(pending) = std::mem::replace(&mut self.reading, Reading::Head)
        else {
            unreachable!("only a dispatched connection gets its deferred answer");
        };
        cx.stats.settled();
        (
            pending,
            self.rbuf.as_ref().is_none_or(ReadBuf::is_empty),
            cut,
        )
    }

    /// Ends the wait for a deferred answer with `answer`, and drives on.
    pub(super) fn conclude<H: Handler>(
        &mut self,
        answer: Result<Response, Failure>,
        cx: &mut Shared<H>,
    ) -> Outcome {
        // Input may still be coming: linger rather than reset the answer away.
        let (pending, last, cut) = self.settle(cx);
        if let Some(why) = pending.conclude(cx, &mut self.writing, answer, last) {
            self.reading = Reading::Closing {
                linger: !last || cut,
                why,
            };
        }
        self.served += 1;
        self.drive(cx)
    }
}
