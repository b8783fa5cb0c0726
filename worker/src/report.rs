//! Failure reports: the application's policy picks the restart, then the failure goes to
//! the central error channel (or the log), and is counted.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use warden_reactor::{Failure, FailureKind, Restart, Supervisor, catch, panic_message};

use crate::event::Event;

/// An error policy: sees a failure on the thread where it happened, returns the restart.
pub type OnError = Arc<dyn Fn(&Failure) -> Restart + Send + Sync>;

/// The policies of a server: one for the whole server, and optionally one per listener
/// (index in bind order), which wins for that listener's connections.
#[derive(Clone, Default)]
pub struct Policies {
    /// The server's policy; without one, each frame's default applies.
    pub server: Option<OnError>,
    /// Per-listener policies.
    pub listeners: Vec<Option<OnError>>,
}

impl Policies {
    fn for_listener(&self, listener: Option<usize>) -> Option<&OnError> {
        listener
            .and_then(|l| self.listeners.get(l))
            .and_then(Option::as_ref)
            .or(self.server.as_ref())
    }
}

impl fmt::Debug for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policies")
            .field("server", &self.server.is_some())
            .field(
                "listeners",
                &self
                    .listeners
                    .iter()
                    .map(Option::is_some)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Counters of failures, by kind, and of what supervision did about them.
#[derive(Debug, Default)]
pub struct FailureCounters {
    by_kind: [AtomicU64; FailureKind::ALL.len()],
    dropped: AtomicU64,
    restarts: AtomicU64,
    last_restart_micros: AtomicU64,
    loop_stalls: AtomicU64,
    recycles: AtomicU64,
    restarts_for: [AtomicU64; FailureKind::ALL.len()],
}

/// The failure counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailureStats {
    /// Failures per kind, indexed like [`FailureKind::ALL`].
    pub by_kind: [u64; FailureKind::ALL.len()],
    /// Reports the error channel had no room for.
    pub dropped_reports: u64,
    /// Workers replaced after a crash, a restart policy or a hung handler.
    pub worker_restarts: u64,
    /// How long the last replacement took, from the failure to the new worker serving.
    pub last_restart: Duration,
    /// Handlers that ran on an event loop past the stall threshold.
    pub loop_stalls: u64,
    /// Workers replaced after their share of requests (recycling; not failures).
    pub worker_recycles: u64,
    /// Worker restarts chosen, by the kind of the failure that chose them, indexed like
    /// [`FailureKind::ALL`].
    pub restarts_for: [u64; FailureKind::ALL.len()],
}

impl FailureStats {
    /// Failures of `kind`.
    pub fn count(&self, kind: FailureKind) -> u64 {
        self.by_kind[kind.index()]
    }
}

