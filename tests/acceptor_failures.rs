//! The acceptor's own failures: a listener that breaks is reported, retried after a
//! back-off, and when it stays broken the server stops and says why (it never spins, and
//! never dies silently).
mod util;

use std::time::Duration;

use util::PATIENCE;
use warden_reactor::{FailureKind, Frame, Request, Response};
use warden_worker::{DEFAULT_BACKLOG, Policies, PoolConfig, Stop, WorkerPool, bind};

#[test]
fn a_listener_that_breaks_is_reported_and_the_server_stops_with_the_reason() {
    let listener = bind("127.0.0.1:0".parse().expect("addr"), DEFAULT_BACKLOG).expect("bind");
    // The same socket, to break it from outside the server.
    let ours = listener.try_clone().expect("dup");
    let mut config = PoolConfig::default();
    config.workers = 1;
    config.shutdown_grace = Duration::ZERO;
    let pool = WorkerPool::start(vec![listener.into()], config, Policies::default(), |_| {
        |_: &Request<'_>| Response::text("hi")
    })
    .expect("start");
    let failures = pool.failures();
    let pool = std::sync::Arc::new(pool);

    // A listener that is shut down no longer listens: accept answers EINVAL, forever.
    socket2::SockRef::from(&ours)
        .shutdown(std::net::Shutdown::Read)
        .expect("shutdown");

    let failure = failures.recv_timeout(PATIENCE).expect("reported");
    assert_eq!(
        (failure.kind, failure.frame),
        (FailureKind::Io, Frame::Server)
    );
    assert!(failure.message.contains("retrying"), "{}", failure.message);

    let (stopped_tx, stopped_rx) = std::sync::mpsc::channel();
    let joining = std::sync::Arc::clone(&pool);
    std::thread::spawn(move || stopped_tx.send(joining.join()));
    let stop = stopped_rx
        .recv_timeout(PATIENCE)
        .expect("the server stops by itself")
        .expect("joined once");
    let Stop::AcceptorFailed(last) = stop else {
        panic!("stopped for another reason: {stop}");
    };
    assert!(last.message.contains("giving up"), "{}", last.message);
}
