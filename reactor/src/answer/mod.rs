//! Answers that are not one `Response` returned by the handler: deferred answers and the
//! jobs of a blocking pool, streamed response bodies and Server-Sent Events, streamed
//! request bodies, protocol upgrades, and files (sent with sendfile(2)).
//!
//! Each is a mechanism shared between a handler (or the thread it hands work to) and the
//! loop, with the loop's side left to the loop: this layer uses `http`, `supervise` and
//! `observe`, never the loop. The methods of [`Request`](crate::Request) that hand work
//! off (`defer`, `blocking`, `stream_*`, `body_reader`, `upgrade`) are written here, in
//! `handoff.rs`, as an `impl Request` block.
//!
//! Lowest first: `ticket` (what a deferred request and its connection share), `stream`
//! (what a streamed body's writer and the loop share), `door` (how answers reach the
//! loop), `responder`, `writer` and `sse` (answering from another thread), `inflow` (a
//! streamed request body), `job` (work for a pool), `upgrade`, `dispatch` (the loop's side
//! of a request handed to its handler), `handoff` (the `Request` methods); `file` stands
//! apart (its bytes are sent by the transport, with sendfile(2) on plain TCP).

pub(crate) mod dispatch;
pub(crate) mod door;
pub(crate) mod file;
pub(crate) mod handoff;
pub(crate) mod inflow;
pub(crate) mod job;
pub(crate) mod ready;
pub(crate) mod reset;
pub(crate) mod responder;
pub(crate) mod sse;
pub(crate) mod stream;
pub(crate) mod ticket;
pub(crate) mod topic;
pub(crate) mod upgrade;
pub(crate) mod writer;
