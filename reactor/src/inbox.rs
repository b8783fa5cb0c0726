//! How other threads hand a reactor its connections: a channel plus a `mio::Waker`.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use mio::Waker;
use mio::net::{TcpStream, UnixStream};

use crate::clients::ClientSlot;
use crate::conn::Carried;
use crate::http::request::UNIX_PEER;
use crate::transport::{Session, Socket, Wire};

/// An accepted, non-blocking socket on its way to a reactor.
#[derive(Debug)]
pub struct Handoff {
    /// The socket (under its TLS session, if it has one).
    wire: Wire,
    /// Its peer ([`UNIX_PEER`] for a Unix domain socket).
    pub peer: SocketAddr,
    /// Which listener accepted it (index in bind order): picks its error policy.
    pub listener: usize,
    /// It has served requests already and sits idle between them: a keep-alive
    /// connection moving from a stopped worker. It waits under the keep-alive timeout,
    /// not the header timeout.
    pub kept_alive: bool,
    /// What a busy connection moving from a stopped reactor was in the middle of:
    /// buffered input, parse state, unwritten output. The next reactor resumes it.
    carried: Option<Box<Carried>>,
    /// The TLS session over the socket, established: the connection speaks TLS.
    session: Session,
    /// For a connection moving from another reactor: it is past its PROXY protocol
    /// header (if one was required), and the balancer's address if the header named a
    /// client. `None` for a freshly accepted socket.
    proxied: Option<Option<SocketAddr>>,
    /// Its place in the per-client connection limit, taken before it got here; given
    /// back when the connection ends, wherever it is then. Boxed: only servers with a
    /// limit have one, and a handoff travels through channels by value.
    client: Option<Box<ClientSlot>>,
}

/// A handoff taken apart by the reactor that keeps it.
pub(crate) struct Arrival {
    pub(crate) socket: Socket,
    pub(crate) peer: SocketAddr,
    pub(crate) listener: usize,
    pub(crate) kept_alive: bool,
    pub(crate) carried: Option<Box<Carried>>,
    pub(crate) proxied: Option<Option<SocketAddr>>,
    pub(crate) client: Option<Box<ClientSlot>>,
}

impl Handoff {
    /// A freshly accepted socket.
    pub fn new(stream: TcpStream, peer: SocketAddr, listener: usize) -> Handoff {
        Handoff::of_wire(Wire::Tcp(stream), peer, listener)
    }

    /// A freshly accepted connection to a Unix domain socket listener.
    pub fn unix(stream: UnixStream, listener: usize) -> Handoff {
        Handoff::of_wire(Wire::Unix(stream), UNIX_PEER, listener)
    }

    fn of_wire(wire: Wire, peer: SocketAddr, listener: usize) -> Handoff {
        Handoff {
            wire,
            peer,
            listener,
            kept_alive: false,
            carried: None,
            session: None,
            proxied: None,
            client: None,
        }
    }

    /// The connection holds this place in its client's count (taken at the accept), if
    /// one is kept: the reactor keeps it while the connection lives, and it is given back
    /// once, when the connection ends.
    pub fn with_client(self, client: Option<ClientSlot>) -> Handoff {
        self.with_boxed_client(client.map(Box::new))
    }

    /// As [`Handoff::with_client`], for a place already boxed (a connection moving on).
    pub(crate) fn with_boxed_client(mut self, client: Option<Box<ClientSlot>>) -> Handoff {
        self.client = client;
        self
    }

    /// A socket whose TLS handshake is done: the reactor reads and writes through
    /// `session` (and never runs a handshake itself).
    #[cfg(feature = "tls")]
    pub fn tls(
        stream: TcpStream,
        peer: SocketAddr,
        listener: usize,
        session: rustls::ServerConnection,
    ) -> Handoff {
        Handoff {
            session: Some(Box::new(session)),
            ..Handoff::new(stream, peer, listener)
        }
    }

