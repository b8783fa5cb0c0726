//! The handshake pool: threads that make TLS handshakes, so that no event loop ever runs
//! handshake crypto. A full handshake costs a fraction of a millisecond of CPU (more with
//! RSA); two hundred arriving together would stall a loop for tens of milliseconds, and
//! every client on it with them.
//!
//! The acceptor hands each connection of a TLS listener to a lane (round robin); a lane
//! is one thread with its own `mio` poll, making many handshakes at once without waiting
//! for any client. An established connection goes back to the acceptor, which hands it
//! to a worker like any other socket. Every end of a handshake (established, failed,
//! timed out, or the lane gone) gives its place back to the acceptor: the number in
//! flight is bounded there, and past the bound new connections wait in the kernel's
//! accept queue. The channels both ways are unbounded in type and bounded by that count:
//! no more than `max_in_flight` connections are ever in them and in the lanes together.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use rustls::server::ServerConnection;
use rustls::{HandshakeKind, ServerConfig};
use slab::Slab;
use warden_reactor::{
    ClientSlot, Failure, FailureKind, Frame, Handoff, SlotSignal, catch, describe_panic,
};

use crate::counters::{AcceptStats, FailureSink};
use crate::tls::stats::HandshakeEnd;

const WAKE: Token = Token(usize::MAX);

/// The answer to a plain HTTP request on a TLS port, as nginx gives one: the client
/// learns what went wrong instead of seeing a closed connection.
const PLAIN_HTTP: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 55\r\n\
Connection: close\r\n\
\r\n\
400 Bad Request: a plain HTTP request to an HTTPS port\n";

/// Settings of the handshake pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeConfig {
    /// Threads making handshakes. Default: half the CPUs, at least one.
    pub threads: usize,
    /// Handshakes in flight in the whole server; past it, new connections to TLS
    /// listeners wait in the accept queue (never reset). Default 512.
    pub max_in_flight: usize,
    /// How long a handshake may take from the accept; past it the connection is closed
    /// and counted (`timeout`). Default 10 s.
    pub timeout: Duration,
    /// How long a client may take to send its first byte (a ClientHello follows the TCP
    /// handshake at once); past it the connection is closed and counted (`timeout`), so
    /// connections that never speak free their place long before `timeout`. Default 3 s.
    pub first_byte_timeout: Duration,
}

impl Default for HandshakeConfig {
    fn default() -> HandshakeConfig {
        HandshakeConfig {
            threads: thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            max_in_flight: 512,
            timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(3),
        }
    }
}

/// What the pool gives back to the acceptor: each ends one handshake in flight.
#[derive(Debug)]
pub(crate) enum Handshaken {
    /// Established: hand it to a worker.
    Ready(Box<Handoff>),
    /// Ended without a connection to serve.
    Gone,
}

/// A connection to make a handshake with.
struct Start {
    stream: TcpStream,
    peer: SocketAddr,
    listener: usize,
    config: Arc<ServerConfig>,
    accepted: Instant,
    place: Place,
    /// Its place in the per-client connection limit, if one is kept.
    client: Option<ClientSlot>,
    /// A test's way to make the lane that takes it panic.
    #[cfg(test)]
    poison: bool,
}

/// One handshake's place in the acceptor's count: given back exactly once, when the
/// handshake ends, however it ends (a lane that panics drops its places, and so gives
/// them back too).
struct Place {
    done: Sender<Handshaken>,
    wake: Arc<SlotSignal>,
    given: bool,
}

