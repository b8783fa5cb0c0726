//! The monitor thread (`warden-monitor`): every few milliseconds it looks at what each
//! worker's handler is doing and at the blocking pool's threads.
//!
//! - A handler running on a loop past the stall threshold (default 20 ms) stalls every
//!   other connection of its worker. The monitor flags that worker so the acceptor sends
//!   new connections elsewhere, and when the handler returns it counts the stall and logs
//!   it, once per route per minute, with the route and how long it took.
//! - A blocking-pool thread still running a job past its deadline is counted lost and
//!   replaced ([`BlockingPool::check`]).
//!
//! Sampling costs the hot path nothing: the loops already publish their handler counter
//! for the watchdog ([`Activity`]). The price is precision: a stall is seen to within
//! one tick (a quarter of the threshold), and one shorter than the threshold plus a tick
//! may go unseen.

use std::collections::HashMap;

use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use warden_reactor::{Activity, InFlight};

use crate::blocking::BlockingPool;
use crate::busy::Busy;
use crate::registry::Registry;
use crate::report::Reports;

/// A route's stall is logged at most once per this interval (each one is counted).
const STALL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Routes remembered for the log's rate limit; past it the memory starts over.
const STALL_ROUTES: usize = 1024;

/// What the monitor last saw of one worker's handler.
struct Watch {
    activity: Arc<Activity>,
    busy: Arc<Busy>,
    worker: usize,
    counter: u64,
    since: Instant,
    /// The request seen running past the threshold.
    stalled: Option<InFlight>,
}

/// The running monitor thread; it stops when this is dropped.
pub(crate) struct Monitor {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Monitor {
    /// Starts the thread. `threshold`: a handler running on a loop longer is a stall;
    /// `None` turns stall detection off.
    pub(crate) fn start(
        threshold: Option<Duration>,
        registry: Arc<Mutex<Registry>>,
        pool: Arc<BlockingPool>,
        reports: Arc<Reports>,
    ) -> std::io::Result<Monitor> {
        let (stop, stopped) = crossbeam_channel::bounded(0);
        let tick = threshold.map_or(Duration::from_millis(10), |t| {
            (t / 4).clamp(Duration::from_millis(1), Duration::from_millis(10))
        });
        let mut rounds = Rounds {
            threshold,
            registry,
            pool,
            reports,
            watches: Vec::new(),
            logged: HashMap::new(),
        };
        let thread = thread::Builder::new()
            .name("warden-monitor".to_owned())
            .spawn(move || rounds.run(&stopped, tick))?;
        Ok(Monitor {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("the monitor thread panicked");
        }
    }
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").finish_non_exhaustive()
    }
}

/// The monitor thread's state.
struct Rounds {
    threshold: Option<Duration>,
    registry: Arc<Mutex<Registry>>,
    pool: Arc<BlockingPool>,
    reports: Arc<Reports>,
    watches: Vec<Watch>,
    /// When each route's stall was last logged.
    logged: HashMap<String, Instant>,
}

impl Rounds {
    fn run(&mut self, stopped: &Receiver<()>, tick: Duration) {
        loop {
            match stopped.recv_timeout(tick) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            self.pool.check();
            if let Some(threshold) = self.threshold {
                self.watch_loops(threshold);
            }
        }
    }

    fn watch_loops(&mut self, threshold: Duration) {
        self.refresh_watches();
        let now = Instant::now();
        let mut ended = Vec::new();
        for watch in &mut self.watches {
            let counter = watch.activity.counter();
            if counter == watch.counter {
                // Odd: a handler is running, the same one as last round.
                if counter % 2 == 1
                    && watch.stalled.is_none()
                    && now.duration_since(watch.since) >= threshold
                {
                    watch.stalled = watch.activity.in_flight();
                    watch.busy.set_stalled(true);
                }
                continue;
            }
            if let Some(request) = watch.stalled.take() {
                // The flag is cleared after the stall is counted (below), so whoever sees
                // it clear sees the count.
                ended.push((
                    watch.worker,
                    request,
                    now.duration_since(watch.since),
                    Arc::clone(&watch.busy),
                ));
            }
            watch.counter = counter;
            watch.since = now;
        }
        for (worker, request, took, busy) in ended {
            self.stalled(worker, &request, took, threshold);
            busy.set_stalled(false);
        }
    }

    /// Follows the registry: new workers are watched, stopped ones forgotten.
    fn refresh_watches(&mut self) {
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        let current = registry.current();
        self.watches.retain(|w| {
            current
                .iter()
                .any(|e| Arc::ptr_eq(&e.activity, &w.activity))
        });
        for entry in current {
            if !self
                .watches
                .iter()
                .any(|w| Arc::ptr_eq(&entry.activity, &w.activity))
            {
                self.watches.push(Watch {
                    activity: Arc::clone(&entry.activity),
                    busy: Arc::clone(&entry.busy),
                    worker: entry.id,
                    counter: entry.activity.counter(),
                    since: Instant::now(),
                    stalled: None,
                });
            }
        }
    }

    fn stalled(&mut self, worker: usize, request: &InFlight, took: Duration, threshold: Duration) {
        self.reports.counters.loop_stalled();
        let route = format!("{} {}", request.method, request.path);
        let now = Instant::now();
        if self
            .logged
            .get(&route)
            .is_some_and(|at| now.duration_since(*at) < STALL_LOG_INTERVAL)
        {
            return;
        }
        if self.logged.len() >= STALL_ROUTES {
            self.logged.clear();
        }
        log::warn!(
            "worker {worker}: {route} ran on the event loop for about {} ms (stall threshold {} ms); every other connection of the worker waited meanwhile. Run slow work on the blocking pool with req.blocking(..) (logged once per route per minute; see loop_stalls)",
            took.as_millis(),
            threshold.as_millis()
        );
        self.logged.insert(route, now);
    }
}
