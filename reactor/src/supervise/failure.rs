//! The vocabulary of failure: what went wrong ([`Failure`]) and what to do about it
//! ([`Restart`]).
//!
//! The frames that catch failures live where the failures happen (the request and
//! connection frames in the reactor, the worker frame and watchdog in `warden-worker`), so
//! the types live here, below both.

use std::backtrace::Backtrace;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::http::request::ConnId;
use crate::http::request::Peer;
use crate::http::response::Response;

/// What failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The handler panicked (request frame).
    Panic,
    /// The handler returned a response that cannot be sent: CR or LF in a header, a bad
    /// status, a body that contradicts its headers (request frame).
    InvalidResponse,
    /// The connection's own processing panicked, outside the handler (connection frame).
    ConnectionPanic,
    /// The worker's event loop panicked or failed (worker frame).
    WorkerPanic,
    /// A handler ran past its deadline (watchdog).
    Hung,
    /// The client went away while its response was pending: the response was discarded.
    ClientGone,
    /// An I/O error that is not the client's ordinary coming and going.
    Io,
    /// A job on the blocking pool passed its deadline (`blocking_timeout`, counted from
    /// the moment it was queued): the client was answered 503 (request frame). The
    /// failure says how long the job queued and ran.
    Timeout,
    /// No room for the work: the blocking pool's queue was full (request frame: 503 with
    /// `Retry-After`), or the pool lost as many threads to jobs past their deadline as it
    /// may replace.
    Overload,
    /// A deferred request's `Responder` was dropped without answering (request frame: 500).
    Unanswered,
    /// A TLS listener's certificates could not be loaded: a reload that failed (bad PEM, a
    /// key that does not match its certificate) keeps the old ones (server frame; nothing
    /// restarts). A client's failed handshake is not a failure: bad clients are normal,
    /// and they are counted instead.
    Tls,
}

impl FailureKind {
    /// Every kind, in declaration order (e.g. for per-kind counters).
    pub const ALL: [FailureKind; 11] = [
        FailureKind::Panic,
        FailureKind::InvalidResponse,
        FailureKind::ConnectionPanic,
        FailureKind::WorkerPanic,
        FailureKind::Hung,
        FailureKind::ClientGone,
        FailureKind::Io,
        FailureKind::Timeout,
        FailureKind::Overload,
        FailureKind::Unanswered,
        FailureKind::Tls,
    ];

    /// This kind's position in [`FailureKind::ALL`], e.g. to index per-kind counters.
    pub fn index(self) -> usize {
        match self {
            FailureKind::Panic => 0,
            FailureKind::InvalidResponse => 1,
            FailureKind::ConnectionPanic => 2,
            FailureKind::WorkerPanic => 3,
            FailureKind::Hung => 4,
            FailureKind::ClientGone => 5,
            FailureKind::Io => 6,
            FailureKind::Timeout => 7,
            FailureKind::Overload => 8,
            FailureKind::Unanswered => 9,
            FailureKind::Tls => 10,
        }
    }

    /// The level a log line of this kind is written at: `ClientGone` is a client's
    /// ordinary behaviour (a browser aborting a media request, an `EventSource` closing),
    /// logged at debug and counted; everything else is an error.
    pub fn log_level(self) -> log::Level {
        match self {
            FailureKind::ClientGone => log::Level::Debug,
            _ => log::Level::Error,
        }
    }

    /// A short snake_case name, e.g. `invalid_response`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Panic => "panic",
            FailureKind::InvalidResponse => "invalid_response",
            FailureKind::ConnectionPanic => "connection_panic",
            FailureKind::WorkerPanic => "worker_panic",
            FailureKind::Hung => "hung",
            FailureKind::ClientGone => "client_gone",
            FailureKind::Io => "io",
            FailureKind::Timeout => "timeout",
            FailureKind::Overload => "overload",
            FailureKind::Unanswered => "unanswered",
            FailureKind::Tls => "tls",
        }
    }

    /// The frame a failure of this kind is usually caught in. A `Hung` deferred answer
    /// is the exception: its failure is in the request frame (see [`Failure::frame`]).
    pub fn frame(self) -> Frame {
        match self {
            FailureKind::Panic
            | FailureKind::InvalidResponse
            | FailureKind::Timeout
            | FailureKind::Overload
            | FailureKind::Unanswered => Frame::Request,
            FailureKind::ConnectionPanic | FailureKind::ClientGone | FailureKind::Io => {
                Frame::Connection
            }
            FailureKind::WorkerPanic | FailureKind::Hung => Frame::Worker,
            FailureKind::Tls => Frame::Server,
        }
    }

    /// The recovery in this kind's usual [`frame`](FailureKind::frame) when the policy does
    /// not choose one. Prefer [`Failure::default_restart`], which knows the actual frame.
    pub fn default_restart(self) -> Restart {
        self.frame().default_restart(self)
    }
}