impl Place {
    fn give_back(mut self, what: Handshaken) {
        self.given = true;
        if self.done.send(what).is_ok() {
            self.wake.wake();
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if !self.given && self.done.send(Handshaken::Gone).is_ok() {
            self.wake.wake();
        }
    }
}

/// The acceptor's side of the pool.
pub(crate) struct Handshaker {
    lanes: Vec<LaneHandle>,
    next: usize,
    done: Sender<Handshaken>,
    wake: Arc<SlotSignal>,
    /// What a lane is made of: kept to replace a lane whose thread panicked.
    config: HandshakeConfig,
    stats: Arc<AcceptStats>,
    sink: FailureSink,
}

struct LaneHandle {
    tx: Sender<Start>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl Handshaker {
    /// Starts the lanes (threads `warden-tls-N`).
    pub(crate) fn start(
        config: HandshakeConfig,
        stats: Arc<AcceptStats>,
        sink: FailureSink,
        done: Sender<Handshaken>,
        wake: Arc<SlotSignal>,
    ) -> io::Result<Handshaker> {
        let mut handshaker = Handshaker {
            lanes: Vec::with_capacity(config.threads.max(1)),
            next: 0,
            done,
            wake,
            config,
            stats,
            sink,
        };
        for n in 0..config.threads.max(1) {
            let lane = handshaker.spawn_lane(n)?;
            handshaker.lanes.push(lane);
        }
        Ok(handshaker)
    }

    /// Starts lane `n`'s thread. A panic in it is reported; its handshakes are closed
    /// (their places given back as they drop), and the lane is replaced when the
    /// acceptor next finds it gone.
    fn spawn_lane(&self, n: usize) -> io::Result<LaneHandle> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut lane = Lane {
            poll,
            rx,
            conns: Slab::new(),
            deadlines: VecDeque::new(),
            first_bytes: VecDeque::new(),
            serial: 0,
            timeout: self.config.timeout,
            first_byte_timeout: self.config.first_byte_timeout.min(self.config.timeout),
            stats: Arc::clone(&self.stats),
        };
        let sink = Arc::clone(&self.sink);
        let thread = thread::Builder::new()
            .name(format!("warden-tls-{n}"))
            .spawn(move || {
                if let Err(payload) = catch(|| lane.run(&sink)) {
                    let mut failure = Failure::new(FailureKind::Panic, "");
                    describe_panic(payload.as_ref(), &mut failure);
                    failure.message = format!(
                        "a tls handshake thread panicked: {}; its handshakes are closed and \
                         the thread is replaced",
                        failure.message
                    );
                    failure.frame = Frame::Server;
                    sink(failure, false);
                }
            })?;
        Ok(LaneHandle {
            tx,
            waker,
            thread: Some(thread),
        })
    }

    /// Hands a freshly accepted connection to a lane, with its place in the per-client
    /// count. A lane whose thread is gone (it panicked) is replaced first; `false` only if
    /// no thread can be started: the connection is closed, its places given back.
    pub(crate) fn begin(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        listener: usize,
        config: Arc<ServerConfig>,
        client: Option<ClientSlot>,
    ) -> bool {
        let start = self.starting(stream, peer, listener, config, client);
        self.send(start)
    }

    /// A connection to send to a lane, holding a place in the count from now on.
    fn starting(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        listener: usize,
        config: Arc<ServerConfig>,
        client: Option<ClientSlot>,
    ) -> Start {
        Start {
            stream,
            peer,
            listener,
            config,
            accepted: Instant::now(),
            place: Place {
                done: self.done.clone(),
                wake: Arc::clone(&self.wake),
                given: false,
            },
            client,
            #[cfg(test)]
            poison: false,
        }
    }

    fn send(&mut self, mut start: Start) -> bool {
        let n = self.next;
        self.next = (self.next + 1) % self.lanes.len();
        for _ in 0..2 {
            let lane = &self.lanes[n];
            // A thread that ended (it panicked) is replaced before anything is sent to it.
            let ended = lane.thread.as_ref().is_none_or(JoinHandle::is_finished);
            let sent = if ended {
                Err(crossbeam_channel::SendError(start))
            } else {
                lane.tx.send(start)
            };
            match sent {
                Ok(()) => {
                    if let Err(e) = lane.waker.wake() {
                        log::warn!("waking a tls handshake thread failed: {e}");
                    }
                    return true;
                }
                Err(returned) => start = returned.into_inner(),
            }
            // Its thread is gone (the panic was reported): a new one takes its place.
            match self.spawn_lane(n) {
                Ok(lane) => {
                    let old = std::mem::replace(&mut self.lanes[n], lane);
                    if let Some(thread) = old.thread {
                        let _ = thread.join();
                    }
                    log::warn!("tls: handshake thread {n} replaced");
                }
                Err(e) => {
                    log::error!("tls: cannot replace handshake thread {n}: {e}");
                    return false;
                }
            }
        }
        false
    }

