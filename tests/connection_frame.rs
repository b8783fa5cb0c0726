//! The connection frame: a panic in a connection's own processing closes that connection
//! only, and is reported; the worker and its other connections carry on.
mod util;

use util::{Client, eventually, fault_routes, get, next_failure};
use warden::{FailureKind, Server};

#[test]
fn connection_panic_closes_that_connection_only() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .fault_injection(true)
        .serve(fault_routes)
        .expect("serve");
    let failures = server.failures();
    let mut bystander = Client::to(&server);
    assert_eq!(bystander.get_status("/plaintext"), 200);

    let mut victim = Client::to(&server);
    victim.send(get("/conn-crash"));
    // The fault fires once the response is written; then the connection is closed, its
    // state not trusted.
    assert_eq!(
        victim.reply().expect("written before the fault").text(),
        "lost"
    );
    assert!(victim.is_closed());

    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::ConnectionPanic);
    assert!(
        failure.message.contains("injected fault"),
        "{}",
        failure.message
    );
    assert_eq!(
        failure.peer,
        Some(victim.stream.local_addr().expect("addr"))
    );
    assert_eq!(
        failure.path.as_deref(),
        Some("/conn-crash"),
        "the request it was serving"
    );

    assert_eq!(bystander.get_status("/plaintext"), 200);
    assert_eq!(
        server.stats().worker_restarts,
        0,
        "the worker itself is fine"
    );
    eventually("victim closed", || server.stats().active_connections == 1);
}

#[test]
fn faults_are_ignored_unless_injection_is_on() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(fault_routes)
        .expect("serve");
    let mut client = Client::to(&server);
    assert_eq!(
        client
            .send(get("/conn-crash"))
            .reply()
            .expect("served")
            .text(),
        "lost"
    );
    assert_eq!(
        client.send(get("/crash")).reply().expect("served").text(),
        "crashing"
    );
    assert_eq!(client.get_status("/plaintext"), 200);
}
