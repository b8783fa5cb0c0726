//! The read side of a connection: reading the socket, parsing requests, and what it is
//! waiting for next.

use std::io;
use std::sync::Arc;

use crate::answer::inflow::{InEnd, Inflow, InflowGuard};
use crate::answer::ticket::{Deadline, Ticket};
use crate::buf::ReadBuf;
use crate::config::StreamBodies;
use crate::http::chunked::{ChunkedDecoder, Cursor};
use crate::http::encode::CONTINUE;
use crate::http::error::RequestError;
use crate::http::handler::Handler;
use crate::http::parse::{self, Framing, Status};
use crate::http::request::{self, Request};
use crate::observe::stats::CloseReason;
use crate::shared::Shared;
use crate::timer::TimerKind;
use crate::transport::Transport;

use super::reading::{BodyProgress, Input, READ_BUDGET, Reading, read_limit};
use super::reject::reject;
use super::respond::{Origin, Reply, respond};
use super::upload::{Incoming, Step, Upload};
use super::{Conn, Outcome};

/// The read size while a request body streams to its reader.
const UPLOAD_READ: usize = 256 * 1024;

impl Conn {
    /// One read into the read buffer, borrowed from the pool if the connection had none.
    pub(super) fn read<H>(&mut self, cx: &mut Shared<H>) -> io::Result<()> {
        let buf = self.rbuf.get_or_insert_with(|| cx.pool.take_read());
        if matches!(self.reading, Reading::Uploading(_)) && buf.capacity() < UPLOAD_READ {
            // A streamed body passes through: larger reads mean fewer of them. (The
            // grown buffer is not pooled again.)
            buf.reserve_total(UPLOAD_READ);
        }
        if !buf.make_room(read_limit(&cx.config)) {
            // The parser refuses anything that could fill this; defensive.
            self.input = Input::Drained;
            return Ok(());
        }
        let spare = buf.spare();
        let room = spare.len();
        loop {
            match self.stream.read(spare) {
                Ok(0) => {
                    self.at_eof();
                    return Ok(());
                }
                Ok(n) => {
                    buf.commit(n);
                    cx.stats.read_bytes(n);
                    self.unread_response = false;
                    // A short read means the socket is drained (the kernel copies all it
                    // has), and with edge-triggered readiness a new event will follow new
                    // data: no need for a read that only says EAGAIN. Not so once the
                    // peer has closed: the EOF is reported by a read, not an event.
                    if n < room && self.input == Input::Pending {
                        self.input = Input::Drained;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.input = Input::Drained;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The peer closed its side. Complete requests are answered before any read, so what
    /// is buffered now can never become a request: drop it, answer nothing more, close
    /// once the output is written (a half-closed client still gets its responses).
    pub(super) fn at_eof(&mut self) {
        self.input = Input::Drained;
        if let Some(buf) = &mut self.rbuf {
            buf.clear();
        }
        if let Reading::Uploading(_) = self.reading {
            let Reading::Uploading(mut up) = std::mem::replace(&mut self.reading, Reading::Head)
            else {
                unreachable!("matched just above");
            };
            up.inflow.end(InEnd::Failed(
                io::ErrorKind::UnexpectedEof,
                "the client closed its side before the body ended",
            ));
            // A half-closed client may still read the answer.
            up.pending.close_after();
            self.reading = Reading::Dispatched(up.pending);
            return;
        }
        self.reading = Reading::Closing {
            linger: false,
            why: CloseReason::ClientClosed,
        };
    }

    /// Writes pending output. `Ok(true)` when all of it is written.
    /// Reads and drops input until the peer's EOF (close) or it would block (wait).
    pub(super) fn linger(&mut self, why: CloseReason) -> Outcome {
        let mut sink = [0u8; 4096];
        for _ in 0..READ_BUDGET {
            match self.stream.read(&mut sink) {
                Ok(0) => return Outcome::Close(why),
                Ok(n) if n < sink.len() && self.input == Input::Pending => {
                    self.input = Input::Drained;
                    return Outcome::Continue(TimerKind::Linger);
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.input = Input::Drained;
                    return Outcome::Continue(TimerKind::Linger);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Outcome::Close(why),
            }
        }
        // Budget spent with input left: the reactor comes back next turn.
        Outcome::Continue(TimerKind::Linger)
    }

    /// Returns the read buffer to the pool once everything in it is consumed.
    pub(super) fn release_read<H>(&mut self, cx: &mut Shared<H>) {
        // A streamed body keeps its (larger) buffer until it ends: it is read again soon.
        if self.rbuf.as_ref().is_some_and(ReadBuf::is_empty)
            && !matches!(self.reading, Reading::Uploading(_))
        {
            cx.pool
                .put_read(self.rbuf.take().expect("checked just above"));
        }
    }
    /// responses to the output. Returns `true` if it stopped because the output reached
    /// its high-water mark with requests still buffered.
    pub(super) fn process<H: Handler>(&mut self, cx: &mut Shared<H>) -> bool {
        if matches!(self.reading, Reading::Proxy) && !self.take_proxy_header(cx) {
            return false;
        }
        let Conn {
            rbuf,
            writing,
            reading,
            served,
            peer,
            id,
            listener,
            key,
            stream,
            proxy,
            ..
        } = self;
        let origin = Origin {
            peer: *peer,
            id: *id,
            listener: *listener,
            key: *key,
            carrier: stream.carrier(),
            proxy: *proxy,
        };
        let (peer, id) = (origin.peer, origin.id);
        // A client waiting for `100 Continue` gets it once the reader asks for the body
        // (there may be no byte buffered at all then).
        if let Reading::Uploading(up) = reading
            && up.expect_continue
            && up.inflow.started()
        {
            writing.buf(&mut cx.pool).extend_from_slice(CONTINUE);
            up.expect_continue = false;
        }
        let Some(buf) = rbuf else { return false };
        loop {
            if buf.is_empty() && matches!(reading, Reading::Head) {
                return false;
            }
            if writing.is_full() {
                return true;
            }
            match reading {
                // Read before anything else (above).
                Reading::Proxy => return false,
                Reading::Head => {
                    let data = buf.filled();
                    let mut slots = parse::slots();
                    let head = match parse::parse_head(data, &mut slots, cx.config.limits()) {
                        Ok(Status::Complete(head)) => head,
                        Ok(Status::Partial) => return false,
                        Err(e) => {
                            *reading =
                                Reading::rejected(reject(cx, Some(buf), writing, e, id, peer));
                            return false;
                        }
                    };
                    let info = head.info;
                    let waiting_for_body = data.len() == info.len;
                    if info.framing != Framing::Empty
                        && let Some(StreamBodies(streams)) = cx.config.stream_bodies
                    {
                        let path_end = request::path_end(head.target);
                        let asked = Request::new(&head, path_end, &[], peer, id, (0, 0), None);
                        if streams(&asked) {
                            let incoming = match info.framing {
                                Framing::Length(n) if n > cx.config.max_streamed_body => {
                                    let e = RequestError::BodyTooLarge;
                                    *reading = Reading::rejected(reject(
                                        cx,
                                        Some(buf),
                                        writing,
                                        e,
                                        id,
                                        peer,
                                    ));
                                    return false;
                                }
                                Framing::Length(n) => Incoming::Length(n),
                                _ => Incoming::Chunked(Box::new(ChunkedDecoder::new(
                                    usize::try_from(cx.config.max_streamed_body)
                                        .unwrap_or(usize::MAX),
                                    cx.config.max_head,
                                ))),
                            };
                            let ticket = Arc::new(Ticket::new(
                                asked.to_owned_request(),
                                origin.key,
                                origin.listener,
                                Deadline::Handler,
                                cx.dispatch.patience,
                            ));
                            let inflow = InflowGuard::new(Arc::new(Inflow::new(
                                ticket,
                                cx.dispatch.door.clone(),
                            )));
                            let reply = respond(
                                cx,
                                writing,
                                &head,
                                &[],
                                false,
                                origin,
                                Some(inflow.shared()),
                            );
                            let head_len = info.len;
                            buf.consume(head_len);
                            *reading = match reply {
                                Reply::Deferred(pending) => Reading::Uploading(Box::new(Upload {
                                    body: incoming,
                                    inflow,
                                    pending,
                                    expect_continue: info.expect_continue && waiting_for_body,
                                })),
                                // Answered without waiting for the body (a refusal): nothing
                                // more is read, and the connection closes after the answer.
                                // (The answer said `Connection: close`: see `respond`.)
                                Reply::Sent { close } => {
                                    drop(inflow);
                                    *served += 1;
                                    Reading::Closing {
                                        linger: true,
                                        why: close.unwrap_or(CloseReason::Done),
                                    }
                                }
                                Reply::Upgrade(_) | Reply::Subscribed(_) => unreachable!(
                                    "a request whose body streams is not upgraded or subscribed"
                                ),
                            };
                            continue;
                        }
                    }
                    match info.framing {
                        Framing::Empty => {
                            let last = data.len() == info.len;
                            let reply = respond(cx, writing, &head, &[], last, origin, None);
                            if advance(reply, info.len, last, buf, reading, served) {
                                return false;
                            }
                        }
                        Framing::Length(n) if n > cx.config.max_body as u64 => {
                            let e = RequestError::BodyTooLarge;
                            *reading =
                                Reading::rejected(reject(cx, Some(buf), writing, e, id, peer));
                            return false;
                        }
                        Framing::Length(n) => {
                            let n = n as usize; // <= max_body, checked above
                            if data.len() >= info.len + n {
                                let body = &data[info.len..info.len + n];
                                let last = data.len() == info.len + n;
                                let reply = respond(cx, writing, &head, body, last, origin, None);
                                if advance(reply, info.len + n, last, buf, reading, served) {
                                    return false;
                                }
                            } else {
                                if info.expect_continue && waiting_for_body {
                                    writing.buf(&mut cx.pool).extend_from_slice(CONTINUE);
                                }
                                // The buffer grows as the body arrives, not up front: a
                                // head claiming a large body costs nothing until it is sent.
                                *reading = Reading::Body {
                                    head_len: info.len,
                                    body: BodyProgress::Length(n),
                                };
                                return false;
                            }
                        }
                        Framing::Chunked => {
                            if info.expect_continue && waiting_for_body {
                                writing.buf(&mut cx.pool).extend_from_slice(CONTINUE);
                            }
                            let decoder =
                                ChunkedDecoder::new(cx.config.max_body, cx.config.max_head);
                            *reading = Reading::Body {
                                head_len: info.len,
                                body: BodyProgress::Chunked(Box::new((decoder, Cursor::default()))),
                            };
                        }
                    }
                }
                Reading::Body { head_len, body } => {
                    let head_len = *head_len;
                    let (body_len, consumed) = match body {
                        BodyProgress::Length(n) => {
                            if buf.filled().len() < head_len + *n {
                                return false;
                            }
                            (*n, *n)
                        }
                        BodyProgress::Chunked(state) => {
                            let (decoder, cursor) = &mut **state;
                            let encoded = &mut buf.filled_mut()[head_len..];
                            match decoder.decode(encoded, cursor) {
                                Ok(true) => (cursor.written, cursor.read),
                                Ok(false) => {
                                    // Reclaim the framing bytes already decoded away, so
                                    // the buffer holds no more than head plus body.
                                    if cursor.read > cursor.written {
                                        let len = encoded.len();
                                        encoded.copy_within(cursor.read.., cursor.written);
                                        buf.truncate(
                                            head_len + cursor.written + (len - cursor.read),
                                        );
                                        cursor.read = cursor.written;
                                    }
                                    return false;
                                }
                                Err(e) => {
                                    *reading = Reading::rejected(reject(
                                        cx,
                                        Some(buf),
                                        writing,
                                        e,
                                        id,
                                        peer,
                                    ));
                                    return false;
                                }
                            }
                        }
                    };
                    let data = buf.filled();
                    let mut slots = parse::slots();
                    let head = match parse::parse_head(
                        &data[..head_len],
                        &mut slots,
                        cx.config.limits(),
                    ) {
                        Ok(Status::Complete(head)) => head,
                        _ => unreachable!("a head that parsed once parses again"),
                    };
                    let body = &data[head_len..head_len + body_len];
                    let last = data.len() == head_len + consumed;
                    let reply = respond(cx, writing, &head, body, last, origin, None);
                    if advance(reply, head_len + consumed, last, buf, reading, served) {
                        return false;
                    }
                }
                Reading::Uploading(up) => {
                    let failed = match up.step(buf) {
                        Ok(Step::NeedMore | Step::Full) => return false,
                        // The reader gave up: the rest of the body is not read, and the
                        // connection closes after the answer.
                        Ok(Step::Abandoned) => {
                            let Reading::Uploading(mut up) =
                                std::mem::replace(reading, Reading::Head)
                            else {
                                unreachable!("matched just above");
                            };
                            up.pending.close_after();
                            buf.clear();
                            *reading = Reading::Dispatched(up.pending);
                            return true;
                        }
                        Ok(Step::Complete) => {
                            up.inflow.end(InEnd::Complete);
                            None
                        }
                        Err(e) => Some(e),
                    };
                    let Reading::Uploading(mut up) = std::mem::replace(reading, Reading::Head)
                    else {
                        unreachable!("matched just above");
                    };
                    if let Some(e) = failed {
                        // "Never serve bytes that follow a framing error": the reader
                        // learns the body failed, and the connection closes after the
                        // answer.
                        log::debug!("worker {} {id} {peer}: streamed body: {e}", cx.worker);
                        up.fail(&e);
                        up.pending.close_after();
                        buf.clear();
                    }
                    // The answer is still awaited; nothing more is parsed until then.
                    *reading = Reading::Dispatched(up.pending);
                    return true;
                }
                Reading::Dispatched(_)
                | Reading::Streaming(_)
                | Reading::Upgrading(_)
                | Reading::Subscribed(_)
                | Reading::Closing { .. }
                | Reading::Lingering { .. } => {
                    return false;
                }
            }
        }
    }
}

/// Moves past a request the handler was given: its `consumed` bytes leave the buffer, and
/// the connection reads on, closes after the response, or waits for a deferred answer.
/// `true` when no further request may be parsed now.
// Inlined: it runs once per request, on the path every request takes.
#[inline(always)]
fn advance(
    reply: Reply,
    consumed: usize,
    last: bool,
    buf: &mut ReadBuf,
    reading: &mut Reading,
    served: &mut u32,
) -> bool {
    buf.consume(consumed);
    match reply {
        Reply::Sent { close: None } => {
            *served += 1;
            *reading = Reading::Head;
            false
        }
        Reply::Sent { close: Some(why) } => {
            *served += 1;
            *reading = Reading::Closing { linger: !last, why };
            false
        }
        Reply::Deferred(pending) => {
            *reading = Reading::Dispatched(pending);
            true
        }
        Reply::Upgrade(upgrade) => {
            *served += 1;
            *reading = Reading::Upgrading(upgrade);
            true
        }
        Reply::Subscribed(subscriber) => {
            *served += 1;
            *reading = Reading::Subscribed(subscriber);
            true
        }
    }
}
