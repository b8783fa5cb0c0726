//! Worker threads, each running one reactor inside the worker frame.

use std::fmt;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use warden_reactor::{
    Activity, Backlog, Config, Exit, Failure, FailureKind, Handler, Inbox, Offload,
    PreparedReactor, Reactor, Restart, SlotSignal, Stats, catch, describe_panic, set_supervised,
};

use crate::acceptor::WorkerSlot;
use crate::busy::Busy;
use crate::event::{Ending, Event, Exited};
use crate::registry::Entry;
use crate::report::Reporter;

/// A running worker thread (`warden-worker-{id}`) and the ways to reach its reactor.
pub(crate) struct Worker {
    pub(crate) id: usize,
    /// Bumped on each restart, so an exit is matched to the worker it concerns.
    pub(crate) generation: u64,
    pub(crate) inbox: Inbox,
    pub(crate) stats: Arc<Stats>,
    pub(crate) activity: Arc<Activity>,
    /// Its inbox's queue: what to take back if its handler hangs.
    pub(crate) backlog: Backlog,
    /// What the monitor sees of it.
    pub(crate) busy: Arc<Busy>,
    pub(crate) thread: Option<JoinHandle<()>>,
}

/// Everything a worker thread needs.
pub(crate) struct Spawn<F> {
    pub(crate) id: usize,
    pub(crate) generation: u64,
    pub(crate) config: Config,
    pub(crate) factory: F,
    pub(crate) signal: Arc<SlotSignal>,
    pub(crate) reporter: Reporter,
    pub(crate) events: Sender<Event>,
    /// The blocking pool.
    pub(crate) offload: Option<Arc<dyn Offload>>,
    /// Wait this long for the handler factory (the server's first workers, whose
    /// failure fails `serve`); `None`: don't wait (a restart, on the supervisor's thread,
    /// which must never wait for application code).
    pub(crate) factory_wait: Option<Duration>,
}

/// How long starting a worker may take to make its event loop.
const READY_WITHIN: Duration = Duration::from_secs(10);

impl Worker {
    /// Starts a worker thread. The factory runs on the new thread and builds the handler
    /// there, so a handler may own per-worker state that is neither `Send` nor `Sync`.
    ///
    /// Returns once the worker's event loop exists and can be handed sockets; with
    /// `factory_wait`, once its handler exists too. Fails if the thread cannot be spawned
    /// or the loop cannot be made; with `factory_wait`, also if the factory panics or
    /// overruns it (then with a [`Failure`] saying so).
    pub(crate) fn spawn<H, F>(spawn: Spawn<F>) -> Result<Worker, Box<Failure>>
    where
        H: Handler,
        F: FnOnce() -> H + Send + 'static,
    {
        let Spawn {
            id,
            generation,
            config,
            factory,
            signal,
            reporter,
            events,
            offload,
            factory_wait,
        } = spawn;
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let (made_tx, made_rx) = crossbeam_channel::bounded::<Result<(), Failure>>(1);
        let waiting = factory_wait.is_some();
        let thread = thread::Builder::new()
            .name(format!("warden-worker-{id}"))
            .spawn(move || {
                set_supervised(true);
                // The loop's parts first: sockets can be handed to it (they wait in its
                // inbox) while the application's factory builds the handler.
                let (prepared, inbox) = match PreparedReactor::new(config) {
                    Ok(pair) => pair,
                    Err(e) => {
                        let mut failure = Failure::new(
                            FailureKind::Io,
                            format!("cannot create the event loop: {e}"),
                        );
                        failure.worker = id;
                        let _ = ready_tx.send(Err(failure));
                        return;
                    }
                };
                let activity = prepared.activity();
                let backlog = prepared.backlog(&inbox);
                let _ = ready_tx.send(Ok((inbox, prepared.stats(), activity.clone(), backlog)));
                drop(ready_tx);

                // The factory is application code: to the watchdog it runs like a
                // handler, so one that never returns is reported and replaced.
                activity.enter_setup();
                let made = catch(factory);
                activity.exit_setup();
                let handler = match made {
                    Ok(handler) => {
                        let _ = made_tx.send(Ok(()));
                        handler
                    }
                    Err(payload) => {
                        let mut failure = Failure::new(FailureKind::WorkerPanic, "");
                        describe_panic(payload.as_ref(), &mut failure);
                        failure.message =
                            format!("the handler factory panicked: {}", failure.message);
                        failure.worker = id;
                        if !waiting {
                            // A restart: nobody waits for this worker; report, and let the
                            // supervisor try again (restart intensity counts it).
                            reporter.reports.publish(failure);
                            let _ = events.send(Event::Exited(Exited {
                                id,
                                generation,
                                ending: Ending::Restart,
                                orphans: prepared.salvage(),
                                at: Instant::now(),
                            }));
                        } else {
                            let _ = made_tx.send(Err(failure));
                        }
                        return;
                    }
                };
                let mut reactor = match prepared.with_handler(handler) {
                    Ok(reactor) => reactor,
                    Err(e) => unreachable!("the settings were checked when preparing: {e}"),
                };
                reactor.set_slot_signal(signal);
                reactor.set_worker_id(id);
                reactor.set_supervisor(Box::new(reporter.clone()));
                if let Some(pool) = offload {
                    reactor.set_offload(pool);
                }
                log::debug!("worker {id}: serving (generation {generation})");

                let ending = run_in_worker_frame(&mut reactor, &reporter);
                let at = Instant::now();
                let orphans = reactor.salvage();
                log::debug!("worker {id}: stopped ({ending:?})");
                let _ = events.send(Event::Exited(Exited {
                    id,
                    generation,
                    ending,
                    orphans,
                    at,
                }));
            })
            .map_err(|e| {
                let mut failure = Failure::new(
                    FailureKind::Io,
                    format!("cannot spawn a worker thread: {e}"),
                );
                failure.worker = id;
                failure
            })?;
        // Making a poll is quick; bounded anyway, so nothing can hold the caller.
        let (inbox, stats, activity, backlog) = match ready_rx.recv_timeout(READY_WITHIN) {
            Ok(Ok(parts)) => parts,
            Ok(Err(failure)) => {
                let _ = thread.join();
                return Err(Box::new(failure));
            }
            Err(_) => {
                let mut failure = Failure::new(
                    FailureKind::WorkerPanic,
                    "the worker thread died or stalled while starting",
                );
                failure.worker = id;
                return Err(Box::new(failure));
            }
        };
        if let Some(within) = factory_wait {
            match made_rx.recv_timeout(within) {
                Ok(Ok(())) => {}
                Ok(Err(failure)) => {
                    let _ = thread.join();
                    return Err(Box::new(failure));
                }
                Err(_) => {
                    let mut failure = Failure::new(
                        FailureKind::Hung,
                        format!("the handler factory did not return within {within:?}"),
                    );
                    failure.worker = id;
                    return Err(Box::new(failure));
                }
            }
        }
        Ok(Worker {
            id,
            generation,
            inbox,
            stats,
            activity,
            backlog,
            busy: Arc::new(Busy::default()),
            thread: Some(thread),
        })
    }

