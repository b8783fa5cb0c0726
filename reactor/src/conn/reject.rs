//! The error page of a request that cannot be served: its precise status, the echoed
//! request id and the access log's line, then the close.

use std::net::SocketAddr;
use std::time::Instant;

use crate::buf::ReadBuf;
use crate::http::encode::{self, Exchange};
use crate::http::error::RequestError;
use crate::http::parse::{Answering, Version};
use crate::http::raw;
use crate::http::request::ConnId;
use crate::http::request_id::RequestId;
use crate::http::response::Response;
use crate::observe::access::{self, Entry};
use crate::observe::stats::CloseReason;
use crate::shared::Shared;

use super::respond::echo_id;
use super::write::Writing;

/// Answers a request that cannot be served with its error status; returns what the
/// close will be counted as. The caller stops reading ([`Reading::rejected`]): "never
/// serve bytes that follow a framing error".
///
/// [`Reading::rejected`]: super::reading::Reading
pub(super) fn reject<H>(
    cx: &mut Shared<H>,
    rbuf: Option<&mut ReadBuf>,
    writing: &mut Writing,
    error: RequestError,
    id: ConnId,
    peer: SocketAddr,
) -> CloseReason {
    log::debug!(
        "worker {} {id} {peer}: {error}; answering {} and closing",
        cx.worker,
        error.status()
    );
    // A HEAD request's error page is headers only too, or a keep-alive client would read
    // its body as the start of the next response. The request line is at the front of
    // the buffer in every case that ends here.
    let head = rbuf
        .as_deref()
        .is_some_and(|buf| buf.filled().starts_with(b"HEAD "));
    let exchange = Exchange {
        answering: if head {
            Answering::Head
        } else {
            Answering::Other
        },
        close: true,
        http10_keep_alive: false,
    };
    let page = match error {
        // "The server MAY send a Retry-After header field to suggest an appropriate
        // amount of time for the client to wait before retrying the request" (503).
        RequestError::ClientLimit => Response::status_page(503).with_header("Retry-After", "1"),
        _ => Response::status_page(error.status()),
    };
    let out = writing.buf(&mut cx.pool);
    let start = out.len();
    encode::encode(&page, exchange, &cx.preamble, cx.date.bytes(), out)
        .expect("error pages are valid responses");
    // What can be read of the refused head, for the echoed id and the log line; looked
    // at only when one of them is on.
    let (echo, log) = (cx.config.echo_request_id, cx.config.access_log);
    if echo || log.is_some() {
        let raw = rbuf
            .as_deref()
            .map_or_else(Default::default, |buf| raw::scan(buf.filled()));
        let request_id = RequestId::of(raw.request_id, cx.worker, cx.seq);
        cx.seq += 1;
        if echo {
            echo_id(out, start, &page, request_id);
        }
        if let Some(format) = log {
            access::write(
                format,
                &Entry {
                    peer,
                    method: raw.method.unwrap_or("-"),
                    target: raw.target.unwrap_or("-"),
                    version: Version::Http11,
                    status: Some(error.status()),
                    bytes: if head { 0 } else { page.body_len() },
                    started: Instant::now(),
                    worker: cx.worker,
                    conn: id,
                    id: request_id,
                    trace: None,
                    user_agent: raw.user_agent,
                    referer: None,
                    date: cx.date.bytes(),
                },
            );
        }
    }
    if let Some(buf) = rbuf {
        buf.clear();
    }
    cx.stats.refused(error.status());
    match error {
        RequestError::HeaderTimeout => CloseReason::HeaderTimeout,
        RequestError::BodyTimeout => CloseReason::BodyTimeout,
        _ => CloseReason::ClientError,
    }
}
