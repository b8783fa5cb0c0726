//! The worker frame: a panic of the event loop itself is caught around the loop and
//! reported; the supervisor starts a replacement with fresh handler state, and every
//! accepted connection (idle ones, queued ones) moves to it.
mod util;

use std::cell::Cell;
use std::sync::{Arc, Barrier};

use util::{Client, eventually, fault_routes, get, next_failure};
use warden::{Error, FailureKind, Request, Response, Restart, Server};

/// Counts requests per worker incarnation: a restart starts again at 1.
fn counting_server(
    configure: impl FnOnce(warden::Builder) -> warden::Builder,
) -> warden::ServerHandle {
    let builder = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .fault_injection(true);
    configure(builder)
        .serve_with(|_| {
            let seen = Cell::new(0);
            move |req: &Request<'_>| {
                seen.set(seen.get() + 1);
                match req.path() {
                    "/count" => Response::text(seen.get().to_string()),
                    _ => fault_routes(req),
                }
            }
        })
        .expect("serve")
}

#[test]
fn crash_restarts_the_worker_with_fresh_state_and_keeps_idle_connections() {
    let server = counting_server(|b| b);
    let failures = server.failures();
    let mut idle = Client::to(&server);
    assert_eq!(idle.send(get("/count")).reply().expect("1").text(), "1");
    assert_eq!(idle.send(get("/count")).reply().expect("2").text(), "2");

    let mut crasher = Client::to(&server);
    let reply = crasher
        .send(get("/crash"))
        .reply()
        .expect("answered before the crash");
    assert_eq!(reply.text(), "crashing");

    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::WorkerPanic);
    assert!(
        failure.message.contains("injected fault"),
        "{}",
        failure.message
    );
    eventually("the replacement is up", || {
        server.stats().worker_restarts == 1
    });

    // The idle keep-alive connection was handed to the replacement: it still works, and
    // the handler there is a new one.
    assert_eq!(
        idle.send(get("/count"))
            .reply()
            .expect("after the crash")
            .text(),
        "1"
    );
    let stats = server.stats();
    assert!(stats.last_restart > std::time::Duration::ZERO);
    assert_eq!(stats.workers.len(), 1);
}

#[test]
fn sockets_queued_for_a_crashing_worker_go_to_its_replacement() {
    let inside = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let (i, r) = (Arc::clone(&inside), Arc::clone(&release));
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .fault_injection(true)
        .serve(move |req: &Request<'_>| {
            if req.path() == "/block-then-crash" {
                i.wait();
                r.wait();
                return Response::text("bye").with_fault(warden::Fault::WorkerPanic);
            }
            fault_routes(req)
        })
        .expect("serve");
    let mut blocker = Client::to(&server);
    blocker.send(get("/block-then-crash"));
    inside.wait(); // the only worker is inside the handler: it takes nothing from its inbox

    let mut waiting: Vec<Client> = (0..5).map(|_| Client::to(&server)).collect();
    for client in &mut waiting {
        client.send(get("/plaintext"));
    }
    eventually("five sockets queued for the blocked worker", || {
        server
            .stats()
            .workers
            .first()
            .is_some_and(|w| w.queued == 5)
    });
    release.wait(); // the handler returns, the loop panics with five sockets queued

    assert_eq!(blocker.reply().expect("answered").text(), "bye");
    for client in &mut waiting {
        assert_eq!(
            client.reply().expect("served by the replacement").status,
            200
        );
    }
    assert_eq!(server.stats().worker_restarts, 1);
}

#[test]
fn restart_intensity_stops_the_server() {
    let server = counting_server(|b| b.restart_intensity(2, std::time::Duration::from_secs(600)));
    let addr = server.local_addrs()[0];
    for _ in 0..3 {
        let mut client = Client::connect(addr);
        assert_eq!(client.get_status("/crash"), 200);
    }
    let err = server
        .wait()
        .expect_err("the third restart is one too many");
    assert!(
        matches!(err, Error::RestartIntensity { max: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("restart intensity"));
}

#[test]
fn abort_worker_is_not_replaced() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .fault_injection(true)
        .on_error(|failure| match failure.kind {
            FailureKind::WorkerPanic => Restart::AbortWorker,
            _ => failure.default_restart(),
        })
        .serve(fault_routes)
        .expect("serve");
    let mut crasher = Client::to(&server);
    assert_eq!(crasher.get_status("/crash"), 200);
    eventually("one worker left", || server.stats().workers.len() == 1);
    assert_eq!(server.stats().worker_restarts, 0);
    for _ in 0..4 {
        assert_eq!(
            Client::to(&server)
                .send(get("/plaintext"))
                .reply()
                .expect("served")
                .status,
            200
        );
    }
    // The last one going stops the server: nothing could serve.
    let mut last = Client::to(&server);
    assert_eq!(last.get_status("/crash"), 200);
    assert!(matches!(server.wait(), Err(Error::AllWorkersAborted)));
}

#[test]
fn a_panicking_factory_on_restart_counts_against_intensity() {
    let starts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s = Arc::clone(&starts);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .fault_injection(true)
        .restart_intensity(3, std::time::Duration::from_secs(600))
        .serve_with(move |_| {
            if s.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
                panic!("cannot build the handler again");
            }
            fault_routes
        })
        .expect("the first start works");
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/crash"), 200);
    assert!(matches!(server.wait(), Err(Error::RestartIntensity { .. })));
    assert_eq!(
        starts.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "the first, then three failed tries"
    );
}

#[test]
fn connections_of_an_aborted_worker_move_even_into_a_full_pool() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .max_connections(1)
        .fault_injection(true)
        .on_error(|failure| match failure.kind {
            FailureKind::WorkerPanic => Restart::AbortWorker,
            _ => failure.default_restart(),
        })
        .serve(fault_routes)
        .expect("serve");
    // One connection per worker: the pool is full.
    let mut a = Client::to(&server);
    let mut b = Client::to(&server);
    assert_eq!(a.get_status("/plaintext"), 200);
    assert_eq!(b.get_status("/plaintext"), 200);
    // A's worker crashes after answering and is not replaced; A, now idle, moves to the
    // other worker although that one is at its limit: it was accepted already.
    assert_eq!(a.get_status("/crash"), 200);
    eventually("one worker left", || server.stats().workers.len() == 1);
    assert_eq!(a.get_status("/plaintext"), 200);
    assert_eq!(b.get_status("/plaintext"), 200);
}
