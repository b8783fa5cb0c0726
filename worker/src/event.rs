//! What the supervisor thread hears about: worker exits and shutdown requests.

use std::fmt;
use std::time::{Duration, Instant};

use warden_reactor::{Failure, Orphans};

/// What the supervisor thread hears about.
#[derive(Debug)]
pub(crate) enum Event {
    /// A worker thread ended.
    Exited(Exited),
    /// Stop the server: from `shutdown()` (no reason), or from a policy that chose
    /// [`Restart::Shutdown`] (the failure is the reason). `None` grace: the configured one.
    /// The acceptor gave up (see `ACCEPTOR_RETRIES`): no new connection can be accepted,
    /// so the server stops with this reason.
    AcceptorFailed(Box<Failure>),
    Shutdown {
        grace: Option<Duration>,
        reason: Option<Box<Failure>>,
    },
}

/// How a worker thread ended, as the supervisor sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// A shutdown drained it.
    Drained,
    /// Replace it.
    Restart,
    /// Do not replace it.
    Abort,
    /// It was retired after a hung handler; its replacement already runs.
    Retired,
    /// It answered its share of requests: replace it (recycling, not a failure).
    Recycled,
    /// Its failure's policy chose to stop the server, which is already under way.
    Shutdown,
}

/// What a worker thread reports when it ends.
pub(crate) struct Exited {
    pub(crate) id: usize,
    pub(crate) generation: u64,
    pub(crate) ending: Ending,
    /// Its connections and queued sockets, for another worker.
    pub(crate) orphans: Orphans,
    /// When the loop stopped: the start of a restart's clock.
    pub(crate) at: Instant,
}

impl fmt::Debug for Exited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exited")
            .field("id", &self.id)
            .field("generation", &self.generation)
            .field("ending", &self.ending)
            .finish()
    }
}
