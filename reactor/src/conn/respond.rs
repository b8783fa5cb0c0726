//! The request frame: calls the handler for one complete request and encodes its answer
//! (now, or when a deferred answer arrives), or the error page of a request that cannot be
//! served.

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::answer::dispatch::Deferral;
use crate::answer::inflow::Inflow;
use crate::answer::sse::event_stream_head;
use crate::answer::stream::StreamGuard;
use crate::answer::ticket::Ticket;
use crate::answer::topic::Subscription;
use crate::answer::upgrade::Upgrade;
use crate::buf::Pool;
use crate::http::encode::{self, Exchange, Length};
use crate::http::error::InvalidResponse;
use crate::http::handler::Handler;
use crate::http::parse::{Answering, Head, Version};
use crate::http::request::{self, Carrier, ConnId, Request};
use crate::http::request_id::RequestId;
use crate::http::response::{FileBody, Response};
use crate::observe::access::{self, Entry};
use crate::observe::stats::{CloseReason, method_index, nanos};
use crate::shared::Shared;
use crate::supervise::failure::{Failure, FailureKind, Restart};
use crate::supervise::frame;

use super::subscriber::Subscriber;
use super::write::Writing;

/// Where a request came from.
#[derive(Clone, Copy, Debug)]
pub(super) struct Origin {
    pub(super) peer: SocketAddr,
    pub(super) id: ConnId,
    pub(super) listener: usize,
    /// The connection's slab key.
    pub(super) key: usize,
    /// What carries its bytes.
    pub(super) carrier: Carrier,
    /// The balancer that named the client by the PROXY protocol.
    pub(super) proxy: Option<SocketAddr>,
}

/// A request whose failure is being reported: where it came from and what it asked.
struct Context<'c> {
    origin: Origin,
    method: &'c str,
    path: &'c str,
    request_id: RequestId<'c>,
    /// The trace of a valid `traceparent`.
    trace: Option<&'c str>,
    /// For the access log.
    target: &'c str,
    user_agent: Option<&'c [u8]>,
    referer: Option<&'c [u8]>,
    version: Version,
    /// When the handler got the request; `None` with the access log off.
    started: Option<Instant>,
}

impl<'c> Context<'c> {
    /// The context of a deferred request, from its ticket; `started` for the access log.
    fn of_ticket(ticket: &'c Ticket, started: Option<Instant>) -> Context<'c> {
        let request = &ticket.request;
        Context {
            origin: Origin {
                peer: request.peer_addr(),
                id: request.conn_id(),
                listener: ticket.listener,
                key: ticket.key,
                // Only reported: nothing asks a deferred answer's connection about its
                // transport or balancer.
                carrier: Carrier::default(),
                proxy: None,
            },
            method: request.method(),
            path: request.path(),
            request_id: RequestId::Incoming(request.request_id()),
            trace: request.trace_id(),
            target: request.target(),
            user_agent: request.header("user-agent"),
            referer: request.header("referer"),
            version: request.version(),
            started,
        }
    }

    /// Puts the request's context into `failure`.
    fn stamp(&self, failure: &mut Failure) {
        failure.conn = Some(self.origin.id);
        failure.peer = Some(self.origin.peer);
        failure.listener = Some(self.origin.listener);
        failure.method = Some(self.method.to_owned());
        failure.path = Some(self.path.to_owned());
        failure.request_id = Some(self.request_id.to_string());
        failure.trace_id = self.trace.map(str::to_owned);
    }

    /// Counts the response (`None`: nothing was sent, the connection closes), and writes
    /// the access log's line for it if the log is on.
    fn record<H>(&self, cx: &Shared<H>, exchange: Exchange, response: Option<&Response>) {
        if let Some(response) = response {
            cx.stats
                .responded(method_index(self.method), response.status());
        }
        self.log(cx, exchange, response);
    }

    /// The access log's line for this request, if the log is on.
    fn log<H>(&self, cx: &Shared<H>, exchange: Exchange, response: Option<&Response>) {
        // What the response carries: its body, or its file's range.
        let bytes = match response {
            Some(r) if exchange.answering != Answering::Head => r.body_len(),
            _ => 0,
        };
        self.log_sent(cx, response.map(Response::status), bytes);
    }

    /// The access log's line, with what was sent: `status` (none: the connection closed
    /// without an answer) and `bytes` of body.
    fn log_sent<H>(&self, cx: &Shared<H>, status: Option<u16>, bytes: u64) {
        let (Some(format), Some(started)) = (cx.config.access_log, self.started) else {
            return;
        };
        access::write(
            format,
            &Entry {
                peer: self.origin.peer,
                method: self.method,
                target: self.target,
                version: self.version,
                status,
                bytes,
                started,
                worker: cx.worker,
                conn: self.origin.id,
                id: self.request_id,
                trace: self.trace,
                user_agent: self.user_agent,
                referer: self.referer,
                date: cx.date.bytes(),
            },
        );
    }
}

/// What became of a request handed to the handler.
#[derive(Debug)]
pub(super) enum Reply {
    /// The response is encoded; `close` says the connection closes after it, and why.
    Sent { close: Option<CloseReason> },
    /// The handler deferred it: the answer comes through the ticket.
    Deferred(Box<Pending>),
    /// The handler accepted a protocol upgrade: its 101 is encoded; once written, the
    /// connection goes to the application.
    Upgrade(Box<Upgrade>),
    /// The handler made the connection a broadcast subscriber: its head is encoded;
    /// events follow as they are published.
    Subscribed(Box<Subscriber>),
}

/// A deferred request, as its connection keeps it while the answer is awaited.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(super) ticket: Arc<Ticket>,
    /// How to encode the answer; `close` as the request asked (a drain may add to it).
    exchange: Exchange,
}

