//! Sockets handed to a worker: the acceptor's view of each worker's load stays exact,
//! whatever happens to a socket on the way in.
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
