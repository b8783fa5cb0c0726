//! How other threads hand a reactor its connections: a channel plus a `mio::Waker`.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use mio::Waker;
use mio::net::TcpStream;

/// What an inbox carries.
#[derive(Debug)]
pub(crate) enum Command {
    /// An accepted socket, non-blocking, and its peer.
    Connection(TcpStream, SocketAddr),
    /// Stop taking connections and drain, closing what remains after the grace period.
    Shutdown(Duration),
}

/// The sending side of a reactor: hands it accepted sockets and asks it to shut down.
/// Cheap to clone; any thread may hold one.
#[derive(Clone)]
pub struct Inbox {
    tx: Sender<Command>,
    waker: Arc<Waker>,
}

impl Inbox {
    pub(crate) fn new(waker: Arc<Waker>) -> (Inbox, Receiver<Command>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (Inbox { tx, waker }, rx)
    }

    /// Hands the reactor an accepted, non-blocking socket.
    ///
    /// # Errors
    ///
    /// If the reactor has stopped, the socket comes back in the error, still open, so the
    /// caller can give it to another reactor.
    pub fn send(&self, stream: TcpStream, peer: SocketAddr) -> Result<(), SendError> {
        match self.tx.send(Command::Connection(stream, peer)) {
            Ok(()) => {
                self.wake();
                Ok(())
            }
            Err(crossbeam_channel::SendError(Command::Connection(stream, peer))) => {
                Err(SendError { stream, peer })
            }
            Err(_) => unreachable!("the channel hands back the command it was given"),
        }
    }

    /// Asks the reactor to stop: it takes no new work, closes idle connections, answers the
    /// requests it already has with `Connection: close`, and after `grace` closes whatever
    /// remains. [`Reactor::run`](crate::Reactor::run) then returns. Does nothing if the
    /// reactor has already stopped.
    pub fn shutdown(&self, grace: Duration) {
        if self.tx.send(Command::Shutdown(grace)).is_ok() {
            self.wake();
        }
    }

    /// How many commands wait to be taken.
    pub fn len(&self) -> usize {
        self.tx.len()
    }

    /// Whether no command waits to be taken.
    pub fn is_empty(&self) -> bool {
        self.tx.is_empty()
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
pub struct SendError {
    /// The socket, still open.
    pub stream: TcpStream,
    /// Its peer.
    pub peer: SocketAddr,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reactor has stopped; connection from {} handed back",
            self.peer
        )
    }
}

impl std::error::Error for SendError {}
