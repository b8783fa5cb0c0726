//! The facade's error type.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use warden_reactor::Failure;

/// Why a server could not start, or why it stopped.
///
/// Cheap to clone (OS errors are shared), so every caller of
/// [`ServerHandle::wait`](crate::ServerHandle::wait) gets the same answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// `serve` was called without any `bind`.
    NoAddress,
    /// A bind address could not be resolved.
    Resolve {
        /// The address as given.
        addr: String,
        /// The resolver's error.
        source: Arc<io::Error>,
    },
    /// A listener could not be bound.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error, e.g. address in use or permission denied.
        source: Arc<io::Error>,
    },
    /// A Unix domain socket could not be made: a server listens on it already, the path
    /// holds something else, or the OS refused (permissions, a missing directory).
    BindUnix {
        /// The socket's path.
        path: std::path::PathBuf,
        /// Why.
        source: Arc<io::Error>,
    },
    /// A setting is out of range.
    Config {
        /// Which setting, and what it must be.
        reason: &'static str,
    },
    /// A thread, poll or reactor could not be created.
    Start {
        /// What was being started, e.g. `worker 3`.
        what: String,
        /// The OS error.
        source: Arc<io::Error>,
    },
    /// A worker could not start: its handler factory panicked, or its event loop could
    /// not be made.
    Worker(Box<Failure>),
    /// The server stopped because workers kept failing: more than `max` restarts within
    /// `period` (OTP's restart intensity).
    RestartIntensity {
        /// The allowed restarts.
        max: usize,
        /// Within this period.
        period: Duration,
    },
    /// The server stopped because an error policy chose
    /// [`Restart::Shutdown`](warden_reactor::Restart::Shutdown) for this failure.
    Shutdown(Box<Failure>),
    /// The server stopped because every worker was aborted.
    AllWorkersAborted,
    /// The server stopped because the acceptor kept failing (a listener that broke, a poll
    /// that failed) and gave up: this is its last failure.
    AcceptorFailed(Box<Failure>),
    /// The supervisor thread panicked: a bug in warden.
    SupervisorPanicked,
}

impl Error {
    pub(crate) fn start(what: impl Into<String>, source: io::Error) -> Error {
        Error::Start {
            what: what.into(),
            source: Arc::new(source),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoAddress => f.write_str("no address to listen on: call bind() before serve()"),
            Error::Resolve { addr, source } => write!(f, "cannot resolve {addr}: {source}"),
            Error::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::BindUnix { path, source } => {
                write!(f, "cannot listen on unix:{}: {source}", path.display())
            }
            Error::Config { reason } => write!(f, "invalid configuration: {reason}"),
            Error::Start { what, source } => write!(f, "cannot start {what}: {source}"),
            Error::Worker(failure) => write!(
                f,
                "cannot start worker {}: {}",
                failure.worker, failure.message
            ),
            Error::RestartIntensity { max, period } => write!(
                f,
                "restart intensity exceeded: more than {max} worker restarts within {period:?}"
            ),
            Error::Shutdown(failure) => write!(f, "shut down by the error policy after: {failure}"),
            Error::AllWorkersAborted => f.write_str("every worker was aborted"),
            Error::AcceptorFailed(failure) => write!(f, "the acceptor gave up: {failure}"),
            Error::SupervisorPanicked => f.write_str("the supervisor thread panicked"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Resolve { source, .. }
            | Error::Bind { source, .. }
            | Error::BindUnix { source, .. }
            | Error::Start { source, .. } => Some(&**source),
            _ => None,
        }
    }
}