    /// How the acceptor sees this worker.
    pub(crate) fn slot(&self) -> WorkerSlot {
        WorkerSlot::new(self.id, self.inbox.clone(), Arc::clone(&self.stats))
            .watched(Arc::clone(&self.busy))
    }

    /// How the registry and the monitor see this worker.
    pub(crate) fn entry(&self) -> Entry {
        Entry {
            id: self.id,
            stats: Arc::clone(&self.stats),
            inbox: self.inbox.clone(),
            activity: Arc::clone(&self.activity),
            busy: Arc::clone(&self.busy),
        }
    }

    /// Asks the reactor to drain and stop within `grace`.
    pub(crate) fn shutdown(&self, grace: Duration) {
        self.inbox.shutdown(grace);
    }

    /// Waits for the thread to exit; it has reported its exit already.
    pub(crate) fn join(&mut self) {
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::error!("worker {}: the thread panicked after its report", self.id);
        }
    }
}

/// The worker frame: runs the loop; a panic or an error of the loop itself becomes a
/// `WorkerPanic` failure, decided on this thread by the policy before the worker goes.
fn run_in_worker_frame<H: Handler>(reactor: &mut Reactor<H>, reporter: &Reporter) -> Ending {
    let failure = match catch(|| reactor.run()) {
        Ok(Ok(Exit::Drained)) => return Ending::Drained,
        Ok(Ok(Exit::Restart)) => return Ending::Restart,
        Ok(Ok(Exit::Abort)) => return Ending::Abort,
        Ok(Ok(Exit::Retired)) => return Ending::Retired,
        Ok(Ok(Exit::Recycled)) => return Ending::Recycled,
        Ok(Ok(other)) => {
            log::error!(
                "worker {}: the loop stopped for an unknown reason ({other:?})",
                reporter.worker
            );
            return Ending::Restart;
        }
        Ok(Err(e)) => Failure::new(
            FailureKind::WorkerPanic,
            format!("the event loop failed: {e}"),
        ),
        Err(payload) => {
            let mut failure = Failure::new(FailureKind::WorkerPanic, "");
            describe_panic(payload.as_ref(), &mut failure);
            failure
        }
    };
    match reporter.decide(failure) {
        Restart::AbortWorker => Ending::Abort,
        Restart::Shutdown => Ending::Shutdown,
        _ => Ending::Restart,
    }
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.id)
            .field("generation", &self.generation)
            .field("stats", &self.stats.snapshot())
            .finish()
    }
}
