//! warden: a multi-worker HTTP/1.1 server with its own reactor, and a supervisor that
//! makes every failure visible, attributable to its request, and recoverable by a policy
//! you pick.
//!
//! An acceptor thread hands sockets to N worker threads; each worker runs its own `mio`
//! event loop ([`warden_reactor::Reactor`]), parsing with `httparse` under the RFC 9112
//! rules and answering pipelined requests in batches.
//!
//! - [`Server::builder`] configures and starts a server; [`Builder::serve`] takes one
//!   [`Handler`] for every worker, [`Builder::serve_with`] a factory run on each worker.
//! - [`Builder::on_error`] (and [`Builder::bind_with`] per listener) picks a [`Restart`]
//!   for each [`Failure`]: answer, close the connection, restart or abort the worker, or
//!   shut the server down.
//! - Slow work leaves the loop: [`Request::blocking`] runs a closure on the shared blocking
//!   pool (bounded queue, a deadline per job, per-thread resources through
//!   [`with_resource`]), [`Request::defer`] hands a [`Responder`] to any thread. A handler
//!   that stalls its loop anyway is counted and logged with its route.
//! - Streams: [`Responder::stream`] and [`Responder::event_stream`] write a body from any
//!   thread, with backpressure and deadlines; [`BodyWriter::try_write`] and [`Readiness`]
//!   let one thread drive many; [`Broadcast`] fans one event out to every subscriber of a
//!   topic from the subscribers' own loops.
//! - TLS (the `tls` feature, rustls): `Builder::bind_tls` with a `TlsConfig` (several
//!   names by SNI, reloaded live through a `TlsHandle`); handshakes run in a pool of
//!   their own, never on a worker's loop.
//! - [`ServerHandle`] gives the addresses, [`ServerHandle::failures`] (every failure, on
//!   one channel), [`ServerHandle::stats`], [`ServerHandle::shutdown`] and
//!   [`ServerHandle::wait`], which says why the server stopped.
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
//!
//! A handler that panics costs its request a 500 (or whatever the policy answers); the
//! failure arrives on the channel with the request that caused it:
//!
//! ```
//! use warden::{FailureKind, Request, Response, Server};
//!
//! let server = Server::builder()
//!     .bind("127.0.0.1:0")
//!     .workers(1)
//!     .serve(|req: &Request<'_>| -> Response { panic!("cannot serve {}", req.path()) })?;
//! let failures = server.failures();
//!
//! use std::io::{Read, Write};
//! let mut client = std::net::TcpStream::connect(server.local_addrs()[0]).expect("connect");
//! client.write_all(b"GET /report HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
//! let mut response = String::new();
//! client.read_to_string(&mut response).expect("read");
//! assert!(response.starts_with("HTTP/1.1 500"));
//!
//! let failure = failures.recv().expect("reported");
//! assert_eq!(failure.kind, FailureKind::Panic);
//! assert_eq!(failure.path.as_deref(), Some("/report"));
//! assert_eq!(failure.message, "cannot serve /report");
//! # server.shutdown(std::time::Duration::ZERO);
//! # Ok::<(), warden::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

mod deploy;
mod error;
mod handle;
mod listeners;
mod metrics;
mod server;
#[cfg(any(feature = "tls", feature = "tls-ring"))]
mod tls;

pub use crate::{
    error::Error,
    handle::{ServerHandle, WeakServerHandle},
    metrics::{METRICS_CONTENT_TYPE, ServerStats},
    server::{
        Builder, DEFAULT_HANDLER_DEADLINE, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_RESTARTS,
        DEFAULT_RESTART_PERIOD, DEFAULT_SHUTDOWN_GRACE, DEFAULT_STALL_THRESHOLD, Server,
    },
};
pub use warden_reactor::{
    AccessLog, AnswerError, BodyReader, BodyWriter, Broadcast, BroadcastConfig, BroadcastStats,
    Broker, BrokerError, BrokerStats, Cidr, CidrError, CloseReason, Config, ConnId, Event, EventId,
    EventStream, Failure, FailureKind, Fault, Feed, Frame, Handler, HistogramSnapshot,
    INFLOW_BOUND, InvalidResponse, Notice, Outgoing, OwnedRequest, PublishError, Readiness, Replay,
    Request, RequestError, RequestId, Responder, Response, Restart, STREAM_BOUND, Session,
    StatsSnapshot, Stored, UNIX_PEER, Unanswerable, Version, content_type_for,
};
#[cfg(feature = "redis")]
pub use warden_reactor::{RedisBroker, RedisConfig};
pub use warden_worker::{AcceptSnapshot, BlockingStats, FailureStats, WorkerStats, with_resource};
#[cfg(any(feature = "tls", feature = "tls-ring"))]
pub use warden_worker::{HandshakeEnd, TlsConfig, TlsError, TlsHandle, TlsSnapshot};
