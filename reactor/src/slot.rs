//! Telling a paused acceptor that a connection slot was freed.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use mio::Waker;

/// Wakes an acceptor that stopped accepting because every worker was full, as soon as any
/// reactor closes a connection. While nobody waits, a close costs one atomic load.
///
/// The acceptor calls [`SlotSignal::arm`] *before* it checks the workers' load one last
/// time and goes to sleep; a reactor that closes a connection after that check sees the
/// flag and wakes it, and one that closed before it is seen by the check. Both sides use
/// `SeqCst` so that the flag store and the load check cannot pass each other.
pub struct SlotSignal {
    waiting: AtomicBool,
    waker: Waker,
}

impl SlotSignal {
    /// A signal that wakes `waker`'s poll.
    pub fn new(waker: Waker) -> SlotSignal {
        SlotSignal {
            waiting: AtomicBool::new(false),
            waker,
        }
    }

    /// The acceptor is about to wait for a free slot.
    pub fn arm(&self) {
        self.waiting.store(true, Ordering::SeqCst);
    }

    /// The acceptor no longer waits.
    pub fn disarm(&self) {
        self.waiting.store(false, Ordering::SeqCst);
    }

    /// Called by a reactor after it closes a connection.
    pub(crate) fn slot_freed(&self) {
        if self.waiting.load(Ordering::SeqCst) && self.waiting.swap(false, Ordering::SeqCst) {
            self.wake();
        }
    }

    /// Wakes the waiting poll unconditionally.
    pub fn wake(&self) {
        if let Err(e) = self.waker.wake() {
            log::warn!("waking the acceptor failed: {e}");
        }
    }
}

impl fmt::Debug for SlotSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlotSignal")
            .field("waiting", &self.waiting.load(Ordering::Relaxed))
            .finish()
    }
}
