//! Protocol upgrades over sockets: the 101 goes out after every earlier response, then the
//! socket leaves the worker with the bytes the client already sent; an invalid 101 is a
//! 500 and the connection stays HTTP; HTTP/1.0 and requests without `Connection: upgrade`
//! ask for nothing.
mod util;

use std::io::{Read, Write};

use util::{Client, PATIENCE, eventually, get, next_failure};
use warden::{CloseReason, FailureKind, Request, Response, Server, ServerHandle};

/// `/echo` upgrades to a line echo protocol (what arrives is sent back, the bytes that
/// came with the request first); `/bad` answers the upgrade with a head lacking
/// `Upgrade`; `/asked` says what `upgrade_requested` saw.
fn upgrade_server() -> ServerHandle {
    Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(|req: &Request<'_>| -> Response {
            match req.path() {
                "/echo" if req.upgrade_requested() == Some("echo") => {
                    let head = Response::new(101).with_header("Upgrade", "echo");
                    req.upgrade(head, |upgraded| {
                        std::thread::spawn(move || {
                            let mut stream = upgraded.stream;
                            stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
                            let _ = stream.write_all(&upgraded.buffered);
                            let mut buf = [0u8; 1024];
                            while let Ok(n @ 1..) = stream.read(&mut buf) {
                                if stream.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        });
                    })
                }
                "/bad" => req.upgrade(Response::new(101), |_| {}),
                "/asked" => Response::text(format!("{:?}", req.upgrade_requested())),
                _ => Response::text("plain"),
            }
        })
        .expect("server starts")
}

const UPGRADE: &str =
    "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";

#[test]
fn the_socket_leaves_with_the_bytes_already_sent() {
    let server = upgrade_server();
    let mut client = Client::to(&server);
    // A pipelined request first, then the upgrade and the new protocol's first bytes, all
    // in one write.
    client.send(format!("{}{UPGRADE}early bytes|", get("/plain")));
    assert_eq!(client.reply().expect("the first").text(), "plain");
    let switch = client.head_reply().expect("the 101");
    assert_eq!(switch.status, 101);
    assert_eq!(switch.header("upgrade"), Some("echo"));
    assert_eq!(switch.header("connection"), Some("upgrade"));
    // From here on the bytes are the application's, not HTTP.
    let (mut stream, mut echoed) = client.into_parts();
    while echoed.len() < "early bytes|".len() {
        let mut buf = [0u8; 64];
        let n = stream.read(&mut buf).expect("the early bytes");
        assert!(n > 0, "closed early");
        echoed.extend_from_slice(&buf[..n]);
    }
    assert_eq!(echoed, b"early bytes|");
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("sent");
    let mut back = [0u8; 18];
    stream.read_exact(&mut back).expect("echoed, not parsed");
    assert_eq!(&back, b"GET / HTTP/1.1\r\n\r\n");
    // The connection left the worker: not open there, counted as upgraded.
    eventually("the connection left", || {
        let stats = server.stats();
        stats.http.closed(CloseReason::Upgraded) == 1 && stats.active_connections == 0
    });
}

#[test]
fn an_invalid_switch_is_a_500_and_the_connection_stays_http() {
    let server = upgrade_server();
    let failures = server.failures();
    let mut client = Client::to(&server);
    client.send("GET /bad HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n");
    assert_eq!(client.reply().expect("an answer").status, 500);
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::InvalidResponse);
    assert!(failure.message.contains("Upgrade"), "{}", failure.message);
    assert_eq!(
        client.send(get("/plain")).reply().expect("next").text(),
        "plain"
    );
}

#[test]
fn only_http11_with_connection_upgrade_asks_for_a_protocol() {
    let server = upgrade_server();
    let mut client = Client::to(&server);
    for (request, asked) in [
        (
            "GET /asked HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Upgrade\r\nUpgrade: echo\r\n\r\n",
            "Some(\"echo\")",
        ),
        (
            "GET /asked HTTP/1.1\r\nHost: t\r\nUpgrade: echo\r\n\r\n",
            "None",
        ),
        (
            "GET /asked HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\n\r\n",
            "None",
        ),
    ] {
        assert_eq!(
            client.send(request).reply().expect("an answer").text(),
            asked
        );
    }
    let mut client = Client::to(&server);
    client.send("GET /asked HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n");
    assert_eq!(client.reply().expect("an answer").text(), "None");
}