    /// Sends a connection that makes the lane taking it panic (a test's fault).
    #[cfg(test)]
    fn begin_poisoned(&mut self, stream: TcpStream, peer: SocketAddr, config: Arc<ServerConfig>) {
        let mut start = self.starting(stream, peer, 0, config, None);
        start.poison = true;
        assert!(self.send(start));
    }
}

impl Drop for Handshaker {
    fn drop(&mut self) {
        // Closing the channels stops each lane at its next wake; what it was making
        // handshakes with is closed. A waker's event is delivered only while the waker
        // lives: each is kept until its thread has gone.
        let lanes: Vec<_> = self
            .lanes
            .drain(..)
            .map(|lane| {
                drop(lane.tx);
                let _ = lane.waker.wake();
                (lane.waker, lane.thread)
            })
            .collect();
        for (_waker, thread) in lanes {
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
    }
}

/// Where a connection is in the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing read yet: the first byte tells a TLS record from a plain HTTP request.
    Fresh,
    /// Handshake records going both ways. Left for the acceptor once established.
    Handshaking,
    /// A plain HTTP request was answered 400 and our side shut: reading until the client
    /// closes, so that closing cannot reset the connection before it read the answer.
    Refused,
}

struct Pending {
    stream: TcpStream,
    peer: SocketAddr,
    listener: usize,
    session: ServerConnection,
    accepted: Instant,
    serial: u64,
    phase: Phase,
    place: Place,
    client: Option<ClientSlot>,
}

/// What driving a handshake came to.
enum Step {
    /// Waiting for the socket.
    Wait,
    /// Established, every record written.
    Established,
    /// Established, but the client left before taking the last records (a client
    /// that only wanted the handshake, or gave up): nothing to serve.
    EstablishedThenGone(String),
    /// Over, without a connection to serve (why, for the debug log).
    Failed(String),
    /// A plain HTTP request: answered, now lingering.
    Refused,
}

/// One lane's thread.
struct Lane {
    poll: Poll,
    rx: Receiver<Start>,
    conns: Slab<Pending>,
    /// When each handshake times out, in order (the timeout is the same for all).
    deadlines: VecDeque<(Instant, usize, u64)>,
    /// When each connection must have sent its first byte, in order.
    first_bytes: VecDeque<(Instant, usize, u64)>,
    serial: u64,
    timeout: Duration,
    first_byte_timeout: Duration,
    stats: Arc<AcceptStats>,
}

impl Lane {
    fn run(&mut self, sink: &FailureSink) {
        let mut events = Events::with_capacity(256);
        loop {
            let next = match (self.deadlines.front(), self.first_bytes.front()) {
                (Some(&(a, ..)), Some(&(b, ..))) => Some(a.min(b)),
                (a, b) => a.or(b).map(|&(at, ..)| at),
            };
            let timeout = next.map(|at| at.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    let mut failure = Failure::new(
                        FailureKind::Io,
                        format!("a tls handshake thread's poll failed: {e}; retrying"),
                    );
                    failure.frame = Frame::Server;
                    sink(failure, false);
                    thread::sleep(Duration::from_millis(100));
                }
                continue;
            }
            for event in events.iter() {
                match event.token() {
                    WAKE => {
                        if !self.take_new() {
                            return;
                        }
                    }
                    Token(key) => self.progress(key),
                }
            }
            self.expire(Instant::now());
        }
    }

    /// Takes the connections the acceptor sent; `false` once it is gone.
    fn take_new(&mut self) -> bool {
        loop {
            let start = match self.rx.try_recv() {
                Ok(start) => start,
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            };
            #[cfg(test)]
            if start.poison {
                panic!("a poisoned connection (a test's fault)");
            }
            self.stats.tls.started();
            let session = match ServerConnection::new(start.config) {
                Ok(session) => session,
                Err(e) => {
                    log::warn!("tls: cannot start a session for {}: {e}", start.peer);
                    self.stats.tls.ended(HandshakeEnd::Failed);
                    continue; // dropping the place gives it back
                }
            };
            let entry = self.conns.vacant_entry();
            let key = entry.key();
            let mut stream = start.stream;
            if let Err(e) = self.poll.registry().register(
                &mut stream,
                Token(key),
                Interest::READABLE | Interest::WRITABLE,
            ) {
                log::warn!("tls: cannot register {}: {e}", start.peer);
                self.stats.tls.ended(HandshakeEnd::Failed);
                continue;
            }
            self.serial += 1;
            entry.insert(Pending {
                stream,
                peer: start.peer,
                listener: start.listener,
                session,
                accepted: start.accepted,
                serial: self.serial,
                phase: Phase::Fresh,
                place: start.place,
                client: start.client,
            });
            self.deadlines
                .push_back((start.accepted + self.timeout, key, self.serial));
            self.first_bytes.push_back((
                start.accepted + self.first_byte_timeout,
                key,
                self.serial,
            ));
        }
    }

