//! A reactor before its handler: its poll, timers and inbox, so that sockets can be
//! queued for it while the application builds its handler.

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crossbeam_channel::Receiver;
use mio::{Poll, Token, Waker};

use crate::answer::door::{Delivery, Door};
use crate::config::Config;
use crate::http::encode::Preamble;
use crate::inbox::{Backlog, Command, Inbox, Orphans};
use crate::observe::stats::Stats;
use crate::supervise::activity::Activity;
use crate::supervise::frame;
use crate::timer::Timers;

/// The token of the inbox's waker; connections use their slab keys, which never reach it.
pub(crate) const WAKER: Token = Token(usize::MAX);

/// A reactor without its handler yet: its poll, timers and inbox exist, so sockets can be
/// handed to it (they wait in the inbox) while the handler is still being built, by
/// application code that may take its time.
pub struct PreparedReactor {
    pub(crate) config: Config,
    pub(crate) poll: Poll,
    pub(crate) timers: Timers,
    pub(crate) waker: Arc<Waker>,
    pub(crate) door: Door,
    pub(crate) answers: Receiver<Delivery>,
    pub(crate) inbox: Receiver<Command>,
    pub(crate) draining: Arc<AtomicBool>,
    pub(crate) activity: Arc<Activity>,
    pub(crate) stats: Arc<Stats>,
}

impl PreparedReactor {
    /// Makes the poll, timers and inbox of a reactor with `config`.
    ///
    /// # Errors
    ///
    /// Fails if the poll or its waker cannot be created (the process is out of file
    /// descriptors), or with `InvalidInput` if `config.server_name` is not a valid header
    /// value.
    pub fn new(config: Config) -> io::Result<(PreparedReactor, Inbox)> {
        frame::install_panic_hook();
        Preamble::new(&config.server_name).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("server_name: {e}"))
        })?;
        if config.max_head > 1 << 30 {
            // Owned copies of requests store field lengths in 32 bits.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "max_head must be at most 1 GiB",
            ));
        }
        let timers = Timers::new([
            config.header_timeout,
            config.keepalive_timeout,
            config.body_timeout,
            config.write_timeout,
            config.linger_timeout,
            config.handler_deadline.unwrap_or(Duration::MAX),
            config.blocking_timeout,
            Duration::MAX,
            config.sse_keepalive,
        ]);
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (door, answers) = Door::new(Arc::clone(&waker));
        let draining = Arc::new(AtomicBool::new(false));
        let (inbox, rx) = Inbox::new(Arc::clone(&waker), Arc::clone(&draining));
        let prepared = PreparedReactor {
            config,
            poll,
            timers,
            waker,
            door,
            answers,
            inbox: rx,
            draining,
            activity: Arc::new(Activity::default()),
            stats: Arc::new(Stats::default()),
        };
        Ok((prepared, inbox))
    }

    /// The counters the reactor will publish.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// What its handler will be doing, for a watchdog.
    pub fn activity(&self) -> Arc<Activity> {
        Arc::clone(&self.activity)
    }

    /// The queue of its inbox, for another thread to take back the sockets still queued
    /// there if the reactor's handler hangs.
    pub fn backlog(&self, inbox: &Inbox) -> Backlog {
        Backlog::new(self.inbox.clone(), inbox.sender())
    }

    /// What was handed to it, for another reactor: its handler could not be made.
    pub fn salvage(self) -> Orphans {
        Orphans::new(Vec::new(), self.inbox)
    }
}

impl std::fmt::Debug for PreparedReactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedReactor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
