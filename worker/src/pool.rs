//! The worker pool: acceptor, workers and their supervisor, started together.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use warden_reactor::{Config, Failure, Handler, StatsSnapshot};

use crate::acceptor::{Acceptor, AcceptorConfig};
use crate::blocking::{BlockingConfig, BlockingPool, BlockingStats};
use crate::counters::{AcceptSnapshot, AcceptStats};
use crate::event::Event;
use crate::monitor::Monitor;
use crate::registry::Registry;
use crate::report::{FailureStats, Policies, Reports};
use crate::stop::Stop;
use crate::supervisor::{Intensity, Settings, Supervision, Wiring};
use crate::unix::Listener;

/// Settings of a worker pool.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Worker threads.
    pub workers: usize,
    /// Each worker's reactor settings.
    pub reactor: Config,
    /// Connections a worker holds before the acceptor stops giving it more.
    pub max_connections_per_worker: usize,
    /// How long a handler may run before the watchdog reports it `Hung`; `None` turns the
    /// watchdog off.
    pub handler_deadline: Option<Duration>,
    /// Restart intensity: more than this many restarts within `restart_period` stop the
    /// server.
    pub max_restarts: usize,
    /// See `max_restarts`.
    pub restart_period: Duration,
    /// The grace period of a shutdown the server starts itself.
    pub shutdown_grace: Duration,
    /// Room in the error channel; reports beyond it are dropped and counted.
    pub failure_channel: usize,
    /// The blocking pool shared by the workers, for `Request::blocking`. Its `timeout`
    /// becomes each reactor's `blocking_timeout`.
    pub blocking: BlockingConfig,
    /// Recycling (gunicorn's `max_requests` with jitter): a worker is replaced after this
    /// many requests, plus a different number up to the second, so that workers started
    /// together are not replaced together. `None` (the default): never.
    pub max_requests_per_worker: Option<(u64, u64)>,
    /// A handler running on an event loop longer than this is a loop stall: counted,
    /// logged once per route per minute, and new connections avoid its worker meanwhile.
    /// `None` turns stall detection off. Default 20 ms.
    pub stall_threshold: Option<Duration>,
    /// The TLS config of each listener that speaks TLS, by listener index (a missing
    /// entry, or `None`, is a plain listener).
    #[cfg(feature = "tls")]
    pub tls: Vec<Option<crate::TlsConfig>>,
    /// The handshake pool of the TLS listeners.
    #[cfg(feature = "tls")]
    pub handshakes: crate::HandshakeConfig,
}

impl Default for PoolConfig {
    fn default() -> PoolConfig {
        PoolConfig {
            workers: thread::available_parallelism().map_or(1, usize::from),
            reactor: Config::default(),
            max_connections_per_worker: 25_000,
            handler_deadline: Some(Duration::from_secs(30)),
            max_restarts: 10,
            restart_period: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
            failure_channel: 1024,
            blocking: BlockingConfig::default(),
            stall_threshold: Some(Duration::from_millis(20)),
            max_requests_per_worker: None,
            #[cfg(feature = "tls")]
            tls: Vec::new(),
            #[cfg(feature = "tls")]
            handshakes: crate::HandshakeConfig::default(),
        }
    }
}

/// Why a pool could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The acceptor's poll or thread could not be created.
    Acceptor(io::Error),
    /// A worker could not start (its factory panicked, or its loop could not be made).
    Worker(Box<Failure>),
    /// The supervisor thread could not be spawned.
    Supervisor(io::Error),
    /// The blocking pool's threads could not be spawned.
    Blocking(io::Error),
    /// The monitor thread could not be spawned.
    Monitor(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Acceptor(e) => write!(f, "cannot start the acceptor: {e}"),
            StartError::Worker(failure) => write!(
                f,
                "cannot start worker {}: {}",
                failure.worker, failure.message
            ),
            StartError::Supervisor(e) => write!(f, "cannot start the supervisor: {e}"),
            StartError::Blocking(e) => write!(f, "cannot start the blocking pool: {e}"),
            StartError::Monitor(e) => write!(f, "cannot start the monitor: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Acceptor(e)
            | StartError::Supervisor(e)
            | StartError::Blocking(e)
            | StartError::Monitor(e) => Some(e),
            StartError::Worker(_) => None,
        }
    }
}

/// One worker's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// The worker's id (a restarted worker keeps its id).
    pub id: usize,
    /// Its reactor's counters since it (re)started.
    pub counters: StatsSnapshot,
    /// Sockets handed to it that it has not taken yet.
    pub queued: usize,
    /// A handler has been running on its loop past the stall threshold: new connections
    /// go to other workers while one has room.
    pub stalled: bool,
}

