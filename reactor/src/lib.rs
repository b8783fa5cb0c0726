//! One thread's HTTP/1.1 event loop: the engine of each warden worker.
//!
//! A [`Reactor`] owns a `mio::Poll`, a slab of connections, one timer structure and an
//! [`Inbox`] through which another thread (warden's acceptor) hands it accepted sockets.
//! It parses requests with `httparse` under the RFC 9112 framing rules, answers every
//! request already buffered in one batch (pipelining: one read, one write), and calls a
//! [`Handler`] for each. A handler can also answer later, from another thread
//! ([`Request::defer`], [`Request::blocking`]): the answer comes back through the same
//! inbox waker. It knows nothing of threads or supervision; `warden-worker` adds those
//! (and the blocking pool, through the [`Offload`] trait). Streams go both ways
//! ([`Responder::stream`], [`Request::body_reader`]), and a [`Broadcast`] hub fans events
//! out to subscribers served by their own loops.
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
// One block needs unsafe: the sendfile(2) call in `transport/sendfile.rs`, allowed there
// alone.
#![deny(unsafe_code)]

// The layers, lowest first (http, with h2 beside it; supervise, observe, answer, then
// broadcast on answer; transport beside answer);
// each folder's own page says what it may use. `tests/layers.rs` holds them to it.
mod answer;
mod broadcast;
#[doc(hidden)]
pub mod h2;
mod http;
mod observe;
mod supervise;

// The loop: it may use every layer, and nothing below imports it.
#[doc(hidden)]
pub mod bench;
mod buf;
mod clients;
mod config;
mod conn;
mod exit;
mod inbox;
mod prepared;
mod reactor;
mod shared;
mod slot;
mod subscriptions;
#[doc(hidden)]
pub mod testing;
mod timer;
mod transport;

pub use crate::{
    answer::{
        file::content_type_for,
        inflow::{BodyReader, INFLOW_BOUND},
        job::{Job, JobEnd, Offload},
        ready::Readiness,
        responder::{AnswerError, Responder},
        sse::{Event, EventStream},
        stream::STREAM_BOUND,
        ticket::Unanswerable,
        upgrade::Upgraded,
        writer::BodyWriter,
    },
    broadcast::{
        Broadcast, BroadcastConfig, BroadcastStats, Broker, BrokerError, BrokerStats, EventId,
        Feed, Notice, Outgoing, PublishError, Replay, Session, Stored,
    },
    clients::{ClientLimit, ClientSlot},
    config::{Config, StreamBodies},
    exit::Exit,
    http::{
        cidr::{Cidr, CidrError, ProxyProtocol},
        error::{ChunkError, InvalidResponse, RequestError},
        handler::Handler,
        limits::HEADER_SLOTS,
        owned::{OwnedHeaders, OwnedRequest},
        parse::Version,
        request::{ConnId, Request, UNIX_PEER},
        request_id::{MAX_INCOMING_ID, RequestId},
        response::{Fault, Response},
    },
    inbox::{Backlog, Handoff, Inbox, Orphans, SendError},
    observe::{
        access::AccessLog,
        stats::{
            BUCKETS, CloseReason, DURATION_BUCKETS, HistogramSnapshot, METHODS, REFUSAL_STATUSES,
            STATUS_CLASSES, Stats, StatsSnapshot,
        },
    },
    prepared::PreparedReactor,
    reactor::Reactor,
    slot::SlotSignal,
    supervise::{
        activity::{Activity, InFlight},
        failure::{Failure, FailureKind, Frame, Restart},
        frame::{
            LogFailures, Supervisor, catch, describe_panic, install_panic_hook, panic_message,
            set_supervised,
        },
    },
};

/// `mio`, re-exported so that callers hand sockets over with the same version.
pub use mio;

#[cfg(feature = "redis")]
pub use crate::broadcast::{RedisBroker, RedisConfig};