    /// An idle connection moving from a stopped reactor, with its transport and the
    /// balancer that named its client, if one did.
    pub(crate) fn idle(
        socket: Socket,
        peer: SocketAddr,
        listener: usize,
        kept_alive: bool,
        proxy: Option<SocketAddr>,
    ) -> Handoff {
        let (wire, session) = socket.into_parts();
        Handoff {
            kept_alive,
            session,
            proxied: Some(proxy),
            ..Handoff::of_wire(wire, peer, listener)
        }
    }

    /// Whether the connection speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.session.is_some()
    }

    /// Takes the socket with its transport, for a reactor to keep.
    pub(crate) fn into_arrival(self) -> Arrival {
        Arrival {
            socket: Socket::new(self.wire, self.session),
            peer: self.peer,
            listener: self.listener,
            kept_alive: self.kept_alive,
            carried: self.carried,
            proxied: self.proxied,
            client: self.client,
        }
    }

    /// A connection moving from a stopped reactor, in the middle of something.
    pub(crate) fn carrying(
        socket: Socket,
        peer: SocketAddr,
        listener: usize,
        carried: Carried,
        proxy: Option<SocketAddr>,
    ) -> Handoff {
        Handoff {
            carried: Some(Box::new(carried)),
            ..Handoff::idle(socket, peer, listener, true, proxy)
        }
    }

    /// Whether it carries a connection's state from another reactor.
    pub fn is_busy(&self) -> bool {
        self.carried.is_some()
    }
}

/// What an inbox carries.
#[derive(Debug)]
pub(crate) enum Command {
    /// An accepted socket.
    Connection(Handoff),
    /// Stop taking connections and drain, closing what remains after the grace period.
    Shutdown(Duration),
    /// Stop at once: this worker is being replaced (its handler was hung). Idle
    /// connections and queued sockets are handed back through [`Orphans`].
    Retire,
}

/// The sending side of a reactor: hands it accepted sockets and asks it to stop.
/// Cheap to clone; any thread may hold one.
#[derive(Clone)]
pub struct Inbox {
    tx: Sender<Command>,
    waker: Arc<Waker>,
    /// Raised by `shutdown` before the command is even taken, so a handler already
    /// running when the shutdown starts answers with `Connection: close`.
    draining: Arc<AtomicBool>,
}

impl Inbox {
    pub(crate) fn new(waker: Arc<Waker>, draining: Arc<AtomicBool>) -> (Inbox, Receiver<Command>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (
            Inbox {
                tx,
                waker,
                draining,
            },
            rx,
        )
    }

    /// Hands the reactor an accepted, non-blocking socket from listener 0.
    ///
    /// # Errors
    ///
    /// If the reactor has stopped, the socket comes back in the error, still open, so the
    /// caller can give it to another reactor.
    // The error hands the whole connection back (crossbeam's `SendError<T>(pub T)`):
    // about 128 bytes, moved once per connection and only when a reactor has stopped.
    #[allow(clippy::result_large_err)]
    pub fn send(&self, stream: TcpStream, peer: SocketAddr) -> Result<(), SendError> {
        self.hand_off(Handoff::new(stream, peer, 0))
    }

    /// Hands the reactor an accepted socket, with the listener it came from.
    ///
    /// # Errors
    ///
    /// As [`Inbox::send`]: the socket comes back if the reactor has stopped.
    #[allow(clippy::result_large_err)] // as `send`
    pub fn hand_off(&self, handoff: Handoff) -> Result<(), SendError> {
        match self.tx.send(Command::Connection(handoff)) {
            Ok(()) => {
                self.wake();
                Ok(())
            }
            Err(crossbeam_channel::SendError(Command::Connection(handoff))) => {
                Err(SendError(handoff))
            }
            Err(_) => unreachable!("the channel hands back the command it was given"),
        }
    }