impl Pending {
    /// Encodes the answer that came for this request, or the response its failure's
    /// restart chooses. `last` says no byte is buffered after the request. Returns
    /// whether the connection closes after it, and why.
    pub(super) fn conclude<H>(
        &self,
        cx: &mut Shared<H>,
        out: &mut Writing,
        answer: Result<Response, Failure>,
        last: bool,
    ) -> Option<CloseReason> {
        let (context, exchange) = self.answering(cx, last);
        conclude(cx, out, exchange, answer, &context)
    }

    /// The answer is here: it is timed, and encoded with the request's context and how
    /// it asked to be answered (a drain under way may close the connection after it).
    fn answering<H>(&self, cx: &Shared<H>, last: bool) -> (Context<'_>, Exchange) {
        cx.stats
            .answered_in(nanos(self.ticket.queued_at().elapsed()));
        let context = Context::of_ticket(&self.ticket, Some(self.ticket.queued_at()));
        let exchange = Exchange {
            close: self.exchange.close || (last && cx.is_draining()),
            ..self.exchange
        };
        (context, exchange)
    }

    /// A failure of `kind` concerning this request, with its context.
    pub(super) fn failure(&self, kind: FailureKind, message: String) -> Failure {
        ticket_failure(&self.ticket, kind, message)
    }

    /// The connection closes after the answer: its request's body was not all read.
    pub(super) fn close_after(&mut self) {
        self.exchange.close = true;
    }

    /// Encodes the event-stream head of a subscription that came for this request. `Ok`
    /// with the subscriber; `Err` with whether, and why, the connection closes instead.
    pub(super) fn subscribe<H>(
        &self,
        cx: &mut Shared<H>,
        out: &mut Writing,
        subscription: Subscription,
        last: bool,
    ) -> Result<Subscriber, Option<CloseReason>> {
        let (context, exchange) = self.answering(cx, last);
        subscribe(cx, out, exchange, subscription, &context)
    }

