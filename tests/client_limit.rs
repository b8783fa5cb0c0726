//! The per-client connection limit over real sockets: past it, a new connection is
//! closed as it is accepted (before a byte is read: silent connections cannot fill a
//! worker); the count frees as connections leave; behind a PROXY protocol balancer each
//! named client has its own, and one past it is answered 503 at once.
mod util;

use std::time::Duration;

use util::{Client, get};
use warden::{Cidr, Server};

#[test]
fn past_the_per_client_limit_a_connection_is_closed_at_once_and_the_count_frees() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .max_connections_per_ip(2)
        .metrics_route("/metrics")
        .serve(util::routes)
        .expect("server starts");
    let (mut a, mut b) = (Client::to(&server), Client::to(&server));
    assert_eq!(a.get_status("/plaintext"), 200);
    assert_eq!(b.get_status("/plaintext"), 200);
    // A third from the same address, whichever worker it would land on: closed unread.
    let mut c = Client::to(&server);
    assert!(c.is_closed(), "closed as it was accepted");
    // The others are untouched; once one leaves, a new connection is served.
    assert_eq!(a.get_status("/json"), 200);
    drop(b);
    util::eventually("a place is free", || {
        let mut d = Client::to(&server);
        d.send(get("/plaintext"))
            .reply()
            .is_some_and(|r| r.status == 200)
    });
    let metrics = a.send(get("/metrics")).reply().expect("metrics").text();
    let refused = util::prom::parse(&metrics)
        .expect("an exposition")
        .value("warden_connections_over_client_limit_total", &[]);
    assert!(refused >= 1.0, "counted: {refused}");
    server.shutdown(Duration::ZERO);
}

#[test]
fn silent_connections_past_the_limit_take_no_slot_of_a_worker() {
    // One worker with room for 8 connections; one address may hold 4. Before, the
    // silent ones past the limit were held (to answer 503 once a head came) until the
    // header timeout, here a minute: the worker filled and everyone else waited.
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .max_connections(8)
        .max_connections_per_ip(4)
        .header_timeout(Duration::from_secs(60))
        .serve(util::routes)
        .expect("server starts");
    let kept: Vec<Client> = (0..4).map(|_| Client::to(&server)).collect();
    for i in 0..20 {
        let mut silent = Client::to(&server);
        assert!(
            silent.is_closed(),
            "connection {i} past the limit is closed unread"
        );
    }
    // Another address is served at once, and the first's connections are still there.
    let mut other = Client::from("127.0.0.2", &server);
    assert_eq!(other.get_status("/plaintext"), 200);
    for mut client in kept {
        assert_eq!(client.get_status("/plaintext"), 200);
    }
    server.shutdown(Duration::ZERO);
}

#[test]
fn the_per_client_limit_counts_the_client_a_proxy_header_names() {
    let trusted: Cidr = "127.0.0.1".parse().expect("a range");
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .proxy_protocol([trusted])
        .max_connections_per_ip(1)
        .serve(util::routes)
        .expect("server starts");
    let behind = |client: &str| {
        let mut c = Client::to(&server);
        c.send(format!("PROXY TCP4 {client} 198.51.100.1 40000 80\r\n"));
        c
    };
    // Two clients behind one balancer: each its own count.
    let (mut x, mut y) = (behind("203.0.113.1"), behind("203.0.113.2"));
    assert_eq!(x.get_status("/plaintext"), 200);
    assert_eq!(y.get_status("/plaintext"), 200);
    // A second connection of the first is past its limit: answered 503 as soon as the
    // header names it (the balancer relays it; a close would look like a failed
    // backend), then closed.
    let mut x2 = behind("203.0.113.1");
    let reply = x2.reply().expect("a 503 without waiting for a request");
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert!(x2.is_closed());
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_connection_moved_mid_proxy_header_is_counted_once() {
    // Recycling after every request moves the open connections to a new worker; one
    // whose PROXY header is half-read moves with its parse state. Before, it was counted
    // against the balancer's address on arrival and again for the client its header
    // named, and the balancer's count never came back: with a limit of 1, its health
    // checks (PROXY LOCAL) were refused for good.
    let trusted: Cidr = "127.0.0.1".parse().expect("a range");
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .max_requests_per_worker(1, 0)
        .proxy_protocol([trusted])
        .max_connections_per_ip(1)
        .serve(util::routes)
        .expect("server starts");
    for round in 0..3 {
        let mut half = Client::to(&server);
        half.send("PROXY TCP4 203.0.113.9 ");
        // Another connection's request recycles the worker; the half-read one moves.
        let mut trigger = Client::to(&server);
        trigger.send("PROXY TCP4 203.0.113.7 198.51.100.1 40000 80\r\n");
        assert_eq!(trigger.get_status("/plaintext"), 200, "round {round}");
        drop(trigger);
        half.send("198.51.100.1 40001 80\r\n");
        assert_eq!(half.get_status("/plaintext"), 200, "round {round}");
        drop(half);
        // A health check that names no client counts against the balancer itself.
        util::eventually("the balancer's health check is served", || {
            let mut check = Client::to(&server);
            check.send("PROXY UNKNOWN\r\n");
            check
                .send(get("/plaintext"))
                .reply()
                .is_some_and(|r| r.status == 200)
        });
    }
    server.shutdown(Duration::ZERO);
}
