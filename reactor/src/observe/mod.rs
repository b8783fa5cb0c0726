//! What a reactor tells about itself: per-reactor counters and histograms
//! ([`Stats`](stats::Stats)), the clock that times requests at one read per request, and
//! the access log.
//!
//! Uses `http` and `supervise`.

pub(crate) mod access;
pub(crate) mod clock;
pub(crate) mod stats;