    /// Asks the reactor to stop: it takes no new work, closes idle connections, answers the
    /// requests it already has with `Connection: close`, and after `grace` closes whatever
    /// remains. [`Reactor::run`](crate::Reactor::run) then returns. Does nothing if the
    /// reactor has already stopped.
    pub fn shutdown(&self, grace: Duration) {
        self.draining.store(true, Ordering::Relaxed);
        self.command(Command::Shutdown(grace));
    }

    /// Asks the reactor to stop as soon as its current handler returns, handing back its
    /// connections and queued sockets ([`Reactor::salvage`](crate::Reactor::salvage)).
    pub fn retire(&self) {
        self.command(Command::Retire);
    }

    pub(crate) fn sender(&self) -> Sender<Command> {
        self.tx.clone()
    }

    /// How many commands wait to be taken.
    pub fn len(&self) -> usize {
        self.tx.len()
    }

    /// Whether no command waits to be taken.
    pub fn is_empty(&self) -> bool {
        self.tx.is_empty()
    }

    fn command(&self, command: Command) {
        if self.tx.send(command).is_ok() {
            self.wake();
        }
    }

    fn wake(&self) {
        if let Err(e) = self.waker.wake() {
            // An eventfd write fails only if its counter is saturated, which means a
            // wake-up is pending anyway.
            log::warn!("waking the reactor failed: {e}");
        }
    }
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("queued", &self.tx.len())
            .finish()
    }
}

/// A socket that could not be handed over because its reactor has stopped. The socket
/// is still open: give it to another reactor, or drop it to close it.
#[derive(Debug)]
pub struct SendError(pub Handoff);

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reactor has stopped; connection from {} handed back",
            self.0.peer
        )
    }
}

impl std::error::Error for SendError {}

/// The queue of a reactor's inbox, seen from another thread: the sockets still queued for
/// a reactor whose handler hung can be taken back and served elsewhere, without waiting
/// for that handler to return.
#[derive(Clone)]
pub struct Backlog {
    rx: Receiver<Command>,
    tx: Sender<Command>,
}

impl Backlog {
    pub(crate) fn new(rx: Receiver<Command>, tx: Sender<Command>) -> Backlog {
        Backlog { rx, tx }
    }

    /// The queued sockets, as [`Orphans`] to hand out. Other commands (a shutdown, a
    /// retire) stay queued for the reactor.
    pub fn take(&self) -> Orphans {
        let mut taken = Vec::new();
        let mut others = Vec::new();
        while let Ok(command) = self.rx.try_recv() {
            match command {
                Command::Connection(handoff) => taken.push(handoff),
                other => others.push(other),
            }
        }
        for command in others {
            // Fails only if the reactor is gone, and then nobody needs the command.
            let _ = self.tx.send(command);
        }
        Orphans::new(taken, crossbeam_channel::never())
    }
}

impl fmt::Debug for Backlog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backlog")
            .field("queued", &self.rx.len())
            .finish()
    }
}

/// What a stopped reactor leaves behind for another to serve: its connections (idle
/// keep-alive ones, and busy ones with what they were in the middle of), and the sockets
/// still queued in its inbox. Nothing accepted is lost to a crash or a restart, nor any
/// byte of a connection in progress.
#[derive(Debug)]
pub struct Orphans {
    idle: Vec<Handoff>,
    queue: Receiver<Command>,
}

impl Orphans {
    pub(crate) fn new(idle: Vec<Handoff>, queue: Receiver<Command>) -> Orphans {
        Orphans { idle, queue }
    }

    /// Takes every connection left so far: the reactor's own, then those queued. Call it
    /// again after whoever sent to the old inbox has stopped doing so, to collect
    /// stragglers.
    pub fn take(&mut self) -> Vec<Handoff> {
        let mut taken = std::mem::take(&mut self.idle);
        loop {
            match self.queue.try_recv() {
                Ok(Command::Connection(handoff)) => taken.push(handoff),
                Ok(Command::Shutdown(_) | Command::Retire) => {}
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return taken,
            }
        }
    }
}
