//! One HTTP/1.1 connection: read, parse every buffered request, answer, write once.
//!
//! The read side (`reading.rs`: the `Reading` state machine; `read.rs`: reading and
//! parsing) and the write side (`write.rs`: the `Writing` state machine) are driven from
//! here; `respond.rs` is the request frame between them, `upload.rs` a body streaming to
//! its reader, `answers.rs` what comes back from other threads (answers, streams),
//! `subscriber.rs` a broadcast subscription, `carried.rs` a connection moving to another
//! reactor. Bytes move through the connection's transport (`crate::transport`).

mod answers;
mod carried;
mod client;
mod proxied;
mod read;
mod reading;
mod reject;
mod respond;
mod subscriber;
mod upload;
mod write;

pub(crate) use self::carried::Carried;
pub(crate) use self::respond::ticket_failure;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::answer::inflow::InEnd;
use crate::answer::ticket::{Deadline, Ticket};
use crate::answer::upgrade::Upgrade;
use crate::buf::ReadBuf;
use crate::http::error::RequestError;
use crate::http::handler::Handler;
use crate::http::request::ConnId;
use crate::observe::stats::CloseReason;
use crate::shared::Shared;
use crate::supervise::failure::{Failure, FailureKind};
use crate::timer::{Link, TimerKind};
use crate::transport::{ClientProtocolError, Socket, Transport};

use self::reading::{Input, READ_BUDGET, Reading, read_limit};
use self::reject::reject;
use self::subscriber::{Flow, KEEPALIVE_CHUNKED, KEEPALIVE_PLAIN};
use self::write::{Flushed, Writing};

/// What the reactor should do with a connection after driving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Keep it, waiting under this kind of timeout, its deadline counted from now.
    Wait(TimerKind),
    /// Keep it, waiting under this kind of timeout; a deadline of this kind already
    /// running stands. Header, linger and deferred-answer deadlines are absolute (a
    /// client dripping a byte at a time must still time out), and the write deadline
    /// measures time without progress in writing.
    Continue(TimerKind),
    /// Close it now, counted as this reason.
    Close(CloseReason),
    /// Its 101 is written: hand it to the application (see [`Conn::into_upgrade`]).
    Upgrade,
}

/// What [`Conn::pump`] found.
pub(super) enum Pumped {
    /// Body bytes to write.
    Output,
    /// Nothing yet: wait for the writer.
    Nothing,
    /// The stream ended; the connection is in its next state.
    Ended,
}

/// One accepted connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: Socket,
    peer: SocketAddr,
    id: ConnId,
    /// The listener that accepted it (index in bind order).
    listener: usize,
    /// Its key in the reactor's slab, where deferred answers find it (with `id`).
    key: usize,
    reading: Reading,
    input: Input,
    /// Requests answered on this connection.
    served: u32,
    /// The value of `served` when the running header deadline was set: the head it
    /// measures. A head that begins once another request is answered gets its own.
    header_for: u32,
    /// Responses were written since the client last sent anything: if it resets the
    /// connection now, it left without reading them.
    unread_response: bool,
    /// The balancer's address, when a PROXY protocol header named the client (`peer`).
    proxy: Option<SocketAddr>,
    /// Its place in the per-client connection limit, if one is kept: given back when the
    /// connection is dropped.
    client: Option<Box<crate::clients::ClientSlot>>,
    rbuf: Option<ReadBuf>,
    writing: Writing,
    pub(crate) link: Link,
}

impl Conn {
    /// A connection; `kept_alive` when it comes from another reactor after serving
    /// requests there.
    pub(crate) fn new(
        stream: Socket,
        peer: SocketAddr,
        id: ConnId,
        listener: usize,
        key: usize,
        kept_alive: bool,
    ) -> Conn {
        let fresh = Carried {
            reading: Reading::Head,
            served: u32::from(kept_alive),
            unread_response: false,
            rbuf: None,
            writing: Writing::Idle,
        };
        let mut conn = Conn::resume(stream, peer, id, listener, key, fresh);
        // The header deadline armed at the accept is this first head's.
        conn.header_for = conn.served;
        conn
    }

    pub(crate) fn id(&self) -> ConnId {
        self.id
    }

    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub(crate) fn listener(&self) -> usize {
        self.listener
    }

