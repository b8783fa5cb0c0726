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
use std::time::SystemTime;

use crate::request::ConnId;
use crate::response::Response;

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
}

impl FailureKind {
    /// Every kind, in declaration order (e.g. for per-kind counters).
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Panic,
        FailureKind::InvalidResponse,
        FailureKind::ConnectionPanic,
        FailureKind::WorkerPanic,
        FailureKind::Hung,
        FailureKind::ClientGone,
        FailureKind::Io,
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
        }
    }

    /// The recovery when the policy does not choose one, or chooses one that does not
    /// apply to the frame: a 500 for the request frame, closing the connection for the
    /// connection frame, a fresh worker for the worker frame and the watchdog.
    pub fn default_restart(self) -> Restart {
        match self {
            FailureKind::Panic | FailureKind::InvalidResponse => {
                Restart::Respond(Response::status_page(500))
            }
            FailureKind::ConnectionPanic | FailureKind::ClientGone | FailureKind::Io => {
                Restart::CloseConnection
            }
            FailureKind::WorkerPanic | FailureKind::Hung => Restart::RestartWorker,
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
    /// What failed.
    pub kind: FailureKind,
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
            kind,
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
            write!(f, " from {peer}")?;
        }
        if let (Some(method), Some(path)) = (&self.method, &self.path) {
            write!(f, " during {method} {path}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        Ok(())
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
        for (i, kind) in FailureKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i, "{kind}");
        }
    }
}
