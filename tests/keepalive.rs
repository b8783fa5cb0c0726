//! Persistent connections: HTTP/1.1 by default, HTTP/1.0 on request, closed on request.
mod util;

use util::{Client, eventually, get, server};

#[test]
fn http11_connections_persist() {
    let server = server();
    let mut client = Client::to(&server);
    for _ in 0..50 {
        let reply = client.send(get("/plaintext")).reply().expect("reply");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body, b"Hello, World!");
        assert_eq!(reply.header("connection"), None);
    }
    eventually("50 requests counted", || server.stats().requests == 50);
    assert_eq!(server.stats().accepted, 1);
}

#[test]
fn responses_carry_date_server_and_length() {
    let server = server();
    let reply = Client::to(&server)
        .send(get("/json"))
        .reply()
        .expect("reply");
    assert_eq!(reply.header("server"), Some("warden"));
    let date = reply.header("date").expect("date");
    assert_eq!(date.len(), 29, "IMF-fixdate: {date}");
    assert!(date.ends_with(" GMT"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("content-length"), Some("27"));
    assert_eq!(reply.body, br#"{"message":"Hello, World!"}"#);
}

#[test]
fn connection_close_is_honoured() {
    let server = server();
    let mut client = Client::to(&server);
    client.send("GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let reply = client.reply().expect("reply");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed());
}

#[test]
fn http10_closes_by_default() {
    let server = server();
    let mut client = Client::to(&server);
    client.send("GET /plaintext HTTP/1.0\r\n\r\n");
    let reply = client.reply().expect("reply");
    assert_eq!(reply.status, 200);
    assert!(client.is_closed());
}

#[test]
fn http10_keep_alive_on_request() {
    let server = server();
    let mut client = Client::to(&server);
    for _ in 0..3 {
        client.send("GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        let reply = client.reply().expect("reply");
        assert_eq!(reply.header("connection"), Some("keep-alive"));
    }
}

#[test]
fn bodies_of_every_framing_reach_the_handler() {
    let server = server();
    let mut client = Client::to(&server);
    client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(client.reply().expect("reply").body, b"hello");
    client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n");
    assert_eq!(client.reply().expect("reply").body, b"abcde");
    // A GET with a body: the body is read (and framing kept), the next request works.
    client.send("GET /describe HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz");
    assert_eq!(
        client.reply().expect("reply").text(),
        "GET /describe HTTP/1.1 body=3"
    );
    client.send(get("/plaintext"));
    assert_eq!(client.reply().expect("reply").body, b"Hello, World!");
}

#[test]
fn a_large_body_arriving_in_pieces() {
    let server = server();
    let mut client = Client::to(&server);
    let body = vec![b'z'; 512 * 1024];
    client.send(format!(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    for piece in body.chunks(10_000) {
        client.send(piece);
    }
    let reply = client.reply().expect("reply");
    assert_eq!(reply.body.len(), body.len());
    assert!(reply.body == body);
    // And chunked, in many chunks.
    let mut chunked =
        String::from("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..1000 {
        chunked.push_str("40\r\n");
        chunked.push_str(&"y".repeat(64));
        chunked.push_str("\r\n");
    }
    chunked.push_str("0\r\n\r\n");
    for piece in chunked.as_bytes().chunks(777) {
        client.send(piece);
    }
    let reply = client.reply().expect("reply");
    assert_eq!(reply.body, "y".repeat(64_000).as_bytes());
}
