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

#[test]
fn the_error_page_of_a_head_request_has_no_body() {
    // 413 for a body too large: headers only, though the connection then closes.
    let server = util::server_with(|b| b.max_body(4));
    let mut client = Client::to(&server);
    client.send("HEAD /plaintext HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
    let raw = String::from_utf8(client.read_to_close()).expect("ascii");
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.ends_with("\r\n\r\n"), "no body after the head: {raw:?}");

    // 400 for a bad chunk: the same.
    let mut client = Client::to(&server);
    client.send("HEAD /plaintext HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    let raw = String::from_utf8(client.read_to_close()).expect("ascii");
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    assert!(raw.ends_with("\r\n\r\n"), "no body after the head: {raw:?}");
}
