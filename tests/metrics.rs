//! The Prometheus exposition: it parses under a strict parser, and its counters move as
//! requests, refusals, closes, failures, restarts and accept pauses happen.
mod util;

use std::sync::Mutex;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use util::prom::{self, Exposition};
use util::{Client, eventually, fault_routes, get, routes, server_with};
use warden::{Request, Responder, Response, Server, ServerHandle};

/// The exposition `server` serves now, parsed strictly.
fn scrape(server: &ServerHandle) -> Exposition {
    let text = server.metrics();
    prom::parse(&text).unwrap_or_else(|e| panic!("invalid exposition: {e}\n{text}"))
}

/// Waits until the scraped value of `name{labels}` is `want`.
fn until(server: &ServerHandle, name: &str, labels: &[(&str, &str)], want: f64) {
    let mut last = f64::NAN;
    let what = format!("{name}{labels:?} = {want}");
    eventually(&what, || {
        last = scrape(server).value(name, labels);
        last == want
    });
}

#[test]
fn the_strict_parser_refuses_what_breaks_the_format() {
    prom::self_check();
}

#[test]
fn the_route_serves_a_valid_exposition_with_its_content_type() {
    let server = server_with(|b| b.workers(2).metrics_route("/metrics"));
    let mut client = Client::to(&server);
    let reply = client.send(get("/metrics")).reply().expect("an answer");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let exposition = prom::parse(&reply.text()).unwrap_or_else(|e| panic!("{e}"));
    for family in [
        "warden_http_requests_total",
        "warden_http_refused_requests_total",
        "warden_http_request_duration_seconds",
        "warden_http_handler_duration_seconds",
        "warden_http_requests_in_flight",
        "warden_http_received_bytes_total",
        "warden_http_sent_bytes_total",
        "warden_connections_open",
        "warden_connections_accepted_total",
        "warden_connections_closed_total",
        "warden_accept_pauses_total",
        "warden_worker_restarts_total",
        "warden_failures_total",
        "warden_loop_stalls_total",
        "warden_blocking_threads",
        "warden_blocking_queue_depth",
        "warden_blocking_jobs_total",
    ] {
        assert!(
            exposition.families.contains_key(family),
            "{family} is missing"
        );
    }
    assert_eq!(exposition.scalar("warden_workers"), 2.0);
    assert_eq!(exposition.scalar("warden_connections_open"), 1.0);

    // HEAD: the same headers, no body; other methods go to the application.
    let reply = client
        .send("HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        .head_reply()
        .expect("an answer");
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    let reply = client
        .send("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
        .reply()
        .expect("an answer");
    assert_eq!(reply.status, 404);
}

#[test]
fn responses_refusals_durations_and_bytes_are_counted() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .max_request_line(256)
        .max_head(1024)
        .serve(fault_routes)
        .expect("server starts");
    let failures = server.failures(); // the panic below is expected: keep it off stderr
    let mut sent = 0;
    let mut client = Client::to(&server);
    for request in [
        get("/plaintext"),
        get("/plaintext"),
        get("/plaintext"),
        get("/missing"),
        get("/panic"),
        "HEAD /plaintext HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(),
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello".to_owned(),
        "BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(),
    ] {
        sent += request.len();
        client.send(&request);
        if request.starts_with("HEAD") {
            client.head_reply().expect("an answer");
        } else {
            client.reply().expect("an answer");
        }
    }
    let _ = util::next_failure(&failures);
    // Two refusals, each closing its connection.
    let mut bad = Client::to(&server);
    bad.send("GARBAGE\r\n\r\n");
    assert_eq!(bad.reply().expect("an answer").status, 400);
    let mut big = Client::to(&server);
    big.send(format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(2000)
    ));
    assert_eq!(big.reply().expect("an answer").status, 431);

    let requests = |method, class| ("warden_http_requests_total", method, class);
    for ((name, method, class), want) in [
        (requests("GET", "2xx"), 3.0),
        (requests("GET", "4xx"), 1.0),
        (requests("GET", "5xx"), 1.0),
        (requests("HEAD", "2xx"), 1.0),
        (requests("POST", "2xx"), 1.0),
        (requests("other", "4xx"), 1.0),
    ] {
        until(
            &server,
            name,
            &[("method", method), ("status_class", class)],
            want,
        );
    }
    until(
        &server,
        "warden_http_refused_requests_total",
        &[("status", "400")],
        1.0,
    );
    until(
        &server,
        "warden_http_refused_requests_total",
        &[("status", "431")],
        1.0,
    );
    until(
        &server,
        "warden_connections_closed_total",
        &[("reason", "client_error")],
        2.0,
    );
    until(&server, "warden_failures_total", &[("kind", "panic")], 1.0);
    until(&server, "warden_connections_accepted_total", &[], 3.0);

    let m = scrape(&server);
    // Every answered request was timed, on both histograms.
    assert_eq!(m.scalar("warden_http_request_duration_seconds_count"), 8.0);
    assert_eq!(m.scalar("warden_http_handler_duration_seconds_count"), 8.0);
    assert!(m.scalar("warden_http_request_duration_seconds_sum") > 0.0);
    assert!(m.scalar("warden_http_received_bytes_total") >= sent as f64);
    assert!(m.scalar("warden_http_sent_bytes_total") > 0.0);
    assert_eq!(m.scalar("warden_connections_open"), 1.0);
    assert_eq!(m.scalar("warden_http_requests_in_flight"), 0.0);
    // A refused request is not an answered one.
    let answered: f64 = m.families["warden_http_requests_total"]
        .samples
        .iter()
        .map(|s| s.value)
        .sum();
    assert_eq!(answered, 8.0);
}

