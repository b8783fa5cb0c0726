//! warden: a multi-worker HTTP/1.1 server with its own reactor.
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

pub use warden_reactor::{Config, Handler, Request, Response, Version};
