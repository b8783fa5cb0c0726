//! What a hub with a broker shares with its three threads (publisher, feed, copier):
//! the bounded queues to them, whether the broker is up, its counters, and the pacing of
//! reconnections.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::answer::responder::Responder;
use crate::broadcast::broker::Broker;
use crate::broadcast::config::{EventId, PublishError};

/// Publishes waiting for the publisher thread; past it a publish is refused at once (503).
pub(crate) const PUBLISH_QUEUE: usize = 4096;
/// Subscriptions waiting for the copier thread (topics it must fetch first).
pub(crate) const JOIN_QUEUE: usize = 1024;
/// A publish not taken by the broker within this is refused (the bound: 1 s).
pub(crate) const PUBLISH_DEADLINE: Duration = Duration::from_millis(900);
/// The longest pause between two attempts to reach the broker.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What the hub's side holds of its broker.
pub(crate) struct Link {
    pub(crate) broker: Arc<dyn Broker>,
    /// The feed is subscribed and the copies are up to date: subscriptions are served.
    pub(crate) up: AtomicBool,
    /// Every handle of the hub is gone: the threads end.
    pub(crate) closed: AtomicBool,
    pub(crate) reconnects: AtomicU64,
    pub(crate) publish_errors: AtomicU64,
    pub(crate) backfilled: AtomicU64,
    pub(crate) publish: Sender<Publish>,
    pub(crate) joins: Sender<Join>,
}

/// Called once with a publish's outcome, on the publisher thread (or the caller's, when
/// it fails before being queued).
pub(crate) type Done = Box<dyn FnOnce(Result<EventId, PublishError>) + Send>;

/// A publish for the publisher thread.
pub(crate) struct Publish {
    pub(crate) topic: Box<str>,
    pub(crate) kind: Option<Box<str>>,
    pub(crate) data: Box<str>,
    pub(crate) queued: Instant,
    pub(crate) done: Done,
}

/// A subscription the copier thread completes: it fetches the topic from the broker,
/// then answers through the responder (the subscription, or 503).
pub(crate) struct Join {
    pub(crate) topic: Box<str>,
    pub(crate) last: Option<EventId>,
    pub(crate) responder: Responder,
}

/// A broker's counters, as [`BroadcastStats::broker`](crate::BroadcastStats::broker) gives them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerStats {
    /// Subscribed to the broker's feed, and every topic's copy up to date.
    pub up: bool,
    /// Times the feed was made again after it broke (or was found wedged).
    pub reconnects: u64,
    /// Publishes refused because the broker was unreachable or slow.
    pub publish_errors: u64,
    /// Events fetched from the broker to fill a gap (after a reconnection, or one seen
    /// in the feed).
    pub backfilled: u64,
}

impl Link {
    pub(crate) fn stats(&self) -> BrokerStats {
        BrokerStats {
            up: self.up.load(Ordering::SeqCst),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            publish_errors: self.publish_errors.load(Ordering::Relaxed),
            backfilled: self.backfilled.load(Ordering::Relaxed),
        }
    }

    /// A publish refused for `reason`: counted, and answered 503 with `Retry-After: 1`.
    pub(crate) fn refuse(&self, done: Done, reason: String) {
        self.publish_errors.fetch_add(1, Ordering::Relaxed);
        done(Err(PublishError::Unavailable {
            reason,
            retry_after: Duration::from_secs(1),
        }));
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("broker", &self.broker)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Pauses between attempts to reach the broker: 100 ms doubling to [`MAX_BACKOFF`], each
/// with jitter (between half and all of it), so that servers that lost the broker
/// together do not come back in step.
#[derive(Debug)]
pub(crate) struct Backoff {
    attempt: u32,
    seed: u64,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            attempt: 0,
            seed: RandomState::new().hash_one(Instant::now()) | 1,
        }
    }

    /// The pause before the next attempt.
    pub(crate) fn next(&mut self) -> Duration {
        let full = (Duration::from_millis(100) * (1 << self.attempt.min(5))).min(MAX_BACKOFF);
        self.attempt += 1;
        // xorshift64: jitter needs no more.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let half = full / 2;
        half + half.mul_f64((self.seed % 1000) as f64 / 1000.0)
    }

    /// It worked: the next failure starts again from the shortest pause.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Logs an outage once, at warn, when it begins, and once, at info, when it ends: never
/// per event.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    since: Option<(Instant, u64)>,
}

impl Outage {
    /// A failure of `what`: the first of an outage is logged.
    pub(crate) fn failed(&mut self, what: &str, error: &dyn fmt::Display) {
        match &mut self.since {
            Some((_, count)) => *count += 1,
            None => {
                log::warn!("broker: {what} failed: {error}; retrying (logged once per outage)");
                self.since = Some((Instant::now(), 1));
            }
        }
    }

    /// `what` works again: the end of an outage, if one was under way, is logged.
    pub(crate) fn recovered(&mut self, what: &str) {
        if let Some((since, count)) = self.since.take() {
            log::info!(
                "broker: {what} works again after {:.1?} ({count} failures)",
                since.elapsed()
            );
        }
    }
}

/// A fresh random number (probe nonces, epochs).
pub(crate) fn random() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    RandomState::new().hash_one((Instant::now(), COUNTER.fetch_add(1, Ordering::Relaxed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter_and_starts_again_after_a_success() {
        let mut backoff = Backoff::new();
        let pauses: Vec<Duration> = (0..10).map(|_| backoff.next()).collect();
        assert!(pauses[0] >= Duration::from_millis(50) && pauses[0] <= Duration::from_millis(100));
        assert!(pauses.iter().all(|p| *p <= MAX_BACKOFF), "{pauses:?}");
        assert!(pauses[9] >= MAX_BACKOFF / 2, "{pauses:?}");
        backoff.reset();
        assert!(backoff.next() <= Duration::from_millis(100));
    }
}