    /// Whether it has answered a request: an idle connection is then between requests.
    pub(crate) fn has_served(&self) -> bool {
        self.served > 0
    }

    /// Takes the connection apart to move it to another reactor: its socket, and
    /// everything it is in the middle of (buffered input, parse state, unwritten output).
    /// `None` for the socket's state when it cannot move: a deferred answer is bound to
    /// this reactor's door, so such a connection is released (its client counted gone)
    /// and closed instead.
    pub(crate) fn carry<H>(mut self, cx: &mut Shared<H>) -> (Socket, Option<Carried>) {
        if self.is_bound() {
            self.release(cx, true);
            return (self.stream, None);
        }
        let carried = Carried {
            reading: self.reading,
            served: self.served,
            unread_response: self.unread_response,
            rbuf: self.rbuf,
            writing: self.writing,
        };
        (self.stream, Some(carried))
    }

    /// A connection moved from another reactor, resuming where it was. What the kernel
    /// holds is read afresh: the readiness the old reactor saw is gone with it.
    pub(crate) fn resume(
        stream: Socket,
        peer: SocketAddr,
        id: ConnId,
        listener: usize,
        key: usize,
        carried: Carried,
    ) -> Conn {
        let Carried {
            reading,
            served,
            unread_response,
            rbuf,
            writing,
        } = carried;
        Conn {
            stream,
            peer,
            id,
            listener,
            key,
            reading,
            input: Input::Pending,
            served,
            // Its header deadline starts again here.
            header_for: served.wrapping_sub(1),
            unread_response,
            proxy: None,
            client: None,
            rbuf,
            writing,
            link: Link::default(),
        }
    }

    /// A failure of `kind` concerning this connection, with its context.
    pub(crate) fn failure<H>(
        &self,
        kind: FailureKind,
        message: impl Into<String>,
        cx: &Shared<H>,
    ) -> Failure {
        let mut failure = Failure::new(kind, message);
        failure.conn = Some(self.id);
        failure.peer = Some(self.peer);
        failure.listener = Some(self.listener);
        if let Some((method, path)) = cx.activity.last_request(self.id) {
            failure.method = Some(method);
            failure.path = Some(path);
        }
        failure
    }

    /// Records a readiness event. `hung_up`: the peer reset the connection or closed
    /// both directions (`EPOLLHUP`, `EPOLLERR`).
    pub(crate) fn ready(&mut self, readable: bool, read_closed: bool, hung_up: bool) {
        if hung_up {
            self.input = Input::HungUp;
        } else if read_closed {
            self.input = Input::PendingEof;
        } else if readable && self.input == Input::Drained {
            self.input = Input::Pending;
        }
    }