    fn progress(&mut self, key: usize) {
        let Some(pending) = self.conns.get_mut(key) else {
            return; // an event for a connection already gone
        };
        match drive(pending) {
            Step::Wait => {}
            Step::Refused => {
                self.stats.tls.plain_http();
                log::debug!("tls: {}: a plain HTTP request; answered 400", pending.peer);
            }
            Step::Established => {
                let mut pending = self.conns.remove(key);
                let _ = self.poll.registry().deregister(&mut pending.stream);
                let resumed = pending.session.handshake_kind() == Some(HandshakeKind::Resumed);
                self.stats
                    .tls
                    .established(pending.accepted.elapsed(), resumed);
                let Pending {
                    stream,
                    peer,
                    listener,
                    session,
                    place,
                    client,
                    ..
                } = pending;
                let handoff = Handoff::tls(stream, peer, listener, session).with_client(client);
                place.give_back(Handshaken::Ready(Box::new(handoff)));
            }
            Step::EstablishedThenGone(why) => {
                let pending = self.conns.remove(key);
                let resumed = pending.session.handshake_kind() == Some(HandshakeKind::Resumed);
                self.stats
                    .tls
                    .established(pending.accepted.elapsed(), resumed);
                log::debug!("tls: {} left once established: {why}", pending.peer);
            }
            Step::Failed(why) => {
                let pending = self.conns.remove(key);
                if pending.phase != Phase::Refused {
                    self.stats.tls.ended(HandshakeEnd::Failed);
                    log::debug!("tls: handshake with {} failed: {why}", pending.peer);
                }
                // Dropping it closes the socket and gives its place back.
            }
        }
    }

    /// Closes what passed its deadline: silent since the accept past the first-byte
    /// deadline, or handshaking past the handshake deadline.
    fn expire(&mut self, now: Instant) {
        while let Some(&(at, key, serial)) = self.first_bytes.front() {
            if at > now {
                break;
            }
            self.first_bytes.pop_front();
            if self
                .conns
                .get(key)
                .is_some_and(|p| p.serial == serial && p.phase == Phase::Fresh)
            {
                let pending = self.conns.remove(key);
                self.stats.tls.ended(HandshakeEnd::Timeout);
                log::debug!(
                    "tls: {} sent nothing in {:?}; closed",
                    pending.peer,
                    self.first_byte_timeout
                );
            }
        }
        while let Some(&(at, key, serial)) = self.deadlines.front() {
            if at > now {
                return;
            }
            self.deadlines.pop_front();
            if self.conns.get(key).is_some_and(|p| p.serial == serial) {
                let pending = self.conns.remove(key);
                if pending.phase != Phase::Refused {
                    self.stats.tls.ended(HandshakeEnd::Timeout);
                    log::debug!(
                        "tls: handshake with {} timed out after {:?}",
                        pending.peer,
                        self.timeout
                    );
                }
            }
        }
    }
}

