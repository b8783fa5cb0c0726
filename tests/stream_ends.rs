//! Streams nothing can stall: a writer or reader waiting on a connection is woken on every
//! way the connection ends (a reset with the head still in flight, a worker restart), a
//! writer driven without blocking lets one thread serve a stalled client and a reading one
//! at once, and a HEAD request's stream is its head.
mod util;

use std::io::{ErrorKind, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};
use util::{Client, PATIENCE, get};
use warden::{BodyWriter, CloseReason, Readiness, Request, Responder, Response, Restart, Server};

/// A head for the streams here.
fn head() -> Response {
    Response::new(200).with_content_type("application/octet-stream")
}

/// Writes 16 KiB pieces until a write fails, on a thread of its own; the error's kind
/// arrives on the returned channel.
fn write_until_error(mut body: BodyWriter) -> Receiver<ErrorKind> {
    let (tx, rx) = bounded(1);
    std::thread::spawn(move || {
        let piece = [b'x'; 16 * 1024];
        let kind = loop {
            if let Err(e) = body.write_all(&piece).and_then(|()| body.flush()) {
                break e.kind();
            }
        };
        let _ = tx.send(kind);
    });
    rx
}

/// A one-worker server set up by `configure`: `/plain` is answered at once, `/panic`
/// panics, and every other request is deferred, its responder handed to the test.
fn deferring(
    configure: impl FnOnce(warden::Builder) -> warden::Builder,
) -> (warden::ServerHandle, Receiver<Responder>) {
    let (responders_tx, responders) = bounded(2);
    let server = configure(Server::builder().bind("127.0.0.1:0").workers(1))
        .serve(move |req: &Request<'_>| -> Response {
            match req.path() {
                "/plain" => Response::text("plain"),
                "/panic" => panic!("restart, please"),
                _ => {
                    let (pending, responder) = req.defer();
                    responders_tx.send(responder).expect("the test waits");
                    pending
                }
            }
        })
        .expect("server starts");
    (server, responders)
}

/// A one-worker server that can hold its loop: `/stream` hands its responder to the test,
/// `/stall` holds the loop (saying so on `stalled`) until `resume`, anything else is
/// answered at once.
struct Stalling {
    server: warden::ServerHandle,
    responders: Receiver<Responder>,
    stalled: Receiver<()>,
    resume: Sender<()>,
}

fn stalling_server(write_timeout: Duration) -> Stalling {
    let (responders_tx, responders) = bounded(1);
    let (stalled_tx, stalled) = bounded(1);
    let (resume, resume_rx) = bounded::<()>(1);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .write_timeout(write_timeout)
        .serve(move |req: &Request<'_>| -> Response {
            match req.path() {
                "/stream" => {
                    let (pending, responder) = req.defer();
                    responders_tx.send(responder).expect("the test waits");
                    pending
                }
                "/stall" => {
                    stalled_tx.send(()).expect("the test waits");
                    let _ = resume_rx.recv_timeout(PATIENCE);
                    Response::text("resumed")
                }
                _ => Response::text("plain"),
            }
        })
        .expect("server starts");
    Stalling {
        server,
        responders,
        stalled,
        resume,
    }
}

#[test]
fn a_reset_while_the_head_is_in_flight_wakes_the_writer() {
    // Long: the writer must be told, not time out.
    let Stalling {
        server,
        responders,
        stalled,
        resume,
    } = stalling_server(Duration::from_secs(600));
    let mut streamed = Client::to(&server);
    streamed.send(get("/stream"));
    let responder = responders.recv_timeout(PATIENCE).expect("deferred");
    // The loop is held in a handler: what follows waits for it, in this order.
    let mut staller = Client::to(&server);
    staller.send(get("/stall"));
    stalled.recv_timeout(PATIENCE).expect("the loop is held");
    // The client resets, then the head is sent: the loop sees the connection gone before
    // the head it was answered with.
    streamed.reset();
    let body = responder.stream(head()).expect("the head is on its way");
    let writer = write_until_error(body);
    resume.send(()).expect("the handler waits");
    assert_eq!(staller.reply().expect("answered").text(), "resumed");
    // The writer fills the bound and would wait for room for good: it is told instead.
    let kind = writer
        .recv_timeout(PATIENCE)
        .expect("the writer is woken, not left waiting");
    assert_eq!(kind, ErrorKind::BrokenPipe);
}

