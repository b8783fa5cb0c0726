//! Sockets handed to a worker, and handed on when it stops: the acceptor's view of each
//! worker's load stays exact, and a worker crashed by another connection loses no byte
//! of the connections it held.
mod util;

use std::io::Read;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::time::{Duration, Instant};

use warden_reactor::{Config, Handoff, Reactor, Request, Response};

#[test]
fn a_socket_that_cannot_be_registered_keeps_the_load_exact() {
    let (mut reactor, inbox) =
        Reactor::new(Config::default(), |_: &Request<'_>| Response::text("x")).expect("reactor");
    let stats = reactor.stats();
    let thread = std::thread::spawn(move || reactor.run());

    // epoll refuses regular files (EPERM): a "socket" that cannot be registered.
    let file = std::fs::File::open(std::env::current_exe().expect("exe")).expect("open");
    // SAFETY: the descriptor is open and owned; the stream takes it over and closes it.
    let stream = unsafe { std::net::TcpStream::from_raw_fd(file.into_raw_fd()) };
    let peer = "127.0.0.1:9".parse().expect("addr");
    inbox
        .hand_off(Handoff::new(
            warden_reactor::mio::net::TcpStream::from_std(stream),
            peer,
            0,
        ))
        .expect("the reactor runs");

    // Counted taken and closed: the acceptor's load (handed minus closed) is back to 0.
    let start = Instant::now();
    while stats.closed() != 1 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never counted closed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(stats.snapshot().active_connections, 0);
    inbox.shutdown(Duration::ZERO);
    thread.join().expect("reactor thread").expect("run");
}

use util::{Client, get, next_failure};
use warden::{FailureKind, Fault, Server};

/// Far more than the socket buffers of both sides hold, so most of it is still in the
/// worker's output when the worker crashes.
const BIG: usize = 64 << 20;

fn byte(i: usize) -> u8 {
    (i % 251) as u8
}

fn server() -> warden::ServerHandle {
    Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .fault_injection(true)
        .serve(|req: &Request<'_>| match req.path() {
            "/big" => Response::bytes(
                "application/octet-stream",
                (0..BIG).map(byte).collect::<Vec<u8>>(),
            ),
            "/crash" => Response::text("crashing").with_fault(Fault::WorkerPanic),
            _ => util::routes(req),
        })
        .expect("serve")
}

#[test]
fn a_restart_loses_no_byte_of_a_response_in_flight_nor_of_a_head_in_progress() {
    let server = server();
    let failures = server.failures();

    // A slow reader in the middle of a large response.
    let mut reader = Client::to(&server);
    reader.send(get("/big"));
    let mut start = [0u8; 1 << 20];
    reader
        .stream
        .read_exact(&mut start)
        .expect("the start of the body");

    // A client in the middle of a head: the complete request before it is answered,
    // so the server has read the partial head too (same segment).
    let mut typist = Client::to(&server);
    typist.send(format!("{}GET /plaintext HTTP/1.1\r\nHo", get("/json")));
    assert_eq!(typist.reply().expect("first").status, 200);

    // Another connection crashes the worker.
    let mut crasher = Client::to(&server);
    assert_eq!(crasher.get_status("/crash"), 200);
    assert_eq!(next_failure(&failures).kind, FailureKind::WorkerPanic);

    // The head goes on where it stopped.
    typist.send("st: a\r\n\r\n");
    let reply = typist.reply().expect("the rest of the head was understood");
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "Hello, World!")
    );

    // The response goes on where it stopped: every byte, in order, then the next.
    let mut all = start.to_vec();
    let head_end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("the head came first")
        + 4;
    let mut rest = vec![0u8; head_end + BIG - all.len()];
    reader
        .stream
        .read_exact(&mut rest)
        .expect("the rest of the body");
    all.extend_from_slice(&rest);
    let body = &all[head_end..];
    assert_eq!(body.len(), BIG);
    if let Some(i) = (0..BIG).find(|&i| body[i] != byte(i)) {
        panic!("byte {i} of the body is wrong after the restart");
    }
    assert_eq!(reader.get_status("/plaintext"), 200);
    assert_eq!(server.stats().worker_restarts, 1);
}
