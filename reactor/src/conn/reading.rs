//! What a connection is reading next: the `Reading` state machine and what the kernel may
//! still hold. The reading itself (parsing, dispatching) is `read.rs`.

use crate::answer::upgrade::Upgrade;
use crate::config::Config;
use crate::http::chunked::{ChunkedDecoder, Cursor};
use crate::observe::stats::CloseReason;

use super::respond::{Pending, Streaming};
use super::subscriber::Subscriber;
use super::upload::Upload;

/// Reads one connection may make per loop turn. Past it, the reactor comes back to the
/// connection on its next turn, after serving the others: a client that sends without
/// pause cannot monopolize the thread.
pub(super) const READ_BUDGET: u32 = 16;

/// What the connection is reading next.
#[derive(Debug)]
pub(super) enum Reading {
    /// Waiting for the PROXY protocol header a trusted balancer sends before the
    /// client's bytes. Entered on accept when the reactor requires one; left for `Head`
    /// once it is read (the connection's peer becomes the client it names), or for
    /// `Closing` when it is missing or malformed (closed without an answer: nothing after
    /// it can be trusted to be the client's).
    Proxy,
    /// Waiting for (more of) a request head. Entered on accept and after each answered
    /// request; left for `Body` when a head announces a body that hasn't fully arrived,
    /// or for `Closing` on a framing error or the peer's EOF.
    Head,
    /// A head of `head_len` bytes sits at the front of the read buffer and its body is
    /// arriving. Back to `Head` once the body is in and the request answered.
    Body { head_len: usize, body: BodyProgress },
    /// No more requests are read. Once the output is written the connection closes;
    /// with `linger` (unread input may follow: an error cut a request short, or requests
    /// were pipelined after the last answered one), first through `Lingering`. `why` is
    /// what the close will be counted as.
    Closing { linger: bool, why: CloseReason },
    /// A request is with another thread (deferred, or on the blocking pool); nothing more
    /// is parsed or read until its answer is written, so responses stay in order and the
    /// unread input waits in the kernel. Back to `Head` (or `Closing`) when the answer,
    /// or the response its failure chose, is encoded.
    Dispatched(Box<Pending>),
    /// A streamed response's body is being sent (entered from `Dispatched` when its head
    /// is encoded): nothing more is parsed or read until the body ends, then back to
    /// `Head` (or `Closing`).
    Streaming(Box<Streaming>),
    /// The handler accepted a protocol upgrade and its 101 is encoded: nothing more is
    /// read; once the output is written, the connection leaves the loop for the
    /// application (`Outcome::Upgrade`).
    Upgrading(Box<Upgrade>),
    /// A request whose body streams to its handler's reader (see `upload.rs`): its answer
    /// is awaited like `Dispatched`, while the body is read and handed over as it
    /// arrives, up to the reader's bound. To `Dispatched` once the body is complete (or
    /// has failed: then the connection closes after the answer); the answer coming first
    /// cuts the upload short and closes after it too.
    Uploading(Box<Upload>),
    /// The connection follows a broadcast topic (see `subscriber.rs`): its head is
    /// encoded, and events go out as they are published, until the client leaves, falls
    /// too far behind, or the server drains. Nothing more is read.
    Subscribed(Box<Subscriber>),
    /// Our side is shut down after the final response. Input is read and dropped until the
    /// peer closes or the linger timer fires: closing a socket with unread input makes the
    /// kernel send a reset, which can destroy the response before the client reads it.
    Lingering { why: CloseReason },
}

impl Reading {
    /// After a request that cannot be served was answered with its error page: nothing
    /// more is read, and the close drains unread input first, counted as `why`.
    pub(super) fn rejected(why: CloseReason) -> Reading {
        Reading::Closing { linger: true, why }
    }
}

/// How far a body has arrived.
#[derive(Debug)]
pub(super) enum BodyProgress {
    /// `Content-Length`: the body is complete once this many bytes follow the head.
    Length(usize),
    /// Chunked: decoded in place behind the head (boxed: it is rare, and keeps idle
    /// connections small).
    Chunked(Box<(ChunkedDecoder, Cursor)>),
}

/// What the kernel may still hold for us to read. Readiness is edge-triggered, so it is
/// remembered until a read shows the socket drained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Input {
    /// A read came back short or would block: wait for the next readiness event.
    Drained,
    /// Readiness was reported and not yet used up.
    Pending,
    /// The peer has closed its side: read on past short reads, to the EOF.
    PendingEof,
    /// The peer reset the connection, or closed both directions: nothing can reach it.
    HungUp,
}

/// The most a read buffer may hold: only a body can need more than the standard buffer
/// (heads are refused past `max_head`), and never more than the largest head plus the
/// largest body.
pub(super) fn read_limit(config: &Config) -> usize {
    // Saturating: `max_body(usize::MAX)` means "no limit", not an overflow.
    config
        .max_head
        .saturating_add(config.max_body)
        .saturating_add(config.read_buffer)
}
