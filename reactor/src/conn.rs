//! One HTTP/1.1 connection: read, parse every buffered request, answer, write once.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};

use mio::net::TcpStream;

use crate::buf::{ReadBuf, WriteBuf};
use crate::chunked::{ChunkedDecoder, Cursor};
use crate::encode::{self, CONTINUE, Exchange};
use crate::error::RequestError;
use crate::failure::{Failure, FailureKind, Restart};
use crate::frame;
use crate::handler::Handler;
use crate::parse::{self, Framing, Head, Status, Version};
use crate::reactor::Shared;
use crate::request::{ConnId, Request};
use crate::response::Response;
use crate::timer::{Link, TimerKind};

/// Past this much unwritten output, stop answering buffered requests until it drains, so a
/// client that pipelines without reading cannot grow our memory without bound.
const HIGH_WATER: usize = 256 * 1024;

/// Reads one connection may make per loop turn. Past it, the reactor comes back to the
/// connection on its next turn, after serving the others: a client that sends without
/// pause cannot monopolize the thread.
const READ_BUDGET: u32 = 16;

/// What the connection is reading next.
#[derive(Debug)]
enum Reading {
    /// Waiting for (more of) a request head. Entered on accept and after each answered
    /// request; left for `Body` when a head announces a body that hasn't fully arrived,
    /// or for `Closing` on a framing error or the peer's EOF.
    Head,
    /// A head of `head_len` bytes sits at the front of the read buffer and its body is
    /// arriving. Back to `Head` once the body is in and the request answered.
    Body { head_len: usize, body: BodyProgress },
    /// No more requests are read. Once the output is written the connection closes;
    /// with `linger` (unread input may follow: an error cut a request short, or requests
    /// were pipelined after the last answered one), first through `Lingering`.
    Closing { linger: bool },
    /// Our side is shut down after the final response. Input is read and dropped until the
    /// peer closes or the linger timer fires: closing a socket with unread input makes the
    /// kernel send a reset, which can destroy the response before the client reads it.
    Lingering,
}

/// How far a body has arrived.
#[derive(Debug)]
enum BodyProgress {
    /// `Content-Length`: the body is complete once this many bytes follow the head.
    Length(usize),
    /// Chunked: decoded in place behind the head (boxed: it is rare, and keeps idle
    /// connections small).
    Chunked(Box<(ChunkedDecoder, Cursor)>),
}

/// What the kernel may still hold for us to read. Readiness is edge-triggered, so it is
/// remembered until a read shows the socket drained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    /// A read came back short or would block: wait for the next readiness event.
    Drained,
    /// Readiness was reported and not yet used up.
    Pending,
    /// The peer has closed its side: read on past short reads, to the EOF.
    PendingEof,
}

/// What the reactor should do with a connection after driving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Keep it, waiting under this kind of timeout.
    Wait(TimerKind),
    /// Close it now.
    Close,
}

/// One accepted connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: TcpStream,
    peer: SocketAddr,
    id: ConnId,
    /// The listener that accepted it (index in bind order).
    listener: usize,
    reading: Reading,
    input: Input,
    /// Requests answered on this connection.
    served: u32,
    /// Responses were written since the client last sent anything: if it resets the
    /// connection now, it left without reading them.
    unread_response: bool,
    rbuf: Option<ReadBuf>,
    wbuf: Option<WriteBuf>,
    pub(crate) link: Link,
}

