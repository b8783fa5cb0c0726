//! Counters a reactor publishes for other threads: what `/stats` and the Prometheus
//! exposition are made of.
//!
//! Each reactor has its own [`Stats`], on cache lines of its own, and only the reactor's
//! thread writes it: a single-writer counter is a plain load and store (no locked
//! read-modify-write), and no two workers ever write the same line. Readers on other
//! threads (a scrape) sum the workers' snapshots; what they see is at most one loop turn
//! old. `Relaxed` is enough: the counters order nothing else.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The methods the request counters tell apart, in their index order; any other method
/// counts as `other`.
pub const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other",
];

/// Status classes the request counters tell apart: `1xx` to `5xx`.
pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Statuses of requests refused before any handler saw them (malformed, too large, too
/// slow, unsupported), in their index order.
pub const REFUSAL_STATUSES: [u16; 8] = [400, 408, 413, 414, 431, 501, 503, 505];

/// Upper bounds of the duration histograms' buckets, in seconds (Prometheus' `le`); a
/// last bucket, `+Inf`, takes the rest. Finer than Prometheus' defaults at the bottom:
/// most requests here take well under a millisecond.
pub const DURATION_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// The same bounds in nanoseconds, for the hot path.
const BUCKET_NANOS: [u64; 16] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Buckets of a histogram, `+Inf` included.
pub const BUCKETS: usize = DURATION_BUCKETS.len() + 1;

/// Why a connection closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed it (end of stream, or a reset between requests).
    ClientClosed,
    /// An exchange ended it as HTTP says: `Connection: close` from either side, an
    /// HTTP/1.0 request without keep-alive, a response delimited by the close.
    Done,
    /// A malformed, oversized or unsupported request was refused (400, 413, 414, 431,
    /// 501, 505).
    ClientError,
    /// A request head did not arrive within `header_timeout` (408).
    HeaderTimeout,
    /// A body stalled past `body_timeout` (408).
    BodyTimeout,
    /// A keep-alive connection stayed idle past `keepalive_timeout`.
    IdleTimeout,
    /// The client read nothing of a response for `write_timeout`.
    WriteTimeout,
    /// A failure closed it: a policy chose to, a connection's processing panicked, or an
    /// I/O error that is not the client's.
    ServerError,
    /// The client went away with a response still to deliver.
    ClientGone,
    /// A shutdown closed it (idle, or still open when the grace ran out).
    Drain,
    /// It switched protocols and went to the application (not closed: it left).
    Upgraded,
    /// Its worker was recycled while it streamed or awaited an answer, and the shutdown
    /// grace ran out first: cut.
    Recycled,
    /// Its worker was restarted after a failure (or aborted) while it streamed or awaited
    /// an answer, which cannot move to the replacement: cut, its writer told.
    Restart,
    /// A broadcast subscriber fell more than its `max_lag` behind: cut.
    Lagged,
}

impl CloseReason {
    /// Every reason, in index order.
    pub const ALL: [CloseReason; 14] = [
        CloseReason::ClientClosed,
        CloseReason::Done,
        CloseReason::ClientError,
        CloseReason::HeaderTimeout,
        CloseReason::BodyTimeout,
        CloseReason::IdleTimeout,
        CloseReason::WriteTimeout,
        CloseReason::ServerError,
        CloseReason::ClientGone,
        CloseReason::Drain,
        CloseReason::Upgraded,
        CloseReason::Recycled,
        CloseReason::Restart,
        CloseReason::Lagged,
    ];

    /// The reason's name, as a metric label: `client_closed`, `header_timeout`, ...
    pub fn name(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "client_closed",
            CloseReason::Done => "done",
            CloseReason::ClientError => "client_error",
            CloseReason::HeaderTimeout => "header_timeout",
            CloseReason::BodyTimeout => "body_timeout",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::WriteTimeout => "write_timeout",
            CloseReason::ServerError => "server_error",
            CloseReason::ClientGone => "client_gone",
            CloseReason::Drain => "drain",
            CloseReason::Upgraded => "upgraded",
            CloseReason::Recycled => "recycled",
            CloseReason::Restart => "restart",
            CloseReason::Lagged => "lagged",
        }
    }

    /// Its index in [`CloseReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A duration histogram kept by one thread.
#[derive(Debug, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    buckets: [AtomicU64; BUCKETS],
    sum_nanos: AtomicU64,
}

