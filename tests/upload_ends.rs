//! Streamed uploads that cannot hold anything for good: a trickling client holds a pool
//! thread no longer than the job's deadline, an answer before the body says the
//! connection closes, and a request whose body streams is not upgraded half-read.
mod util;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use util::{Client, PATIENCE, next_failure};
use warden::{FailureKind, Request, Response, Server, ServerHandle};

/// Streams `/up*` bodies: `/up` reads its body on a pool of two threads whose jobs have
/// one second; `/up/refuse` answers at once; `/up/upgrade` tries to switch protocols;
/// `/sleep` is a short job on the same pool.
fn upload_server() -> ServerHandle {
    Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .blocking_threads(2)
        .blocking_timeout(Duration::from_secs(1))
        .stream_bodies(|req| req.path().starts_with("/up"))
        .serve(|req: &Request<'_>| -> Response {
            match req.path() {
                "/up/refuse" => Response::text("not from you\n").with_status(401),
                "/up/upgrade" => req.upgrade(Response::new(101).with_header("Upgrade", "x"), drop),
                "/up" => {
                    let mut body = req.body_reader().expect("a streamed body");
                    req.blocking(move |_| {
                        let mut all = Vec::new();
                        match body.read_to_end(&mut all) {
                            Ok(n) => Response::text(format!("{n}")),
                            Err(e) => Response::text(format!("{:?}", e.kind())).with_status(408),
                        }
                    })
                }
                "/sleep" => req.blocking(|_| {
                    std::thread::sleep(Duration::from_millis(1));
                    Response::text("slept")
                }),
                _ => Response::status_page(404),
            }
        })
        .expect("server starts")
}

/// A client that announces 100 bytes and sends one every 300 ms until the server answers
/// (or closes); returns the answer's status.
fn trickle(addr: SocketAddr, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Option<u16>> {
    std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        stream
            .write_all(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n")
            .expect("head");
        let mut answer = Vec::new();
        for _ in 0..100 {
            if stop.load(Ordering::SeqCst) || stream.write_all(b"x").is_err() {
                break;
            }
            let mut buf = [0u8; 1024];
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                Err(_) => {} // the pause between bytes
            }
        }
        let text = String::from_utf8_lossy(&answer);
        text.strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
    })
}

#[test]
fn trickling_uploads_hold_pool_threads_no_longer_than_their_deadline() {
    let server = upload_server();
    let addr = server.local_addrs()[0];
    let stop = Arc::new(AtomicBool::new(false));
    // Twice as many slow uploads as the pool has threads, each taking 30 s to finish.
    let clients: Vec<_> = (0..4).map(|_| trickle(addr, Arc::clone(&stop))).collect();
    // Each is answered at its job's deadline, not when its body is done.
    let (answered, tx) = {
        let (tx, rx) = crossbeam_channel::unbounded();
        (rx, tx)
    };
    std::thread::spawn(move || {
        for client in clients {
            let _ = tx.send(client.join().expect("the client thread"));
        }
    });
    for _ in 0..4 {
        let status = answered
            .recv_timeout(PATIENCE)
            .expect("a trickling upload is answered long before its body ends");
        assert!(
            matches!(status, Some(503 | 408)),
            "a late upload is answered like a late job: {status:?}"
        );
    }
    stop.store(true, Ordering::SeqCst);
    // The pool has its threads back: a short job runs.
    assert_eq!(Client::to(&server).get_status("/sleep"), 200);
}

#[test]
fn an_answer_before_the_body_says_the_connection_closes() {
    let server = upload_server();
    let mut client = Client::to(&server);
    client.send("POST /up/refuse HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nsome");
    let reply = client.reply().expect("the early answer");
    assert_eq!(reply.status, 401);
    // RFC 9112 9.6: the body is not read, so the connection closes, and says so.
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.is_closed());
}

#[test]
fn a_request_whose_body_streams_is_not_upgraded_half_read() {
    let server = upload_server();
    let failures = server.failures();
    let mut client = Client::to(&server);
    client.send(
        "POST /up/upgrade HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\
         Content-Length: 10\r\n\r\n",
    );
    let reply = client.reply().expect("an answer");
    assert_eq!(reply.status, 500, "no 101 goes out for a half-read request");
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Panic);
    assert!(
        failure.message.contains("cannot be upgraded"),
        "{}",
        failure.message
    );
    assert!(client.is_closed());
}

#[test]
fn a_reader_waits_for_bytes_no_longer_than_the_body_timeout() {
    use crossbeam_channel::bounded;
    use warden::{BodyReader, Responder};

    let (held_tx, held) = bounded::<(BodyReader, Responder)>(1);
    let (stalled_tx, stalled) = bounded(1);
    let (resume, resume_rx) = bounded::<()>(1);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .body_timeout(Duration::from_millis(300))
        .stream_bodies(|req| req.path() == "/up")
        .serve(move |req: &Request<'_>| -> Response {
            if req.path() == "/stall" {
                stalled_tx.send(()).expect("the test waits");
                let _ = resume_rx.recv_timeout(PATIENCE);
                return Response::text("resumed");
            }
            let body = req.body_reader().expect("a streamed body");
            let (pending, responder) = req.defer();
            held_tx.send((body, responder)).expect("the test waits");
            pending
        })
        .expect("server starts");
    let mut uploader = Client::to(&server);
    uploader.send("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n");
    let (mut body, responder) = held.recv_timeout(PATIENCE).expect("dispatched");
    // The loop is held, so its own body timer cannot fire: only the reader's wait can end.
    let mut staller = Client::to(&server);
    staller.send(util::get("/stall"));
    stalled.recv_timeout(PATIENCE).expect("the loop is held");
    let read = std::thread::spawn(move || body.read(&mut [0u8; 64]).map_err(|e| e.kind()))
        .join()
        .expect("the reader returns");
    assert_eq!(read, Err(std::io::ErrorKind::TimedOut));
    responder
        .send(Response::text("too slow\n").with_status(408))
        .expect("the client waits");
    resume.send(()).expect("the handler waits");
    assert_eq!(staller.reply().expect("answered").text(), "resumed");
    let reply = uploader.reply().expect("the answer");
    assert_eq!(reply.status, 408);
    // The reader gave up: nothing more of the body is read, and the connection closes.
    assert!(uploader.is_closed());
}
