//! The facade's error type.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

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
    /// A thread stopped with an error.
    Thread {
        /// Which thread, e.g. `warden-worker-3`.
        name: String,
        /// What ended it.
        source: Arc<io::Error>,
    },
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
            Error::Config { reason } => write!(f, "invalid configuration: {reason}"),
            Error::Start { what, source } => write!(f, "cannot start {what}: {source}"),
            Error::Thread { name, source } => write!(f, "{name} stopped: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::NoAddress | Error::Config { .. } => None,
            Error::Resolve { source, .. }
            | Error::Bind { source, .. }
            | Error::Start { source, .. }
            | Error::Thread { source, .. } => Some(&**source),
        }
    }
}