/// A pool's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections accepted, by current and past workers.
    pub accepted: u64,
    /// Connections open now.
    pub active_connections: u64,
    /// Requests answered, by current and past workers.
    pub requests: u64,
    /// The current workers.
    pub workers: Vec<WorkerStats>,
    /// Failures and what supervision did about them.
    pub failures: FailureStats,
    /// The blocking pool.
    pub blocking: BlockingStats,
    /// Every worker's counters summed, past workers' included (their open-connection and
    /// awaited-answer gauges excepted).
    pub http: StatsSnapshot,
    /// Handlers running on a loop right now.
    pub handlers_running: u64,
    /// The acceptor's counters.
    pub accept: AcceptSnapshot,
}

/// A running pool: an acceptor thread, worker threads, and the supervisor thread that
/// keeps them going.
pub struct WorkerPool {
    events: Sender<Event>,
    reports: Arc<Reports>,
    registry: Arc<Mutex<Registry>>,
    blocking: Arc<BlockingPool>,
    accept: Arc<AcceptStats>,
    addrs: Vec<SocketAddr>,
    thread: Mutex<Option<JoinHandle<Stop>>>,
}

impl WorkerPool {
    /// Starts `config.workers` workers with handlers from `factory(worker_id)` (called on
    /// each worker's thread when it starts, and again whenever it is restarted), an
    /// acceptor over `listeners` (index in this list = listener id for `policies`), and
    /// the supervisor.
    ///
    /// # Errors
    ///
    /// [`StartError`] if any thread, poll or first handler cannot be made; whatever did
    /// start is stopped again.
    pub fn start<H, F>(
        listeners: Vec<Listener>,
        mut config: PoolConfig,
        policies: Policies,
        factory: F,
    ) -> Result<WorkerPool, StartError>
    where
        H: Handler,
        F: Fn(usize) -> H + Send + Sync + 'static,
    {
        warden_reactor::install_panic_hook();
        let prepared = Acceptor::prepare(
            listeners,
            AcceptorConfig {
                max_connections_per_worker: config.max_connections_per_worker,
                client_limit: config.reactor.max_connections_per_ip.clone(),
                proxy_protocol: config.reactor.proxy_protocol.clone(),
            },
        )
        .map_err(StartError::Acceptor)?;
        let addrs = prepared.local_addrs().map_err(StartError::Acceptor)?;
        let accept = prepared.stats();
        let reports = Arc::new(Reports::new(config.failure_channel));
        let channel = crossbeam_channel::unbounded();
        let prepared = {
            let (reports, events) = (Arc::clone(&reports), channel.0.clone());
            // The server frame: each failure of the acceptor is reported; when it gives
            // up, the server stops with the reason.
            prepared.on_failure(move |failure, fatal| {
                if fatal {
                    let _ = events.send(Event::AcceptorFailed(Box::new(failure.clone())));
                }
                reports.publish(failure);
            })
        };
        #[cfg(feature = "tls")]
        let prepared = {
            // A failed certificate reload is reported like every other failure.
            for tls in config.tls.iter().flatten() {
                let reports = Arc::clone(&reports);
                tls.report_to(move |failure| reports.publish(failure));
            }
            prepared.with_tls(config.tls.clone(), config.handshakes)
        };
        let registry = Arc::new(Mutex::new(Registry::default()));
        // The reactors enforce the deadlines of deferred answers and blocking jobs.
        config.reactor.handler_deadline = config.handler_deadline;
        config.reactor.blocking_timeout = config.blocking.timeout;
        let blocking = Arc::new(
            BlockingPool::start(config.blocking.clone(), Arc::clone(&reports))
                .map_err(StartError::Blocking)?,
        );
        let monitor = Monitor::start(
            config.stall_threshold,
            Arc::clone(&registry),
            Arc::clone(&blocking),
            Arc::clone(&reports),
        )
        .map_err(StartError::Monitor)?;
        let events = channel.0.clone();
        let mut supervision = Supervision::new(
            Settings {
                config: config.reactor.clone(),
                handler_deadline: config.handler_deadline,
                grace: config.shutdown_grace,
                max_requests: config.max_requests_per_worker,
            },
            Arc::new(factory),
            prepared.signal(),
            Wiring {
                policies: Arc::new(policies),
                reports: Arc::clone(&reports),
                registry: Arc::clone(&registry),
                blocking: Arc::clone(&blocking),
                monitor,
            },
            channel,
            Intensity::new(config.max_restarts, config.restart_period),
        );
        let mut slots = Vec::with_capacity(config.workers);
        for id in 0..config.workers {
            // The first handlers are waited for: a factory that fails fails the start.
            let factory_wait = config.handler_deadline.or(Some(Duration::from_secs(30)));
            match supervision.spawn_worker(id, 0, factory_wait) {
                Ok(worker) => {
                    slots.push(worker.slot());
                    supervision.adopt_worker(worker);
                }
                Err(failure) => {
                    drop(supervision); // its workers stop as their inboxes close
                    return Err(StartError::Worker(failure));
                }
            }
        }
        let acceptor = prepared.start(slots).map_err(StartError::Acceptor)?;
        supervision.set_acceptor(acceptor);
        let thread = thread::Builder::new()
            .name("warden-supervisor".to_owned())
            .spawn(move || supervision.run())
            .map_err(StartError::Supervisor)?;
        Ok(WorkerPool {
            events,
            reports,
            registry,
            blocking,
            accept,
            addrs,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The addresses the listeners are bound to.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Starts a graceful shutdown: stop accepting, close idle connections, answer what
    /// was received, and after `grace` close the rest.
    pub fn shutdown(&self, grace: Duration) {
        let _ = self.events.send(Event::Shutdown {
            grace: Some(grace),
            reason: None,
        });
    }

    /// A receiver of failures from now on: each failure goes to one receiver, in turn.
    /// While a receiver exists, failures are no longer logged at error level; once every
    /// receiver is dropped they are logged again.
    pub fn failures(&self) -> Receiver<Failure> {
        self.reports.subscribe()
    }

    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        pool_stats(&self.registry, &self.reports, &self.blocking, &self.accept)
    }

    /// A way to read the pool's counters that does not keep the pool: for a route served
    /// by the pool's own workers, where holding the pool (and so, maybe, being the last to
    /// drop it and join its threads) would make a worker wait for itself.
    pub fn stats_view(&self) -> StatsView {
        StatsView {
            registry: Arc::downgrade(&self.registry),
            reports: Arc::downgrade(&self.reports),
            blocking: Arc::downgrade(&self.blocking),
            accept: Arc::downgrade(&self.accept),
        }
    }

    /// Waits until the pool has stopped, and says why. `None` if another caller has
    /// already joined it.
    pub fn join(&self) -> Option<Stop> {
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        Some(thread.join().unwrap_or(Stop::SupervisorPanicked))
    }
}

impl fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("addrs", &self.addrs)
            .finish()
    }
}

