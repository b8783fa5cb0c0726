//! `ServerHandle`: addresses, stats, failures, shutdown and wait.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use crossbeam_channel::Receiver;
use warden_reactor::{Broadcast, Failure};
use warden_worker::{StatsView, Stop, WorkerPool};

use crate::error::Error;
use crate::metrics::{self, ServerStats};

/// A running server. Clones refer to the same server; when the last one is dropped the
/// server shuts down with its configured grace period, so keep one for as long as it
/// should serve.
///
/// A handler that needs the server (its stats, a shutdown route) holds a
/// [`WeakServerHandle`] ([`ServerHandle::downgrade`]): a `ServerHandle` inside a handler
/// would keep the server alive through the server itself, a cycle that never frees it.
#[derive(Clone)]
#[must_use = "dropping the last ServerHandle shuts the server down"]
pub struct ServerHandle {
    inner: Arc<Inner>,
}

struct Inner {
    pool: WorkerPool,
    /// The broadcast hubs whose counters the server's include.
    hubs: Vec<Broadcast>,
    /// Set when a shutdown starts: the health route answers 503.
    draining: Arc<AtomicBool>,
    outcome: OnceLock<Result<(), Error>>,
    grace: Duration,
}

impl ServerHandle {
    pub(crate) fn new(
        pool: WorkerPool,
        grace: Duration,
        draining: Arc<AtomicBool>,
        hubs: Vec<Broadcast>,
    ) -> ServerHandle {
        ServerHandle {
            inner: Arc::new(Inner {
                pool,
                hubs,
                draining,
                outcome: OnceLock::new(),
                grace,
            }),
        }
    }

    /// A handle that does not keep the server running: for handlers, which the server
    /// itself keeps alive.
    ///
    /// ```
    /// use std::sync::{Arc, OnceLock, Weak};
    /// use warden::{Request, Response, Server, WeakServerHandle};
    ///
    /// let me: Arc<OnceLock<WeakServerHandle>> = Arc::default();
    /// let slot = Arc::clone(&me);
    /// let server = Server::builder().bind("127.0.0.1:0").serve(move |_: &Request<'_>| {
    ///     match slot.get().and_then(WeakServerHandle::upgrade) {
    ///         Some(server) => Response::text(format!("{} requests", server.stats().requests)),
    ///         None => Response::status_page(503),
    ///     }
    /// })?;
    /// let _ = me.set(server.downgrade());
    /// drop(server); // the last ServerHandle: the server shuts down
    /// # Ok::<(), warden::Error>(())
    /// ```
    pub fn downgrade(&self) -> WeakServerHandle {
        WeakServerHandle {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The addresses the server listens on, with the ports the OS picked for port 0.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.inner.pool.local_addrs()
    }

    /// Stops accepting, closes idle keep-alive connections at once, answers requests
    /// already received (the last with `Connection: close`), and after `grace` closes
    /// whatever remains. Returns at once; [`ServerHandle::wait`] returns when it is done.
    pub fn shutdown(&self, grace: Duration) {
        self.inner.draining.store(true, Ordering::Relaxed);
        self.inner.pool.shutdown(grace);
    }

    /// Blocks until the server has stopped, and says why: `Ok(())` after
    /// [`ServerHandle::shutdown`], an error when the server stopped itself.
    ///
    /// # Errors
    ///
    /// [`Error::RestartIntensity`] when workers kept failing, [`Error::Shutdown`] with the
    /// failure for which a policy chose to stop, [`Error::AllWorkersAborted`]. Every
    /// caller gets the same answer.
    pub fn wait(&self) -> Result<(), Error> {
        if let Some(stop) = self.inner.pool.join() {
            let _ = self.inner.outcome.set(outcome(stop));
        }
        // A concurrent waiter that joined first sets the outcome once it has.
        self.inner.outcome.wait().clone()
    }

    /// Every failure from now on, from every frame of every worker: a bounded channel
    /// that never blocks a worker (reports that don't fit are counted in
    /// [`ServerStats::dropped_failure_reports`]). While a receiver exists, failures are no
    /// longer logged at error level; once every receiver is dropped they are logged again
    /// (the first such report counts as dropped). With several receivers, each failure
    /// goes to one of them, in turn.
    pub fn failures(&self) -> Receiver<Failure> {
        self.inner.pool.failures()
    }

    /// Counters per worker and in total.
    pub fn stats(&self) -> ServerStats {
        ServerStats::from(self.inner.pool.stats()).with_hubs(&self.inner.hubs)
    }

    /// Reads the counters without keeping the server (what the metrics route holds).
    pub(crate) fn stats_view(&self) -> StatsView {
        self.inner.pool.stats_view()
    }

    /// The server's counters in the Prometheus text exposition format (0.0.4), as the
    /// route of [`Builder::metrics_route`](crate::Builder::metrics_route) answers them:
    /// for serving them elsewhere (another listener, a push).
    ///
    /// ```
    /// let server = warden::Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .serve(|_: &warden::Request<'_>| warden::Response::text("hi"))?;
    /// let text = server.metrics();
    /// assert!(text.contains("# TYPE warden_http_requests_total counter"));
    /// assert!(text.contains("warden_http_requests_total{method=\"GET\",status_class=\"2xx\"} 0"));
    /// # Ok::<(), warden::Error>(())
    /// ```
    pub fn metrics(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        metrics::render(&self.stats(), &mut out);
        out
    }
}

/// A [`ServerHandle`] that does not keep the server running (see
/// [`ServerHandle::downgrade`]).
#[derive(Clone, Debug)]
pub struct WeakServerHandle {
    inner: Weak<Inner>,
}

impl WeakServerHandle {
    /// The server, while some [`ServerHandle`] still keeps it running.
    pub fn upgrade(&self) -> Option<ServerHandle> {
        self.inner.upgrade().map(|inner| ServerHandle { inner })
    }
}

fn outcome(stop: Stop) -> Result<(), Error> {
    match stop {
        Stop::Requested => Ok(()),
        Stop::RestartIntensity { max, period } => Err(Error::RestartIntensity { max, period }),
        Stop::Policy(failure) => Err(Error::Shutdown(failure)),
        Stop::AllWorkersAborted => Err(Error::AllWorkersAborted),
        Stop::AcceptorFailed(failure) => Err(Error::AcceptorFailed(failure)),
        _ => Err(Error::SupervisorPanicked),
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.outcome.get().is_none() {
            self.pool.shutdown(self.grace);
            if let Some(stop) = self.pool.join()
                && let Err(e) = outcome(stop)
            {
                log::error!("server stopped: {e}");
            }
        }
    }
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addrs", &self.local_addrs())
            .finish()
    }
}
