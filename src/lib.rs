//! warden: a multi-worker HTTP/1.1 server with its own reactor.
//!
//! An acceptor thread hands sockets to N worker threads; each worker runs its own `mio`
//! event loop ([`warden_reactor::Reactor`]), parsing with `httparse` under the RFC 9112
//! rules and answering pipelined requests in batches.
//!
//! ```
//! use warden::{Request, Response, Server};
//!
//! let server = Server::builder()
//!     .bind("127.0.0.1:0")
//!     .serve(|req: &Request<'_>| match req.path() {
//!         "/plaintext" => Response::text("Hello, World!"),
//!         _ => Response::status_page(404),
//!     })?;
//! let addr = server.local_addrs()[0];
//!
//! use std::io::{Read, Write};
//! let mut client = std::net::TcpStream::connect(addr).expect("connect");
//! client.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
//! let mut response = String::new();
//! client.read_to_string(&mut response).expect("read");
//! assert!(response.ends_with("Hello, World!"));
//!
//! server.shutdown(std::time::Duration::from_secs(1));
//! server.wait()?;
//! # Ok::<(), warden::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

mod error;
mod handle;
mod server;

pub use crate::{
    error::Error,
    handle::{ServerHandle, ServerStats},
    server::{
        Builder, DEFAULT_HANDLER_DEADLINE, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RESTARTS,
        DEFAULT_RESTART_PERIOD, DEFAULT_SHUTDOWN_GRACE, Server,
    },
};
pub use warden_reactor::{
    Config, ConnId, Failure, FailureKind, Fault, Handler, InvalidResponse, Request, RequestError,
    Response, Restart, StatsSnapshot, Version,
};
pub use warden_worker::{FailureStats, WorkerStats};