/// Where a failure was caught, which decides the restarts that make sense for it: only a
/// request can be answered, only a connection closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Frame {
    /// A request was being answered: every [`Restart`] applies. Default: a 500, or a 503
    /// for `Timeout`, `Overload` (with `Retry-After: 1`) and a deferred answer past the
    /// handler deadline.
    Request,
    /// A connection's own processing: no request to answer. Default: close it.
    Connection,
    /// The worker's loop, or the watchdog: default, a fresh worker.
    Worker,
    /// The blocking pool itself (a factory that panicked, lost threads at their cap):
    /// nothing to restart, the pool replaces its own threads; reported only.
    Pool,
    /// The server's own threads (the acceptor): retried after a back-off; when it lasts,
    /// the server stops with the failure as its reason. Reported only.
    Server,
}

impl Frame {
    /// The restart this frame applies to a failure of `kind` when the policy does not
    /// choose one, or chooses one that does not apply here.
    pub fn default_restart(self, kind: FailureKind) -> Restart {
        match self {
            Frame::Request => Restart::Respond(match kind {
                FailureKind::Overload => Response::status_page(503).with_header("Retry-After", "1"),
                FailureKind::Timeout | FailureKind::Hung => Response::status_page(503),
                _ => Response::status_page(500),
            }),
            Frame::Connection => Restart::CloseConnection,
            Frame::Worker => Restart::RestartWorker,
            Frame::Pool => Restart::CloseConnection,
            Frame::Server => Restart::Shutdown,
        }
    }

