//! WebSocket over an upgraded connection: the handler checks the handshake, answers 101,
//! and the socket leaves the worker for a thread of its own running tungstenite (blocking),
//! with any frames the client sent early.
//!
//! ```sh
//! cargo run --example websocket_echo    # then connect a WebSocket client to ws://127.0.0.1:3000/echo
//! ```

mod common;

use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};
use warden::{Request, Response, Server};

fn handler(req: &Request<'_>) -> Response {
    if req.path() != "/echo" {
        return Response::status_page(404);
    }
    // RFC 6455 4.2.1: a GET asking for "websocket", version 13, with a key.
    let key = req.header_str("sec-websocket-key");
    let version = req.header_str("sec-websocket-version");
    let (Some(true), Some(key), Some("13")) = (
        req.upgrade_requested()
            .map(|p| p.eq_ignore_ascii_case("websocket")),
        key,
        version,
    ) else {
        return Response::text("a WebSocket endpoint\n")
            .with_status(426)
            .with_header("Upgrade", "websocket")
            .with_header("Sec-WebSocket-Version", "13");
    };
    let head = Response::new(101)
        .with_header("Upgrade", "websocket")
        .with_header("Sec-WebSocket-Accept", derive_accept_key(key.as_bytes()));
    req.upgrade(head, |upgraded| {
        // The loop must not wait for the conversation: it gets a thread of its own.
        let spawned = std::thread::Builder::new()
            .name("websocket".to_owned())
            .spawn(move || {
                let mut ws = WebSocket::from_partially_read(
                    upgraded.stream,
                    upgraded.buffered,
                    Role::Server,
                    None,
                );
                while let Ok(message) = ws.read() {
                    let reply = match message {
                        Message::Text(_) | Message::Binary(_) => message,
                        Message::Close(_) => break, // tungstenite answers the close
                        _ => continue,              // pings are answered by tungstenite
                    };
                    if ws.send(reply).is_err() {
                        break;
                    }
                }
                let _ = ws.flush();
            });
        if let Err(e) = spawned {
            eprintln!("no thread for a WebSocket: {e}");
        }
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .bind(common::addr("127.0.0.1:3000"))
        .serve(handler)?;
    let addr = server.local_addrs()[0];
    println!("listening on ws://{addr}/echo");

    if common::self_test() {
        use std::io::{Read, Write};
        // A handshake and a first frame in one write: the frame arrives with the upgrade
        // request, so it is among the bytes handed over with the socket.
        let mut early = std::io::Cursor::new(Vec::new());
        WebSocket::from_raw_socket(&mut early, Role::Client, None)
            .send(Message::text("early bird"))?;
        let mut stream = std::net::TcpStream::connect(addr)?;
        write!(
            stream,
            "GET /echo HTTP/1.1\r\nHost: example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )?;
        stream.write_all(early.get_ref())?;
        // The 101, up to the empty line; what follows it is WebSocket.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte)?;
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(
            head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{head}"
        );
        // RFC 6455's own example key and accept.
        assert!(
            head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "{head}"
        );
        let mut ws = WebSocket::from_raw_socket(stream, Role::Client, None);
        assert_eq!(ws.read()?, Message::text("early bird"));
        ws.send(Message::text("hello"))?;
        assert_eq!(ws.read()?, Message::text("hello"));
        ws.send(Message::binary(vec![1u8, 2, 3]))?;
        assert_eq!(ws.read()?, Message::binary(vec![1u8, 2, 3]));
        ws.close(None)?;
        // Not a WebSocket request: 426 from the handler, as HTTP.
        let plain = common::get(addr, "/echo")?;
        assert!(plain.starts_with("HTTP/1.1 426"), "{plain}");
        let stats = server.stats();
        assert_eq!(stats.http.closed(warden::CloseReason::Upgraded), 1);
        println!("self-test passed");
        return Ok(());
    }
    server.wait()?;
    Ok(())
}