/// The counters of a pool, from its parts.
fn pool_stats(
    registry: &Mutex<Registry>,
    reports: &Reports,
    blocking: &BlockingPool,
    accept: &AcceptStats,
) -> PoolStats {
    let registry = registry.lock().unwrap_or_else(|p| p.into_inner());
    let workers: Vec<WorkerStats> = registry
        .current()
        .iter()
        .map(|e| WorkerStats {
            id: e.id,
            counters: e.stats.snapshot(),
            queued: e.inbox.len(),
            stalled: e.busy.is_stalled(),
        })
        .collect();
    let mut http = registry.retired;
    for w in &workers {
        http.add(&w.counters);
    }
    let handlers_running = registry
        .current()
        .iter()
        .filter(|e| e.activity.is_running())
        .count() as u64;
    PoolStats {
        accepted: http.accepted,
        active_connections: http.active_connections,
        requests: http.requests,
        workers,
        failures: reports.counters.snapshot(),
        blocking: blocking.stats(),
        http,
        handlers_running,
        accept: accept.snapshot(),
    }
}

/// Reads a pool's counters without keeping the pool (see [`WorkerPool::stats_view`]).
#[derive(Clone, Debug)]
pub struct StatsView {
    registry: Weak<Mutex<Registry>>,
    reports: Weak<Reports>,
    blocking: Weak<BlockingPool>,
    accept: Weak<AcceptStats>,
}

impl StatsView {
    /// The pool's counters; `None` once the pool is gone.
    pub fn stats(&self) -> Option<PoolStats> {
        let (registry, reports) = (self.registry.upgrade()?, self.reports.upgrade()?);
        let (blocking, accept) = (self.blocking.upgrade()?, self.accept.upgrade()?);
        Some(pool_stats(&registry, &reports, &blocking, &accept))
    }
}
