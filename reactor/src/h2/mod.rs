//! HTTP/2's sans-I/O layers (RFC 9113, RFC 7541), beside `http` and knowing no loop:
//! `error` (error codes, and whether a stream or the connection pays), `frame` (reading
//! frames), `write` (writing them), `hpack` (header compression), `head` (a `Response`'s head as a header block), `fields` (well-formed requests), `request` (a request's fields as the request path reads
//! them), `flow` (windows), `flood`
//! (budgets), `session`, one connection's state over them all, and `send`, its streams' bodies
//! sent fairly within their windows. Public but hidden: the
//! fuzz targets and benchmarks use it; it is not an API applications should name.

pub mod error;
pub mod fields;
pub mod flood;
pub mod flow;
pub mod frame;
pub mod head;
pub mod hpack;
pub mod request;
pub mod send;
pub mod session;
pub mod write;
