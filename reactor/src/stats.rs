//! Counters a reactor publishes for other threads.

use std::sync::atomic::{AtomicU64, Ordering};

/// A reactor's counters. Only the reactor's thread writes them, so it does so with plain
/// loads and stores (no read-modify-write); readers on other threads see values at most
/// one loop turn old. `Relaxed` is enough: the counters order nothing else.
#[derive(Debug, Default)]
pub struct Stats {
    accepted: AtomicU64,
    closed: AtomicU64,
    requests: AtomicU64,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Connections taken from the inbox since the reactor started.
    pub accepted: u64,
    /// Connections open now.
    pub active_connections: u64,
    /// Requests answered, error responses to malformed requests excluded.
    pub requests: u64,
}

impl Stats {
    /// Reads the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let closed = self.closed.load(Ordering::Relaxed);
        let accepted = self.accepted.load(Ordering::Relaxed);
        StatsSnapshot {
            accepted,
            active_connections: accepted.saturating_sub(closed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }

    /// Connections open now.
    pub fn active_connections(&self) -> u64 {
        self.snapshot().active_connections
    }

    /// Connections closed since the reactor started.
    pub fn closed(&self) -> u64 {
        self.closed.load(Ordering::Relaxed)
    }

    pub(crate) fn connection_opened(&self) {
        bump(&self.accepted, 1);
    }

    pub(crate) fn connection_closed(&self) {
        bump(&self.closed, 1);
    }

    pub(crate) fn requests_served(&self, n: u64) {
        bump(&self.requests, n);
    }
}

/// Single-writer increment.
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
}
