//! The per-client connection limit over real sockets: past it, the first request of a
//! new connection is answered 503 and the connection closes; the count frees as
//! connections leave, and behind a PROXY protocol balancer each named client has its own.
mod util;

use std::time::Duration;

use util::{Client, get};
use warden::{Cidr, Server};

#[test]
fn past_the_per_client_limit_the_first_request_gets_503_and_the_count_frees() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .max_connections_per_ip(2)
        .serve(util::routes)
        .expect("server starts");
    let (mut a, mut b) = (Client::to(&server), Client::to(&server));
    assert_eq!(a.get_status("/plaintext"), 200);
    assert_eq!(b.get_status("/plaintext"), 200);
    // A third from the same address, whichever worker it lands on.
    let mut c = Client::to(&server);
    let reply = c.send(get("/plaintext")).reply().expect("an answer");
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(c.is_closed());
    // The others are untouched; once one leaves, a new connection is served.
    assert_eq!(a.get_status("/json"), 200);
    drop(b);
    util::eventually("a place is free", || {
        let mut d = Client::to(&server);
        d.send(get("/plaintext"))
            .reply()
            .is_some_and(|r| r.status == 200)
    });
    assert!(
        server
            .metrics()
            .contains("warden_http_refused_requests_total{status=\"503\"}")
    );
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
    // A second connection of the first is past its limit.
    let mut x2 = behind("203.0.113.1");
    assert_eq!(x2.get_status("/plaintext"), 503);
    server.shutdown(Duration::ZERO);
}
