//! The blocking pool: threads shared by every worker, for the slow work handlers hand off
//! with `Request::blocking` (a database call, a password hash, a file read).
//!
//! As AnyEvent::Task has it: a first-come queue, a deadline per job from the moment it is
//! queued, the error delivered in the request's own frame, a fresh thread after a panic;
//! and, unlike AnyEvent::Task, a bound on the queue. Loops only ever `try_send` into the
//! queue, so no loop can wait for the pool, and no deadlock between them can be built.
//!
//! A thread cannot be killed: one still running a job past its deadline is counted lost,
//! a replacement starts (up to `max_lost` lost at once), and the lost thread retires when
//! its closure returns. The client was answered 503 by its loop at the deadline already.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, select};
use warden_reactor::{
    Failure, FailureKind, Frame, Job, JobEnd, Offload, Unanswerable, catch, describe_panic,
    set_supervised,
};

use crate::report::Reports;

/// Builds the per-thread resource of the blocking pool (a database connection, say): see
/// [`with_resource`].
pub type ResourceFactory = Arc<dyn Fn() -> Box<dyn Any> + Send + Sync>;

/// Settings of the blocking pool.
#[derive(Clone)]
#[non_exhaustive]
pub struct BlockingConfig {
    /// Threads. Default: 16 per core (see [`BlockingConfig::default`]).
    pub threads: usize,
    /// Jobs that may wait for a thread; one more is refused with 503. Default 1024.
    pub queue: usize,
    /// A job's deadline, from the moment it is queued. Default 30 s.
    pub timeout: Duration,
    /// Most threads lost to jobs past their deadline at once; past it no replacement
    /// starts until one returns. Default: `threads`.
    pub max_lost: usize,
    /// Builds each thread's resource when the thread starts.
    pub resource: Option<ResourceFactory>,
}

impl Default for BlockingConfig {
    /// 16 threads per core: blocking jobs mostly wait (on a database, a disk, a remote
    /// service) rather than compute, so the count follows the concurrency of what they
    /// wait on, not the cores. rouille runs 8 per core, astra 15; 16 per core keeps a
    /// two-core machine at 32 threads, enough for 32 clients of a 50 ms query at once.
    fn default() -> BlockingConfig {
        let cores = thread::available_parallelism().map_or(1, usize::from);
        let threads = 16 * cores;
        BlockingConfig {
            threads,
            queue: 1024,
            timeout: Duration::from_secs(30),
            max_lost: threads,
            resource: None,
        }
    }
}

impl fmt::Debug for BlockingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingConfig")
            .field("threads", &self.threads)
            .field("queue", &self.queue)
            .field("timeout", &self.timeout)
            .field("max_lost", &self.max_lost)
            .field("resource", &self.resource.is_some())
            .finish()
    }
}

/// The blocking pool's counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockingStats {
    /// Threads running a job now, lost ones included.
    pub busy: u64,
    /// Threads waiting for a job.
    pub idle: u64,
    /// Threads still running a job past its deadline (replaced, retiring when it returns).
    pub lost: u64,
    /// Jobs waiting for a thread.
    pub queued: u64,
    /// Jobs that ran and answered.
    pub done: u64,
    /// Jobs refused because the queue was full (answered 503).
    pub rejected: u64,
    /// Jobs that ended, or were skipped, after their deadline.
    pub timed_out: u64,
    /// Jobs that panicked (their thread was replaced).
    pub panicked: u64,
    /// Jobs not run, or whose answer was discarded, because their client had left.
    pub abandoned: u64,
}

#[derive(Debug, Default)]
struct Counters {
    threads: AtomicU64,
    busy: AtomicU64,
    lost: AtomicU64,
    done: AtomicU64,
    rejected: AtomicU64,
    timed_out: AtomicU64,
    panicked: AtomicU64,
    abandoned: AtomicU64,
}

/// What one pool thread is doing, for the monitor: 0 when idle, [`LOST`] once the monitor
/// gave up on it, else the job's queue time in microseconds since the pool's epoch, plus
/// one. The thread and the monitor each leave a running value with one atomic operation,
/// so exactly one of them decides whether the thread is lost.
#[derive(Debug, Default)]
struct Slot {
    state: AtomicU64,
}

const IDLE: u64 = 0;
const LOST: u64 = u64::MAX;

/// The pool, shared by its threads, the loops (as their [`Offload`]) and the monitor.
struct Pool {
    jobs: Sender<Job>,
    queue: Receiver<Job>,
    /// Disconnected when the pool closes: wakes every thread to exit.
    stop: Receiver<()>,
    config: BlockingConfig,
    counters: Counters,
    slots: Mutex<Vec<Arc<Slot>>>,
    reports: Arc<Reports>,
    epoch: Instant,
    next_thread: AtomicUsize,
    /// A report that no more lost threads may be replaced has been made; cleared once the
    /// lost threads are back under the cap.
    at_cap: AtomicBool,
}

