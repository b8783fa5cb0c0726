//! Why a reactor's loop returned.

/// Why [`Reactor::run`](crate::Reactor::run) returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exit {
    /// A shutdown drained every connection.
    Drained,
    /// A failure's restart asked for this worker to be replaced
    /// ([`Restart::RestartWorker`](crate::Restart::RestartWorker)).
    Restart,
    /// A failure's restart asked for this worker to stop for good
    /// ([`Restart::AbortWorker`](crate::Restart::AbortWorker)).
    Abort,
    /// It was retired through its inbox ([`Inbox::retire`](crate::Inbox::retire)).
    Retired,
    /// It answered its [`Config::max_requests`](crate::Config::max_requests), and no
    /// deferred answer, stream or upload was still running (or the shutdown grace passed,
    /// and those were cut): replace it (recycling), its connections moving on.
    Recycled,
}