    /// Encodes the head of a streamed response for this request. `Ok` with whether the
    /// connection closes once the body ends; `Err` when the head is invalid, with what
    /// its failure's restart encoded instead (and whether, and why, the connection
    /// closes after that).
    pub(super) fn begin_stream<H>(
        &self,
        cx: &mut Shared<H>,
        out: &mut Writing,
        head: &Response,
        stream: StreamGuard,
        last: bool,
    ) -> Result<Streaming, (StreamGuard, Option<CloseReason>)> {
        let (context, exchange) = self.answering(cx, last);
        let length = streamed_length(self.ticket.request.version());
        match encode_head(cx, out, exchange, head, length, &context, Logged::AtEnd) {
            Ok(close) => Ok(Streaming {
                stream,
                close,
                status: head.status(),
                bytes: 0,
            }),
            Err(e) => Err((stream, fail(cx, out, exchange, invalid(e), &context))),
        }
    }
}

/// A streamed response in progress: its stream, whether the connection closes once the
/// body ends, and what the access log's line will say of it then.
#[derive(Debug)]
pub(crate) struct Streaming {
    pub(super) stream: StreamGuard,
    pub(super) close: bool,
    status: u16,
    /// Body bytes handed to the output so far (chunk framing included, as nginx's
    /// `$body_bytes_sent` counts them).
    pub(super) bytes: u64,
}

impl Streaming {
    /// The access log's line for the stream, now that it ended (however it ended).
    pub(super) fn log_end<H>(&self, cx: &Shared<H>) {
        if cx.config.access_log.is_some() {
            let ticket = &self.stream.ticket;
            Context::of_ticket(ticket, Some(ticket.queued_at())).log_sent(
                cx,
                Some(self.status),
                self.bytes,
            );
        }
    }
}

/// When the access log's line of an answer whose body follows its head is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Logged {
    /// With the head: nothing more is counted (a switch of protocols, a subscription).
    WithHead,
    /// When the body ends, with its bytes (a stream).
    AtEnd,
}

/// A failure of `kind` concerning the request of `ticket`, with its context.
pub(crate) fn ticket_failure(ticket: &Ticket, kind: FailureKind, message: String) -> Failure {
    let mut failure = Failure::new(kind, message);
    Context::of_ticket(ticket, None).stamp(&mut failure);
    failure
}

/// The request frame: calls the handler for one complete request and appends its
/// response to `out`, unless the handler deferred it. A panic or an invalid response
/// becomes a [`Failure`] whose restart the supervisor picks, here, while the request is
/// still at hand. `last` says no byte is buffered after this request.
pub(super) fn respond<H: Handler>(
    cx: &mut Shared<H>,
    out: &mut Writing,
    head: &Head<'_, '_>,
    body: &[u8],
    last: bool,
    origin: Origin,
    inflow: Option<&Arc<Inflow>>,
) -> Reply {
    let info = head.info;
    let path_end = request::path_end(head.target);
    let path = request::path(head.target, path_end);
    cx.served += 1;
    let seq = cx.seq;
    cx.seq += 1;
    cx.activity
        .enter(origin.id, origin.peer, origin.listener, head.method, path);
    let method = method_index(head.method);
    let entered = cx.clock.entered();
    let started = cx.config.access_log.map(|_| Instant::now());
    cx.dispatch.enter(
        origin.key,
        origin.listener,
        (origin.carrier, origin.proxy),
        inflow,
    );
    let request = Request::new(
        head,
        path_end,
        body,
        origin.peer,
        origin.id,
        (cx.worker, seq),
        Some(&cx.dispatch),
    );
    let called = frame::catch(|| cx.handler.call(&request));
    let returned = cx.clock.returned();
    cx.activity.exit();
    cx.stats.handled(returned - entered);
    let keep_alive_asked = info.keep_alive;
    let exchange = Exchange {
        answering: info.answering,
        // While draining, requests already buffered are all answered; the last of them
        // says the connection closes. Read after the handler: a shutdown may have begun
        // meanwhile. A request whose body streams, answered at once, leaves its body
        // unread: the connection closes after the answer, and says so ("the server ...
        // MUST close the connection after sending the response", RFC 9112 9.6).
        close: !keep_alive_asked || inflow.is_some() || (last && cx.is_draining()),
        http10_keep_alive: keep_alive_asked && info.version == Version::Http10,
    };
    let worker = cx.worker;
    let context = || Context {
        origin,
        method: head.method,
        path,
        request_id: RequestId::of(header(head, "x-request-id"), worker, seq),
        trace: crate::http::trace::of_headers(head.headers.iter().map(|h| (h.name, h.value))),
        target: head.target,
        user_agent: header(head, "user-agent"),
        referer: header(head, "referer"),
        version: info.version,
        started,
    };
    // The common case inline: answered at once, by a handler that did not defer.
    let deferral = cx.dispatch.leave(inflow.is_some());
    if let (Deferral::None, Ok(response)) = (&deferral, &called) {
        cx.stats.answered_in(cx.clock.since_turn(returned));
        let close = match answer(cx, out, exchange, response, || context().request_id) {
            Ok(close) => {
                cx.stats.responded(method, response.status());
                if started.is_some() {
                    context().log(cx, exchange, Some(response));
                }
                close.then_some(CloseReason::Done)
            }
            Err(e) => fail(cx, out, exchange, invalid(e), &context()),
        };
        return Reply::Sent { close };
    }
    let asked = Asked {
        exchange,
        keep_alive: keep_alive_asked,
    };
    let reply = unusual(cx, out, asked, deferral, called, &context());
    if let Reply::Sent { .. } = reply {
        cx.stats.answered_in(cx.clock.since_turn(returned));
    }
    reply
}

