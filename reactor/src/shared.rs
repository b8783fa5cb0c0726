//! What the connections of one reactor share: everything but the sockets.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::answer::dispatch::Dispatch;
use crate::answer::door::Door;
use crate::buf::Pool;
use crate::config::Config;
use crate::exit::Exit;
use crate::http::date::DateCache;
use crate::http::encode::Preamble;
use crate::http::response::Fault;
use crate::observe::clock::Clock;
use crate::observe::stats::Stats;
use crate::subscriptions::Subscriptions;
use crate::supervise::activity::Activity;
use crate::supervise::failure::Restart;
use crate::supervise::frame::{LogFailures, Supervisor};

/// What connections share within one reactor: everything but the sockets.
pub(crate) struct Shared<H> {
    pub(crate) handler: H,
    pub(crate) config: Config,
    pub(crate) pool: Pool,
    pub(crate) date: DateCache,
    pub(crate) preamble: Preamble,
    /// A graceful shutdown is under way: idle connections close, and the last buffered
    /// response says `Connection: close`. Raised by [`Inbox::shutdown`] at once, before
    /// the loop takes the command, so a handler running when the shutdown starts already
    /// answers with `Connection: close`; raised by the loop itself when every inbox is
    /// gone.
    pub(crate) draining: Arc<AtomicBool>,
    /// Requests answered since the last time the stats were published.
    pub(crate) served: u64,
    /// Requests this loop has taken, ever: the count in the ids it makes.
    pub(crate) seq: u64,
    /// Where failures are reported and restarts chosen.
    pub(crate) supervisor: Box<dyn Supervisor>,
    /// What the handler is doing, for the watchdog.
    pub(crate) activity: Arc<Activity>,
    /// A fault a response staged, to fire once the turn's output is written.
    pub(crate) pending_fault: Option<Fault>,
    /// A restart stopped this reactor: return from `run` at the end of the turn.
    pub(crate) stop: Option<Exit>,
    /// The worker this reactor serves as, for log lines.
    pub(crate) worker: usize,
    /// What a request needs to be answered later: where answers come back (the
    /// reactor's answer channel and waker) and the blocking pool, if the reactor has one.
    pub(crate) dispatch: Dispatch,
    /// The counters other threads read.
    pub(crate) stats: Arc<Stats>,
    /// Which connections follow which broadcast topics.
    pub(crate) subscriptions: Subscriptions,
    /// For request and handler durations.
    pub(crate) clock: Clock,
}

impl<H> Shared<H> {
    /// The shared state of a reactor, without the reactor, and with a frozen clock: for
    /// in-memory sessions, whose output depends on their input alone.
    /// Answers deferred there are never delivered (the door leads nowhere).
    pub(crate) fn standalone(config: Config, handler: H) -> io::Result<Shared<H>> {
        let date = DateCache::fixed(*b"Sun, 06 Nov 1994 08:49:37 GMT", Instant::now());
        let poll = mio::Poll::new()?;
        // The poll is dropped at once: the waker's token is never seen.
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0))?);
        let (door, _) = Door::new(waker);
        Shared::new(config, handler, date, door)
    }

    /// Fails with `InvalidInput` if `config.server_name` is not a valid header value.
    pub(crate) fn new(
        config: Config,
        handler: H,
        date: DateCache,
        door: Door,
    ) -> io::Result<Shared<H>> {
        let mut preamble = Preamble::new(&config.server_name).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("server_name: {e}"))
        })?;
        preamble.set_date(date.bytes());
        let patience = config.patience();
        Ok(Shared {
            handler,
            pool: Pool::new(config.read_buffer, config.pooled_buffers),
            config,
            date,
            preamble,
            draining: Arc::new(AtomicBool::new(false)),
            served: 0,
            seq: 0,
            supervisor: Box::new(LogFailures),
            activity: Arc::new(Activity::default()),
            pending_fault: None,
            stop: None,
            worker: 0,
            dispatch: Dispatch::new(door, patience),
            stats: Arc::new(Stats::default()),
            subscriptions: Subscriptions::default(),
            clock: Clock::new(Instant::now()),
        })
    }

    /// Whether a graceful shutdown is under way.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Records what a chosen restart means for the reactor itself.
    pub(crate) fn stop_for(&mut self, restart: &Restart) {
        match restart {
            Restart::RestartWorker => {
                self.stop.get_or_insert(Exit::Restart);
            }
            Restart::AbortWorker => self.stop = Some(Exit::Abort),
            Restart::Respond(_) | Restart::CloseConnection | Restart::Shutdown => {}
        }
    }
}

impl<H> std::fmt::Debug for Shared<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("draining", &self.is_draining())
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}
