//! The Prometheus text exposition (format 0.0.4) of a server's counters.
//!
//! Everything here is rendered from one [`ServerStats`] (defined here, filled in by
//! [`ServerHandle::stats`](crate::ServerHandle::stats)): the per-worker counters are
//! summed when the scrape asks, never on the request path. Names follow Prometheus'
//! conventions (a `warden_` prefix, base units, `_total` on counters, `_seconds` and
//! `_bytes`); failure kinds and restart reasons use the names `/stats` uses.

use std::fmt::Write;
use std::time::Duration;

use warden_reactor::{
    Broadcast, BroadcastStats, BrokerStats, CloseReason, DURATION_BUCKETS, FailureKind,
    HistogramSnapshot, METHODS, REFUSAL_STATUSES, STATUS_CLASSES, StatsSnapshot,
};
use warden_worker::{AcceptSnapshot, BlockingStats, FailureStats, PoolStats, WorkerStats};

/// The content type of the exposition.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A server's counters: totals, and each worker's.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Connections accepted (a connection handed to a worker's replacement counts again).
    pub accepted: u64,
    /// Connections open now.
    pub active_connections: u64,
    /// Requests answered.
    pub requests: u64,
    /// Workers replaced after a crash, a restart policy or a hung handler.
    pub worker_restarts: u64,
    /// How long the last replacement took, from the failure to the new worker serving.
    pub last_restart: Duration,
    /// Failures by kind: `failures.count(FailureKind::Panic)`.
    pub failures: FailureStats,
    /// Failure reports the error channel had no room for.
    pub dropped_failure_reports: u64,
    /// Handlers that ran on an event loop past the stall threshold.
    pub loop_stalls: u64,
    /// Workers replaced after their share of requests (recycling; not failures).
    pub worker_recycles: u64,
    /// The blocking pool: threads busy, idle and lost, jobs queued, done, rejected and
    /// timed out.
    pub blocking: BlockingStats,
    /// Per worker.
    pub workers: Vec<WorkerStats>,
    /// Every worker's HTTP counters summed (past workers' included): responses by
    /// method and status class, refused requests, closes by reason, bytes, durations.
    pub http: StatsSnapshot,
    /// Handlers running on a loop right now.
    pub handlers_running: u64,
    /// The acceptor's counters: connections accepted, accept pauses.
    pub accept: AcceptSnapshot,
    /// The broadcast hubs given to the server ([`Builder::broadcast`](crate::Builder::broadcast)),
    /// summed: events published, topics. Subscribers and cut subscribers are per worker,
    /// in `http`.
    pub broadcast: BroadcastStats,
}

impl ServerStats {
    /// Failures of `kind` so far.
    pub fn failures_of(&self, kind: FailureKind) -> u64 {
        self.failures.count(kind)
    }
}

/// Writes `stats` in the Prometheus text format to `out`.
impl From<PoolStats> for ServerStats {
    fn from(pool: PoolStats) -> ServerStats {
        ServerStats {
            accepted: pool.accepted,
            active_connections: pool.active_connections,
            requests: pool.requests,
            worker_restarts: pool.failures.worker_restarts,
            last_restart: pool.failures.last_restart,
            failures: pool.failures,
            dropped_failure_reports: pool.failures.dropped_reports,
            loop_stalls: pool.failures.loop_stalls,
            worker_recycles: pool.failures.worker_recycles,
            blocking: pool.blocking,
            workers: pool.workers,
            http: pool.http,
            handlers_running: pool.handlers_running,
            accept: pool.accept,
            broadcast: BroadcastStats::default(),
        }
    }
}

impl ServerStats {
    /// These counters with the broadcast hubs' summed in.
    pub(crate) fn with_hubs(mut self, hubs: &[Broadcast]) -> ServerStats {
        for hub in hubs {
            let stats = hub.stats();
            self.broadcast.published += stats.published;
            self.broadcast.topics += stats.topics;
            self.broadcast.kept_bytes += stats.kept_bytes;
            if let Some(broker) = stats.broker {
                let sum = self.broadcast.broker.get_or_insert_with(|| {
                    let mut all = BrokerStats::default();
                    all.up = true;
                    all
                });
                sum.up &= broker.up;
                sum.reconnects += broker.reconnects;
                sum.publish_errors += broker.publish_errors;
                sum.backfilled += broker.backfilled;
            }
        }
        self
    }
}

