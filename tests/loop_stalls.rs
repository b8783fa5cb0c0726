//! Slow handlers on the loop: stalls are counted and logged with their route, new
//! connections avoid a stalled worker, and a hung worker's queued sockets are served at
//! once by its replacement.
mod util;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use util::{Client, PATIENCE, eventually, get, next_failure, routes};
use warden::{FailureKind, Request, Server};

#[test]
fn a_handler_that_stalls_its_loop_is_counted() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .stall_threshold(Some(Duration::from_millis(20)))
        .serve(|req: &Request<'_>| {
            if req.path() == "/stall" {
                // Far past the threshold, the way a database call on the loop would be.
                std::thread::sleep(Duration::from_millis(150));
            }
            routes(req)
        })
        .expect("serve");
    let mut client = Client::to(&server);
    // Sampled by another thread: ask again until it has looked (bounded by PATIENCE).
    let start = Instant::now();
    while server.stats().loop_stalls == 0 {
        assert!(start.elapsed() < PATIENCE, "no stall was ever counted");
        assert_eq!(client.get_status("/stall"), 404);
    }
    eventually("the stall is over", || {
        server.stats().workers.iter().all(|w| !w.stalled)
    });
}

#[test]
fn new_connections_avoid_a_worker_whose_handler_stalls_its_loop() {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .stall_threshold(Some(Duration::from_millis(20)))
        .handler_deadline(None)
        .serve(move |req: &Request<'_>| {
            if req.path() == "/stuck" {
                let _ = release_rx.lock().expect("lock").recv();
            }
            routes(req)
        })
        .expect("serve");
    let mut stuck = Client::to(&server);
    stuck.send(get("/stuck"));
    eventually("the stall is seen", || {
        server.stats().workers.iter().any(|w| w.stalled)
    });
    let stats = server.stats();
    let stalled = stats.workers.iter().find(|w| w.stalled).expect("stalled");
    let (stalled_id, accepted_before) = (stalled.id, stalled.counters.accepted);

    // Every new client is served by the free worker, none waits behind the stuck one.
    for _ in 0..6 {
        let mut client = Client::to(&server);
        assert_eq!(client.get_status("/plaintext"), 200);
    }
    let stats = server.stats();
    let stalled = stats
        .workers
        .iter()
        .find(|w| w.id == stalled_id)
        .expect("still there");
    assert_eq!(stalled.counters.accepted, accepted_before);

    release_tx.send(()).expect("release");
    assert_eq!(stuck.reply().expect("answered").status, 404);
    eventually("the stall ended", || {
        server.stats().workers.iter().all(|w| !w.stalled)
    });
    // At least this one (a busy machine may stall a quick handler too).
    assert!(server.stats().loop_stalls >= 1);
}

#[test]
fn a_hung_workers_queued_sockets_are_served_by_its_replacement_at_once() {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let started_tx = Mutex::new(started_tx);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .handler_deadline(Some(Duration::from_millis(200)))
        .serve(move |req: &Request<'_>| {
            if req.path() == "/hang" {
                let _ = started_tx.lock().expect("lock").send(());
                let _ = release_rx.lock().expect("lock").recv();
            }
            routes(req)
        })
        .expect("serve");
    let failures = server.failures();
    let mut hung = Client::to(&server);
    hung.send(get("/hang"));
    started_rx
        .recv_timeout(PATIENCE)
        .expect("the handler started");
    // Accepted while the only worker is stuck: queued to it, not registered.
    let mut waiting = Client::to(&server);
    waiting.send(get("/plaintext"));

    assert_eq!(next_failure(&failures).kind, FailureKind::Hung);
    // Served by the replacement while the hung handler still runs: without the hand-over
    // this read would wait for the release below, which only comes after it.
    let reply = waiting.reply().expect("served by the replacement");
    assert_eq!(reply.text(), "Hello, World!");
    assert_eq!(server.stats().worker_restarts, 1);

    release_tx.send(()).expect("release");
    let answer = hung
        .reply()
        .expect("the hung handler's answer still arrives");
    assert_eq!(answer.status, 404);
}