/// How the request asked to be answered.
#[derive(Clone, Copy)]
struct Asked {
    /// How to encode an answer now.
    exchange: Exchange,
    /// The client lets the connection persist (a drain may still close it).
    keep_alive: bool,
}

/// What the handler did when it did not simply answer: deferred the request, found the
/// blocking pool full, answered after deferring after all, or panicked.
#[cold]
fn unusual<H>(
    cx: &mut Shared<H>,
    out: &mut Writing,
    asked: Asked,
    deferral: Deferral,
    called: Result<Response, Box<dyn Any + Send>>,
    context: &Context<'_>,
) -> Reply {
    let exchange = asked.exchange;
    let close = match (deferral, called) {
        (Deferral::Pending(ticket), Ok(response)) if response.is_placeholder() => {
            // Whether a drain closes it too is decided when the answer comes.
            let exchange = Exchange {
                close: !asked.keep_alive,
                ..exchange
            };
            cx.stats.dispatched();
            return Reply::Deferred(Box::new(Pending { ticket, exchange }));
        }
        (Deferral::Upgrade(upgrade), Ok(response)) if response.is_placeholder() => {
            match encode_head(
                cx,
                out,
                exchange,
                &upgrade.head,
                Length::Switch,
                context,
                Logged::WithHead,
            ) {
                Ok(_) => return Reply::Upgrade(upgrade),
                Err(e) => fail(cx, out, exchange, invalid(e), context),
            }
        }
        (Deferral::Subscribe(subscription), Ok(response)) if response.is_placeholder() => {
            match subscribe(cx, out, exchange, *subscription, context) {
                Ok(subscriber) => return Reply::Subscribed(Box::new(subscriber)),
                Err(close) => close,
            }
        }
        (Deferral::Overloaded, Ok(response)) if response.is_placeholder() => {
            let failure = Failure::new(
                FailureKind::Overload,
                "the blocking pool's queue is full; the job was not queued",
            );
            fail(cx, out, exchange, failure, context)
        }
        (deferral, called) => {
            // The handler answered itself after deferring (or panicked): a later answer
            // through the responder is refused.
            if let Deferral::Pending(ticket) = deferral {
                ticket.withdraw();
            }
            match called {
                Ok(response) => match answer(cx, out, exchange, &response, || context.request_id) {
                    Ok(close) => {
                        context.record(cx, exchange, Some(&response));
                        close.then_some(CloseReason::Done)
                    }
                    Err(e) => fail(cx, out, exchange, invalid(e), context),
                },
                Err(payload) => {
                    let mut failure = Failure::new(FailureKind::Panic, "");
                    frame::describe_panic(payload.as_ref(), &mut failure);
                    fail(cx, out, exchange, failure, context)
                }
            }
        }
    };
    Reply::Sent { close }
}