pub(crate) fn render(stats: &ServerStats, out: &mut String) {
    let mut m = Exposition { out };
    let http = &stats.http;

    m.family(
        "warden_http_requests_total",
        "counter",
        "Requests answered, by method and status class (refused malformed requests excluded).",
    );
    for (method, classes) in METHODS.iter().zip(&http.responses) {
        for (class, n) in STATUS_CLASSES.iter().zip(classes) {
            m.sample(
                "warden_http_requests_total",
                &[("method", method), ("status_class", class)],
                *n,
            );
        }
    }
    m.family(
        "warden_http_refused_requests_total",
        "counter",
        "Requests refused before any handler saw them, by status: malformed (400), too slow \
         (408), too large (413, 414, 431), unsupported (501, 505).",
    );
    for (status, n) in REFUSAL_STATUSES.iter().zip(http.refused) {
        m.sample(
            "warden_http_refused_requests_total",
            &[("status", &status.to_string())],
            n,
        );
    }
    m.histogram(
        "warden_http_request_duration_seconds",
        "From the loop turn in which a request was complete to its response being queued for \
         writing; for a deferred request, from its dispatch to its answer being queued.",
        &http.request_duration,
    );
    m.histogram(
        "warden_http_handler_duration_seconds",
        "Time in the handler on the event loop (for a deferred request, until it deferred).",
        &http.handler_duration,
    );
    m.single(
        "warden_http_requests_in_flight",
        "gauge",
        "Requests being handled: handlers running on a loop, and requests whose deferred or \
         blocking-pool answer is awaited.",
        stats.handlers_running + http.awaiting_answer,
    );
    m.single(
        "warden_broadcast_subscribers",
        "gauge",
        "Connections subscribed to a broadcast topic.",
        http.subscribers,
    );
    m.single(
        "warden_broadcast_published_total",
        "counter",
        "Events published to the broadcast hubs given to the server.",
        stats.broadcast.published,
    );
    m.single(
        "warden_broadcast_history_bytes",
        "gauge",
        "Bytes of the events the broadcast topics keep (for replays and subscribers behind).",
        stats.broadcast.kept_bytes,
    );
    if let Some(broker) = stats.broadcast.broker {
        m.single(
            "warden_broker_up",
            "gauge",
            "1 while the broadcast broker's feed is subscribed and every topic's copy is up to \
             date (topics are served); 0 while it is being reached again (503).",
            u64::from(broker.up),
        );
        m.single(
            "warden_broker_reconnects_total",
            "counter",
            "Times the subscription to the broadcast broker was made again after it broke or \
             was found wedged.",
            broker.reconnects,
        );
        m.single(
            "warden_broker_publish_errors_total",
            "counter",
            "Publishes refused (503) because the broadcast broker was unreachable or slow.",
            broker.publish_errors,
        );
        m.single(
            "warden_broker_backfilled_total",
            "counter",
            "Events fetched from the broadcast broker to fill a gap (after a reconnection, or \
             one seen in the feed).",
            broker.backfilled,
        );
    }
    m.single(
        "warden_broadcast_cut_total",
        "counter",
        "Broadcast subscribers cut for falling more than their max_lag behind.",
        http.subscribers_cut,
    );
    m.single(
        "warden_http_received_bytes_total",
        "counter",
        "Bytes read from clients.",
        http.bytes_read,
    );
    m.single(
        "warden_http_sent_bytes_total",
        "counter",
        "Bytes written to clients.",
        http.bytes_written,
    );

    m.single(
        "warden_connections_open",
        "gauge",
        "Connections open now.",
        stats.active_connections,
    );
    m.single(
        "warden_connections_accepted_total",
        "counter",
        "Connections accepted from the listeners.",
        stats.accept.accepted,
    );
    m.family(
        "warden_connections_closed_total",
        "counter",
        "Connections closed, by reason.",
    );
    for reason in CloseReason::ALL {
        m.sample(
            "warden_connections_closed_total",
            &[("reason", reason.name())],
            http.closed(reason),
        );
    }
    m.family(
        "warden_proxy_protocol_refused_total",
        "counter",
        "Connections refused for the PROXY protocol: from a source not trusted to send it, or \
         with a missing or malformed header.",
    );
    for (reason, n) in [
        ("untrusted", http.proxy_untrusted),
        ("bad_header", http.proxy_bad_header),
    ] {
        m.sample(
            "warden_proxy_protocol_refused_total",
            &[("reason", reason)],
            n,
        );
    }
    m.single(
        "warden_connections_over_client_limit_total",
        "counter",
        "Connections closed as they were accepted, before a byte was read: their address held \
         max_connections_per_ip connections already.",
        stats.accept.over_client_limit,
    );
    m.single(
        "warden_connections_moved_total",
        "counter",
        "Open connections handed from a stopping worker to its replacement (not closed).",
        http.moved,
    );
    m.family(
        "warden_accept_pauses_total",
        "counter",
        "Times accepting paused: every worker at its connection limit, or the process out of \
         descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).",
    );
    m.sample(
        "warden_accept_pauses_total",
        &[("cause", "connection_limit")],
        stats.accept.paused_full,
    );
    m.sample(
        "warden_accept_pauses_total",
        &[("cause", "resource_exhaustion")],
        stats.accept.paused_exhausted,
    );
    #[cfg(any(feature = "tls", feature = "tls-ring"))]
    render_tls(&stats.accept.tls, http.tls_client_errors, &mut m);

    m.single(
        "warden_workers",
        "gauge",
        "Workers running now.",
        stats.workers.len() as u64,
    );
    m.single(
        "warden_workers_stalled",
        "gauge",
        "Workers whose loop runs a handler past the stall threshold now.",
        stats.workers.iter().filter(|w| w.stalled).count() as u64,
    );
    m.family(
        "warden_worker_restarts_total",
        "counter",
        "Worker restarts, by reason: the kind of the failure that chose it, or recycled \
         (after its share of requests; not a failure).",
    );
    for kind in FailureKind::ALL {
        let n = stats.failures.restarts_for[kind.index()];
        m.sample(
            "warden_worker_restarts_total",
            &[("reason", kind.as_str())],
            n,
        );
    }
    m.sample(
        "warden_worker_restarts_total",
        &[("reason", "recycled")],
        stats.worker_recycles,
    );
    m.single_f64(
        "warden_worker_last_restart_seconds",
        "gauge",
        "How long the last restart took, from the failure to the new worker serving.",
        stats.last_restart.as_secs_f64(),
    );
    m.family(
        "warden_failures_total",
        "counter",
        "Failures reported, by kind.",
    );
    for kind in FailureKind::ALL {
        m.sample(
            "warden_failures_total",
            &[("kind", kind.as_str())],
            stats.failures_of(kind),
        );
    }
    m.single(
        "warden_failure_reports_dropped_total",
        "counter",
        "Failure reports the error channel had no room for.",
        stats.dropped_failure_reports,
    );
    m.single(
        "warden_loop_stalls_total",
        "counter",
        "Handlers that ran on an event loop past the stall threshold.",
        stats.loop_stalls,
    );

    let b = &stats.blocking;
    m.family(
        "warden_blocking_threads",
        "gauge",
        "Threads of the blocking pool, by state (lost: running past the job deadline, \
         replaced).",
    );
    for (state, n) in [("busy", b.busy), ("idle", b.idle), ("lost", b.lost)] {
        m.sample("warden_blocking_threads", &[("state", state)], n);
    }
    m.single(
        "warden_blocking_queue_depth",
        "gauge",
        "Jobs waiting for a blocking thread.",
        b.queued,
    );
    m.family(
        "warden_blocking_jobs_total",
        "counter",
        "Blocking-pool jobs by outcome: done, rejected (queue full: 503), timed_out (past \
         the deadline: 503), panicked, abandoned (the client left first).",
    );
    for (outcome, n) in [
        ("done", b.done),
        ("rejected", b.rejected),
        ("timed_out", b.timed_out),
        ("panicked", b.panicked),
        ("abandoned", b.abandoned),
    ] {
        m.sample("warden_blocking_jobs_total", &[("outcome", outcome)], n);
    }
}