#[test]
fn closes_are_counted_by_reason() {
    let server = server_with(|b| {
        b.keepalive_timeout(Duration::from_millis(50))
            .header_timeout(Duration::from_millis(50))
    });
    let closed = |reason| ("warden_connections_closed_total", reason);

    // The client closes between requests.
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/plaintext"), 200);
    drop(client);
    let (name, reason) = closed("client_closed");
    until(&server, name, &[("reason", reason)], 1.0);

    // The exchange asks for the close.
    let mut client = Client::to(&server);
    client.send("GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    client.reply().expect("an answer");
    assert!(client.is_closed());
    let (name, reason) = closed("done");
    until(&server, name, &[("reason", reason)], 1.0);

    // Idle past the keep-alive timeout.
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/plaintext"), 200);
    assert!(client.is_closed());
    let (name, reason) = closed("idle_timeout");
    until(&server, name, &[("reason", reason)], 1.0);

    // Half a head, never finished: 408.
    let mut client = Client::to(&server);
    client.send("GET /plaintext HTTP/1.1\r\n");
    assert_eq!(client.reply().expect("an answer").status, 408);
    let (name, reason) = closed("header_timeout");
    until(&server, name, &[("reason", reason)], 1.0);
    until(
        &server,
        "warden_http_refused_requests_total",
        &[("status", "408")],
        1.0,
    );
}

#[test]
fn restarts_are_counted_by_reason_and_recycling_is_its_own() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .fault_injection(true)
        .max_requests_per_worker(1000, 0)
        .serve(fault_routes)
        .expect("server starts");
    let failures = server.failures();
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/crash"), 200);
    assert_eq!(
        util::next_failure(&failures).kind,
        warden::FailureKind::WorkerPanic
    );
    until(
        &server,
        "warden_worker_restarts_total",
        &[("reason", "worker_panic")],
        1.0,
    );
    // Counters of the worker that crashed are kept: the restart does not reset them.
    let m = scrape(&server);
    assert_eq!(
        m.value(
            "warden_http_requests_total",
            &[("method", "GET"), ("status_class", "2xx")]
        ),
        1.0
    );
    // Recycling: after its share of requests the worker is replaced, not as a failure.
    let mut client = Client::to(&server);
    for _ in 0..1000 {
        assert_eq!(client.get_status("/plaintext"), 200);
    }
    until(
        &server,
        "warden_worker_restarts_total",
        &[("reason", "recycled")],
        1.0,
    );
    let m = scrape(&server);
    assert_eq!(
        m.value(
            "warden_worker_restarts_total",
            &[("reason", "worker_panic")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "warden_http_requests_total",
            &[("method", "GET"), ("status_class", "2xx")]
        ),
        1001.0
    );
}

#[test]
fn requests_awaiting_a_deferred_answer_are_in_flight() {
    let (tx, rx): (Sender<Responder>, Receiver<Responder>) = crossbeam_channel::unbounded();
    let tx = Mutex::new(tx);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(move |req: &Request<'_>| {
            if req.path() == "/later" {
                let (placeholder, responder) = req.defer();
                tx.lock()
                    .expect("lock")
                    .send(responder)
                    .expect("test alive");
                return placeholder;
            }
            routes(req)
        })
        .expect("server starts");
    let mut client = Client::to(&server);
    client.send(get("/later"));
    let responder = rx
        .recv_timeout(util::PATIENCE)
        .expect("the deferred request");
    until(&server, "warden_http_requests_in_flight", &[], 1.0);
    responder
        .send(Response::text("now"))
        .expect("the client waits");
    assert_eq!(client.reply().expect("an answer").text(), "now");
    until(&server, "warden_http_requests_in_flight", &[], 0.0);
    let m = scrape(&server);
    assert_eq!(m.scalar("warden_http_request_duration_seconds_count"), 1.0);
    assert_eq!(m.scalar("warden_http_handler_duration_seconds_count"), 1.0);
}

#[test]
fn accept_pauses_at_the_connection_limit_are_counted() {
    let server = server_with(|b| b.max_connections(1));
    let mut first = Client::to(&server);
    assert_eq!(first.get_status("/plaintext"), 200);
    // The second waits in the backlog: accepting paused.
    let _second = Client::to(&server);
    until(
        &server,
        "warden_accept_pauses_total",
        &[("cause", "connection_limit")],
        1.0,
    );
}

#[test]
fn the_route_and_the_health_route_must_differ() {
    let error = Server::builder()
        .bind("127.0.0.1:0")
        .health_route("/x")
        .metrics_route("/x")
        .serve(routes)
        .expect_err("refused");
    assert!(error.to_string().contains("different paths"), "{error}");
}
