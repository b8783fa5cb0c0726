//! The supervisor thread (`warden-supervisor`): respawns crashed workers with fresh
//! handler state, enforces restart intensity, watches for hung handlers, and runs the
//! shutdown.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use warden_reactor::{
    Backlog, Config, ConnId, Failure, FailureKind, Frame, Handler, Restart, SlotSignal,
};

use crate::acceptor::Acceptor;
use crate::blocking::BlockingPool;
use crate::event::{Ending, Event, Exited};
use crate::monitor::Monitor;
use crate::registry::Registry;
use crate::report::{Policies, Reporter, Reports};
use crate::stop::Stop;
use crate::worker::{Spawn, Worker};

/// Restart intensity, as in OTP: more than `max` restarts within `period` means the
/// failures are not transient, and restarting again would only hide them.
#[derive(Debug)]
pub(crate) struct Intensity {
    max: usize,
    period: Duration,
    recent: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(max: usize, period: Duration) -> Intensity {
        Intensity {
            max,
            period,
            recent: VecDeque::new(),
        }
    }

    /// Records a restart at `now`; `false` when that makes one too many.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.period)
        {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        self.recent.len() <= self.max
    }
}

/// The supervisor's settings.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) config: Config,
    /// Recycling: a worker is replaced after this many requests, plus up to the second
    /// number more, so that workers started together are not all replaced together.
    pub(crate) max_requests: Option<(u64, u64)>,
    pub(crate) handler_deadline: Option<Duration>,
    pub(crate) grace: Duration,
}

/// What the supervisor shares with the pool's handle and the workers.
pub(crate) struct Wiring {
    pub(crate) policies: Arc<Policies>,
    pub(crate) reports: Arc<Reports>,
    pub(crate) registry: Arc<Mutex<Registry>>,
    pub(crate) blocking: Arc<BlockingPool>,
    pub(crate) monitor: Monitor,
}

/// What the watchdog last saw of one worker.
struct Watch {
    id: usize,
    generation: u64,
    counter: u64,
    since: Instant,
    reported: bool,
}

/// What the supervisor thread owns.
pub(crate) struct Supervision<F> {
    pub(crate) settings: Settings,
    pub(crate) factory: Arc<F>,
    pub(crate) acceptor: Option<Acceptor>,
    pub(crate) signal: Arc<SlotSignal>,
    /// Current workers, by id.
    pub(crate) workers: Vec<Worker>,
    /// Workers retired after a hung handler, still finishing it.
    pub(crate) retiring: Vec<Worker>,
    pub(crate) policies: Arc<Policies>,
    pub(crate) reports: Arc<Reports>,
    pub(crate) registry: Arc<Mutex<Registry>>,
    /// The blocking pool the workers' `Request::blocking` jobs run on.
    blocking: Arc<BlockingPool>,
    /// Watches loops for stalls and the pool for lost threads; stops with the supervisor.
    monitor: Option<Monitor>,
    pub(crate) events: Sender<Event>,
    pub(crate) inbox: Receiver<Event>,
    pub(crate) intensity: Intensity,
    watches: Vec<Watch>,
    /// Set once a shutdown starts: why, and when to stop waiting for workers.
    stopping: Option<(Stop, Instant)>,
}

