//! A handler that panics or returns an invalid response costs its request a 500, and the
//! connection stays usable: the request was fully read.
mod util;

use util::{Client, get, server};

#[test]
fn invalid_header_is_never_written() {
    let server = server();
    let mut client = Client::to(&server);
    client.send(get("/bad-header"));
    let reply = client.reply().expect("500");
    assert_eq!(reply.status, 500);
    assert!(reply.header("x-evil").is_none() && reply.header("set-cookie").is_none());
    client.send(get("/plaintext"));
    assert_eq!(client.reply().expect("next").status, 200);
}

#[test]
fn panicking_handler_gets_500_and_the_connection_lives() {
    let server = server();
    let mut client = Client::to(&server);
    client.send(format!("{}{}", get("/panic"), get("/plaintext")));
    assert_eq!(client.reply().expect("500").status, 500);
    assert_eq!(client.reply().expect("200").status, 200);
}
