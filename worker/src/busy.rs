//! What the monitor tells the acceptor of one worker.

use std::sync::atomic::{AtomicBool, Ordering};

/// What the monitor knows of one worker: shared with the acceptor.
#[derive(Debug, Default)]
pub(crate) struct Busy {
    /// Its handler has been running past the stall threshold: route new connections to
    /// another worker while one is free.
    stalled: AtomicBool,
}

impl Busy {
    pub(crate) fn is_stalled(&self) -> bool {
        self.stalled.load(Ordering::Acquire)
    }

    /// The monitor saw its handler run past the threshold, or return.
    pub(crate) fn set_stalled(&self, stalled: bool) {
        self.stalled.store(stalled, Ordering::Release);
    }
}