/// A running blocking pool. Dropping it (or [`BlockingPool::close`]) stops its idle
/// threads; threads still running a job finish it first.
pub struct BlockingPool {
    pool: Arc<Pool>,
    stop: Mutex<Option<Sender<()>>>,
}

impl BlockingPool {
    /// Starts `config.threads` threads (`warden-blocking-{n}`). Failures of the pool itself
    /// (a resource factory that panics, lost threads at their cap) go to `reports`.
    ///
    /// # Errors
    ///
    /// If no thread can be spawned.
    pub(crate) fn start(config: BlockingConfig, reports: Arc<Reports>) -> std::io::Result<Self> {
        let (jobs, queue) = crossbeam_channel::bounded(config.queue.max(1));
        let (stop_tx, stop) = crossbeam_channel::bounded(0);
        let threads = config.threads.max(1);
        let pool = Arc::new(Pool {
            jobs,
            queue,
            stop,
            config,
            counters: Counters::default(),
            slots: Mutex::new(Vec::with_capacity(threads)),
            reports,
            epoch: Instant::now(),
            next_thread: AtomicUsize::new(0),
            at_cap: AtomicBool::new(false),
        });
        for _ in 0..threads {
            Pool::spawn(&pool)?;
        }
        Ok(BlockingPool {
            pool,
            stop: Mutex::new(Some(stop_tx)),
        })
    }

    /// The pool as a reactor's [`Offload`].
    pub(crate) fn offload(&self) -> Arc<dyn Offload> {
        Arc::clone(&self.pool) as Arc<dyn Offload>
    }

    /// The counters.
    pub fn stats(&self) -> BlockingStats {
        self.pool.stats()
    }