impl Histogram {
    #[inline]
    fn observe(&self, nanos: u64) {
        // Linear from the bottom: nearly every observation stops at the first bound.
        let bucket = BUCKET_NANOS
            .iter()
            .position(|&bound| nanos <= bound)
            .unwrap_or(BUCKETS - 1);
        bump(&self.buckets[bucket], 1);
        bump(&self.sum_nanos, nanos);
    }

    fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            sum: Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// A duration histogram at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// Observations per bucket of [`DURATION_BUCKETS`], not cumulative; the last is
    /// `+Inf`.
    pub buckets: [u64; BUCKETS],
    /// The sum of every observation.
    pub sum: Duration,
}

impl HistogramSnapshot {
    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Observations at most each bound (Prometheus' cumulative `le` buckets), `+Inf` last.
    pub fn cumulative(&self) -> [u64; BUCKETS] {
        let mut total = 0;
        std::array::from_fn(|i| {
            total += self.buckets[i];
            total
        })
    }

    fn add(&mut self, other: &HistogramSnapshot) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
        self.sum += other.sum;
    }
}

/// A reactor's counters. Aligned so that no two reactors' counters share a cache line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Stats {
    accepted: AtomicU64,
    closed: AtomicU64,
    moved: AtomicU64,
    requests: AtomicU64,
    responses: [[AtomicU64; STATUS_CLASSES.len()]; METHODS.len()],
    refused: [AtomicU64; REFUSAL_STATUSES.len()],
    closed_by: [AtomicU64; CloseReason::ALL.len()],
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    dispatched: AtomicU64,
    settled: AtomicU64,
    subscribed: AtomicU64,
    unsubscribed: AtomicU64,
    subscribers_cut: AtomicU64,
    proxy_untrusted: AtomicU64,
    proxy_bad_header: AtomicU64,
    tls_client_errors: AtomicU64,
    /// The reactor answered its share and waits for its streams before it is recycled:
    /// new connections had better go elsewhere.
    recycling: AtomicBool,
    request_duration: Histogram,
    handler_duration: Histogram,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Connections taken from the inbox since the reactor started (moved ones included).
    pub accepted: u64,
    /// Connections open now.
    pub active_connections: u64,
    /// Requests answered, error responses to malformed requests excluded.
    pub requests: u64,
    /// Responses by method ([`METHODS`]) and status class ([`STATUS_CLASSES`]), error
    /// responses to malformed requests excluded (see `refused`).
    pub responses: [[u64; STATUS_CLASSES.len()]; METHODS.len()],
    /// Requests refused before any handler saw them, by status ([`REFUSAL_STATUSES`]).
    pub refused: [u64; REFUSAL_STATUSES.len()],
    /// Connections closed, by reason ([`CloseReason::ALL`]).
    pub closed_by: [u64; CloseReason::ALL.len()],
    /// Open connections handed to another worker (a restart or a recycling moved them):
    /// not closed.
    pub moved: u64,
    /// Bytes read from clients.
    pub bytes_read: u64,
    /// Bytes written to clients.
    pub bytes_written: u64,
    /// Requests with another thread now (deferred or on the blocking pool), their answer
    /// awaited.
    pub awaiting_answer: u64,
    /// Connections subscribed to a broadcast topic now.
    pub subscribers: u64,
    /// Subscribers cut for falling too far behind.
    pub subscribers_cut: u64,
    /// Connections refused at once: the PROXY protocol is required and their source is
    /// not a trusted one.
    pub proxy_untrusted: u64,
    /// Connections from a trusted source closed for a missing or malformed PROXY
    /// protocol header.
    pub proxy_bad_header: u64,
    /// TLS connections closed for the client's error after the handshake: a record that
    /// does not decrypt, a fatal alert, a renegotiation attempt.
    pub tls_client_errors: u64,
    /// From the start of the loop turn in which a request was complete to its response
    /// being queued for writing (for a deferred request: from the dispatch to its answer
    /// being queued).
    pub request_duration: HistogramSnapshot,
    /// Time in the handler, on the loop (for a deferred request, until it deferred).
    pub handler_duration: HistogramSnapshot,
}

impl StatsSnapshot {
    /// Adds `other`'s counts to these (summing workers).
    pub fn add(&mut self, other: &StatsSnapshot) {
        self.accepted += other.accepted;
        self.active_connections += other.active_connections;
        self.requests += other.requests;
        for (a, b) in self.responses.iter_mut().zip(&other.responses) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.refused.iter_mut().zip(other.refused) {
            *a += b;
        }
        for (a, b) in self.closed_by.iter_mut().zip(other.closed_by) {
            *a += b;
        }
        self.moved += other.moved;
        self.bytes_read += other.bytes_read;
        self.bytes_written += other.bytes_written;
        self.awaiting_answer += other.awaiting_answer;
        self.subscribers += other.subscribers;
        self.subscribers_cut += other.subscribers_cut;
        self.proxy_untrusted += other.proxy_untrusted;
        self.proxy_bad_header += other.proxy_bad_header;
        self.tls_client_errors += other.tls_client_errors;
        self.request_duration.add(&other.request_duration);
        self.handler_duration.add(&other.handler_duration);
    }