impl<H, F> Supervision<F>
where
    H: Handler,
    F: Fn(usize) -> H + Send + Sync + 'static,
{
    pub(crate) fn new(
        settings: Settings,
        factory: Arc<F>,
        signal: Arc<SlotSignal>,
        wiring: Wiring,
        (events, inbox): (Sender<Event>, Receiver<Event>),
        intensity: Intensity,
    ) -> Supervision<F> {
        let Wiring {
            policies,
            reports,
            registry,
            blocking,
            monitor,
        } = wiring;
        Supervision {
            settings,
            factory,
            acceptor: None,
            signal,
            workers: Vec::new(),
            retiring: Vec::new(),
            policies,
            reports,
            registry,
            blocking,
            monitor: Some(monitor),
            events,
            inbox,
            intensity,
            watches: Vec::new(),
            stopping: None,
        }
    }

    /// Adds a worker started by the pool.
    pub(crate) fn adopt_worker(&mut self, worker: Worker) {
        self.register_stats(&worker);
        self.workers.push(worker);
    }

    /// Gives the supervisor the running acceptor.
    pub(crate) fn set_acceptor(&mut self, acceptor: Acceptor) {
        self.acceptor = Some(acceptor);
    }

    /// Spawns worker `id` of `generation`. `factory_wait`: how long to wait for its
    /// handler factory (at start); `None` on this thread, which never waits for
    /// application code (a factory that never returns is the watchdog's).
    pub(crate) fn spawn_worker(
        &self,
        id: usize,
        generation: u64,
        factory_wait: Option<Duration>,
    ) -> Result<Worker, Box<Failure>> {
        let factory = Arc::clone(&self.factory);
        let mut config = self.settings.config.clone();
        config.max_requests = self
            .settings
            .max_requests
            .map(|(n, jitter)| n.saturating_add(spread(id, generation, jitter)));
        Worker::spawn(Spawn {
            id,
            generation,
            config,
            factory: move || factory(id),
            signal: Arc::clone(&self.signal),
            reporter: self.reporter(id),
            events: self.events.clone(),
            offload: Some(self.blocking.offload()),
            factory_wait,
        })
    }

    fn reporter(&self, worker: usize) -> Reporter {
        Reporter {
            worker,
            policies: Arc::clone(&self.policies),
            reports: Arc::clone(&self.reports),
            events: self.events.clone(),
        }
    }

    /// The thread's body: returns why the server stopped.
    pub(crate) fn run(mut self) -> Stop {
        let tick = self
            .settings
            .handler_deadline
            .map_or(Duration::from_secs(1), |d| {
                (d / 4).clamp(Duration::from_millis(5), Duration::from_secs(1))
            });
        loop {
            if let Some((_, deadline)) = &self.stopping {
                if self.workers.is_empty() && self.retiring.is_empty() {
                    break;
                }
                if Instant::now() >= *deadline {
                    self.abandon_stragglers();
                    break;
                }
            }
            match self.inbox.recv_timeout(tick) {
                Ok(Event::Exited(exited)) => self.on_exit(exited),
                Ok(Event::AcceptorFailed(failure)) => {
                    self.begin_shutdown(Stop::AcceptorFailed(failure), self.settings.grace);
                }
                Ok(Event::Shutdown { grace, reason }) => {
                    let stop = match reason {
                        Some(failure) => Stop::Policy(failure),
                        None => Stop::Requested,
                    };
                    self.begin_shutdown(stop, grace.unwrap_or(self.settings.grace));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    unreachable!("the supervisor holds a sender of its own channel")
                }
            }
            self.watch();
        }
        // Every worker is gone: no job is queued any more, nor wanted.
        drop(self.monitor.take());
        self.blocking.close();
        if let Some(acceptor) = self.acceptor.take()
            && let Err(e) = acceptor.join()
        {
            log::error!("the acceptor stopped with an error: {e}");
        }
        let (stop, _) = self
            .stopping
            .take()
            .expect("the loop ends only once stopping");
        log::info!("server stopped: {stop}");
        stop
    }

    fn on_exit(&mut self, exited: Exited) {
        // A retired worker finishing its hung handler: hand on what it leaves.
        if let Some(i) = self
            .retiring
            .iter()
            .position(|w| w.id == exited.id && w.generation == exited.generation)
        {
            let mut worker = self.retiring.swap_remove(i);
            worker.join();
            self.retire_stats(&worker);
            if let (None, Some(acceptor)) = (&self.stopping, &self.acceptor) {
                acceptor.adopt(exited.orphans);
            }
            return;
        }
        let Some(i) = self
            .workers
            .iter()
            .position(|w| w.id == exited.id && w.generation == exited.generation)
        else {
            log::warn!(
                "exit of unknown worker {} (generation {})",
                exited.id,
                exited.generation
            );
            return;
        };
        let mut worker = self.workers.remove(i);
        worker.join();
        self.retire_stats(&worker);
        if self.stopping.is_some() {
            // Shutting down: nothing is restarted; leftovers close as they drop.
            return;
        }
        match exited.ending {
            Ending::Restart => self.restart(worker.id, worker.generation + 1, Some(exited), None),
            Ending::Recycled => self.recycle(worker.id, worker.generation + 1, exited),
            Ending::Abort => {
                log::warn!("worker {} aborted; not replaced", worker.id);
                if let Some(acceptor) = &self.acceptor {
                    acceptor.remove(worker.id, Some(exited.orphans));
                }
                if self.workers.is_empty() && self.retiring.is_empty() {
                    self.begin_shutdown(Stop::AllWorkersAborted, Duration::ZERO);
                }
            }
            Ending::Drained | Ending::Retired | Ending::Shutdown => {}
        }
    }

    /// Replaces a worker that answered its share of requests: not a failure, so restart
    /// intensity does not count it; its connections (busy ones mid-request) move to the
    /// replacement. If the replacement cannot start, that is a failure like any other.
    fn recycle(&mut self, id: usize, generation: u64, exited: Exited) {
        match self.spawn_worker(id, generation, None) {
            Ok(worker) => {
                let slot = worker.slot();
                self.register_stats(&worker);
                self.workers.push(worker);
                self.reports.counters.recycled();
                if let Some(acceptor) = &self.acceptor {
                    acceptor.replace(slot, Some(exited.orphans));
                }
                log::info!("worker {id} recycled after its share of requests");
            }
            Err(failure) => {
                self.reports.publish(*failure);
                self.restart(id, generation + 1, Some(exited), None);
            }
        }
    }

    /// Starts worker `id` afresh (the factory runs again), routes to it, and gives it
    /// what the old one left. Too many restarts in the period stop the server instead.
    fn restart(
        &mut self,
        id: usize,
        mut generation: u64,
        exited: Option<Exited>,
        hung: Option<(Instant, Backlog)>,
    ) {
        let started = exited
            .as_ref()
            .map(|e| e.at)
            .or(hung.as_ref().map(|(since, _)| *since))
            .unwrap_or_else(Instant::now);
        let mut queued = hung.map(|(_, backlog)| backlog);
        let mut orphans = exited.map(|e| e.orphans);
        loop {
            if !self.intensity.allow(Instant::now()) {
                let stop = Stop::RestartIntensity {
                    max: self.intensity.max,
                    period: self.intensity.period,
                };
                log::error!("worker {id}: {stop}; stopping the server");
                self.begin_shutdown(stop, self.settings.grace);
                return;
            }
            match self.spawn_worker(id, generation, None) {
                Ok(worker) => {
                    let slot = worker.slot();
                    self.register_stats(&worker);
                    self.workers.push(worker);
                    // Counted before the acceptor routes to it, so that anyone served by
                    // the replacement sees the restart in the stats.
                    let took = started.elapsed();
                    self.reports.counters.restarted(took);
                    if let Some(acceptor) = &self.acceptor {
                        match queued.take() {
                            Some(backlog) => acceptor.replace_hung(slot, backlog),
                            None => acceptor.replace(slot, orphans.take()),
                        }
                    }
                    log::info!("worker {id} restarted in {took:?}");
                    return;
                }
                Err(failure) => {
                    // The factory or the loop could not start: that is a failure too, and
                    // counts against the intensity on the next try.
                    self.reports.publish(*failure);
                    generation += 1;
                }
            }
        }
    }

    /// The watchdog: a handler counter that stays odd (a handler running) for longer
    /// than the deadline is a hung handler.
    fn watch(&mut self) {
        let Some(deadline) = self.settings.handler_deadline else {
            return;
        };
        if self.stopping.is_some() {
            return;
        }
        let now = Instant::now();
        let workers = &self.workers;
        self.watches.retain(|w| {
            workers
                .iter()
                .any(|k| k.id == w.id && k.generation == w.generation)
        });
        let mut hung = Vec::new();
        for (i, worker) in self.workers.iter().enumerate() {
            let counter = worker.activity.counter();
            let found = self
                .watches
                .iter_mut()
                .find(|w| w.id == worker.id && w.generation == worker.generation);
            match found {
                Some(w) if w.counter == counter => {
                    if !counter.is_multiple_of(2)
                        && !w.reported
                        && now.duration_since(w.since) >= deadline
                    {
                        w.reported = true;
                        hung.push((i, w.since));
                    }
                }
                Some(w) => {
                    w.counter = counter;
                    w.since = now;
                    w.reported = false;
                }
                None => self.watches.push(Watch {
                    id: worker.id,
                    generation: worker.generation,
                    counter,
                    since: now,
                    reported: false,
                }),
            }
        }
        // Highest index first, so removing one leaves the others' indices valid.
        for (i, since) in hung.into_iter().rev() {
            self.on_hung(i, since, deadline);
        }
    }

    fn on_hung(&mut self, index: usize, since: Instant, deadline: Duration) {
        let worker = &self.workers[index];
        let running = since.elapsed();
        let mut failure = Failure::new(
            FailureKind::Hung,
            format!("handler still running after {running:?} (deadline {deadline:?})"),
        );
        match worker.activity.in_flight() {
            Some(request) if request.conn == ConnId::SETUP => {
                failure.message = format!(
                    "the handler factory has not returned after {running:?} (deadline {deadline:?})"
                );
            }
            Some(request) => {
                failure.conn = Some(request.conn);
                failure.peer = Some(request.peer);
                failure.listener = Some(request.listener);
                failure.method = Some(request.method);
                failure.path = Some(request.path);
            }
            None => {}
        }
        // The hung thread cannot run the policy; this one must not wait for it: it runs on
        // a thread of its own, bounded (see `decide_bounded`).
        let restart = decide_bounded(self.reporter(worker.id), failure);
        match restart {
            Restart::Shutdown => {} // the reporter has asked for the shutdown
            Restart::AbortWorker => {
                let worker = self.workers.remove(index);
                worker.inbox.retire();
                if let Some(acceptor) = &self.acceptor {
                    acceptor.remove_hung(worker.id, worker.backlog.clone());
                }
                self.retiring.push(worker);
                // The hung thread may never return: with no worker left to serve, stop now
                // with the reason, rather than leave a server that answers nobody.
                if self.workers.is_empty() {
                    log::error!("the last worker was aborted while hung; stopping the server");
                    self.begin_shutdown(Stop::AllWorkersAborted, Duration::ZERO);
                }
            }
            _ => {
                // Never kill the thread: stop routing to it, let its handler finish, and
                // serve from a fresh worker meanwhile.
                let worker = self.workers.remove(index);
                worker.inbox.retire();
                let (id, generation) = (worker.id, worker.generation + 1);
                let backlog = worker.backlog.clone();
                self.retiring.push(worker);
                self.restart(id, generation, None, Some((since + deadline, backlog)));
            }
        }
    }

    fn begin_shutdown(&mut self, stop: Stop, grace: Duration) {
        if self.stopping.is_some() {
            return;
        }
        log::info!("shutting down ({stop}); grace {grace:?}");
        // Past the grace the reactors close what remains themselves; the margin is for a
        // handler that never returns, whose worker cannot even notice the deadline.
        let margin = Duration::from_secs(1);
        self.stopping = Some((stop, Instant::now() + grace + margin));
        if let Some(acceptor) = &self.acceptor {
            acceptor.stop();
        }
        for worker in self.workers.iter().chain(&self.retiring) {
            worker.shutdown(grace);
        }
    }

    /// Workers that did not stop in time are stuck in a handler: their threads cannot be
    /// killed, so they are left to finish on their own, detached.
    fn abandon_stragglers(&mut self) {
        for worker in self.workers.drain(..).chain(self.retiring.drain(..)) {
            log::error!(
                "worker {} did not stop within the grace period (a handler never returned); abandoning its thread",
                worker.id
            );
        }
    }

    fn register_stats(&self, worker: &Worker) {
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        registry.add(worker.entry());
    }

    fn retire_stats(&self, worker: &Worker) {
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        registry.retire(worker.id, &worker.stats);
    }
}

