//! The PROXY protocol over real sockets: v1 and v2 headers name the client everywhere
//! (the request, failures, the access log), split headers, LOCAL, TLVs, and what is
//! refused: a missing or malformed header, an untrusted source.
mod util;

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use util::{Client, PATIENCE, get};
use warden::{Cidr, Request, Response, Server, ServerHandle};

/// A server trusting `trusted`, whose routes answer who asked.
fn server(trusted: &[&str]) -> ServerHandle {
    let trusted: Vec<Cidr> = trusted
        .iter()
        .map(|c| c.parse().expect("a range"))
        .collect();
    Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .metrics_route("/metrics")
        .proxy_protocol(trusted)
        .serve(|req: &Request<'_>| match req.path() {
            "/panic" => panic!("asked to"),
            _ => Response::text(format!(
                "peer={} proxy={}",
                req.peer_addr(),
                req.proxy_addr()
                    .map_or("none".to_owned(), |a| a.to_string())
            )),
        })
        .expect("server starts")
}

fn v2(command: u8, family: u8, body: &[u8]) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.push(0x20 | command);
    h.push(family);
    h.extend_from_slice(&u16::try_from(body.len()).expect("short").to_be_bytes());
    h.extend_from_slice(body);
    h
}

/// IPv4 addresses and ports for a v2 header: 192.0.2.7:40000 to 198.51.100.1:443.
fn v4_block() -> Vec<u8> {
    let mut b = vec![192, 0, 2, 7, 198, 51, 100, 1];
    b.extend_from_slice(&40000u16.to_be_bytes());
    b.extend_from_slice(&443u16.to_be_bytes());
    b
}

/// The server closed the connection without sending anything.
fn closed_silently(mut stream: TcpStream) {
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected a silent close, got {other:?}"),
    }
}

#[test]
fn a_v1_header_names_the_client_for_every_request_of_the_connection() {
    let server = server(&["127.0.0.1/32"]);
    let mut client = Client::to(&server);
    let own = client.stream.local_addr().expect("addr");
    client.send("PROXY TCP4 203.0.113.9 198.51.100.1 51000 80\r\n");
    for _ in 0..2 {
        let reply = client.send(get("/")).reply().expect("an answer");
        assert_eq!(reply.text(), format!("peer=203.0.113.9:51000 proxy={own}"));
    }
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_v2_header_split_byte_by_byte_with_tlvs_then_http() {
    let server = server(&["127.0.0.0/8"]);
    let failures = server.failures();
    let mut block = v4_block();
    block.extend_from_slice(&[0x04, 0x00, 0x02, 0xAA, 0xBB, 0xEE, 0x00, 0x00]);
    let header = v2(1, 0x11, &block);
    let mut client = Client::to(&server);
    for byte in &header {
        client.send([*byte]);
    }
    let reply = client.send(get("/")).reply().expect("an answer");
    assert!(
        reply
            .text()
            .starts_with("peer=192.0.2.7:40000 proxy=127.0.0.1:"),
        "{}",
        reply.text()
    );
    // A failure names the client too.
    assert_eq!(client.get_status("/panic"), 500);
    let failure = util::next_failure(&failures);
    assert_eq!(failure.peer, Some("192.0.2.7:40000".parse().expect("addr")));
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_v2_local_header_and_v1_unknown_keep_the_real_peer() {
    let server = server(&["127.0.0.1"]);
    for header in [v2(0, 0x11, &v4_block()), b"PROXY UNKNOWN\r\n".to_vec()] {
        let mut client = Client::to(&server);
        let own = client.stream.local_addr().expect("addr");
        client.send(&header);
        let reply = client.send(get("/")).reply().expect("an answer");
        assert_eq!(reply.text(), format!("peer={own} proxy=none"));
    }
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_missing_or_malformed_header_closes_and_is_counted() {
    let server = server(&["127.0.0.1"]);
    for bad in [
        get("/").into_bytes(),
        b"PROXY TCP4 203.0.113.9 198.51.100.1 99999 80\r\n".to_vec(),
        v2(1, 0x11, &v4_block()[..6]),
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 and far too much more text for one header line here\r\n"
            .to_vec(),
    ] {
        let mut client = Client::to(&server);
        client.send(&bad);
        closed_silently(client.stream);
    }
    util::eventually("counted", || server.stats().http.proxy_bad_header == 4);
    let metrics = server.metrics();
    assert!(
        metrics.contains("warden_proxy_protocol_refused_total{reason=\"bad_header\"} 4"),
        "{metrics}"
    );
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_source_not_trusted_is_refused_before_a_byte_is_read() {
    let server = server(&["10.0.0.0/8"]);
    let mut client = Client::to(&server);
    // Even a valid header: this source may not speak for anyone.
    client.send("PROXY TCP4 203.0.113.9 198.51.100.1 51000 80\r\n");
    closed_silently(client.stream);
    util::eventually("counted", || server.stats().http.proxy_untrusted == 1);
    server.shutdown(Duration::ZERO);
}

#[test]
fn the_header_must_come_within_the_header_timeout() {
    let trusted: Cidr = "127.0.0.1".parse().expect("a range");
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .header_timeout(Duration::from_millis(100))
        .proxy_protocol([trusted])
        .serve(util::routes)
        .expect("server starts");
    let mut client = Client::to(&server);
    client.send("PROXY TCP4 203.0.113.9 198.51.");
    // Answered 408 (a balancer logs it) and closed; not left open.
    let got = client.read_to_close();
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_proxied_listener_beside_a_direct_one() {
    let trusted: Cidr = "127.0.0.1".parse().expect("a range");
    let server = Server::builder()
        .bind_proxied("127.0.0.1:0", [trusted])
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(|req: &Request<'_>| Response::text(req.peer_addr().to_string()))
        .expect("server starts");
    let (proxied, direct) = (server.local_addrs()[0], server.local_addrs()[1]);
    let mut behind = Client::connect(proxied);
    behind.send("PROXY TCP4 203.0.113.9 198.51.100.1 51000 80\r\n");
    assert_eq!(
        behind.send(get("/")).reply().expect("an answer").text(),
        "203.0.113.9:51000"
    );
    // The direct listener takes no header, and a request without one is served.
    let mut client = Client::connect(direct);
    let own = client.stream.local_addr().expect("addr");
    assert_eq!(
        client.send(get("/")).reply().expect("an answer").text(),
        own.to_string()
    );
    // The proxied one refuses a request without it.
    let mut bare = Client::connect(proxied);
    bare.send(get("/"));
    closed_silently(bare.stream);
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_range_written_as_ipv4_mapped_ipv6_trusts_the_ipv4_peer() {
    // `::ffff:127.0.0.1/128` is 127.0.0.1: before, it never matched and every connection
    // of the balancer was refused as untrusted.
    let server = server(&["::ffff:127.0.0.1/128"]);
    let mut c = Client::to(&server);
    c.send("PROXY TCP4 203.0.113.5 198.51.100.1 40000 80\r\n");
    let reply = c.send(get("/who")).reply().expect("an answer");
    assert!(
        reply.text().starts_with("peer=203.0.113.5:40000"),
        "{}",
        reply.text()
    );
    server.shutdown(Duration::ZERO);
}
