//! Graceful shutdown: stop accepting, close idle connections, answer what was received,
//! close the rest after the grace period, and let `wait` return.
mod util;

use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use util::{Client, get, routes};
use warden::{Request, Server};

#[test]
fn a_request_in_the_handler_during_shutdown_is_answered_with_what_was_pipelined() {
    let started = Arc::new(Barrier::new(2));
    let release = Arc::new(Barrier::new(2));
    let (s, r) = (Arc::clone(&started), Arc::clone(&release));
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(move |req: &Request<'_>| {
            if req.path() == "/slow" {
                s.wait();
                r.wait();
            }
            routes(req)
        })
        .expect("serve");
    let mut client = Client::to(&server);
    client.send(format!(
        "{}{}{}",
        get("/slow"),
        get("/plaintext"),
        get("/json")
    ));
    started.wait(); // the handler is running
    server.shutdown(Duration::from_secs(10));
    release.wait();
    // `/slow` has no route: 404, but answered.
    assert_eq!(client.reply().expect("1").status, 404);
    assert_eq!(client.reply().expect("2").status, 200);
    assert_eq!(client.reply().expect("3").status, 200);
    assert!(client.is_closed());
    server.wait().expect("clean exit");
}

#[test]
fn requests_completed_after_shutdown_say_connection_close() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(routes)
        .expect("serve");
    let mut busy = Client::to(&server);
    let mut idle = Client::to(&server);
    assert_eq!(idle.get_status("/plaintext"), 200);
    util::begin_upload(&mut busy, "/echo", 5);
    busy.send("he");
    server.shutdown(Duration::from_secs(10));
    // The idle connection's close shows the worker has started draining.
    assert!(idle.is_closed());
    busy.send("llo");
    let reply = busy.reply().expect("the request in progress is answered");
    assert_eq!(reply.body, b"hello");
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(busy.is_closed());
    server.wait().expect("clean exit");
}

#[test]
fn what_remains_after_the_grace_period_is_closed() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(routes)
        .expect("serve");
    let mut stuck = Client::to(&server);
    stuck.send("GET /plaintext HTTP/1.1\r\nHo");
    let mut idle = Client::to(&server);
    assert_eq!(idle.get_status("/plaintext"), 200);
    server.shutdown(Duration::from_millis(100));
    assert!(
        stuck.reply().is_none(),
        "a partial request is never answered, only closed"
    );
    server.wait().expect("wait returns once every thread exits");
}

#[test]
fn shutdown_under_load_loses_no_answered_request() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .serve(routes)
        .expect("serve");
    let addr = server.local_addrs()[0];
    let go = Arc::new(Barrier::new(5));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let go = Arc::clone(&go);
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                let mut answered = 0u64;
                for i in 0.. {
                    if i == 50 {
                        go.wait(); // every client is mid-stream when the shutdown starts
                    }
                    if client
                        .stream
                        .write_all(get("/plaintext").as_bytes())
                        .is_err()
                    {
                        break;
                    }
                    match client.reply() {
                        Some(reply) => {
                            assert_eq!(reply.body, b"Hello, World!");
                            answered += 1;
                            if reply.header("connection") == Some("close") {
                                break;
                            }
                        }
                        None => break,
                    }
                }
                answered
            })
        })
        .collect();
    go.wait();
    server.shutdown(Duration::from_secs(10));
    let answered: u64 = clients.into_iter().map(|c| c.join().expect("client")).sum();
    server.wait().expect("clean exit");
    assert_eq!(
        answered,
        server.stats().requests,
        "every answer the server wrote was delivered"
    );
}
