//! Why a pool stopped.

use std::fmt;
use std::time::Duration;

use warden_reactor::Failure;

/// Why a pool stopped.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Stop {
    /// `shutdown` was called.
    Requested,
    /// More than `max` worker restarts within `period`.
    RestartIntensity {
        /// The allowed restarts.
        max: usize,
        /// Within this period.
        period: Duration,
    },
    /// An error policy chose [`Restart::Shutdown`](warden_reactor::Restart::Shutdown) for
    /// this failure.
    Policy(Box<Failure>),
    /// The acceptor kept failing and gave up: this is its last failure.
    AcceptorFailed(Box<Failure>),
    /// Every worker was aborted; nothing is left to serve.
    AllWorkersAborted,
    /// The supervisor thread itself panicked.
    SupervisorPanicked,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Requested => f.write_str("shutdown requested"),
            Stop::RestartIntensity { max, period } => write!(
                f,
                "restart intensity exceeded: more than {max} worker restarts within {period:?}"
            ),
            Stop::Policy(failure) => write!(f, "the error policy chose shutdown for: {failure}"),
            Stop::AllWorkersAborted => f.write_str("every worker was aborted"),
            Stop::AcceptorFailed(failure) => write!(f, "the acceptor gave up: {failure}"),
            Stop::SupervisorPanicked => f.write_str("the supervisor thread panicked"),
        }
    }
}
