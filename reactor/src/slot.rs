//! Telling a paused acceptor that a connection slot was freed.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering, fence};

use mio::Waker;

/// Wakes an acceptor that stopped accepting because every worker was full, as soon as any
/// reactor closes a connection. While nobody waits, a close costs one atomic load.
///
/// The acceptor calls [`SlotSignal::arm`] *before* it checks the workers' load one last
/// time and goes to sleep; a reactor that closes a connection after that check sees the
/// flag and wakes it, and one that closed before it is seen by the check.
///
/// This is the store-buffer pattern: the reactor stores its closed counter then loads the
/// flag; the acceptor stores the flag then loads the counters. Without a full fence on
/// each side, each load may be served before the thread's own store is visible to the
/// other (x86 reorders a store with a later load of another location; `SeqCst` on the flag
/// alone does not order the `Relaxed` counter). Then the reactor reads "not waiting" while
/// the acceptor reads the old count, and the acceptor sleeps with a slot free. With a
/// `SeqCst` fence between the store and the load on both sides, the fences are totally
/// ordered: whichever fence comes second, its thread's load sees the other's store. So
/// either the reactor sees the flag (and wakes the acceptor), or the acceptor's check sees
/// the freed slot (and does not sleep), or both.
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

    /// The acceptor is about to wait for a free slot: call before the last check of the
    /// workers' load.
    pub fn arm(&self) {
        self.waiting.store(true, Ordering::SeqCst);
        // Orders the flag before the counter loads of the check that follows.
        fence(Ordering::SeqCst);
    }

    /// The acceptor no longer waits.
    pub fn disarm(&self) {
        self.waiting.store(false, Ordering::SeqCst);
    }

    /// Called by a reactor after it closes a connection (and counted it closed).
    pub(crate) fn slot_freed(&self) {
        // Orders the closed counter's store before the flag's load.
        fence(Ordering::SeqCst);
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, Instant};

    use mio::{Events, Poll, Token};

    use super::*;
    use crate::observe::stats::Stats;

    /// The acceptor's side of the protocol, as `acceptor.rs` runs it, against a reactor
    /// that frees a slot at the same moment, thousands of times: the acceptor must never
    /// sleep through a freed slot. (A missed wake-up would show as a poll that runs to
    /// its timeout; the rounds are otherwise instant.)
    #[test]
    fn a_slot_freed_while_the_acceptor_pauses_is_never_missed() {
        const ROUNDS: u64 = 5_000;
        let mut poll = Poll::new().expect("poll");
        let signal = Arc::new(SlotSignal::new(
            Waker::new(poll.registry(), Token(0)).expect("waker"),
        ));
        let stats = Arc::new(Stats::default());
        let barrier = Arc::new(Barrier::new(2));
        let reactor = {
            let (signal, stats, barrier) = (signal.clone(), stats.clone(), barrier.clone());
            std::thread::spawn(move || {
                for round in 0..ROUNDS {
                    barrier.wait();
                    // Vary the moment a little, around the acceptor's arm-and-check.
                    for _ in 0..(round % 7) * 20 {
                        std::hint::spin_loop();
                    }
                    stats.connection_closed(crate::observe::stats::CloseReason::Done);
                    signal.slot_freed();
                }
            })
        };
        let mut events = Events::with_capacity(8);
        for round in 0..ROUNDS {
            barrier.wait();
            // "Full" until this round's slot is freed.
            signal.arm();
            if stats.closed() > round {
                signal.disarm();
                continue;
            }
            let started = Instant::now();
            loop {
                poll.poll(&mut events, Some(Duration::from_secs(20)))
                    .expect("poll");
                if stats.closed() > round {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "round {round}: the acceptor slept through a freed slot"
                );
            }
            signal.disarm();
        }
        reactor.join().expect("reactor thread");
    }
}
