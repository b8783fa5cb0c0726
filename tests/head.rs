//! HEAD gets the headers a GET would, and no body.
mod util;

use util::{Client, get, server};

#[test]
fn head_has_length_and_no_body() {
    let server = server();
    let mut client = Client::to(&server);
    client.send("HEAD /plaintext HTTP/1.1\r\nHost: a\r\n\r\n");
    let reply = client.head_reply().expect("reply");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-length"), Some("13"));
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    // Had a body been sent, it would be parsed as the next response here.
    client.send(get("/json"));
    let next = client.reply().expect("next reply");
    assert_eq!(next.body, br#"{"message":"Hello, World!"}"#);
}

#[test]
fn pipelined_heads() {
    let server = server();
    let mut client = Client::to(&server);
    let head = "HEAD /plaintext HTTP/1.1\r\nHost: a\r\n\r\n";
    client.send(format!("{head}{head}{}", get("/plaintext")));
    assert!(client.head_reply().expect("1").body.is_empty());
    assert!(client.head_reply().expect("2").body.is_empty());
    assert_eq!(client.reply().expect("3").body, b"Hello, World!");
}
