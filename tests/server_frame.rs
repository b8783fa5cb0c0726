//! The server frame: a policy that chooses `Shutdown` really stops the server, and the
//! reason reaches the caller of `wait` (errors in children propagate to the parent). A
//! deliberate `shutdown()` is a clean stop. The error channel never blocks a worker.
mod util;

use std::time::Duration;

use util::{Client, fault_routes, get};
use warden::{Error, FailureKind, Restart, Server};

#[test]
fn policy_shutdown_stops_the_server_and_wait_returns_the_failure() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .shutdown_grace(Duration::from_secs(5))
        .on_error(|failure| match (failure.kind, failure.path.as_deref()) {
            (FailureKind::Panic, Some("/panic")) => Restart::Shutdown,
            _ => failure.default_restart(),
        })
        .serve(fault_routes)
        .expect("serve");
    let mut idle = Client::to(&server);
    assert_eq!(idle.get_status("/plaintext"), 200);

    let mut client = Client::to(&server);
    let reply = client.send(get("/panic")).reply().expect("answered");
    assert_eq!(
        (reply.status, reply.header("connection")),
        (500, Some("close"))
    );

    let err = server.wait().expect_err("stopped by the policy");
    let Error::Shutdown(failure) = &err else {
        panic!("unexpected {err:?}");
    };
    assert_eq!(failure.kind, FailureKind::Panic);
    assert_eq!(failure.path.as_deref(), Some("/panic"));
    assert!(err.to_string().contains("/panic"), "{err}");
    assert!(idle.is_closed(), "the drain closed the idle connection");
    assert!(
        std::net::TcpStream::connect(server.local_addrs()[0]).is_err(),
        "no longer listening"
    );
}

#[test]
fn a_requested_shutdown_is_a_clean_stop() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(fault_routes)
        .expect("serve");
    server.shutdown(Duration::from_secs(1));
    assert!(server.wait().is_ok());
    assert!(server.wait().is_ok(), "every caller gets the same answer");
}

#[test]
fn a_full_error_channel_drops_and_counts_never_blocks() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .failure_channel_capacity(2)
        .serve(fault_routes)
        .expect("serve");
    let failures = server.failures(); // subscribed, and never read until the end
    let mut client = Client::to(&server);
    for _ in 0..5 {
        assert_eq!(client.get_status("/panic"), 500);
    }
    let stats = server.stats();
    assert_eq!(stats.failures_of(FailureKind::Panic), 5);
    assert_eq!(stats.dropped_failure_reports, 3);
    assert_eq!(failures.try_iter().count(), 2);
}

#[test]
fn the_last_worker_aborted_while_hung_stops_the_server_with_the_reason() {
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .handler_deadline(Some(Duration::from_millis(100)))
        .on_error(|failure| match failure.kind {
            FailureKind::Hung => Restart::AbortWorker,
            _ => failure.default_restart(),
        })
        .serve(move |req: &warden::Request<'_>| {
            let _ = release_rx.lock().expect("lock").recv();
            util::routes(req)
        })
        .expect("serve");
    let mut stuck = Client::to(&server);
    stuck.send(get("/never"));
    // No worker remains: the server stops by itself and says why, while the hung
    // handler is still running (bounded: a server left with no worker never returns).
    let (stopped_tx, stopped_rx) = std::sync::mpsc::channel();
    let waiting = server.clone();
    std::thread::spawn(move || stopped_tx.send(waiting.wait()));
    let err = stopped_rx
        .recv_timeout(util::PATIENCE)
        .expect("the server stops by itself")
        .expect_err("stopped on an error");
    assert!(matches!(err, Error::AllWorkersAborted), "{err:?}");
    drop(release_tx);
}

#[test]
fn failures_go_to_the_log_again_once_every_reader_has_gone() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(fault_routes)
        .expect("serve");
    let failures = server.failures();
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/panic"), 500);
    assert_eq!(util::next_failure(&failures).kind, FailureKind::Panic);
    drop(failures);

    // Nobody reads the channel any more: the failure is not silently queued for nobody.
    assert_eq!(client.get_status("/panic"), 500);
    util::eventually("the report counted as not delivered", || {
        server.stats().dropped_failure_reports == 1
    });
    assert_eq!(server.stats().failures_of(FailureKind::Panic), 2);

    // A new reader gets the next one.
    let failures = server.failures();
    assert_eq!(client.get_status("/panic"), 500);
    assert_eq!(util::next_failure(&failures).kind, FailureKind::Panic);
}
