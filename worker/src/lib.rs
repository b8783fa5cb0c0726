//! Threads for warden: the acceptor that hands sockets to workers, and the worker threads
//! that each run one [`warden_reactor::Reactor`].
//!
//! ```
//! use warden_reactor::{Config, Request, Response};
//! use warden_worker::{Acceptor, AcceptorConfig, Worker, WorkerSlot, bind, DEFAULT_BACKLOG};
//!
//! let listener = bind("127.0.0.1:0".parse().unwrap(), DEFAULT_BACKLOG)?;
//! let prepared = Acceptor::prepare(vec![listener], AcceptorConfig { max_connections_per_worker: 100 })?;
//! let addr = prepared.local_addrs()?[0];
//! let worker = Worker::spawn(0, Config::default(), || |_: &Request<'_>| Response::text("hi"), Some(prepared.signal()))?;
//! let acceptor = prepared.start(vec![WorkerSlot::new(0, worker.inbox().clone(), worker.stats().clone())])?;
//!
//! let mut client = std::net::TcpStream::connect(addr)?;
//! use std::io::{Read, Write};
//! client.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
//! let mut response = String::new();
//! client.read_to_string(&mut response)?;
//! assert!(response.ends_with("hi"));
//!
//! acceptor.stop();
//! acceptor.join()?;
//! worker.shutdown(std::time::Duration::ZERO);
//! worker.join()?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]

mod acceptor;
mod listener;
mod worker;

pub use crate::{
    acceptor::{Acceptor, AcceptorConfig, PreparedAcceptor, RESOURCE_BACKOFF, WorkerSlot},
    listener::{DEFAULT_BACKLOG, bind},
    worker::Worker,
};