    /// Stops the threads: idle ones at once, busy ones after their job.
    pub fn close(&self) {
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// The monitor's round: threads running a job past its deadline are counted lost, and
    /// the pool is brought back to its size (replacing lost threads up to the cap, and
    /// threads that ended after a panic).
    pub(crate) fn check(&self) {
        self.pool.check();
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("config", &self.pool.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Offload for Pool {
    fn submit(&self, job: Job) -> Result<(), Job> {
        match self.jobs.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                bump(&self.counters.rejected);
                Err(job)
            }
        }
    }
}

impl Pool {
    /// Starts one more thread.
    fn spawn(pool: &Arc<Pool>) -> std::io::Result<()> {
        let slot = Arc::new(Slot::default());
        let n = pool.next_thread.fetch_add(1, Ordering::Relaxed);
        let (me, mine) = (Arc::clone(pool), Arc::clone(&slot));
        thread::Builder::new()
            .name(format!("warden-blocking-{n}"))
            .spawn(move || me.serve(&mine))?;
        bump(&pool.counters.threads);
        let mut slots = pool.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.push(slot);
        Ok(())
    }

    /// A thread's life: build its resource, then run jobs until the pool closes, the
    /// thread is lost, or a job panics (then a fresh thread takes over).
    fn serve(self: &Arc<Pool>, slot: &Arc<Slot>) {
        set_supervised(true);
        self.build_resource();
        loop {
            let job = select! {
                recv(self.queue) -> job => match job {
                    Ok(job) => job,
                    Err(_) => break,
                },
                recv(self.stop) -> _ => break,
            };
            let queued = micros(job.queued_at().saturating_duration_since(self.epoch));
            slot.state
                .store(queued.saturating_add(1), Ordering::Release);
            bump(&self.counters.busy);
            let end = job.run();
            drop_one(&self.counters.busy);
            let lost = slot.state.swap(IDLE, Ordering::AcqRel) == LOST;
            self.count(end);
            if lost {
                drop_one(&self.counters.lost);
                break;
            }
            if end == JobEnd::Panicked {
                break;
            }
        }
        // The monitor starts a fresh thread in its place (within a tick), with a fresh
        // resource: after a panic, or when this one was lost and came back.
        self.retire(slot);
        RESOURCE.with(|r| r.borrow_mut().take());
    }

    fn count(&self, end: JobEnd) {
        let counter = match end {
            JobEnd::Answered => &self.counters.done,
            JobEnd::Panicked => &self.counters.panicked,
            JobEnd::Late(Unanswerable::Expired) | JobEnd::Skipped(Unanswerable::Expired) => {
                &self.counters.timed_out
            }
            JobEnd::Late(_) | JobEnd::Skipped(_) => &self.counters.abandoned,
            _ => &self.counters.done,
        };
        bump(counter);
    }

    fn retire(&self, slot: &Arc<Slot>) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.retain(|s| !Arc::ptr_eq(s, slot));
        drop_one(&self.counters.threads);
    }

    /// Builds this thread's resource, if the pool has a factory. A factory that panics is
    /// reported; [`with_resource`] tries it again when a job asks.
    fn build_resource(&self) {
        let Some(factory) = &self.config.resource else {
            return;
        };
        FACTORY.with(|f| *f.borrow_mut() = Some(Arc::clone(factory)));
        match catch(|| factory()) {
            Ok(resource) => RESOURCE.with(|r| *r.borrow_mut() = Some(resource)),
            Err(payload) => {
                let mut failure = Failure::new(FailureKind::Panic, "");
                describe_panic(payload.as_ref(), &mut failure);
                failure.message = format!(
                    "the blocking pool's resource factory panicked: {}",
                    failure.message
                );
                failure.frame = Frame::Pool;
                self.reports.publish(failure);
            }
        }
    }

    fn check(self: &Arc<Pool>) {
        if let Err(crossbeam_channel::TryRecvError::Disconnected) = self.stop.try_recv() {
            return; // closed: its threads are leaving, none is replaced
        }
        let deadline = micros(self.config.timeout);
        let now = micros(self.epoch.elapsed());
        let newly_lost = {
            let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots
                .iter()
                .filter(|s| {
                    let state = s.state.load(Ordering::Acquire);
                    state != IDLE
                        && state != LOST
                        && now.saturating_sub(state - 1) > deadline
                        && s.state
                            .compare_exchange(state, LOST, Ordering::AcqRel, Ordering::Acquire)
                            .is_ok()
                })
                .count()
        };
        if newly_lost > 0 {
            self.counters
                .lost
                .fetch_add(newly_lost as u64, Ordering::Relaxed);
            log::warn!(
                "{newly_lost} blocking job(s) still running past the deadline of {:?}; their threads are counted lost and replaced",
                self.config.timeout
            );
        }
        let lost = self.counters.lost.load(Ordering::Relaxed);
        if lost > self.config.max_lost as u64 {
            if !self.at_cap.swap(true, Ordering::Relaxed) {
                let mut failure = Failure::new(
                    FailureKind::Overload,
                    format!(
                        "the blocking pool has {lost} threads stuck in jobs past their deadline (cap {}); no replacement starts until one returns",
                        self.config.max_lost
                    ),
                );
                failure.frame = Frame::Pool;
                self.reports.publish(failure);
            }
            return;
        }
        self.at_cap.store(false, Ordering::Relaxed);
        // Keep `threads` serving: replace the lost, the panicked, the returned.
        let threads = self.counters.threads.load(Ordering::Relaxed);
        let serving = threads.saturating_sub(lost);
        for _ in serving..self.config.threads.max(1) as u64 {
            if let Err(e) = Pool::spawn(self) {
                let mut failure = Failure::new(
                    FailureKind::Io,
                    format!("cannot start a blocking thread: {e}"),
                );
                failure.frame = Frame::Pool;
                self.reports.publish(failure);
                break;
            }
        }
    }

    fn stats(&self) -> BlockingStats {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let (threads, busy) = (load(&c.threads), load(&c.busy));
        BlockingStats {
            busy,
            idle: threads.saturating_sub(busy),
            lost: load(&c.lost),
            queued: self.queue.len() as u64,
            done: load(&c.done),
            rejected: load(&c.rejected),
            timed_out: load(&c.timed_out),
            panicked: load(&c.panicked),
            abandoned: load(&c.abandoned),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn drop_one(counter: &AtomicU64) {
    counter.fetch_sub(1, Ordering::Relaxed);
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX - 1)
}

thread_local! {
    /// This pool thread's resource, built by the pool's factory.
    static RESOURCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
    static FACTORY: RefCell<Option<ResourceFactory>> = const { RefCell::new(None) };
}

/// Runs `f` with this blocking-pool thread's resource: the value the pool's factory
/// (`Builder::blocking_resource`) built when the thread started, a database connection
/// for example. A thread whose job panicked is replaced, so a resource a panic may have
/// left broken is built afresh. `None` outside a pool thread, without a factory, when the
/// resource is not a `T`, or when `f` already holds it further up the stack.
///
/// ```
/// use warden_worker::with_resource;
/// // Outside a pool thread there is none.
/// assert_eq!(with_resource(|n: &mut u32| *n), None);
/// ```
pub fn with_resource<T: 'static, R>(f: impl FnOnce(&mut T) -> R) -> Option<R> {
    RESOURCE.with(|slot| {
        let mut slot = slot.try_borrow_mut().ok()?;
        if slot.is_none() {
            // Its factory panicked at the thread's start: try again now. A panic here is
            // the job's, reported in its request's frame.
            let factory = FACTORY.with(|f| f.borrow().clone())?;
            *slot = Some(factory());
        }
        slot.as_mut()?.downcast_mut::<T>().map(f)
    })
}
