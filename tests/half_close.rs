//! A client that half-closes after its request still gets the response.
mod util;

use util::{Client, get, server};

#[test]
fn response_after_half_close() {
    let server = server();
    let mut client = Client::to(&server);
    client.send(get("/plaintext"));
    client.finish_sending();
    let reply = client.reply().expect("reply despite the half-close");
    assert_eq!(reply.body, b"Hello, World!");
    assert!(client.is_closed());
}

#[test]
fn every_pipelined_response_after_half_close() {
    let server = server();
    let mut client = Client::to(&server);
    client.send(format!(
        "{}{}{}",
        get("/plaintext"),
        get("/json"),
        get("/plaintext")
    ));
    client.finish_sending();
    for _ in 0..3 {
        assert_eq!(client.reply().expect("reply").status, 200);
    }
    assert!(client.is_closed());
}

#[test]
fn half_close_with_an_incomplete_request_closes_silently() {
    let server = server();
    let mut client = Client::to(&server);
    client.send("GET /plaintext HTTP/1.1\r\nHost:");
    client.finish_sending();
    assert!(client.reply().is_none());
}