/// The text being written. `fmt::Write` into a `String` cannot fail, so results are
/// dropped.
struct Exposition<'a> {
    out: &'a mut String,
}

/// The handshake pool's counters (TLS listeners).
#[cfg(any(feature = "tls", feature = "tls-ring"))]
fn render_tls(tls: &warden_worker::TlsSnapshot, client_errors: u64, m: &mut Exposition<'_>) {
    m.family(
        "warden_tls_handshakes_total",
        "counter",
        "TLS handshakes ended, by result: ok (established), failed (broken off, not TLS, \
         nothing in common), timeout.",
    );
    for (end, n) in warden_worker::HandshakeEnd::ALL.iter().zip(tls.handshakes) {
        m.sample(
            "warden_tls_handshakes_total",
            &[("result", end.as_str())],
            n,
        );
    }
    m.single(
        "warden_tls_resumed_total",
        "counter",
        "Established TLS handshakes that resumed a session (ticket or session cache).",
        tls.resumed,
    );
    m.single(
        "warden_tls_plain_http_total",
        "counter",
        "Plain HTTP requests sent to a TLS listener (answered 400; counted failed).",
        tls.plain_http,
    );
    m.single(
        "warden_tls_client_errors_total",
        "counter",
        "Established TLS connections closed for the client's error: a record that does not \
         decrypt, a fatal alert, a renegotiation attempt (not failures of the server).",
        client_errors,
    );
    m.single(
        "warden_tls_handshakes_in_flight",
        "gauge",
        "TLS handshakes running now in the handshake pool.",
        tls.in_flight,
    );
    m.histogram(
        "warden_tls_handshake_duration_seconds",
        "How long established TLS handshakes took, from the accept.",
        &tls.duration,
    );
}

