//! The vocabulary of failure and the frames that catch it: [`Failure`](failure::Failure)
//! (what failed, where, in which request), [`FailureKind`](failure::FailureKind),
//! [`Frame`](failure::Frame) and [`Restart`](failure::Restart); catching panics and the
//! [`Supervisor`](frame::Supervisor) a reactor reports to (`frame`); and the
//! [`Activity`](activity::Activity) the watchdog reads.
//!
//! Uses `http` only: a failure's context is a few plain values taken from a request.

pub(crate) mod activity;
pub(crate) mod failure;
pub(crate) mod frame;
