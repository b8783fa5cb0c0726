//! Worker threads, each running one reactor.

use std::fmt;
use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use warden_reactor::{Config, Handler, Inbox, Reactor, SlotSignal, Stats};

/// A running worker thread (`warden-worker-{id}`) and the ways to reach its reactor.
pub struct Worker {
    id: usize,
    inbox: Inbox,
    stats: Arc<Stats>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Worker {
    /// Starts worker `id`. `factory` runs on the new thread and builds the handler there,
    /// so a handler may own per-worker state that is neither `Send` nor `Sync`.
    ///
    /// # Errors
    ///
    /// Fails if the thread cannot be spawned, the reactor cannot be created (out of file
    /// descriptors, invalid configuration), or the factory panics.
    pub fn spawn<H, F>(
        id: usize,
        config: Config,
        factory: F,
        signal: Option<Arc<SlotSignal>>,
    ) -> io::Result<Worker>
    where
        H: Handler,
        F: FnOnce() -> H + Send + 'static,
    {
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let thread = thread::Builder::new()
            .name(format!("warden-worker-{id}"))
            .spawn(move || {
                let (mut reactor, inbox) = match Reactor::new(config, factory()) {
                    Ok(pair) => pair,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(());
                    }
                };
                if let Some(signal) = signal {
                    reactor.set_slot_signal(signal);
                }
                let _ = ready_tx.send(Ok((inbox, reactor.stats())));
                drop(ready_tx);
                log::debug!("worker {id}: serving");
                let result = reactor.run();
                log::debug!("worker {id}: stopped");
                result
            })?;
        match ready_rx.recv() {
            Ok(Ok((inbox, stats))) => Ok(Worker {
                id,
                inbox,
                stats,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(io::Error::other(format!(
                    "worker {id}: the handler factory panicked"
                )))
            }
        }
    }

    /// The worker's id.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Where to send it sockets.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Its reactor's counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Asks the reactor to drain and stop within `grace`.
    pub fn shutdown(&self, grace: Duration) {
        self.inbox.shutdown(grace);
    }

    /// Waits for the thread to exit.
    ///
    /// # Errors
    ///
    /// The poll error that ended the reactor, or `Other` if the thread panicked.
    pub fn join(mut self) -> io::Result<()> {
        let id = self.id;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other(format!("worker {id} panicked"))),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("stats", &self.stats.snapshot())
            .finish()
    }
}
