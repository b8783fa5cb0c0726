//! Answers that are not one `Response` returned by the handler: deferred answers and the
//! jobs of a blocking pool, streamed response bodies and Server-Sent Events, streamed
//! request bodies, protocol upgrades, and files (sent with sendfile(2)).
//!
//! Each is a mechanism shared between a handler (or the thread it hands work to) and the
//! loop, with the loop's side left to the loop: this layer uses `http`, `supervise` and
//! `observe`, never the loop. The methods of [`Request`](crate::Request) that hand work
//! off (`defer`, `blocking`, `stream_*`, `body_reader`, `upgrade`) are written here, in
//! `handoff.rs`, as an `impl Request` block.

pub(crate) mod defer;
pub(crate) mod file;
pub(crate) mod inflow;
pub(crate) mod sendfile;
pub(crate) mod stream;
pub(crate) mod upgrade;
