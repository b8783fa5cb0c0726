//! The supervisor runs no application code it could be frozen by: a handler factory that
//! blocks on a restart, or an error policy that blocks, costs only its own worker, is
//! bounded, and is reported.
mod util;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use util::{Client, fault_routes, get, next_failure, routes};
use warden::{FailureKind, Frame, Request, Server};

#[test]
fn a_handler_factory_that_blocks_on_a_restart_is_reported_hung_and_replaced() {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let builds = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&builds);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .fault_injection(true)
        .handler_deadline(Some(Duration::from_millis(300)))
        .serve_with(move |_worker| {
            // The second build (the first restart) blocks until the test ends.
            if counter.fetch_add(1, Ordering::SeqCst) == 1 {
                let _ = release_rx.lock().expect("lock").recv();
            }
            fault_routes
        })
        .expect("serve");
    let failures = server.failures();
    let mut crasher = Client::to(&server);
    assert_eq!(crasher.get_status("/crash"), 200);
    assert_eq!(next_failure(&failures).kind, FailureKind::WorkerPanic);

    // The restart's factory blocks; the supervisor is not frozen by it: its watchdog
    // reports the factory, and a third build serves.
    let hung = next_failure(&failures);
    assert_eq!(hung.kind, FailureKind::Hung);
    assert!(hung.message.contains("handler factory"), "{}", hung.message);
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/plaintext"), 200);
    assert!(builds.load(Ordering::SeqCst) >= 3);
    drop(release_tx);
}

#[test]
fn an_error_policy_that_blocks_is_bounded_and_reported() {
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Arc::new(Mutex::new(release_rx));
    let (policy_tx, policy_rx) = mpsc::channel::<()>();
    let policy_rx = Arc::new(Mutex::new(policy_rx));
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .handler_deadline(Some(Duration::from_millis(200)))
        .on_error(move |failure| {
            if failure.kind == FailureKind::Hung {
                // Blocks until the test ends: a policy calling a service that is down.
                let _ = policy_rx.lock().expect("lock").recv();
            }
            failure.default_restart()
        })
        .serve(move |req: &Request<'_>| {
            if req.path() == "/hang" {
                let _ = release_rx.lock().expect("lock").recv();
            }
            routes(req)
        })
        .expect("serve");
    let failures = server.failures();
    let mut stuck = Client::to(&server);
    stuck.send(get("/hang"));

    // The policy overran: reported, the default (a fresh worker) applied meanwhile.
    let overrun = next_failure(&failures);
    assert_eq!(
        (overrun.kind, overrun.frame),
        (FailureKind::Hung, Frame::Server)
    );
    assert!(
        overrun.message.contains("error policy"),
        "{}",
        overrun.message
    );
    let mut fresh = Client::to(&server);
    assert_eq!(fresh.get_status("/plaintext"), 200);
    assert_eq!(server.stats().worker_restarts, 1);
    drop((release_tx, policy_tx));
}