impl Exposition<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.out.push_str(name);
        self.labels(labels);
        let _ = writeln!(self.out, " {value}");
    }

    fn labels(&mut self, labels: &[(&str, &str)]) {
        if labels.is_empty() {
            return;
        }
        self.out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
        }
        self.out.push('}');
    }

    fn single(&mut self, name: &str, kind: &str, help: &str, value: u64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    fn single_f64(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        let _ = writeln!(self.out, "{name} {value}");
    }

    fn histogram(&mut self, name: &str, help: &str, h: &HistogramSnapshot) {
        self.family(name, "histogram", help);
        let cumulative = h.cumulative();
        for (bound, n) in DURATION_BUCKETS.iter().zip(cumulative) {
            let _ = writeln!(self.out, "{name}_bucket{{le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(
            self.out,
            "{name}_bucket{{le=\"+Inf\"}} {}",
            cumulative[cumulative.len() - 1]
        );
        let _ = writeln!(self.out, "{name}_sum {}", h.sum.as_secs_f64());
        let _ = writeln!(self.out, "{name}_count {}", h.count());
    }
}

/// "label_value can be any sequence of UTF-8 characters, but the backslash (\), double-quote
/// ("), and line feed (\n) characters have to be escaped as \\, \", and \n."
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// In HELP lines only backslash and line feed are escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape_help("x\\y\nz\""), "x\\\\y\\nz\"");
    }

    #[test]
    fn a_histogram_ends_with_inf_sum_and_count() {
        let mut out = String::new();
        let mut h = HistogramSnapshot::default();
        h.buckets[0] = 2;
        h.buckets[3] = 1;
        h.buckets[16] = 1;
        h.sum = std::time::Duration::from_millis(20_001);
        Exposition { out: &mut out }.histogram("x_seconds", "help", &h);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "# HELP x_seconds help");
        assert_eq!(lines[1], "# TYPE x_seconds histogram");
        assert_eq!(lines[2], "x_seconds_bucket{le=\"0.0001\"} 2");
        assert_eq!(lines[5], "x_seconds_bucket{le=\"0.001\"} 3");
        assert_eq!(lines[17], "x_seconds_bucket{le=\"10\"} 3");
        assert_eq!(lines[18], "x_seconds_bucket{le=\"+Inf\"} 4");
        assert_eq!(lines[19], "x_seconds_sum 20.001");
        assert_eq!(lines[20], "x_seconds_count 4");
    }
}