/// Encodes `answer` (or, for a failure, what the policy chooses) into `out`. Returns
/// whether the connection closes after it, and why.
fn conclude<H>(
    cx: &mut Shared<H>,
    out: &mut Writing,
    exchange: Exchange,
    answer_or_failure: Result<Response, Failure>,
    context: &Context<'_>,
) -> Option<CloseReason> {
    let failure = match answer_or_failure {
        Ok(response) => match answer(cx, out, exchange, &response, || context.request_id) {
            Ok(close) => {
                context.record(cx, exchange, Some(&response));
                return close.then_some(CloseReason::Done);
            }
            Err(e) => invalid(e),
        },
        Err(failure) => failure,
    };
    fail(cx, out, exchange, failure, context)
}

/// Encodes the event-stream head of a subscription and makes the connection its
/// subscriber (a HEAD request gets the head alone). `Err` with how the connection closes
/// when it is not a subscriber after all.
fn subscribe<H>(
    cx: &mut Shared<H>,
    out: &mut Writing,
    exchange: Exchange,
    subscription: Subscription,
    context: &Context<'_>,
) -> Result<Subscriber, Option<CloseReason>> {
    let length = streamed_length(context.version);
    let head = event_stream_head();
    match encode_head(cx, out, exchange, &head, length, context, Logged::WithHead) {
        // The head is all a HEAD request gets.
        Ok(close) if exchange.answering == Answering::Head => {
            Err(close.then_some(CloseReason::Done))
        }
        Ok(_) => {
            let origin = context.origin;
            let place = cx.subscriptions.add(
                &subscription.topic,
                origin.key,
                origin.id,
                &cx.dispatch.door,
            );
            cx.stats.subscription(true);
            Ok(Subscriber::new(
                subscription,
                length == Length::Chunked,
                place,
            ))
        }
        Err(e) => Err(fail(cx, out, exchange, invalid(e), context)),
    }
}

/// How a body streamed after its head is delimited: chunks on HTTP/1.1; on HTTP/1.0, which
/// has no chunked coding, the close.
fn streamed_length(version: Version) -> Length {
    match version {
        Version::Http10 => Length::UntilClose,
        _ => Length::Chunked,
    }
}

/// Encodes the head of an answer whose body (if any) follows outside `Response` (a
/// stream, a subscription, a switch of protocols), with the echoed request id, and counts
/// and logs it. Returns whether the connection closes after it.
fn encode_head<H>(
    cx: &mut Shared<H>,
    out: &mut Writing,
    exchange: Exchange,
    head: &Response,
    length: Length,
    context: &Context<'_>,
    logged: Logged,
) -> Result<bool, InvalidResponse> {
    let buf = out.buf(&mut cx.pool);
    let start = buf.len();
    let close = encode::encode_with(head, exchange, length, &cx.preamble, cx.date.bytes(), buf)?;
    if cx.config.echo_request_id {
        echo_id(buf, start, head, context.request_id);
    }
    match logged {
        Logged::WithHead => context.record(cx, exchange, Some(head)),
        Logged::AtEnd => cx
            .stats
            .responded(method_index(context.method), head.status()),
    }
    Ok(close)
}

/// Encodes `response` into `out`. Returns whether the connection closes after it, or why
/// the response is invalid (a failure of the request frame: see [`invalid`]).
// Inlined: it runs once per request, on the path every request takes.
#[inline(always)]
fn answer<'c, H>(
    cx: &mut Shared<H>,
    out: &mut Writing,
    exchange: Exchange,
    response: &Response,
    id: impl FnOnce() -> RequestId<'c>,
) -> Result<bool, InvalidResponse> {
    let buf = out.buf(&mut cx.pool);
    let start = buf.len();
    match encode::encode(response, exchange, &cx.preamble, cx.date.bytes(), buf) {
        Ok(close) => {
            if cx.config.fault_injection && response.fault().is_some() {
                cx.pending_fault = response.fault();
            }
            if cx.config.echo_request_id {
                echo_id(buf, start, response, id());
            }
            if let Some(file) = response.file_body() {
                send_file_body(out, &mut cx.pool, file, exchange);
            }
            Ok(close)
        }
        Err(e) => Err(e),
    }
}