/// A number in `0..=jitter` that differs between workers and between their generations
/// (and from one run to the next), without a random-number crate.
fn spread(id: usize, generation: u64, jitter: u64) -> u64 {
    if jitter == 0 {
        return 0;
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mixed = (u64::from(seed) ^ (id as u64).rotate_left(17) ^ generation.rotate_left(41))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> 11) % (jitter + 1)
}

/// How long the supervisor waits for an error policy it runs on a worker's behalf.
const POLICY_WITHIN: Duration = Duration::from_secs(1);

/// Runs the policy for `failure` on a thread of its own (`warden-policy`) and waits at
/// most [`POLICY_WITHIN`]: a policy that blocks must not freeze every restart and the
/// watchdog. Past the bound, the frame's default applies and the overrun is reported.
fn decide_bounded(reporter: Reporter, failure: Failure) -> Restart {
    let default = failure.default_restart();
    let described = failure.to_string();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let reports = Arc::clone(&reporter.reports);
    let worker = reporter.worker;
    let spawned = std::thread::Builder::new()
        .name("warden-policy".to_owned())
        .spawn(move || {
            let _ = tx.send(reporter.decide(failure));
        });
    if let Err(e) = spawned {
        log::error!(
            "cannot run the error policy on a thread of its own ({e}); applying the default"
        );
        return default;
    }
    match rx.recv_timeout(POLICY_WITHIN) {
        Ok(restart) => restart,
        Err(_) => {
            let mut overrun = Failure::new(
                FailureKind::Hung,
                format!(
                    "the error policy did not return within {POLICY_WITHIN:?} for \"{described}\"; applied the default"
                ),
            );
            overrun.worker = worker;
            overrun.frame = Frame::Server;
            reports.publish(overrun);
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intensity_counts_restarts_within_the_period() {
        let mut intensity = Intensity::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(intensity.allow(t0));
        assert!(intensity.allow(t0 + Duration::from_secs(1)));
        assert!(
            !intensity.allow(t0 + Duration::from_secs(2)),
            "a third within 10 s"
        );
        // Long after, the old ones no longer count.
        let later = t0 + Duration::from_secs(60);
        assert!(intensity.allow(later));
        assert!(intensity.allow(later + Duration::from_secs(1)));
    }
}
