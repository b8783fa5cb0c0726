//! One thread's HTTP/1.1 event loop: the engine of each warden worker.
//!
//! A [`Reactor`] owns a `mio::Poll`, a slab of connections, one timer structure and an
//! [`Inbox`] through which another thread (warden's acceptor) hands it accepted sockets.
//! It parses requests with `httparse` under the RFC 9112 framing rules, answers every
//! request already buffered in one batch (pipelining: one read, one write), and calls a
//! [`Handler`] for each. A handler can also answer later, from another thread
//! ([`Request::defer`], [`Request::blocking`]): the answer comes back through the same
//! inbox waker. It knows nothing of threads or supervision; `warden-worker` adds those
//! (and the blocking pool, through the [`Offload`] trait).
//!
//! ```
//! use std::io::{Read, Write};
//! use warden_reactor::{Config, Reactor, Request, Response};
//!
//! let handler = |req: &Request<'_>| match req.path() {
//!     "/plaintext" => Response::text("Hello, World!"),
//!     _ => Response::status_page(404),
//! };
//! let (mut reactor, inbox) = Reactor::new(Config::default(), handler)?;
//! let thread = std::thread::spawn(move || reactor.run());
//!
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
//! let (socket, peer) = listener.accept()?;
//! socket.set_nonblocking(true)?;
//! inbox.send(mio::net::TcpStream::from_std(socket), peer).expect("reactor is running");
//!
//! client.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut response = String::new();
//! client.read_to_string(&mut response)?;
//! assert!(response.ends_with("Hello, World!"));
//! drop(client);
//!
//! inbox.shutdown(std::time::Duration::ZERO);
//! thread.join().expect("reactor thread")?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![deny(missing_docs, missing_debug_implementations)]
// One block needs unsafe: the sendfile(2) call in `sendfile.rs`, allowed there alone.
#![deny(unsafe_code)]

mod access;
mod activity;
#[doc(hidden)]
pub mod bench;
mod buf;
mod chunked;
mod clock;
mod config;
mod conn;
mod date;
mod defer;
mod encode;
mod error;
mod failure;
mod file;
mod frame;
mod handler;
mod inbox;
mod inflow;
mod parse;
mod reactor;
mod request;
mod request_id;
mod response;
mod sendfile;
mod shared;
mod slot;
mod stats;
mod status;
mod stream;
#[doc(hidden)]
pub mod testing;
mod timer;
mod upgrade;

pub use crate::{
    access::AccessLog,
    activity::{Activity, InFlight},
    config::{Config, HEADER_SLOTS, StreamBodies},
    defer::{AnswerError, Job, JobEnd, Offload, Responder, Unanswerable},
    error::{ChunkError, InvalidResponse, RequestError},
    failure::{Failure, FailureKind, Frame, Restart},
    file::content_type_for,
    frame::{
        LogFailures, Supervisor, catch, describe_panic, install_panic_hook, panic_message,
        set_supervised,
    },
    handler::Handler,
    inbox::{Backlog, Handoff, Inbox, Orphans, SendError},
    inflow::{BodyReader, INFLOW_BOUND},
    parse::Version,
    reactor::{Exit, PreparedReactor, Reactor},
    request::{ConnId, OwnedHeaders, OwnedRequest, Request},
    request_id::{MAX_INCOMING_ID, RequestId},
    response::{Fault, Response},
    slot::SlotSignal,
    stats::{
        BUCKETS, CloseReason, DURATION_BUCKETS, HistogramSnapshot, METHODS, REFUSAL_STATUSES,
        STATUS_CLASSES, Stats, StatsSnapshot,
    },
    stream::{BodyWriter, Event, EventStream, STREAM_BOUND},
    upgrade::Upgraded,
};

/// `mio`, re-exported so that callers hand sockets over with the same version.
pub use mio;
