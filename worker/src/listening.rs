//! The acceptor's listening sockets, TCP or Unix, registered with its poll.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};

use crate::unix::{Listener, SocketFile};

/// A listener as the acceptor polls it.
pub(crate) enum Listening {
    Tcp(TcpListener),
    /// With the file it removes when it closes, if this process made it.
    Unix(UnixListener, Option<SocketFile>),
}

/// A connection just accepted.
pub(crate) enum Accepted {
    Tcp(TcpStream, SocketAddr),
    Unix(UnixStream),
}

impl From<Listener> for Listening {
    fn from(listener: Listener) -> Listening {
        match listener {
            Listener::Tcp(tcp) => Listening::Tcp(TcpListener::from_std(tcp)),
            Listener::Unix(unix, file) => Listening::Unix(UnixListener::from_std(unix), file),
        }
    }
}

impl Listening {
    pub(crate) fn accept(&self) -> io::Result<Accepted> {
        match self {
            Listening::Tcp(tcp) => tcp.accept().map(|(s, peer)| Accepted::Tcp(s, peer)),
            Listening::Unix(unix, _) => unix.accept().map(|(s, _)| Accepted::Unix(s)),
        }
    }

    /// Its address, for a TCP listener.
    pub(crate) fn local_addr(&self) -> Option<io::Result<SocketAddr>> {
        match self {
            Listening::Tcp(tcp) => Some(tcp.local_addr()),
            Listening::Unix(..) => None,
        }
    }

    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Listening::Tcp(tcp) => tcp,
            Listening::Unix(unix, _) => unix,
        }
    }
}

impl mio::event::Source for Listening {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.source().register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        self.source().reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.source().deregister(registry)
    }
}

impl fmt::Debug for Listening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listening::Tcp(tcp) => f.debug_tuple("Tcp").field(&tcp.local_addr().ok()).finish(),
            Listening::Unix(_, file) => f.debug_tuple("Unix").field(file).finish(),
        }
    }
}