#[test]
fn a_restart_wakes_a_writer_waiting_for_room() {
    let (server, responders) = deferring(|b| {
        b.write_timeout(Duration::from_secs(600))
            .on_error(|_| Restart::RestartWorker)
    });
    // A client that never reads: the writer fills the kernel's buffers and the bound.
    let mut streamed = Client::to(&server);
    streamed.send(get("/stream"));
    let responder = responders.recv_timeout(PATIENCE).expect("deferred");
    let body = responder.stream(head()).expect("the client waits");
    let writer = write_until_error(body);
    let failures = server.failures();
    let mut other = Client::to(&server);
    other.send(get("/panic"));
    // The worker restarts: the stream cannot move with its connection, and its writer
    // learns it.
    let kind = writer
        .recv_timeout(PATIENCE)
        .expect("the writer is woken by the restart");
    assert_eq!(kind, ErrorKind::BrokenPipe);
    assert!(
        failures.recv_timeout(PATIENCE).is_ok(),
        "the panic is reported"
    );
    util::eventually("the cut counted as the restart's", || {
        server.stats().http.closed_by[CloseReason::Restart.index()] == 1
    });
    assert_eq!(
        server.stats().http.closed_by[CloseReason::ClientGone.index()],
        0,
        "a restart's cut is not the client's doing"
    );
    drop(streamed);
}

#[test]
fn one_thread_drives_a_stalled_stream_and_a_reading_one() {
    // Far past what the kernel buffers for a client that does not read.
    const BODY: usize = 32 << 20;
    let (server, responders) = deferring(|b| b);
    // The stalled client asks first and never reads.
    let mut stalled = Client::to(&server);
    stalled.send(get("/stalled"));
    let stalled_body = streamed(&responders);
    let mut reader = Client::to(&server);
    reader.send(get("/reader"));
    let reader_body = streamed(&responders);
    // One thread writes both bodies, never waiting on either.
    let ready = Readiness::new();
    let driver = {
        let ready = ready.clone();
        std::thread::spawn(move || drive(vec![stalled_body, reader_body], BODY, &ready))
    };
    let reply = reader.reply().expect("the reading client's response");
    assert_eq!(
        reply.body.len(),
        BODY,
        "the reading client got its whole body"
    );
    drop(stalled);
    let written = driver.join().expect("the driver returns");
    assert_eq!(written[1], BODY);
    assert!(
        written[0] < BODY,
        "the stalled stream could not be written whole"
    );
}

/// The writer of the next deferred request's streamed body.
fn streamed(rx: &Receiver<Responder>) -> BodyWriter {
    rx.recv_timeout(PATIENCE)
        .expect("deferred")
        .stream(head())
        .expect("the client waits")
}

/// Writes `len` bytes to each body with `try_write`, waiting only on `ready`, until
/// every body is written or its client has gone; returns what each took.
fn drive(mut bodies: Vec<BodyWriter>, len: usize, ready: &Readiness) -> Vec<usize> {
    let mut written = vec![0usize; bodies.len()];
    let mut done = vec![false; bodies.len()];
    for (token, body) in bodies.iter_mut().enumerate() {
        body.register(ready, token as u64);
    }
    let piece = [b'y'; 8192];
    let mut tokens: Vec<u64> = (0..bodies.len() as u64).collect();
    // Bounded: a generous number of wake-ups, each bounded in time.
    for _ in 0..100_000 {
        for &token in &tokens {
            let i = token as usize;
            if done[i] {
                continue;
            }
            loop {
                let left = len - written[i];
                if left == 0 {
                    match bodies[i].try_finish() {
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        _ => {
                            done[i] = true;
                            break;
                        }
                    }
                }
                match bodies[i].try_write(&piece[..left.min(piece.len())]) {
                    Ok(n) => written[i] += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        done[i] = true; // the client left
                        break;
                    }
                }
            }
        }
        if done.iter().all(|d| *d) {
            break;
        }
        tokens.clear();
        ready.wait(&mut tokens, PATIENCE);
    }
    written
}

#[test]
fn a_head_request_to_a_stream_gets_its_head_and_the_connection_goes_on() {
    let ran = Arc::new(AtomicBool::new(false));
    let ran_in_job = Arc::clone(&ran);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(move |req: &Request<'_>| -> Response {
            if req.path() == "/plain" {
                return Response::text("plain");
            }
            let ran = Arc::clone(&ran_in_job);
            req.stream_blocking(head(), move |_, body| {
                ran.store(true, Ordering::SeqCst);
                // A body of a terabyte would be made here, were it wanted.
                let piece = [b'z'; 64 * 1024];
                for _ in 0..(1u64 << 24) {
                    body.write_all(&piece)?;
                }
                Ok(())
            })
        })
        .expect("server starts");
    let mut client = Client::to(&server);
    client.send(format!(
        "HEAD /huge HTTP/1.1\r\nHost: a\r\n\r\n{}",
        get("/plain")
    ));
    let reply = client.head_reply().expect("the head");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    // The pipelined request behind it is answered at once: nothing waits for a body.
    assert_eq!(client.reply().expect("the next").text(), "plain");
    // The job learnt that no body is wanted before making any.
    assert!(
        !ran.load(Ordering::SeqCst),
        "a HEAD request's body is not made"
    );
}