/// Sends the file range of a response after its head (not for HEAD: the head said what
/// a GET would get).
#[cold]
fn send_file_body(out: &mut Writing, pool: &mut Pool, file: &FileBody, exchange: Exchange) {
    if exchange.answering != Answering::Head && file.len > 0 {
        out.send_file(pool, file.clone());
    }
}

/// Adds `X-Request-Id: id` to the head encoded at `start` in `out`, unless `response`
/// has its own. Rare (off by default), so the head is patched rather than the encoder
/// made to carry the id on every request.
#[cold]
pub(super) fn echo_id(out: &mut Vec<u8>, start: usize, response: &Response, id: RequestId<'_>) {
    if response
        .headers()
        .any(|(name, _)| name.eq_ignore_ascii_case("x-request-id"))
    {
        return;
    }
    // The head ends at the first empty line: no header value holds a CR or LF.
    let Some(end) = out[start..].windows(4).position(|w| w == b"\r\n\r\n") else {
        return;
    };
    // An id is at most 128 visible characters: the line fits on the stack.
    let mut line = [0u8; 32 + crate::http::request_id::MAX_INCOMING_ID];
    let mut cursor = &mut line[..];
    let room = cursor.len();
    if std::io::Write::write_fmt(&mut cursor, format_args!("X-Request-Id: {id}\r\n")).is_err() {
        return;
    }
    let written = room - cursor.len();
    let at = start + end + 2;
    out.splice(at..at, line[..written].iter().copied());
}

/// The failure an invalid response is.
fn invalid(e: InvalidResponse) -> Failure {
    Failure::new(FailureKind::InvalidResponse, e.to_string())
}

/// The request frame's recovery: `failure` goes to the supervisor with the request's
/// context, and the restart it picks decides what is encoded into `out`. Returns whether
/// the connection closes after it, and why: as the client asked, or for the failure.
#[cold]
fn fail<H>(
    cx: &mut Shared<H>,
    out: &mut Writing,
    exchange: Exchange,
    failure: Failure,
    context: &Context<'_>,
) -> Option<CloseReason> {
    let close = fail_with(cx, out, exchange, failure, context);
    close.then_some(if exchange.close {
        CloseReason::Done
    } else {
        CloseReason::ServerError
    })
}

fn fail_with<H>(
    cx: &mut Shared<H>,
    out: &mut Writing,
    exchange: Exchange,
    mut failure: Failure,
    context: &Context<'_>,
) -> bool {
    let writing = out;
    let out = writing.buf(&mut cx.pool);
    context.stamp(&mut failure);
    let restart = cx.supervisor.failure(failure);
    cx.stop_for(&restart);
    let replacement = match restart {
        Restart::Respond(response) => response,
        // Answer nothing more; what was queued for earlier requests still goes out.
        Restart::CloseConnection => {
            context.record(cx, exchange, None);
            return true;
        }
        // The worker or the server is going away: say so.
        _ => Response::status_page(500).with_header("Connection", "close"),
    };
    let start = out.len();
    match encode::encode(&replacement, exchange, &cx.preamble, cx.date.bytes(), out) {
        Ok(close) => {
            if cx.config.echo_request_id {
                // Most useful here: the client can quote the id of what failed.
                echo_id(out, start, &replacement, context.request_id);
            }
            if let Some(file) = replacement.file_body() {
                send_file_body(writing, &mut cx.pool, file, exchange);
            }
            context.record(cx, exchange, Some(&replacement));
            close
        }
        Err(e) => {
            cx.stats.responded(method_index(context.method), 500);
            log::error!(
                "worker {} {} {}: the policy's response is invalid too ({e}); answered 500",
                cx.worker,
                context.origin.id,
                context.origin.peer
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

/// The value of the first header named `name` of a parsed head.
fn header<'b>(head: &Head<'_, 'b>, name: &str) -> Option<&'b [u8]> {
    head.headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}
