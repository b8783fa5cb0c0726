//! A chat room in one page: the browser's `EventSource` follows a broadcast topic, and a
//! form posts to it. Every message is encoded once and sent by each subscriber's own
//! worker loop: no thread and no copy per subscriber.
//!
//! | route | what happens |
//! | --- | --- |
//! | `GET /` | the page |
//! | `GET /room` | the room's messages as Server-Sent Events (`Last-Event-ID` replays the kept ones) |
//! | `POST /room` | the body becomes a message; answered 202 with its id |
//!
//! ```sh
//! cargo run --example broadcast    # then open http://127.0.0.1:3000/ in two windows
//! ```

mod common;

use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

use warden::{Broadcast, BroadcastConfig, Event, Request, Response, Server};

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>warden chat</title>
<style>body{font:16px system-ui;max-width:40em;margin:2em auto} #log{white-space:pre-wrap}</style>
<h1>warden chat</h1>
<div id="log"></div>
<form id="say"><input id="text" autocomplete="off" autofocus> <button>Send</button></form>
<script>
const log = document.getElementById("log");
const room = new EventSource("/room");
room.addEventListener("message", e => { log.textContent += e.data + "\n"; });
document.getElementById("say").addEventListener("submit", e => {
  e.preventDefault();
  const text = document.getElementById("text");
  fetch("/room", {method: "POST", body: text.value});
  text.value = "";
});
</script>
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let room = Broadcast::new(BroadcastConfig::default());
    let subscriptions = room.clone();
    let server = Server::builder()
        .bind(common::addr("127.0.0.1:3000"))
        .broadcast(&room)
        .serve(move |req: &Request<'_>| -> Response {
            match (req.method(), req.path()) {
                ("GET", "/") => Response::bytes("text/html; charset=utf-8", PAGE.as_bytes()),
                ("GET" | "HEAD", "/room") => subscriptions.subscribe(req, "room"),
                ("POST", "/room") => match std::str::from_utf8(req.body()) {
                    Ok(text) if !text.trim().is_empty() => {
                        match subscriptions.publish("room", &Event::new(text.trim())) {
                            Ok(id) => Response::text(format!("id={id}\n")).with_status(202),
                            Err(e) => Response::text(format!("{e}\n")).with_status(503),
                        }
                    }
                    _ => Response::text("a message is some UTF-8 text\n").with_status(400),
                },
                _ => Response::status_page(404),
            }
        })?;
    let addr = server.local_addrs()[0];
    if !common::self_test() {
        println!("chat on http://{addr}/ (open it in two windows)");
        server.wait()?;
        return Ok(());
    }

    // Self-test: one client follows the room as a browser's EventSource would, another
    // posts to it.
    let page = common::get(addr, "/")?;
    assert!(page.contains("new EventSource(\"/room\")"), "the page");
    let follower = std::net::TcpStream::connect(addr)?;
    follower.set_read_timeout(Some(Duration::from_secs(20)))?;
    (&follower)
        .write_all(b"GET /room HTTP/1.1\r\nHost: example\r\nAccept: text/event-stream\r\n\r\n")?;
    let mut lines = BufReader::new(&follower);
    let mut status = String::new();
    lines.read_line(&mut status)?;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // Once the head is here, the subscription is in place: a post now reaches it.
    loop {
        let mut line = String::new();
        lines.read_line(&mut line)?;
        if line == "\r\n" {
            break;
        }
    }
    let posted = common::post(addr, "/room", "hello from the other window")?;
    assert!(posted.starts_with("HTTP/1.1 202"), "{posted}");
    let mut seen = String::new();
    while !seen.contains("data: hello from the other window\n") {
        let mut line = String::new();
        if lines.read_line(&mut line)? == 0 {
            break;
        }
        seen.push_str(&line);
    }
    assert!(seen.contains("id: 1\n"), "{seen}");
    assert!(
        seen.contains("data: hello from the other window\n"),
        "{seen}"
    );
    println!("self-test passed");
    Ok(())
}