    /// Whether nothing is in progress: a keep-alive connection between requests.
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.reading, Reading::Head)
            && self.rbuf.as_ref().is_none_or(ReadBuf::is_empty)
            && self.writing.is_empty()
    }

    /// Whether input may be waiting that no readiness event will announce again: the
    /// read budget ran out before the socket was drained.
    pub(crate) fn wants_another_turn(&self) -> bool {
        self.input != Input::Drained
            && !self.writing.is_buffered()
            && match &self.reading {
                Reading::Head
                | Reading::Proxy
                | Reading::Body { .. }
                | Reading::Lingering { .. } => true,
                // Not while its reader has not taken what is queued: the reader wakes the
                // loop when it has (coming back each turn meanwhile would spin).
                Reading::Uploading(up) => !up.inflow.is_full(),
                _ => false,
            }
    }

    /// Makes all the progress the socket allows: writes pending output, answers buffered
    /// requests, reads. A pipelined batch costs one read and one write.
    pub(crate) fn drive<H: Handler>(&mut self, cx: &mut Shared<H>) -> Outcome {
        let mut reads = 0;
        cx.clock.interrupt();
        loop {
            if self.writing.is_buffered() {
                match self
                    .writing
                    .flush(&mut self.stream, &cx.stats, &mut self.unread_response)
                {
                    Ok(Flushed::All) => self.writing.release(&mut cx.pool),
                    // The write deadline measures time without progress: bytes written
                    // restart it, a client that reads nothing (whatever it sends) does not.
                    Ok(Flushed::Some) => return Outcome::Wait(TimerKind::Write),
                    Ok(Flushed::None) => return Outcome::Continue(TimerKind::Write),
                    Err(e) => return self.io_error("write", &e, cx),
                }
            }
            match self.reading {
                // Linger only when input may still be coming: bytes were left unanswered,
                // or the socket has more than we read (even up to an EOF: closing with
                // unread input resets the connection). A client that sent exactly its
                // last request gets a plain close, and frees its slot at once.
                Reading::Closing { linger, why } if linger || self.input != Input::Drained => {
                    // Our final response is out; stop sending, keep draining input. What
                    // is still buffered will never be answered.
                    let _ = self.stream.shutdown_write();
                    self.reading = Reading::Lingering { why };
                    if let Some(buf) = &mut self.rbuf {
                        buf.clear();
                    }
                    self.release_read(cx);
                }
                Reading::Closing { why, .. } => return Outcome::Close(why),
                // Nobody is left to read the answer it waits for: close now (`release`
                // reports it) rather than hold the connection until the answer comes.
                Reading::Dispatched(_) | Reading::Streaming(_) | Reading::Uploading(_)
                    if self.input == Input::HungUp =>
                {
                    return Outcome::Close(CloseReason::ClientGone);
                }
                // Everything before, the 101 included, is written.
                Reading::Upgrading(_) => return Outcome::Upgrade,
                // A subscriber that leaves (a reset, or the end of its side) is removed at
                // once: an EventSource that closes is a normal end, not a failure.
                Reading::Subscribed(_)
                    if matches!(self.input, Input::HungUp | Input::PendingEof) =>
                {
                    return Outcome::Close(CloseReason::ClientClosed);
                }
                Reading::Subscribed(ref mut sub) => {
                    match sub.pump(&mut self.stream, &cx.stats, &mut self.unread_response) {
                        // Draining: what was published is sent, then the last chunk ends
                        // the stream cleanly.
                        Ok(Flow::Idle { .. }) if cx.is_draining() => {
                            if sub.chunked {
                                self.writing
                                    .buf(&mut cx.pool)
                                    .extend_from_slice(b"0\r\n\r\n");
                            }
                            self.reading = Reading::Closing {
                                linger: false,
                                why: CloseReason::Drain,
                            };
                            continue;
                        }
                        Ok(Flow::Idle { .. }) => break, // until the next publish
                        Ok(Flow::Blocked { wrote: true }) => {
                            return Outcome::Wait(TimerKind::Write);
                        }
                        Ok(Flow::Blocked { wrote: false }) => {
                            return Outcome::Continue(TimerKind::Write);
                        }
                        Ok(Flow::Lagged) => {
                            cx.stats.subscriber_cut();
                            return Outcome::Close(CloseReason::Lagged);
                        }
                        Err(e) => return self.io_error("write", &e, cx),
                    }
                }
                Reading::Streaming(_) => match self.pump(cx) {
                    Pumped::Output => continue, // write it first
                    Pumped::Nothing => break,   // wait for the writer
                    Pumped::Ended => continue,  // on with the new state
                },
                _ => {}
            }
            if let Reading::Lingering { why } = self.reading {
                return self.linger(why);
            }

            // Answer what is buffered, reading more while the socket has it and the
            // turn's read budget lasts. Buffered requests are always answered: the
            // budget limits reads only, since no event would announce bytes already read.
            loop {
                if self.process(cx) {
                    break; // output reached its high-water mark: write first
                }
                if self.input == Input::Drained
                    || matches!(
                        self.reading,
                        Reading::Closing { .. }
                            | Reading::Dispatched(_)
                            | Reading::Streaming(_)
                            | Reading::Upgrading(_)
                            | Reading::Subscribed(_)
                    )
                    || reads == READ_BUDGET
                    || matches!(&self.reading, Reading::Uploading(up) if up.inflow.is_full())
                {
                    break;
                }
                reads += 1;
                cx.clock.interrupt();
                match self.read(cx) {
                    Ok(()) => {}
                    Err(e) => return self.io_error("read", &e, cx),
                }
            }
            if !self.writing.is_buffered() && !matches!(self.reading, Reading::Closing { .. }) {
                break;
            }
        }
        self.release_read(cx);
        match self.waiting_for() {
            TimerKind::Header if self.header_for != self.served => {
                self.header_for = self.served;
                Outcome::Wait(TimerKind::Header)
            }
            kind @ (TimerKind::Header
            | TimerKind::Linger
            | TimerKind::Deferred
            | TimerKind::Blocking) => Outcome::Continue(kind),
            kind @ (TimerKind::Idle
            | TimerKind::Body
            | TimerKind::Write
            | TimerKind::Stream
            | TimerKind::Subscribed) => Outcome::Wait(kind),
        }
    }

    /// Whether no more requests will be read.
    pub(crate) fn is_closing(&self) -> bool {
        matches!(
            self.reading,
            Reading::Closing { .. } | Reading::Lingering { .. }
        )
    }

    /// Takes `bytes` as if read from the socket, answers what can be answered, and moves
    /// the output to `sink`: the state machine without the socket (see `testing`).
    pub(crate) fn feed<H: Handler>(
        &mut self,
        mut bytes: &[u8],
        cx: &mut Shared<H>,
        sink: &mut Vec<u8>,
    ) {
        loop {
            let high_water = self.process(cx);
            sink.extend_from_slice(self.writing.pending());
            if let Some(file) = self.writing.file() {
                // What sendfile would send.
                let mut range = vec![0; usize::try_from(file.len).unwrap_or(usize::MAX)];
                if std::os::unix::fs::FileExt::read_exact_at(&*file.file, &mut range, file.offset)
                    .is_ok()
                {
                    sink.extend_from_slice(&range);
                }
            }
            self.writing.release(&mut cx.pool);
            if high_water {
                continue;
            }
            if bytes.is_empty() || self.is_closing() {
                return;
            }
            let buf = self.rbuf.get_or_insert_with(|| cx.pool.take_read());
            if !buf.make_room(read_limit(&cx.config)) {
                return; // as the socket path: nothing more can be taken
            }
            let spare = buf.spare();
            let n = spare.len().min(bytes.len());
            spare[..n].copy_from_slice(&bytes[..n]);
            buf.commit(n);
            bytes = &bytes[n..];
        }
    }

    /// A timer of `kind` fired.
    pub(crate) fn expire<H: Handler>(&mut self, kind: TimerKind, cx: &mut Shared<H>) -> Outcome {
        if kind == TimerKind::Body && matches!(self.reading, Reading::Uploading(_)) {
            // The reader learns the body stalled; its handler answers, and the
            // connection closes after that answer.
            if let Reading::Uploading(up) = &self.reading {
                up.fail(&RequestError::BodyTimeout);
            }
            self.cut_upload();
            return self.drive(cx);
        }
        let error = match kind {
            TimerKind::Header => RequestError::HeaderTimeout,
            TimerKind::Body => RequestError::BodyTimeout,
            TimerKind::Idle => return Outcome::Close(CloseReason::IdleTimeout),
            // Never armed with a finite duration.
            TimerKind::Stream => return Outcome::Wait(TimerKind::Stream),
            TimerKind::Write => return Outcome::Close(CloseReason::WriteTimeout),
            // Quiet for the keep-alive interval: a comment, so that proxies keep it.
            TimerKind::Subscribed => {
                if let Reading::Subscribed(sub) = &self.reading {
                    let comment = if sub.chunked {
                        KEEPALIVE_CHUNKED
                    } else {
                        KEEPALIVE_PLAIN
                    };
                    self.writing.buf(&mut cx.pool).extend_from_slice(comment);
                }
                return self.drive(cx);
            }
            // The close was decided before the lingering began.
            TimerKind::Linger => {
                return Outcome::Close(match self.reading {
                    Reading::Closing { why, .. } | Reading::Lingering { why } => why,
                    _ => CloseReason::Done,
                });
            }
            TimerKind::Deferred | TimerKind::Blocking => {
                if let Reading::Uploading(up) = &self.reading {
                    // The job reading the body is past its deadline: its reader stops
                    // waiting, and the client gets the 503 of any late job.
                    up.inflow.end(InEnd::Failed(
                        io::ErrorKind::TimedOut,
                        "the job reading this body passed its deadline; the upload is cut short",
                    ));
                    self.cut_upload();
                }
                let Reading::Dispatched(pending) = &self.reading else {
                    return self.drive(cx); // answered since: nothing is overdue
                };
                if !pending.ticket.expire() {
                    // The answer was sent just now and is on its way to the inbox.
                    return Outcome::Wait(kind);
                }
                let overdue = pending.ticket.overdue();
                return self.conclude(Err(overdue), cx);
            }
        };
        let why = reject(
            cx,
            self.rbuf.as_mut(),
            &mut self.writing,
            error,
            self.id,
            self.peer,
        );
        self.reading = Reading::rejected(why);
        self.drive(cx)
    }

    /// Takes the connection apart for the application after its 101 was written: the
    /// socket, the bytes read past the upgrade request, and the upgrade.
    pub(crate) fn into_upgrade<H>(
        mut self,
        cx: &mut Shared<H>,
    ) -> (Socket, Vec<u8>, Option<Box<Upgrade>>) {
        let upgrade = match std::mem::replace(&mut self.reading, Reading::Head) {
            Reading::Upgrading(upgrade) => Some(upgrade),
            _ => None,
        };
        let buffered = self
            .rbuf
            .as_ref()
            .map(|b| b.filled().to_vec())
            .unwrap_or_default();
        if let Some(buf) = self.rbuf.take() {
            cx.pool.put_read(buf);
        }
        self.writing.release(&mut cx.pool);
        (self.stream, buffered, upgrade)
    }

    /// Whether it is bound to this reactor: a deferred answer or a streamed body comes
    /// through its door, so it cannot move to another.
    pub(crate) fn is_bound(&self) -> bool {
        matches!(
            self.reading,
            Reading::Dispatched(_)
                | Reading::Streaming(_)
                | Reading::Uploading(_)
                | Reading::Subscribed(_)
        )
    }

    /// Whether this connection streams a request body whose reader wakes it with
    /// `ticket`.
    pub(crate) fn uploads(&self, ticket: &Arc<Ticket>) -> bool {
        matches!(&self.reading, Reading::Uploading(u) if Arc::ptr_eq(&u.inflow.ticket, ticket))
    }

    /// Whether this connection streams the body that comes with `ticket`.
    pub(crate) fn streams(&self, ticket: &Arc<Ticket>) -> bool {
        matches!(&self.reading, Reading::Streaming(s) if Arc::ptr_eq(&s.stream.ticket, ticket))
    }

    /// Whether this connection waits for the answer that comes with `ticket`.
    pub(crate) fn awaits(&self, ticket: &Arc<Ticket>) -> bool {
        match &self.reading {
            Reading::Dispatched(p) => Arc::ptr_eq(&p.ticket, ticket),
            Reading::Uploading(u) => Arc::ptr_eq(&u.pending.ticket, ticket),
            _ => false,
        }
    }

    /// The answer came before the streamed body ended: the upload is cut short (its
    /// reader learns the connection is gone for it), and the connection closes after the
    /// answer. `true` if there was an upload.
    fn cut_upload(&mut self) -> bool {
        if !matches!(self.reading, Reading::Uploading(_)) {
            return false;
        }
        let Reading::Uploading(mut up) = std::mem::replace(&mut self.reading, Reading::Head) else {
            unreachable!("matched just above");
        };
        up.inflow.end(InEnd::Gone);
        up.pending.close_after();
        if let Some(buf) = &mut self.rbuf {
            buf.clear();
        }
        self.reading = Reading::Dispatched(up.pending);
        true
    }

    /// Returns the buffers to the pool; the connection is being closed. A deferred answer
    /// still pending will be discarded: that is a `ClientGone` failure, reported here.
    /// `stopping`: the reactor stops too, so an answer already on its way will never be
    /// seen either, and is counted here as well.
    pub(crate) fn release<H>(&mut self, cx: &mut Shared<H>, stopping: bool) {
        self.cut_upload();
        if let Reading::Subscribed(sub) = &self.reading {
            cx.subscriptions.remove(&sub.topic, sub.place as usize);
            cx.stats.subscription(false);
            self.reading = Reading::Closing {
                linger: false,
                why: CloseReason::ClientClosed,
            };
        }
        let why = if stopping {
            "its worker stopped"
        } else {
            "the connection closed"
        };
        if let Reading::Dispatched(pending) = &self.reading {
            let ticket = &pending.ticket;
            if ticket.abandon() || (stopping && ticket.is_answered()) {
                let failure = pending.failure(
                    FailureKind::ClientGone,
                    format!("{why} before the deferred answer was sent; the answer is discarded"),
                );
                let restart = cx.supervisor.failure(failure);
                cx.stop_for(&restart);
            }
            cx.stats.settled();
            self.reading = Reading::Closing {
                linger: false,
                why: CloseReason::ClientGone,
            };
        }
        if let Reading::Streaming(streaming) = &self.reading {
            // A worker that stops cuts its streams: the writer is told, and the close is
            // counted as what stopped it (a restart, recycling), not as the client's.
            let cut = streaming.stream.close();
            if cut {
                streaming.log_end(cx);
            }
            if cut && !stopping {
                let failure = ticket_failure(
                    &streaming.stream.ticket,
                    FailureKind::ClientGone,
                    format!("{why} in the middle of a streamed response"),
                );
                let restart = cx.supervisor.failure(failure);
                cx.stop_for(&restart);
            }
            self.reading = Reading::Closing {
                linger: false,
                why: CloseReason::ClientGone,
            };
        }
        if let Some(buf) = self.rbuf.take() {
            cx.pool.put_read(buf);
        }
        self.writing.release(&mut cx.pool);
    }

    /// The timer to wait under, now that no progress can be made.
    fn waiting_for(&self) -> TimerKind {
        match self.reading {
            Reading::Head if self.rbuf.is_none() && self.served > 0 => TimerKind::Idle,
            Reading::Head | Reading::Proxy => TimerKind::Header,
            Reading::Body { .. } => TimerKind::Body,
            Reading::Dispatched(ref pending) => TimerKind::awaiting(pending.ticket.deadline),
            Reading::Streaming(_) => TimerKind::Stream,
            Reading::Subscribed(_) => TimerKind::Subscribed,
            // Read by a job on the blocking pool: the job's deadline stands while the body
            // arrives (the reader's waits end there too), so a trickling client holds a
            // pool thread no longer than any other job.
            Reading::Uploading(ref up) if up.pending.ticket.deadline == Deadline::Blocking => {
                TimerKind::Blocking
            }
            // A reader that has not taken what is queued holds the client back: no
            // deadline then (the reader is slow, not the client).
            Reading::Uploading(ref up) if up.inflow.is_full() => TimerKind::Stream,
            Reading::Uploading(_) => TimerKind::Body,
            // Unreachable with the output written (it is handed over then).
            Reading::Upgrading(_) => TimerKind::Write,
            // Unreachable with no output pending; harmless: the linger bound applies.
            Reading::Closing { .. } | Reading::Lingering { .. } => TimerKind::Linger,
        }
    }

    /// A read or write failed: the connection is done. A client that vanished with a
    /// response pending or unread is a `ClientGone` failure (its response was
    /// discarded); other errors are `Io` failures; an ordinary reset between requests is
    /// just traffic.
    fn io_error<H>(&self, op: &str, e: &io::Error, cx: &mut Shared<H>) -> Outcome {
        use io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
        // The client broke its transport's protocol (a TLS record that does not decrypt,
        // its fatal alert): its error, counted apart, as nginx logs client SSL errors at
        // info; never a failure of the server.
        if ClientProtocolError::is(e) {
            log::debug!(
                "worker {} {} {}: {op}: {e}; closing",
                cx.worker,
                self.id,
                self.peer
            );
            cx.stats.tls_client_error();
            return Outcome::Close(CloseReason::ClientError);
        }
        let peer_left = matches!(e.kind(), BrokenPipe | ConnectionReset | ConnectionAborted);
        let pending = !self.writing.is_empty();
        let kind = match (peer_left, op) {
            (true, "write") if pending => FailureKind::ClientGone,
            (true, "read") if self.unread_response => FailureKind::ClientGone,
            (true, _) => {
                log::debug!(
                    "worker {} {} {}: {op}: {e}; closing",
                    cx.worker,
                    self.id,
                    self.peer
                );
                return Outcome::Close(CloseReason::ClientClosed);
            }
            (false, _) => FailureKind::Io,
        };
        let message = match kind {
            FailureKind::ClientGone => format!("client went away ({op}: {e}); response discarded"),
            _ => format!("{op} failed: {e}"),
        };
        let restart = cx.supervisor.failure(self.failure(kind, message, cx));
        cx.stop_for(&restart);
        Outcome::Close(match kind {
            FailureKind::ClientGone => CloseReason::ClientGone,
            _ => CloseReason::ServerError,
        })
    }
}
