//! Worker recycling: a worker is replaced after its share of requests, and its clients
//! notice nothing, not even one in the middle of a request.
mod util;

use util::{Client, eventually, get, server_with};

#[test]
fn a_worker_is_recycled_after_its_share_and_its_clients_go_on() {
    let server = server_with(|b| b.max_requests_per_worker(5, 0));
    let failures = server.failures();
    let mut client = Client::to(&server);
    // Half a request, then the rest later: across recyclings the bytes stay in order.
    for i in 0..23 {
        if i % 4 == 0 {
            client.send("GET /plaintext HTTP/1.1\r\nHo");
            client.send("st: a\r\n\r\n");
            assert_eq!(client.reply().expect("answered").status, 200, "request {i}");
        } else {
            assert_eq!(client.get_status("/plaintext"), 200, "request {i}");
        }
    }
    eventually("recycled at least four times", || {
        server.stats().worker_recycles >= 4
    });
    // Counted by each worker as it goes, and kept from the ones replaced.
    eventually("every request counted", || server.stats().requests == 23);
    assert_eq!(
        server.stats().worker_restarts,
        0,
        "recycling is not a restart"
    );
    assert!(failures.try_recv().is_err(), "recycling is not a failure");
    // A fresh client is served by the current worker.
    let mut fresh = Client::to(&server);
    assert_eq!(fresh.send(get("/json")).reply().expect("reply").status, 200);
}

/// One worker recycled after `share` requests: `/events` hands its responder to the test,
/// anything else is answered at once.
fn streaming_server(
    share: u64,
    grace: std::time::Duration,
) -> (
    warden::ServerHandle,
    crossbeam_channel::Receiver<warden::Responder>,
) {
    use warden::{Request, Response, Server};

    let (responders_tx, responders) = crossbeam_channel::bounded(1);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .max_requests_per_worker(share, 0)
        .shutdown_grace(grace)
        .serve(move |req: &Request<'_>| -> Response {
            if req.path() == "/events" {
                let (pending, responder) = req.defer();
                responders_tx.send(responder).expect("the test waits");
                return pending;
            }
            Response::text("plain")
        })
        .expect("server starts");
    (server, responders)
}

#[test]
fn a_worker_due_for_recycling_lets_its_streams_finish() {
    const EVENTS: usize = 6;
    let (server, responders) = streaming_server(3, std::time::Duration::from_secs(30));
    let mut events = Client::to(&server);
    events.send(get("/events"));
    let responder = responders.recv_timeout(util::PATIENCE).expect("deferred");
    let mut stream = responder.event_stream().expect("the client waits");
    stream.data("event 1").expect("sent");
    // The worker answers past its share while the stream is open.
    let mut other = Client::to(&server);
    for _ in 0..4 {
        assert_eq!(other.get_status("/plain"), 200);
    }
    // The stream goes on to its end: every event, and the last chunk.
    for i in 2..=EVENTS {
        stream.data(&format!("event {i}")).expect("sent");
    }
    stream.finish().expect("finished");
    let reply = events.reply().expect("the whole stream");
    assert_eq!(reply.text().matches("data: event").count(), EVENTS);
    // Then the worker is recycled, and the clients go on.
    eventually("recycled once its stream ended", || {
        server.stats().worker_recycles >= 1
    });
    assert_eq!(other.get_status("/plain"), 200);
    let closed = server.stats().http.closed_by;
    assert_eq!(closed[warden::CloseReason::ClientGone.index()], 0);
}

#[test]
fn a_stream_still_open_past_the_grace_is_cut_as_recycled() {
    use std::io::ErrorKind;
    use std::time::Duration;

    use warden::CloseReason;

    let (server, responders) = streaming_server(2, Duration::from_millis(200));
    let mut events = Client::to(&server);
    events.send(get("/events"));
    let responder = responders.recv_timeout(util::PATIENCE).expect("deferred");
    let mut stream = responder.event_stream().expect("the client waits");
    let mut other = Client::to(&server);
    for _ in 0..3 {
        assert_eq!(other.get_status("/plain"), 200);
    }
    // The stream never ends: past the grace, the worker goes, and its writer is told.
    eventually("recycled past the grace", || {
        server.stats().worker_recycles >= 1
    });
    let e = (0..1000)
        .find_map(|_| stream.data("still here?").err())
        .expect("a write fails once the stream is cut");
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    let closed = server.stats().http.closed_by;
    assert_eq!(closed[CloseReason::Recycled.index()], 1, "{closed:?}");
    assert_eq!(closed[CloseReason::ClientGone.index()], 0, "{closed:?}");
    assert_eq!(other.get_status("/plain"), 200);
}

#[test]
fn new_connections_go_elsewhere_while_a_worker_waits_to_be_recycled() {
    use warden::{Request, Response, Server};

    let (responders_tx, responders) = crossbeam_channel::bounded(1);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .max_requests_per_worker(1, 0)
        .serve(move |req: &Request<'_>| -> Response {
            if req.path() == "/deferred" {
                let (pending, responder) = req.defer();
                responders_tx.send(responder).expect("the test waits");
                return pending;
            }
            Response::text("plain")
        })
        .expect("server starts");
    // Its share is one request: the worker that takes this one is due for recycling at
    // once, and waits for the answer it cannot move.
    let mut waiting = Client::to(&server);
    waiting.send(get("/deferred"));
    let responder = responders.recv_timeout(util::PATIENCE).expect("deferred");
    // The handler has the request; its loop counts it as awaited once the handler
    // returns, a moment later.
    let awaiting = || {
        server
            .stats()
            .workers
            .iter()
            .find(|w| w.counters.awaiting_answer == 1)
            .map(|w| w.id)
    };
    eventually("the deferred request is counted", || awaiting().is_some());
    let due = awaiting().expect("the worker with the deferred request");
    let accepted = |server: &warden::ServerHandle| {
        server
            .stats()
            .workers
            .iter()
            .find(|w| w.id == due)
            .map(|w| w.counters.accepted)
            .expect("the worker is still there")
    };
    let before = accepted(&server);
    for _ in 0..6 {
        assert_eq!(Client::to(&server).get_status("/plain"), 200);
    }
    assert_eq!(
        accepted(&server),
        before,
        "no new connection went to the worker due for recycling"
    );
    responder
        .send(Response::text("answered"))
        .expect("the client waits");
    assert_eq!(waiting.reply().expect("the answer").text(), "answered");
    eventually("the worker recycled once its answer went out", || {
        server.stats().worker_recycles >= 1
    });
}