#[test]
fn a_writer_told_of_a_head_request_makes_nothing() {
    let (server, bodies) = deferring(|b| b);
    let mut client = Client::to(&server);
    client.send("HEAD /s HTTP/1.1\r\nHost: a\r\n\r\n");
    let mut body = bodies
        .recv_timeout(PATIENCE)
        .expect("deferred")
        .stream(head())
        .expect("the client waits");
    assert!(!body.wants_body());
    assert!(!body.is_open());
    let e = body.write(b"never sent").expect_err("no body is wanted");
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    body.finish().expect("finishing a HEAD stream is fine");
    assert_eq!(client.head_reply().expect("the head").status, 200);
    // The connection goes on.
    assert_eq!(client.get_status("/plain"), 200);
}

#[test]
fn a_writer_waits_for_room_no_longer_than_the_write_timeout() {
    let Stalling {
        server,
        responders,
        stalled,
        resume,
    } = stalling_server(Duration::from_millis(300));
    let mut streamed = Client::to(&server);
    streamed.send(get("/stream"));
    let responder = responders.recv_timeout(PATIENCE).expect("deferred");
    let body = responder.stream(head()).expect("the client waits");
    // The loop is held: nothing the writer queues is taken, and nothing else could end
    // its wait but its own deadline.
    let mut staller = Client::to(&server);
    staller.send(get("/stall"));
    stalled.recv_timeout(PATIENCE).expect("the loop is held");
    let writer = write_until_error(body);
    let kind = writer.recv_timeout(PATIENCE).expect("the wait ends");
    assert_eq!(kind, ErrorKind::TimedOut);
    resume.send(()).expect("the handler waits");
    assert_eq!(staller.reply().expect("answered").text(), "resumed");
    // The loop then closes the connection: a write timeout.
    util::eventually("the stream's connection closed", || {
        server.stats().http.closed_by[CloseReason::WriteTimeout.index()] == 1
    });
    drop(streamed);
}

#[test]
fn a_drain_past_its_grace_wakes_a_writer_waiting_for_room() {
    let (server, responders) = deferring(|b| b.write_timeout(Duration::from_secs(600)));
    let mut streamed = Client::to(&server);
    streamed.send(get("/stream"));
    let responder = responders.recv_timeout(PATIENCE).expect("deferred");
    let writer = write_until_error(responder.stream(head()).expect("the client waits"));
    server.shutdown(Duration::from_millis(200));
    let kind = writer
        .recv_timeout(PATIENCE)
        .expect("the writer is woken when the grace runs out");
    assert_eq!(kind, ErrorKind::BrokenPipe);
    drop(streamed);
}

#[test]
fn a_dropped_reactor_wakes_the_writers_of_its_streams() {
    use std::io::{Read, Write};

    use warden_reactor::{Config, Reactor};

    let (responders_tx, responders) = bounded(1);
    let handler = move |req: &Request<'_>| -> Response {
        let (pending, responder) = req.defer();
        responders_tx.send(responder).expect("the test waits");
        pending
    };
    let (mut reactor, inbox) = Reactor::new(Config::default(), handler).expect("a reactor");
    let running = std::thread::spawn(move || {
        let exit = reactor.run();
        (reactor, exit)
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client =
        std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (socket, peer) = listener.accept().expect("accept");
    socket.set_nonblocking(true).expect("nonblocking");
    inbox
        .send(warden_reactor::mio::net::TcpStream::from_std(socket), peer)
        .expect("the reactor runs");
    client.write_all(get("/stream").as_bytes()).expect("sent");
    let responder = responders.recv_timeout(PATIENCE).expect("deferred");
    let writer = write_until_error(responder.stream(head()).expect("the client waits"));
    // The reactor stops with the stream open, and is dropped: nothing will ever take
    // what the writer queues.
    inbox.retire();
    let (reactor, exit) = running.join().expect("the loop returns");
    exit.expect("retired");
    drop(reactor);
    let kind = writer
        .recv_timeout(PATIENCE)
        .expect("the writer is woken when the reactor is dropped");
    assert_eq!(kind, ErrorKind::BrokenPipe);
    let mut rest = Vec::new();
    let _ = client.read_to_end(&mut rest);
}