/// Makes all the progress the socket allows.
fn drive(p: &mut Pending) -> Step {
    if p.phase == Phase::Refused {
        return linger(&mut p.stream);
    }
    loop {
        let mut blocked = false;
        while p.session.wants_write() {
            match p.session.write_tls(&mut p.stream) {
                Ok(0) => return Step::Failed("the socket took no bytes".to_owned()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    blocked = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if !p.session.is_handshaking() => {
                    return Step::EstablishedThenGone(e.to_string());
                }
                Err(e) => return Step::Failed(e.to_string()),
            }
        }
        if !p.session.is_handshaking() {
            // Established once its last records (session tickets too) are out.
            return if blocked {
                Step::Wait
            } else {
                Step::Established
            };
        }
        if p.phase == Phase::Fresh {
            let mut first = [0u8; 1];
            match p.stream.peek(&mut first) {
                Ok(0) => return Step::Failed("closed before the handshake".to_owned()),
                // A TLS connection starts with a handshake record (22); a request line
                // starts with a method, uppercase letters.
                Ok(_) if first[0].is_ascii_uppercase() => {
                    refuse_plain(p);
                    return Step::Refused;
                }
                Ok(_) => p.phase = Phase::Handshaking,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Step::Failed(e.to_string()),
            }
        }
        match p.session.read_tls(&mut p.stream) {
            Ok(0) => return Step::Failed("closed during the handshake".to_owned()),
            Ok(_) => {
                if let Err(e) = p.session.process_new_packets() {
                    // The alert rustls queued tells the client why.
                    let _ = p.session.write_tls(&mut p.stream);
                    return Step::Failed(e.to_string());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Step::Failed(e.to_string()),
        }
    }
}

/// Answers a plain HTTP request 400 and shuts our side: what it sent is read and
/// dropped first, so that the answer is not lost to a reset.
fn refuse_plain(p: &mut Pending) {
    p.phase = Phase::Refused;
    let _ = linger(&mut p.stream);
    // An empty socket buffer takes these few bytes whole; if not, the client gets the
    // close alone.
    let _ = p.stream.write(PLAIN_HTTP);
    let _ = p.stream.shutdown(Shutdown::Write);
}

/// Reads and drops input until the client's end (then done) or nothing more for now.
fn linger(stream: &mut TcpStream) -> Step {
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return Step::Failed("refused".to_owned()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Wait,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Step::Failed(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::{TcpListener, TcpStream as StdStream};
    use std::sync::Mutex;

    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use rustls::{ClientConfig, ClientConnection, RootCertStore};

    use crate::tls::provider;

    /// A server config for `localhost` and a client config that trusts it.
    fn configs() -> (Arc<ServerConfig>, Arc<ClientConfig>) {
        let key = rcgen::KeyPair::generate().expect("a key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("a certificate");
        let der = CertificateDer::from(cert.der().to_vec());
        let provider = Arc::new(provider::default_provider());
        let server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![der.clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("a server config");
        let mut roots = RootCertStore::empty();
        roots.add(der).expect("a root");
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        (Arc::new(server), Arc::new(client))
    }

    /// A connected pair: the client's socket and the server's, non-blocking for a lane.
    fn pair(listener: &TcpListener) -> (StdStream, TcpStream, SocketAddr) {
        let client = StdStream::connect(listener.local_addr().expect("addr")).expect("connect");
        client
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let (server, peer) = listener.accept().expect("accept");
        server.set_nonblocking(true).expect("non-blocking");
        (client, TcpStream::from_std(server), peer)
    }

    #[test]
    fn a_lane_that_panics_is_replaced_and_the_next_handshake_is_made() {
        let (server, client) = configs();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let poll = Poll::new().expect("a poll");
        let wake = Arc::new(SlotSignal::new(
            Waker::new(poll.registry(), Token(0)).expect("a waker"),
        ));
        let reported = Arc::new(Mutex::new(Vec::<Failure>::new()));
        let sink: FailureSink = {
            let reported = Arc::clone(&reported);
            Arc::new(move |failure, _| reported.lock().expect("lock").push(failure))
        };
        let (done, ended) = crossbeam_channel::unbounded();
        let config = HandshakeConfig {
            threads: 1,
            ..HandshakeConfig::default()
        };
        let mut pool =
            Handshaker::start(config, Arc::default(), sink, done, wake).expect("the pool starts");

        // The only lane panics; the connection it held is given back, and the panic is
        // reported.
        let (_victim, stream, peer) = pair(&listener);
        pool.begin_poisoned(stream, peer, Arc::clone(&server));
        match ended.recv_timeout(Duration::from_secs(20)) {
            Ok(Handshaken::Gone) => {}
            other => panic!("the poisoned connection's place: {other:?}"),
        }
        let start = Instant::now();
        while !pool.lanes[0]
            .thread
            .as_ref()
            .is_some_and(JoinHandle::is_finished)
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the lane never ended"
            );
            thread::sleep(Duration::from_millis(2));
        }
        let message = reported.lock().expect("lock")[0].message.clone();
        assert!(message.contains("panicked"), "{message}");

        // Before, every TLS connection from now on was closed: no lane was left.
        let (mut tcp, stream, peer) = pair(&listener);
        assert!(pool.begin(stream, peer, 0, server, None), "a lane takes it");
        let name = ServerName::try_from("localhost").expect("a name");
        let mut session = ClientConnection::new(client, name).expect("a client session");
        while session.is_handshaking() {
            session.complete_io(&mut tcp).expect("the handshake");
        }
        match ended.recv_timeout(Duration::from_secs(20)) {
            Ok(Handshaken::Ready(handoff)) => assert!(handoff.is_tls()),
            other => panic!("the handshake after the panic: {other:?}"),
        }
    }
}