    /// Connections closed for `reason`.
    pub fn closed(&self, reason: CloseReason) -> u64 {
        self.closed_by[reason.index()]
    }
}

impl Stats {
    /// Reads the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let closed = load(&self.closed);
        let accepted = load(&self.accepted);
        StatsSnapshot {
            accepted,
            active_connections: accepted.saturating_sub(closed),
            requests: load(&self.requests),
            responses: std::array::from_fn(|m| {
                std::array::from_fn(|c| load(&self.responses[m][c]))
            }),
            refused: std::array::from_fn(|i| load(&self.refused[i])),
            closed_by: std::array::from_fn(|i| load(&self.closed_by[i])),
            moved: load(&self.moved),
            bytes_read: load(&self.bytes_read),
            bytes_written: load(&self.bytes_written),
            awaiting_answer: load(&self.dispatched).saturating_sub(load(&self.settled)),
            subscribers: load(&self.subscribed).saturating_sub(load(&self.unsubscribed)),
            subscribers_cut: load(&self.subscribers_cut),
            proxy_untrusted: load(&self.proxy_untrusted),
            proxy_bad_header: load(&self.proxy_bad_header),
            tls_client_errors: load(&self.tls_client_errors),
            request_duration: self.request_duration.snapshot(),
            handler_duration: self.handler_duration.snapshot(),
        }
    }

    /// Connections open now.
    pub fn active_connections(&self) -> u64 {
        self.accepted
            .load(Ordering::Relaxed)
            .saturating_sub(self.closed.load(Ordering::Relaxed))
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Connections that left the reactor since it started: closed or moved.
    pub fn closed(&self) -> u64 {
        self.closed.load(Ordering::Relaxed)
    }

    pub(crate) fn connection_opened(&self) {
        bump(&self.accepted, 1);
    }

    pub(crate) fn connection_closed(&self, reason: CloseReason) {
        bump(&self.closed, 1);
        bump(&self.closed_by[reason.index()], 1);
    }

    pub(crate) fn connection_moved(&self) {
        bump(&self.closed, 1);
        bump(&self.moved, 1);
    }

    pub(crate) fn requests_served(&self, n: u64) {
        bump(&self.requests, n);
    }

    /// A response of `status` to a request of `method` (an index into [`METHODS`]).
    #[inline]
    pub(crate) fn responded(&self, method: usize, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        bump(&self.responses[method][class], 1);
    }

    /// A request refused with `status` before any handler saw it.
    pub(crate) fn refused(&self, status: u16) {
        if let Some(i) = REFUSAL_STATUSES.iter().position(|&s| s == status) {
            bump(&self.refused[i], 1);
        }
    }

    /// A handler returned after running `nanos` on the loop.
    #[inline]
    pub(crate) fn handled(&self, nanos: u64) {
        self.handler_duration.observe(nanos);
    }

    /// A request's response was queued `nanos` after the request was complete.
    #[inline]
    pub(crate) fn answered_in(&self, nanos: u64) {
        self.request_duration.observe(nanos);
    }

    #[inline]
    pub(crate) fn read_bytes(&self, n: usize) {
        bump(&self.bytes_read, n as u64);
    }

    #[inline]
    pub(crate) fn wrote_bytes(&self, n: usize) {
        bump(&self.bytes_written, n as u64);
    }

    /// A request went to another thread; its answer is awaited.
    pub(crate) fn dispatched(&self) {
        bump(&self.dispatched, 1);
    }

    /// A dispatched request's wait ended: answered, failed, or its connection closed.
    pub(crate) fn settled(&self) {
        bump(&self.settled, 1);
    }

    /// A connection subscribed to a broadcast topic (`true`), or its subscription ended.
    pub(crate) fn subscription(&self, began: bool) {
        bump(
            if began {
                &self.subscribed
            } else {
                &self.unsubscribed
            },
            1,
        );
    }

    /// A subscriber fell too far behind and was cut.
    pub(crate) fn subscriber_cut(&self) {
        bump(&self.subscribers_cut, 1);
    }

    /// A connection that had to come from a trusted PROXY protocol source did not.
    pub(crate) fn proxy_untrusted(&self) {
        bump(&self.proxy_untrusted, 1);
    }

    /// A trusted source's connection began without a valid PROXY protocol header.
    pub(crate) fn proxy_bad_header(&self) {
        bump(&self.proxy_bad_header, 1);
    }

    /// A TLS client broke the protocol after its handshake.
    pub(crate) fn tls_client_error(&self) {
        bump(&self.tls_client_errors, 1);
    }

    /// The reactor is due for recycling and waits only for what cannot move.
    pub(crate) fn set_recycling(&self) {
        self.recycling.store(true, Ordering::Relaxed);
    }

    /// Whether the reactor is due for recycling: an acceptor sends new connections to
    /// another worker while one has room.
    pub fn is_recycling(&self) -> bool {
        self.recycling.load(Ordering::Relaxed)
    }
}

