//! The acceptor's counters, and where the failures of the threads around it go: shared
//! by the acceptor and the handshake pool, read by the metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use warden_reactor::Failure;

#[cfg(feature = "tls")]
use crate::tls::stats::{TlsSnapshot, TlsStats};

/// Where the acceptor's own failures go, with `true` when it gives up.
pub type FailureSink = Arc<dyn Fn(Failure, bool) + Send + Sync>;

/// The acceptor's counters: written by its thread only, read by anyone.
#[derive(Debug, Default)]
pub struct AcceptStats {
    pub(crate) accepted: AtomicU64,
    pub(crate) paused_full: AtomicU64,
    pub(crate) paused_exhausted: AtomicU64,
    pub(crate) over_client_limit: AtomicU64,
    /// The handshake pool's counters.
    #[cfg(feature = "tls")]
    pub(crate) tls: TlsStats,
}

/// The acceptor's counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptSnapshot {
    /// Connections accepted from the listeners.
    pub accepted: u64,
    /// Times accepting paused because every worker was at its connection limit.
    pub paused_full: u64,
    /// Times accepting paused because the process or system ran out of descriptors or
    /// memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).
    pub paused_exhausted: u64,
    /// Connections closed as they were accepted: their address held
    /// `max_connections_per_ip` already.
    pub over_client_limit: u64,
    /// TLS handshakes.
    #[cfg(feature = "tls")]
    pub tls: TlsSnapshot,
}

impl AcceptStats {
    /// Reads the counters.
    pub fn snapshot(&self) -> AcceptSnapshot {
        AcceptSnapshot {
            accepted: self.accepted.load(Ordering::Relaxed),
            paused_full: self.paused_full.load(Ordering::Relaxed),
            paused_exhausted: self.paused_exhausted.load(Ordering::Relaxed),
            over_client_limit: self.over_client_limit.load(Ordering::Relaxed),
            #[cfg(feature = "tls")]
            tls: self.tls.snapshot(),
        }
    }
}

/// Single-writer increment.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}
