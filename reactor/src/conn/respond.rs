//! The request frame: calls the handler for one complete request and encodes its answer,
//! or the error page of a request that cannot be served.

use std::net::SocketAddr;

use crate::buf::ReadBuf;
use crate::encode::{self, Exchange};
use crate::error::RequestError;
use crate::failure::{Failure, FailureKind, Restart};
use crate::frame;
use crate::handler::Handler;
use crate::parse::{Head, Version};
use crate::request::{ConnId, Request};
use crate::response::Response;
use crate::shared::Shared;

use super::read::Reading;
use super::write::Writing;

/// Where a request came from.
#[derive(Clone, Copy, Debug)]
pub(super) struct Origin {
    pub(super) peer: SocketAddr,
    pub(super) id: ConnId,
    pub(super) listener: usize,
}

/// The request frame: calls the handler for one complete request and appends its
/// response to `out`. A panic or an invalid response becomes a [`Failure`] whose restart
/// the supervisor picks, here, while the request is still at hand. `last` says no byte is
/// buffered after this request. Returns whether the connection closes after it.
pub(super) fn respond<H: Handler>(
    cx: &mut Shared<H>,
    out: &mut Writing,
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
    let out = out.buf(&mut cx.pool);
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
pub(super) fn reject<H>(
    cx: &mut Shared<H>,
    rbuf: Option<&mut ReadBuf>,
    writing: &mut Writing,
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
    let out = writing.buf(&mut cx.pool);
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
