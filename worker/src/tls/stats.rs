//! What the handshake pool counts: how handshakes ended, how many resumed a session, and
//! how long they took.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use warden_reactor::{BUCKETS, DURATION_BUCKETS, HistogramSnapshot};

/// How a handshake ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandshakeEnd {
    /// Established: the connection went on to a worker.
    Ok,
    /// The client broke it off, sent something that is not TLS (plain HTTP included),
    /// or offered nothing the server accepts.
    Failed,
    /// Not finished within the handshake timeout.
    Timeout,
}

impl HandshakeEnd {
    /// Every end, in declaration order.
    pub const ALL: [HandshakeEnd; 3] = [
        HandshakeEnd::Ok,
        HandshakeEnd::Failed,
        HandshakeEnd::Timeout,
    ];

    /// Its name, as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            HandshakeEnd::Ok => "ok",
            HandshakeEnd::Failed => "failed",
            HandshakeEnd::Timeout => "timeout",
        }
    }
}

/// Handshake counters, shared by the pool's threads and read by the metrics route.
#[derive(Debug, Default)]
pub struct TlsStats {
    ends: [AtomicU64; 3],
    resumed: AtomicU64,
    plain_http: AtomicU64,
    in_flight: AtomicU64,
    /// Durations of established handshakes, per bucket of [`DURATION_BUCKETS`].
    buckets: [AtomicU64; BUCKETS],
    sum_nanos: AtomicU64,
}

/// A reading of [`TlsStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlsSnapshot {
    /// Handshakes ended, by [`HandshakeEnd`] (indexed as [`HandshakeEnd::ALL`]).
    pub handshakes: [u64; 3],
    /// Established handshakes that resumed a session (a ticket or the session cache).
    pub resumed: u64,
    /// Failed handshakes that were a plain HTTP request (answered 400).
    pub plain_http: u64,
    /// Handshakes running now.
    pub in_flight: u64,
    /// How long established handshakes took, from the accept.
    pub duration: HistogramSnapshot,
}

impl TlsStats {
    pub(crate) fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn ended(&self, end: HandshakeEnd) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.ends[end as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn established(&self, took: Duration, resumed: bool) {
        self.ended(HandshakeEnd::Ok);
        if resumed {
            self.resumed.fetch_add(1, Ordering::Relaxed);
        }
        let secs = took.as_secs_f64();
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|&bound| secs <= bound)
            .unwrap_or(BUCKETS - 1);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    pub(crate) fn plain_http(&self) {
        self.plain_http.fetch_add(1, Ordering::Relaxed);
        self.ended(HandshakeEnd::Failed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> TlsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TlsSnapshot {
            handshakes: std::array::from_fn(|i| load(&self.ends[i])),
            resumed: load(&self.resumed),
            plain_http: load(&self.plain_http),
            in_flight: load(&self.in_flight),
            duration: HistogramSnapshot {
                buckets: std::array::from_fn(|i| load(&self.buckets[i])),
                sum: Duration::from_nanos(load(&self.sum_nanos)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_counted_and_durations_bucketed() {
        let stats = TlsStats::default();
        for _ in 0..4 {
            stats.started();
        }
        stats.established(Duration::from_micros(800), false);
        stats.established(Duration::from_secs(20), true);
        stats.ended(HandshakeEnd::Timeout);
        stats.plain_http();
        let s = stats.snapshot();
        assert_eq!(s.handshakes, [2, 1, 1]);
        assert_eq!((s.resumed, s.plain_http, s.in_flight), (1, 1, 0));
        // 0.8 ms falls in the 1 ms bucket; 20 s past the last bound.
        assert_eq!(s.duration.buckets[3], 1);
        assert_eq!(s.duration.buckets[BUCKETS - 1], 1);
        assert_eq!(s.duration.sum, Duration::from_micros(20_000_800));
    }
}
