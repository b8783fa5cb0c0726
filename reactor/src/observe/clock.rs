//! The loop's clock for request and handler durations: as few clock reads as a batch of
//! pipelined requests allows.
//!
//! A handler's start is the previous handler's end when nothing but parsing and encoding
//! happened in between (requests pipelined in one read): one clock read per request
//! instead of two. Any I/O, or a move to another connection, breaks that chain, and the
//! next handler's start is read afresh. Times are nanoseconds from the reactor's start, so
//! durations are integer subtractions.

use std::time::Instant;

/// A reactor's clock for durations.
#[derive(Debug)]
pub(crate) struct Clock {
    epoch: Instant,
    /// When the current loop turn began.
    turn: u64,
    /// The end of the last handler, while only CPU work on the same connection followed.
    stamp: Option<u64>,
}

impl Clock {
    pub(crate) fn new(epoch: Instant) -> Clock {
        Clock {
            epoch,
            turn: 0,
            stamp: None,
        }
    }

    /// A loop turn begins at `now` (read once for the whole turn).
    pub(crate) fn start_turn(&mut self, now: Instant) {
        self.turn = self.nanos(now);
        self.stamp = None;
    }

    /// I/O happened, or another connection is driven: the next handler reads the clock.
    #[inline]
    pub(crate) fn interrupt(&mut self) {
        self.stamp = None;
    }

    /// A handler is about to run.
    #[inline]
    pub(crate) fn entered(&mut self) -> u64 {
        match self.stamp {
            Some(t) => t,
            None => self.nanos(Instant::now()),
        }
    }

    /// A handler returned.
    #[inline]
    pub(crate) fn returned(&mut self) -> u64 {
        let t = self.nanos(Instant::now());
        self.stamp = Some(t);
        t
    }

    /// Nanoseconds from the start of the turn to `t`.
    #[inline]
    pub(crate) fn since_turn(&self, t: u64) -> u64 {
        t.saturating_sub(self.turn)
    }

    fn nanos(&self, t: Instant) -> u64 {
        crate::observe::stats::nanos(t.saturating_duration_since(self.epoch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_reads_the_clock_once_per_handler_until_interrupted() {
        let mut clock = Clock::new(Instant::now());
        clock.start_turn(Instant::now());
        let first = clock.entered();
        let end = clock.returned();
        assert!(end >= first);
        // Pipelined: the next handler starts where the last ended.
        assert_eq!(clock.entered(), end);
        clock.interrupt();
        assert!(clock.entered() >= end);
        assert!(clock.since_turn(end) <= end);
    }
}
