//! The watchdog: a handler past its deadline is reported `Hung` with its request; its
//! worker gets no new connections and a replacement serves meanwhile. The old thread is
//! never killed: when its handler returns, it finishes and exits.
mod util;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use util::{Client, eventually, get, next_failure, routes};
use warden::{FailureKind, Request, Server};

#[test]
fn hung_handler_is_reported_and_replaced_never_killed() {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let (done_tx, done_rx) = mpsc::channel::<&'static str>();
    let done_tx = Mutex::new(done_tx);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .handler_deadline(Some(Duration::from_millis(100)))
        .serve(move |req: &Request<'_>| {
            if req.path() == "/hang" {
                // Stuck until the test says otherwise, far past the deadline.
                let _ = release_rx.lock().expect("lock").recv();
                let _ = done_tx
                    .lock()
                    .expect("lock")
                    .send("the hung handler ran to completion");
            }
            routes(req)
        })
        .expect("serve");
    let failures = server.failures();

    let mut stuck = Client::to(&server);
    stuck.send(get("/hang?for=ever"));
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Hung);
    assert_eq!(
        (failure.method.as_deref(), failure.path.as_deref()),
        (Some("GET"), Some("/hang"))
    );
    assert_eq!(failure.peer, Some(stuck.stream.local_addr().expect("addr")));
    assert!(failure.message.contains("deadline"), "{}", failure.message);

    // A replacement serves while the old thread is still inside the handler.
    eventually("replacement started", || {
        server.stats().worker_restarts == 1
    });
    let mut fresh = Client::to(&server);
    assert_eq!(fresh.get_status("/plaintext"), 200);

    // The handler is never interrupted: released, it completes, and its response still
    // reaches the client before the old worker exits.
    release_tx.send(()).expect("release");
    assert_eq!(
        done_rx.recv_timeout(util::PATIENCE).expect("completed"),
        "the hung handler ran to completion"
    );
    assert_eq!(stuck.reply().expect("late answer").status, 404);
    // The retired worker hands its now idle connection to the replacement.
    assert_eq!(stuck.get_status("/plaintext"), 200);

    assert_eq!(fresh.get_status("/plaintext"), 200);
    assert_eq!(server.stats().failures_of(FailureKind::Hung), 1);
}

#[test]
fn no_watchdog_when_turned_off() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .handler_deadline(None)
        .serve(|req: &Request<'_>| {
            if req.path() == "/slow" {
                std::thread::sleep(Duration::from_millis(300));
            }
            routes(req)
        })
        .expect("serve");
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/slow"), 404);
    assert_eq!(server.stats().worker_restarts, 0);
    assert_eq!(server.stats().failures_of(FailureKind::Hung), 0);
}