impl FailureCounters {
    fn count(&self, kind: FailureKind) {
        self.by_kind[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn restarted(&self, took: Duration) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
        self.last_restart_micros.store(
            u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn recycled(&self) {
        self.recycles.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn loop_stalled(&self) {
        self.loop_stalls.fetch_add(1, Ordering::Relaxed);
    }

    /// Reads the counters.
    pub fn snapshot(&self) -> FailureStats {
        FailureStats {
            by_kind: std::array::from_fn(|i| self.by_kind[i].load(Ordering::Relaxed)),
            dropped_reports: self.dropped.load(Ordering::Relaxed),
            worker_restarts: self.restarts.load(Ordering::Relaxed),
            last_restart: Duration::from_micros(self.last_restart_micros.load(Ordering::Relaxed)),
            loop_stalls: self.loop_stalls.load(Ordering::Relaxed),
            worker_recycles: self.recycles.load(Ordering::Relaxed),
            restarts_for: std::array::from_fn(|i| self.restarts_for[i].load(Ordering::Relaxed)),
        }
    }
}

/// Where every failure of a server goes: counters, the bounded channels of the readers of
/// `failures()` (when there are any) or the log.
///
/// Each reader has a channel of its own, so a reader that goes away is noticed: its
/// channel disconnects. Failures go to the readers in turn, each to one; with none left,
/// they go to the log again, and the one that found them all gone is counted dropped.
#[derive(Debug)]
pub(crate) struct Reports {
    pub(crate) counters: FailureCounters,
    capacity: usize,
    /// The readers' channels. Locked only to publish a failure (never on the request
    /// path) or to subscribe.
    readers: Mutex<Readers>,
    /// Whether `readers` holds anyone: read without the lock by every publish.
    has_reader: AtomicBool,
}

#[derive(Debug, Default)]
struct Readers {
    senders: Vec<Sender<Failure>>,
    /// Who gets the next failure.
    next: usize,
}

impl Reports {
    pub(crate) fn new(capacity: usize) -> Reports {
        Reports {
            counters: FailureCounters::default(),
            capacity: capacity.max(1),
            readers: Mutex::new(Readers::default()),
            has_reader: AtomicBool::new(false),
        }
    }

    /// A receiver of failures from now on (each failure goes to one receiver). While any
    /// receiver exists, failures are no longer logged at error level: the readers own
    /// them.
    pub(crate) fn subscribe(&self) -> Receiver<Failure> {
        let (tx, rx) = crossbeam_channel::bounded(self.capacity);
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        readers.senders.push(tx);
        self.has_reader.store(true, Ordering::Release);
        rx
    }

    /// Counts `failure` and delivers it. Never blocks: a full channel drops the report
    /// and counts it.
    pub(crate) fn publish(&self, failure: Failure) {
        self.counters.count(failure.kind);
        if self.has_reader.load(Ordering::Acquire) {
            match self.deliver(failure) {
                None => return,
                Some(failure) => {
                    // Every reader has gone: the log takes over, and this one report is
                    // counted as dropped from the channel.
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    log::warn!(
                        "every reader of the failure channel has gone; failures are logged again"
                    );
                    log_failure(&failure);
                }
            }
            return;
        }
        log_failure(&failure);
    }

    /// Hands `failure` to the next reader with room; back if every reader has gone.
    fn deliver(&self, failure: Failure) -> Option<Failure> {
        log::debug!("{failure}");
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        let mut failure = failure;
        while !readers.senders.is_empty() {
            let i = readers.next % readers.senders.len();
            match readers.senders[i].try_send(failure) {
                Ok(()) => {
                    readers.next = i + 1;
                    return None;
                }
                Err(TrySendError::Full(lost)) => {
                    readers.next = i + 1;
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    log::debug!("error channel full; report dropped: {lost}");
                    return None;
                }
                Err(TrySendError::Disconnected(back)) => {
                    readers.senders.swap_remove(i);
                    failure = back;
                }
            }
        }
        self.has_reader.store(false, Ordering::Release);
        Some(failure)
    }
}

/// One line per failure; the backtrace, when captured, below it at debug level.
fn log_failure(failure: &Failure) {
    log::log!(failure.kind.log_level(), "{failure}");
    if let Some(backtrace) = &failure.backtrace {
        log::debug!("backtrace of \"{failure}\":\n{backtrace}");
    }
}

/// A worker's [`Supervisor`]: applies the policy on the failing thread, publishes the
/// failure, and starts a server shutdown when the policy asks for one.
#[derive(Clone)]
pub(crate) struct Reporter {
    pub(crate) worker: usize,
    pub(crate) policies: Arc<Policies>,
    pub(crate) reports: Arc<Reports>,
    pub(crate) events: Sender<Event>,
}

impl Reporter {
    /// Picks the restart for `failure` (stamped with this worker) and reports it.
    pub(crate) fn decide(&self, mut failure: Failure) -> Restart {
        failure.worker = self.worker;
        let default = failure.default_restart();
        let chosen = match self.policies.for_listener(failure.listener) {
            None => default,
            Some(policy) => match catch(|| policy(&failure)) {
                Ok(restart) => restart,
                Err(payload) => {
                    log::error!(
                        "on_error panicked ({}) handling \"{failure}\"; applying the default",
                        panic_message(payload.as_ref())
                    );
                    default
                }
            },
        };
        let restart = failure.frame.applicable(chosen, failure.kind);
        log::debug!("worker {}: {} -> {restart:?}", self.worker, failure.kind);
        if restart == Restart::RestartWorker {
            self.reports.counters.restarts_for[failure.kind.index()]
                .fetch_add(1, Ordering::Relaxed);
        }
        if restart == Restart::Shutdown {
            let _ = self.events.send(Event::Shutdown {
                grace: None,
                reason: Some(Box::new(failure.clone())),
            });
        }
        self.reports.publish(failure);
        restart
    }
}

impl Supervisor for Reporter {
    fn failure(&self, failure: Failure) -> Restart {
        self.decide(failure)
    }
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporter")
            .field("worker", &self.worker)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_channel_drops_and_counts() {
        let reports = Reports::new(1);
        let rx = reports.subscribe();
        reports.publish(Failure::new(FailureKind::Panic, "one"));
        reports.publish(Failure::new(FailureKind::Panic, "two"));
        let stats = reports.counters.snapshot();
        assert_eq!(stats.count(FailureKind::Panic), 2);
        assert_eq!(stats.dropped_reports, 1);
        assert_eq!(
            rx.try_recv().map(|f| f.message).ok(),
            Some("one".to_owned())
        );
    }

    #[test]
    fn readers_that_went_away_are_noticed_and_the_log_takes_over() {
        let reports = Reports::new(4);
        let first = reports.subscribe();
        let second = reports.subscribe();
        reports.publish(Failure::new(FailureKind::Panic, "one"));
        reports.publish(Failure::new(FailureKind::Panic, "two"));
        // One each, in turn.
        assert_eq!(first.try_recv().map(|f| f.message).ok(), Some("one".into()));
        assert_eq!(
            second.try_recv().map(|f| f.message).ok(),
            Some("two".into())
        );
        drop(first);
        reports.publish(Failure::new(FailureKind::Panic, "three"));
        assert_eq!(
            second.try_recv().map(|f| f.message).ok(),
            Some("three".into())
        );
        assert_eq!(reports.counters.snapshot().dropped_reports, 0);
        drop(second);
        // Nobody reads any more: logged, and counted once as dropped from the channel.
        reports.publish(Failure::new(FailureKind::Panic, "four"));
        reports.publish(Failure::new(FailureKind::Panic, "five"));
        let stats = reports.counters.snapshot();
        assert_eq!(
            (stats.dropped_reports, stats.count(FailureKind::Panic)),
            (1, 5)
        );
        assert!(!reports.has_reader.load(Ordering::Acquire));
        // A new reader gets what follows.
        let third = reports.subscribe();
        reports.publish(Failure::new(FailureKind::Panic, "six"));
        assert_eq!(third.try_recv().map(|f| f.message).ok(), Some("six".into()));
    }

    #[test]
    fn a_panicking_policy_means_the_default() {
        let (events, _rx) = crossbeam_channel::unbounded();
        let policy: OnError = Arc::new(|_| panic!("policy bug"));
        let reporter = Reporter {
            worker: 2,
            policies: Arc::new(Policies {
                server: Some(policy),
                listeners: Vec::new(),
            }),
            reports: Arc::new(Reports::new(4)),
            events,
        };
        let restart = reporter.decide(Failure::new(FailureKind::ConnectionPanic, "x"));
        assert_eq!(restart, Restart::CloseConnection);
    }

    #[test]
    fn listener_policy_wins() {
        let (events, _rx) = crossbeam_channel::unbounded();
        let server: OnError = Arc::new(|_| Restart::AbortWorker);
        let admin: OnError = Arc::new(|_| Restart::CloseConnection);
        let reporter = Reporter {
            worker: 0,
            policies: Arc::new(Policies {
                server: Some(server),
                listeners: vec![None, Some(admin)],
            }),
            reports: Arc::new(Reports::new(4)),
            events,
        };
        let mut failure = Failure::new(FailureKind::Panic, "x");
        failure.listener = Some(1);
        assert_eq!(reporter.decide(failure.clone()), Restart::CloseConnection);
        failure.listener = Some(0);
        assert_eq!(reporter.decide(failure), Restart::AbortWorker);
    }
}
