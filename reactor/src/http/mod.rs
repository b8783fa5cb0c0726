//! The wire format and what a handler sees: request heads parsed under RFC 9112's rules,
//! chunked bodies, responses and their encoding, dates, status lines, request ids and the
//! errors of requests that cannot be served.
//!
//! This layer does no I/O and knows nothing of the loop: it works on byte slices, takes its
//! limits as a small value (`Limits`), and can be fuzzed and tested with
//! no socket. It uses nothing else of the crate. What a request does to be answered later
//! (defer, stream, upgrade) is the `answer` layer's, written there as an `impl Request`
//! block; a request carries the loop's side of it as an opaque reference.

pub(crate) mod chunked;
pub(crate) mod cidr;
pub(crate) mod date;
pub(crate) mod encode;
pub(crate) mod error;
pub(crate) mod handler;
pub(crate) mod limits;
pub(crate) mod owned;
pub(crate) mod parse;
pub(crate) mod proxy;
pub(crate) mod raw;
pub(crate) mod request;
pub(crate) mod request_id;
pub(crate) mod response;
pub(crate) mod status;
pub(crate) mod trace;
