//! `ServerHandle`: addresses, stats, shutdown and wait.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use warden_reactor::StatsSnapshot;
use warden_worker::{Acceptor, Worker};

use crate::error::Error;

/// A running server. Clones refer to the same server; when the last one is dropped the
/// server shuts down with its configured grace period, so keep one for as long as it
/// should serve.
#[derive(Clone)]
#[must_use = "dropping the last ServerHandle shuts the server down"]
pub struct ServerHandle {
    inner: Arc<Inner>,
}

struct Inner {
    addrs: Vec<SocketAddr>,
    stats: Vec<(usize, Arc<warden_reactor::Stats>)>,
    threads: Mutex<Option<Threads>>,
    outcome: OnceLock<Result<(), Error>>,
    grace: Duration,
}

struct Threads {
    acceptor: Acceptor,
    workers: Vec<Worker>,
}

impl ServerHandle {
    pub(crate) fn new(
        addrs: Vec<SocketAddr>,
        acceptor: Acceptor,
        workers: Vec<Worker>,
        grace: Duration,
    ) -> ServerHandle {
        let stats = workers
            .iter()
            .map(|w| (w.id(), Arc::clone(w.stats())))
            .collect();
        ServerHandle {
            inner: Arc::new(Inner {
                addrs,
                stats,
                threads: Mutex::new(Some(Threads { acceptor, workers })),
                outcome: OnceLock::new(),
                grace,
            }),
        }
    }

    /// The addresses the server listens on, with the ports the OS picked for port 0.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.inner.addrs
    }

    /// Stops accepting, closes idle keep-alive connections at once, answers requests
    /// already received (with `Connection: close`), and after `grace` closes whatever
    /// remains. Returns at once; [`ServerHandle::wait`] returns when it is done.
    pub fn shutdown(&self, grace: Duration) {
        self.inner.shutdown(grace);
    }

    /// Blocks until every thread of the server has exited, after a shutdown.
    ///
    /// # Errors
    ///
    /// [`Error::Thread`] if a thread stopped with an error; every caller gets the same
    /// answer.
    pub fn wait(&self) -> Result<(), Error> {
        let threads = self
            .inner
            .threads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(threads) = threads {
            let result = join(threads);
            let _ = self.inner.outcome.set(result);
        }
        // A concurrent waiter that took the threads sets the outcome once it has joined.
        self.inner.outcome.wait().clone()
    }

    /// Counters per worker and in total.
    pub fn stats(&self) -> ServerStats {
        let workers: Vec<WorkerStats> = self
            .inner
            .stats
            .iter()
            .map(|(id, stats)| WorkerStats {
                id: *id,
                counters: stats.snapshot(),
            })
            .collect();
        let mut total = ServerStats {
            accepted: 0,
            active_connections: 0,
            requests: 0,
            workers: Vec::new(),
        };
        for w in &workers {
            total.accepted += w.counters.accepted;
            total.active_connections += w.counters.active_connections;
            total.requests += w.counters.requests;
        }
        total.workers = workers;
        total
    }
}

impl Inner {
    fn shutdown(&self, grace: Duration) {
        let guard = self
            .threads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(threads) = guard.as_ref() {
            log::info!("shutting down: grace {grace:?}");
            threads.acceptor.stop();
            for worker in &threads.workers {
                worker.shutdown(grace);
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let threads = self
            .threads
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(threads) = threads {
            threads.acceptor.stop();
            for worker in &threads.workers {
                worker.shutdown(self.grace);
            }
            if let Err(e) = join(threads) {
                log::error!("server stopped with an error: {e}");
            }
        }
    }
}

fn join(threads: Threads) -> Result<(), Error> {
    let mut first_error = None;
    if let Err(e) = threads.acceptor.join() {
        first_error.get_or_insert(Error::Thread {
            name: "warden-acceptor".to_owned(),
            source: Arc::new(e),
        });
    }
    for worker in threads.workers {
        let id = worker.id();
        if let Err(e) = worker.join() {
            first_error.get_or_insert(Error::Thread {
                name: format!("warden-worker-{id}"),
                source: Arc::new(e),
            });
        }
    }
    first_error.map_or(Ok(()), Err)
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addrs", &self.inner.addrs)
            .field("workers", &self.inner.stats.len())
            .finish()
    }
}

/// A server's counters: totals, and each worker's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections open now.
    pub active_connections: u64,
    /// Requests answered.
    pub requests: u64,
    /// Per worker.
    pub workers: Vec<WorkerStats>,
}

/// One worker's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// The worker's id.
    pub id: usize,
    /// Its counters.
    pub counters: StatsSnapshot,
}