impl Conn {
    /// A connection; `kept_alive` when it comes from another reactor after serving
    /// requests there.
    pub(crate) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        id: ConnId,
        listener: usize,
        kept_alive: bool,
    ) -> Conn {
        Conn {
            stream,
            peer,
            id,
            listener,
            reading: Reading::Head,
            input: Input::Pending,
            served: u32::from(kept_alive),
            unread_response: false,
            rbuf: None,
            wbuf: None,
            link: Link::default(),
        }
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

    /// Records a readiness event.
    pub(crate) fn ready(&mut self, readable: bool, read_closed: bool) {
        if read_closed {
            self.input = Input::PendingEof;
        } else if readable && self.input == Input::Drained {
            self.input = Input::Pending;
        }
    }

    /// Whether nothing is in progress: a keep-alive connection between requests.
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.reading, Reading::Head)
            && self.rbuf.as_ref().is_none_or(ReadBuf::is_empty)
            && self.wbuf.as_ref().is_none_or(WriteBuf::is_empty)
    }

    /// Whether input may be waiting that no readiness event will announce again: the
    /// read budget ran out before the socket was drained.
    pub(crate) fn wants_another_turn(&self) -> bool {
        self.input != Input::Drained
            && self.wbuf.is_none()
            && matches!(
                self.reading,
                Reading::Head | Reading::Body { .. } | Reading::Lingering
            )
    }

    /// Makes all the progress the socket allows: writes pending output, answers buffered
    /// requests, reads. A pipelined batch costs one read and one write.
    pub(crate) fn drive<H: Handler>(&mut self, cx: &mut Shared<H>) -> Outcome {
        let mut reads = 0;
        loop {
            if self.wbuf.is_some() {
                match self.flush() {
                    Ok(true) => self.release_write(cx),
                    Ok(false) => return Outcome::Wait(TimerKind::Write),
                    Err(e) => return self.io_error("write", &e, cx),
                }
            }
            match self.reading {
                // Linger only when input may still be coming: bytes were left unanswered,
                // or the socket has more than we read (even up to an EOF: closing with
                // unread input resets the connection). A client that sent exactly its
                // last request gets a plain close, and frees its slot at once.
                Reading::Closing { linger } if linger || self.input != Input::Drained => {
                    // Our final response is out; stop sending, keep draining input. What
                    // is still buffered will never be answered.
                    let _ = self.stream.shutdown(Shutdown::Write);
                    self.reading = Reading::Lingering;
                    if let Some(buf) = &mut self.rbuf {
                        buf.clear();
                    }
                    self.release_read(cx);
                }
                Reading::Closing { .. } => return Outcome::Close,
                _ => {}
            }
            if let Reading::Lingering = self.reading {
                return self.linger();
            }

            // Answer what is buffered, reading more while the socket has it and the
            // turn's read budget lasts. Buffered requests are always answered: the
            // budget limits reads only, since no event would announce bytes already read.
            loop {
                if self.process(cx) {
                    break; // output reached its high-water mark: write first
                }
                if self.input == Input::Drained
                    || matches!(self.reading, Reading::Closing { .. })
                    || reads == READ_BUDGET
                {
                    break;
                }
                reads += 1;
                match self.read(cx) {
                    Ok(()) => {}
                    Err(e) => return self.io_error("read", &e, cx),
                }
            }
            if self.wbuf.is_none() && !matches!(self.reading, Reading::Closing { .. }) {
                break;
            }
        }
        self.release_read(cx);
        Outcome::Wait(self.waiting_for())
    }

    /// Whether no more requests will be read.
    pub(crate) fn is_closing(&self) -> bool {
        matches!(self.reading, Reading::Closing { .. } | Reading::Lingering)
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
            if let Some(out) = self.wbuf.take() {
                sink.extend_from_slice(out.pending());
                cx.pool.put_write(out);
            }
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
        let error = match kind {
            TimerKind::Header => RequestError::HeaderTimeout,
            TimerKind::Body => RequestError::BodyTimeout,
            TimerKind::Idle | TimerKind::Write | TimerKind::Linger => return Outcome::Close,
        };
        reject(
            cx,
            self.rbuf.as_mut(),
            &mut self.wbuf,
            &mut self.reading,
            error,
            self.id,
            self.peer,
        );
        self.drive(cx)
    }

    /// Returns the buffers to the pool; the connection is being closed.
    pub(crate) fn release<H>(&mut self, cx: &mut Shared<H>) {
        if let Some(buf) = self.rbuf.take() {
            cx.pool.put_read(buf);
        }
        if let Some(buf) = self.wbuf.take() {
            cx.pool.put_write(buf);
        }
    }

    /// The timer to wait under, now that no progress can be made.
    fn waiting_for(&self) -> TimerKind {
        match self.reading {
            Reading::Head if self.rbuf.is_none() && self.served > 0 => TimerKind::Idle,
            Reading::Head => TimerKind::Header,
            Reading::Body { .. } => TimerKind::Body,
            // Unreachable with no output pending; harmless: the linger bound applies.
            Reading::Closing { .. } | Reading::Lingering => TimerKind::Linger,
        }
    }

    /// One read into the read buffer, borrowed from the pool if the connection had none.
    fn read<H>(&mut self, cx: &mut Shared<H>) -> io::Result<()> {
        let buf = self.rbuf.get_or_insert_with(|| cx.pool.take_read());
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
    fn at_eof(&mut self) {
        self.input = Input::Drained;
        if let Some(buf) = &mut self.rbuf {
            buf.clear();
        }
        self.reading = Reading::Closing { linger: false };
    }

    /// Writes pending output. `Ok(true)` when all of it is written.
    fn flush(&mut self) -> io::Result<bool> {
        let Some(out) = &mut self.wbuf else {
            return Ok(true);
        };
        while !out.is_empty() {
            match self.stream.write(out.pending()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    out.pos += n;
                    self.unread_response = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Reads and drops input until the peer's EOF (close) or it would block (wait).
    fn linger(&mut self) -> Outcome {
        let mut sink = [0u8; 4096];
        for _ in 0..READ_BUDGET {
            match self.stream.read(&mut sink) {
                Ok(0) => return Outcome::Close,
                Ok(n) if n < sink.len() && self.input == Input::Pending => {
                    self.input = Input::Drained;
                    return Outcome::Wait(TimerKind::Linger);
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.input = Input::Drained;
                    return Outcome::Wait(TimerKind::Linger);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Outcome::Close,
            }
        }
        // Budget spent with input left: the reactor comes back next turn.
        Outcome::Wait(TimerKind::Linger)
    }

    /// A read or write failed: the connection is done. A client that vanished with a
    /// response pending or unread is a `ClientGone` failure (its response was
    /// discarded); other errors are `Io` failures; an ordinary reset between requests is
    /// just traffic.
    fn io_error<H>(&self, op: &str, e: &io::Error, cx: &mut Shared<H>) -> Outcome {
        use io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
        let peer_left = matches!(e.kind(), BrokenPipe | ConnectionReset | ConnectionAborted);
        let pending = self.wbuf.as_ref().is_some_and(|w| !w.is_empty());
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
                return Outcome::Close;
            }
            (false, _) => FailureKind::Io,
        };
        let message = match kind {
            FailureKind::ClientGone => format!("client went away ({op}: {e}); response discarded"),
            _ => format!("{op} failed: {e}"),
        };
        let restart = cx.supervisor.failure(self.failure(kind, message, cx));
        cx.stop_for(&restart);
        Outcome::Close
    }

    fn release_read<H>(&mut self, cx: &mut Shared<H>) {
        if self.rbuf.as_ref().is_some_and(ReadBuf::is_empty) {
            cx.pool
                .put_read(self.rbuf.take().expect("checked just above"));
        }
    }

    fn release_write<H>(&mut self, cx: &mut Shared<H>) {
        if let Some(buf) = self.wbuf.take() {
            cx.pool.put_write(buf);
        }
    }

    /// Answers every complete request in the read buffer, in order, appending the
    /// responses to the output. Returns `true` if it stopped because the output reached
    /// its high-water mark with requests still buffered.
    fn process<H: Handler>(&mut self, cx: &mut Shared<H>) -> bool {
        let Conn {
            rbuf,
            wbuf,
            reading,
            served,
            peer,
            id,
            listener,
            ..
        } = self;
        let origin = Origin {
            peer: *peer,
            id: *id,
            listener: *listener,
        };
        let (peer, id) = (origin.peer, origin.id);
        let Some(buf) = rbuf else { return false };
        loop {
            if buf.is_empty() && matches!(reading, Reading::Head) {
                return false;
            }
            if wbuf
                .as_ref()
                .is_some_and(|w| w.pending().len() >= HIGH_WATER)
            {
                return true;
            }
            match reading {
                Reading::Head => {
                    let data = buf.filled();
                    let mut slots = parse::slots();
                    let head = match parse::parse_head(data, &mut slots, &cx.config) {
                        Ok(Status::Complete(head)) => head,
                        Ok(Status::Partial) => return false,
                        Err(e) => {
                            reject(cx, Some(buf), wbuf, reading, e, id, peer);
                            return false;
                        }
                    };
                    let info = head.info;
                    let waiting_for_body = data.len() == info.len;
                    match info.framing {
                        Framing::Empty => {
                            let last = data.len() == info.len;
                            let close = respond(cx, wbuf, &head, &[], last, origin);
                            *served += 1;
                            buf.consume(info.len);
                            if close {
                                *reading = Reading::Closing { linger: !last };
                            }
                        }
                        Framing::Length(n) if n > cx.config.max_body as u64 => {
                            reject(
                                cx,
                                Some(buf),
                                wbuf,
                                reading,
                                RequestError::BodyTooLarge,
                                id,
                                peer,
                            );
                            return false;
                        }
                        Framing::Length(n) => {
                            let n = n as usize; // <= max_body, checked above
                            if data.len() >= info.len + n {
                                let body = &data[info.len..info.len + n];
                                let last = data.len() == info.len + n;
                                let close = respond(cx, wbuf, &head, body, last, origin);
                                *served += 1;
                                buf.consume(info.len + n);
                                if close {
                                    *reading = Reading::Closing { linger: !last };
                                }
                            } else {
                                if info.expect_continue && waiting_for_body {
                                    wbuf.get_or_insert_with(|| cx.pool.take_write())
                                        .data
                                        .extend_from_slice(CONTINUE);
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
                                wbuf.get_or_insert_with(|| cx.pool.take_write())
                                    .data
                                    .extend_from_slice(CONTINUE);
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
                                    reject(cx, Some(buf), wbuf, reading, e, id, peer);
                                    return false;
                                }
                            }
                        }
                    };
                    let data = buf.filled();
                    let mut slots = parse::slots();
                    let head = match parse::parse_head(&data[..head_len], &mut slots, &cx.config) {
                        Ok(Status::Complete(head)) => head,
                        _ => unreachable!("a head that parsed once parses again"),
                    };
                    let body = &data[head_len..head_len + body_len];
                    let last = data.len() == head_len + consumed;
                    let close = respond(cx, wbuf, &head, body, last, origin);
                    *served += 1;
                    buf.consume(head_len + consumed);
                    *reading = if close {
                        Reading::Closing { linger: !last }
                    } else {
                        Reading::Head
                    };
                }
                Reading::Closing { .. } | Reading::Lingering => return false,
            }
        }
    }
}

/// The most a read buffer may hold: only a body can need more than the standard buffer
/// (heads are refused past `max_head`), and never more than the largest head plus the
/// largest body.
fn read_limit(config: &crate::config::Config) -> usize {
    config.max_head + config.max_body + config.read_buffer
}

/// Where a request came from.
#[derive(Clone, Copy, Debug)]
struct Origin {
    peer: SocketAddr,
    id: ConnId,
    listener: usize,
}

/// The request frame: calls the handler for one complete request and appends its
/// response to `out`. A panic or an invalid response becomes a [`Failure`] whose restart
/// the supervisor picks, here, while the request is still at hand. `last` says no byte is
/// buffered after this request. Returns whether the connection closes after it.
fn respond<H: Handler>(
    cx: &mut Shared<H>,
    out: &mut Option<WriteBuf>,
    head: &Head<'_, '_>,
    body: &[u8],
    last: bool,
    origin: Origin,
) -> bool {
    let info = head.info;
    let request = Request::new(
        head.method,
        head.target,
        info.version,
        head.headers,
        body,
        origin.peer,
        origin.id,
    );
    let path = request.path();
    cx.served += 1;
    cx.activity
        .enter(origin.id, origin.peer, origin.listener, head.method, path);
    let called = frame::catch(|| cx.handler.call(&request));
    cx.activity.exit();
    // While draining, requests already buffered are all answered; the last of them says
    // the connection closes. Read after the handler: a shutdown may have begun meanwhile.
    let exchange = Exchange {
        head_only: info.is_head,
        close: !info.keep_alive || (last && cx.is_draining()),
        http10_keep_alive: info.keep_alive && info.version == Version::Http10,
    };
    let out = &mut out.get_or_insert_with(|| cx.pool.take_write()).data;
    let failure = match called {
        Ok(response) => {
            match encode::encode(&response, exchange, &cx.preamble, cx.date.bytes(), out) {
                Ok(close) => {
                    if cx.config.fault_injection && response.fault().is_some() {
                        cx.pending_fault = response.fault();
                    }
                    return close;
                }
                Err(e) => Failure::new(FailureKind::InvalidResponse, e.to_string()),
            }
        }
        Err(payload) => {
            let mut failure = Failure::new(FailureKind::Panic, "");
            frame::describe_panic(payload.as_ref(), &mut failure);
            failure
        }
    };
    let mut failure = failure;
    failure.conn = Some(origin.id);
    failure.peer = Some(origin.peer);
    failure.listener = Some(origin.listener);
    failure.method = Some(head.method.to_owned());
    failure.path = Some(path.to_owned());
    let restart = cx.supervisor.failure(failure);
    cx.stop_for(&restart);
    let replacement = match restart {
        Restart::Respond(response) => response,
        // Answer nothing more; what was queued for earlier requests still goes out.
        Restart::CloseConnection => return true,
        // The worker or the server is going away: say so.
        _ => Response::status_page(500).with_header("Connection", "close"),
    };
    match encode::encode(&replacement, exchange, &cx.preamble, cx.date.bytes(), out) {
        Ok(close) => close,
        Err(e) => {
            log::error!(
                "worker {} {} {}: the policy's response is invalid too ({e}); answered 500",
                cx.worker,
                origin.id,
                origin.peer
            );
            encode::encode(
                &Response::status_page(500),
                exchange,
                &cx.preamble,
                cx.date.bytes(),
                out,
            )
            .expect("the 500 page is a valid response")
        }
    }
}

/// Answers a request that cannot be served with its error status, and stops reading:
/// "never serve bytes that follow a framing error".
fn reject<H>(
    cx: &mut Shared<H>,
    rbuf: Option<&mut ReadBuf>,
    wbuf: &mut Option<WriteBuf>,
    reading: &mut Reading,
    error: RequestError,
    id: ConnId,
    peer: SocketAddr,
) {
    log::debug!(
        "worker {} {id} {peer}: {error}; answering {} and closing",
        cx.worker,
        error.status()
    );
    let exchange = Exchange {
        head_only: false,
        close: true,
        http10_keep_alive: false,
    };
    let out = &mut wbuf.get_or_insert_with(|| cx.pool.take_write()).data;
    encode::encode(
        &Response::status_page(error.status()),
        exchange,
        &cx.preamble,
        cx.date.bytes(),
        out,
    )
    .expect("error pages are valid responses");
    if let Some(buf) = rbuf {
        buf.clear();
    }
    *reading = Reading::Closing { linger: true };
}
