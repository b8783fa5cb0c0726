//! `Expect: 100-continue`: the interim response comes before the body is sent.
mod util;

use util::{Client, server, server_with};

#[test]
fn continue_then_final_response() {
    let server = server();
    let mut client = Client::to(&server);
    client.send(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = client.reply().expect("100");
    assert_eq!(interim.status, 100);
    client.send("hello");
    let reply = client.reply().expect("200");
    assert_eq!((reply.status, reply.body.as_slice()), (200, &b"hello"[..]));
}

#[test]
fn chunked_continue() {
    let server = server();
    let mut client = Client::to(&server);
    client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(client.reply().expect("100").status, 100);
    client.send("2\r\nhi\r\n0\r\n\r\n");
    assert_eq!(client.reply().expect("200").body, b"hi");
}

#[test]
fn body_already_sent_gets_no_interim_response() {
    let server = server();
    let mut client = Client::to(&server);
    client.send(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
    );
    let reply = client.reply().expect("reply");
    assert_eq!(
        reply.status, 200,
        "a client that sent its body is not waiting"
    );
}

#[test]
fn too_large_is_refused_before_the_body() {
    let server = server_with(|b| b.max_body(10));
    let mut client = Client::to(&server);
    client.send(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n",
    );
    let reply = client.reply().expect("413");
    assert_eq!(reply.status, 413, "no 100 for a body that would be refused");
    assert!(client.is_closed());
}

#[test]
fn http10_expectation_is_ignored() {
    let server = server();
    let mut client = Client::to(&server);
    client.send("POST /echo HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    client.send("ok");
    let reply = client.reply().expect("reply");
    assert_eq!((reply.status, reply.body.as_slice()), (200, &b"ok"[..]));
}
