//! Threads for warden: the acceptor that hands sockets to workers, the worker threads that
//! each run one [`warden_reactor::Reactor`], the supervisor that keeps them going, the
//! blocking pool that runs `Request::blocking` jobs ([`BlockingPool`]), and the monitor
//! that reports handlers stalling their loop. With the `tls` feature, TLS listeners:
//! certificates (`TlsConfig`, reloaded through `TlsHandle`) and the handshake pool
//! (`HandshakeConfig`) that makes every handshake off the workers' loops.
//!
//! Every worker runs inside frames that catch what goes wrong (the request and connection
//! frames in the reactor, the worker frame around its loop, the watchdog for hung
//! handlers). Each failure is decided by the application's policy ([`OnError`]) on the
//! thread where it happened, then reported to one error channel.
//!
//! ```
//! use std::sync::Arc;
//! use warden_reactor::{Request, Response, Restart};
//! use warden_worker::{Policies, PoolConfig, WorkerPool, bind, DEFAULT_BACKLOG};
//!
//! let listener = bind("127.0.0.1:0".parse().expect("an address"), DEFAULT_BACKLOG)?;
//! let mut config = PoolConfig::default();
//! config.workers = 2;
//! let policies = Policies { server: Some(Arc::new(|_| Restart::CloseConnection)), listeners: vec![] };
//! let pool = WorkerPool::start(vec![listener.into()], config, policies, |_worker| {
//!     |_: &Request<'_>| Response::text("hi")
//! }).expect("pool starts");
//!
//! use std::io::{Read, Write};
//! let mut client = std::net::TcpStream::connect(pool.local_addrs()[0])?;
//! client.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
//! let mut response = String::new();
//! client.read_to_string(&mut response)?;
//! assert!(response.ends_with("hi"));
//!
//! pool.shutdown(std::time::Duration::from_secs(1));
//! println!("stopped: {}", pool.join().expect("first join"));
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
// One block in `listener.rs` takes systemd's descriptors, and says why that is sound.
#![deny(unsafe_code)]

mod accept_error;
mod acceptor;
mod admission;
mod blocking;
mod busy;
mod counters;
mod event;
mod listener;
mod listening;
mod monitor;
mod pool;
mod registry;
mod report;
mod stop;
mod supervisor;
#[cfg(feature = "tls")]
mod tls;
mod unix;
mod worker;

#[cfg(feature = "tls")]
pub use crate::tls::{
    config::{TlsConfig, TlsError, TlsHandle},
    handshake::HandshakeConfig,
    stats::{HandshakeEnd, TlsSnapshot, TlsStats},
};
pub use crate::{
    acceptor::{
        ACCEPTOR_RETRIES, Acceptor, AcceptorConfig, PreparedAcceptor, RESOURCE_BACKOFF, WorkerSlot,
    },
    blocking::{BlockingConfig, BlockingPool, BlockingStats, ResourceFactory, with_resource},
    counters::{AcceptSnapshot, AcceptStats, FailureSink},
    listener::{DEFAULT_BACKLOG, ListenOptions, bind, bind_with, systemd_listeners},
    pool::{PoolConfig, PoolStats, StartError, StatsView, WorkerPool, WorkerStats},
    report::{FailureCounters, FailureStats, OnError, Policies},
    stop::Stop,
    unix::{Listener, SocketFile, bind_unix},
};