/// `d` in nanoseconds, saturating (584 years would mean a broken clock).
/// (Seconds and nanoseconds apart: cheaper than the `u128` of `as_nanos`.)
#[inline]
pub(crate) fn nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

/// The index in [`METHODS`] of `method`.
#[inline]
pub(crate) fn method_index(method: &str) -> usize {
    match method {
        "GET" => 0,
        "HEAD" => 1,
        "POST" => 2,
        "PUT" => 3,
        "DELETE" => 4,
        "PATCH" => 5,
        "OPTIONS" => 6,
        _ => 7,
    }
}

/// Single-writer increment; wraps at 2^64 like any Prometheus counter source (a sum of
/// durations in nanoseconds gets there after 584 years).
#[inline]
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_take_each_bound_inclusively() {
        let stats = Stats::default();
        for (nanos, bucket) in [
            (0, 0),
            (100_000, 0),
            (100_001, 1),
            (1_000_000, 3),
            (10_000_000_000, 15),
            (10_000_000_001, 16),
            (u64::MAX, 16),
        ] {
            let before = stats.snapshot().handler_duration.buckets;
            stats.handled(nanos);
            let after = stats.snapshot().handler_duration.buckets;
            let moved: Vec<usize> = (0..BUCKETS).filter(|&i| after[i] != before[i]).collect();
            assert_eq!(moved, [bucket], "{nanos} ns");
        }
    }

    #[test]
    fn cumulative_buckets_end_with_the_count() {
        let stats = Stats::default();
        for ms in [0, 1, 1, 3, 20_000] {
            stats.answered_in(ms * 1_000_000);
        }
        let h = stats.snapshot().request_duration;
        let cumulative = h.cumulative();
        assert_eq!(cumulative[BUCKETS - 1], h.count());
        assert_eq!(h.count(), 5);
        assert_eq!(cumulative[0], 1); // 0 ms
        assert_eq!(cumulative[3], 3); // <= 1 ms
        assert_eq!(cumulative[BUCKETS - 2], 4); // <= 10 s
        assert_eq!(h.sum, Duration::from_millis(20_005));
        assert!(cumulative.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn responses_by_method_and_class() {
        let stats = Stats::default();
        stats.responded(method_index("GET"), 200);
        stats.responded(method_index("GET"), 204);
        stats.responded(method_index("BREW"), 418);
        stats.responded(method_index("POST"), 503);
        stats.responded(method_index("GET"), 101);
        let s = stats.snapshot();
        assert_eq!(s.responses[0], [1, 2, 0, 0, 0]);
        assert_eq!(s.responses[7], [0, 0, 0, 1, 0]);
        assert_eq!(s.responses[2], [0, 0, 0, 0, 1]);
    }

    #[test]
    fn snapshots_add_up() {
        let (a, b) = (Stats::default(), Stats::default());
        a.connection_opened();
        a.connection_closed(CloseReason::IdleTimeout);
        b.connection_opened();
        b.connection_opened();
        b.connection_moved();
        b.refused(431);
        b.refused(999); // not a refusal status: not counted anywhere
        b.dispatched();
        let mut sum = a.snapshot();
        sum.add(&b.snapshot());
        assert_eq!(sum.accepted, 3);
        assert_eq!(sum.active_connections, 1);
        assert_eq!(sum.closed(CloseReason::IdleTimeout), 1);
        assert_eq!(sum.moved, 1);
        assert_eq!(sum.refused, [0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(sum.awaiting_answer, 1);
    }

    #[test]
    fn reasons_are_indexed_in_order() {
        for (i, reason) in CloseReason::ALL.iter().enumerate() {
            assert_eq!(reason.index(), i);
        }
    }
}