    /// `restart` if it makes sense in this frame, else the frame's default for `kind`:
    /// there is no request to answer when a worker's loop panics.
    pub fn applicable(self, restart: Restart, kind: FailureKind) -> Restart {
        match (self, restart) {
            (Frame::Request, restart) => restart,
            (Frame::Connection, Restart::Respond(_))
            | (
                Frame::Worker | Frame::Pool | Frame::Server,
                Restart::Respond(_) | Restart::CloseConnection,
            ) => self.default_restart(kind),
            (_, restart) => restart,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failure, with the context needed to act on it: where (worker, listener,
/// connection, peer), during what (the request's method and path, when one was in
/// flight), what (kind and message, with the panic's location and a backtrace when
/// `RUST_BACKTRACE` asks for one), and when.
///
/// Its `Display` is one readable line.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Failure {
    /// The worker it happened on.
    pub worker: usize,
    /// The listener (its index in bind order) whose connection it concerns.
    pub listener: Option<usize>,
    /// The connection.
    pub conn: Option<ConnId>,
    /// The client's address.
    pub peer: Option<SocketAddr>,
    /// The method of the request in flight.
    pub method: Option<String>,
    /// The path of the request in flight.
    pub path: Option<String>,
    /// The id of the request in flight ([`Request::request_id`](crate::Request::request_id)),
    /// for failures of the request frame.
    pub request_id: Option<String>,
    /// The trace of the request in flight, from its W3C `traceparent`
    /// ([`Request::trace_id`](crate::Request::trace_id)), when it came with a valid one.
    pub trace_id: Option<String>,
    /// What failed.
    pub kind: FailureKind,
    /// Where it was caught; decides which restarts apply.
    pub frame: Frame,
    /// For work done off the loop (a deferred answer, a blocking job): how long it waited
    /// in the queue before it started.
    pub waited: Option<Duration>,
    /// For work done off the loop: how long it had run when the failure happened.
    pub ran: Option<Duration>,
    /// The panic message, or a description of the error.
    pub message: String,
    /// Where the panic happened, `file:line:column`.
    pub location: Option<String>,
    /// The backtrace captured at the panic, when `RUST_BACKTRACE` asked for one. Symbols
    /// are resolved only when it is displayed, so a panic storm stays cheap.
    pub backtrace: Option<Arc<Backtrace>>,
    /// When it happened.
    pub at: SystemTime,
}

impl Failure {
    /// A failure of `kind` with `message`, happening now, with no context yet.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            worker: 0,
            listener: None,
            conn: None,
            peer: None,
            method: None,
            path: None,
            request_id: None,
            trace_id: None,
            kind,
            frame: kind.frame(),
            waited: None,
            ran: None,
            message: message.into(),
            location: None,
            backtrace: None,
            at: SystemTime::now(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on worker {}", self.kind, self.worker)?;
        if let Some(conn) = self.conn {
            write!(f, " {conn}")?;
        }
        if let Some(peer) = self.peer {
            write!(f, " from {}", Peer(peer))?;
        }
        if let (Some(method), Some(path)) = (&self.method, &self.path) {
            write!(f, " during {method} {path}")?;
        }
        match (&self.request_id, &self.trace_id) {
            (Some(id), Some(trace)) => write!(f, " (request {id}, trace {trace})")?,
            (Some(id), None) => write!(f, " (request {id})")?,
            (None, Some(trace)) => write!(f, " (trace {trace})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        Ok(())
    }
}

impl Failure {
    /// The restart its frame applies when the policy does not choose one.
    pub fn default_restart(&self) -> Restart {
        self.frame.default_restart(self.kind)
    }
}

/// What to do about a failure: the restarts a frame offers, one of which the
/// application's policy picks (like Common Lisp's `restart-case`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Restart {
    /// Answer the request with this response and keep going; the connection stays open
    /// if the request was fully read and asked to keep it. The request frame's default,
    /// with a 500. Outside the request frame it means the frame's default.
    Respond(Response),
    /// Close the connection, answering nothing more. The connection frame's default.
    CloseConnection,
    /// Replace the worker with a fresh one (the handler factory is called again).
    /// Sockets waiting for it go to the replacement. The worker frame's default.
    RestartWorker,
    /// Stop the worker without replacing it.
    AbortWorker,
    /// Stop the whole server: drain, exit, and make `ServerHandle::wait` return this
    /// failure as the reason.
    Shutdown,
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_client_leaving_is_logged_at_debug_and_the_rest_at_error() {
        for kind in super::FailureKind::ALL {
            let expected = if kind == super::FailureKind::ClientGone {
                log::Level::Debug
            } else {
                log::Level::Error
            };
            assert_eq!(kind.log_level(), expected, "{kind}");
        }
    }

    #[test]
    fn restarts_that_do_not_apply_fall_back_to_the_frame_default() {
        let respond = Restart::Respond(Response::status_page(503));
        let request = Frame::Request;
        assert_eq!(
            request.applicable(respond.clone(), FailureKind::Panic),
            respond
        );
        assert_eq!(
            Frame::Worker.applicable(respond, FailureKind::WorkerPanic),
            Restart::RestartWorker
        );
        assert_eq!(
            Frame::Worker.applicable(Restart::CloseConnection, FailureKind::Hung),
            Restart::RestartWorker
        );
        assert_eq!(
            Frame::Connection.applicable(Restart::AbortWorker, FailureKind::ClientGone),
            Restart::AbortWorker
        );
    }

    use super::*;

    #[test]
    fn display_is_one_line_with_context() {
        let mut failure = Failure::new(FailureKind::Panic, "boom");
        failure.worker = 3;
        failure.conn = Some(ConnId(7));
        failure.peer = Some(SocketAddr::from(([127, 0, 0, 1], 4000)));
        failure.method = Some("GET".into());
        failure.path = Some("/x".into());
        failure.location = Some("src/lib.rs:1:2".into());
        assert_eq!(
            failure.to_string(),
            "panic on worker 3 conn#7 from 127.0.0.1:4000 during GET /x: boom at src/lib.rs:1:2"
        );
        assert!(!failure.to_string().contains('\n'));
    }

    #[test]
    fn defaults_per_frame() {
        assert!(
            matches!(FailureKind::Panic.default_restart(), Restart::Respond(r) if r.status() == 500)
        );
        assert_eq!(
            FailureKind::ConnectionPanic.default_restart(),
            Restart::CloseConnection
        );
        assert_eq!(
            FailureKind::WorkerPanic.default_restart(),
            Restart::RestartWorker
        );
        assert_eq!(FailureKind::Hung.default_restart(), Restart::RestartWorker);
        let overload = FailureKind::Overload.default_restart();
        assert!(matches!(&overload, Restart::Respond(r)
            if r.status() == 503 && r.header("retry-after") == Some("1")));
        // A deferred answer past the handler deadline is hung in the request frame.
        let mut hung = Failure::new(FailureKind::Hung, "late");
        hung.frame = Frame::Request;
        assert!(matches!(hung.default_restart(), Restart::Respond(r) if r.status() == 503));
        for (i, kind) in FailureKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i, "{kind}");
        }
    }
}
