//! How a connection's bytes move: the one small interface a connection reads and writes
//! through ([`Transport`]), its plain implementation for TCP and Unix domain sockets, and
//! (with the `tls` feature) a TLS one; [`Socket`] is whichever of them a connection has.
//!
//! A connection holds its transport by value, not as a trait object: every call is
//! resolved at compile time, and the plain path costs what a direct socket call costs
//! (one predictable branch when TLS is built in).
//! Uses `http` and `supervise` only.

use std::fs::File;
use std::io;

use mio::net::{TcpStream, UnixStream};
use mio::{Interest, Registry, Token};

use crate::http::request::Carrier;

pub(crate) mod plain;
pub(crate) mod sendfile;
#[cfg(feature = "tls")]
pub(crate) mod tls;

/// What a connection needs of the thing that carries its bytes.
pub(crate) trait Transport {
    /// Reads into `buf`: `Ok(0)` is the peer's end of input; `WouldBlock` means nothing
    /// more until the next readiness event.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes from `buf`, as much as the transport takes now.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;

    /// Writes from `bufs` in order, as much as the transport takes now (one `writev`).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize>;

    /// Sends up to `count` bytes of `file` from `*offset`, advancing it.
    fn send_file(&mut self, file: &File, offset: &mut u64, count: usize) -> io::Result<usize>;

    /// Writes what the transport itself still holds of bytes already taken (TLS records
    /// the socket had no room for): `true` once nothing is left.
    fn flush_pending(&mut self) -> io::Result<bool> {
        Ok(true)
    }

    /// Ends our side of the byte stream: nothing more will be written.
    fn shutdown_write(&mut self) -> io::Result<()>;

    /// The connection is about to be closed by us: says so in the protocol, if it has a
    /// way (TLS's `close_notify`), so that the client can tell our end from a cut. Best
    /// effort, never blocking; once only, however many times it is called.
    fn close(&mut self) {}
}

/// The client broke the protocol of its transport (a TLS record that does not decrypt,
/// a fatal alert, a renegotiation attempt): carried inside the `io::Error` of a read, so
/// that the connection counts it as the client's error, not as a failure of the server.
#[derive(Debug)]
pub(crate) struct ClientProtocolError(pub(crate) String);

impl std::fmt::Display for ClientProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClientProtocolError {}

impl ClientProtocolError {
    /// Whether `e` is one.
    pub(crate) fn is(e: &io::Error) -> bool {
        e.get_ref()
            .is_some_and(|inner| inner.is::<ClientProtocolError>())
    }
}

/// The socket under a connection, whichever its family.
#[derive(Debug)]
pub(crate) enum Wire {
    /// TCP.
    Tcp(TcpStream),
    /// A Unix domain stream socket.
    Unix(UnixStream),
}

/// A connection's transport: plain TCP, TLS over it, or a Unix domain socket.
#[derive(Debug)]
pub(crate) enum Socket {
    /// Bytes as they are.
    Plain(TcpStream),
    /// Bytes as they are, over a Unix domain socket.
    Unix(UnixStream),
    /// Records of an established TLS session.
    #[cfg(feature = "tls")]
    Tls(Box<tls::TlsStream>),
}

/// A TLS session travelling with its socket between threads (a handshake pool to a
/// reactor, a reactor to another); nothing where TLS is not built in.
#[cfg(feature = "tls")]
pub(crate) type Session = Option<Box<rustls::ServerConnection>>;
/// A TLS session travelling with its socket between threads; nothing where TLS is not
/// built in.
#[cfg(not(feature = "tls"))]
pub(crate) type Session = Option<std::convert::Infallible>;

impl Socket {
    /// The socket, with its TLS session if it has one. TLS comes over TCP only: the
    /// handshake pool takes TCP listeners' connections alone.
    pub(crate) fn new(wire: Wire, session: Session) -> Socket {
        match (wire, session) {
            (Wire::Tcp(tcp), None) => Socket::Plain(tcp),
            (Wire::Unix(unix), None) => Socket::Unix(unix),
            #[cfg(feature = "tls")]
            (Wire::Tcp(tcp), Some(session)) => {
                Socket::Tls(Box::new(tls::TlsStream::new(tcp, session)))
            }
            #[cfg(feature = "tls")]
            (Wire::Unix(_), Some(_)) => unreachable!("TLS sessions come over TCP only"),
            #[cfg(not(feature = "tls"))]
            (_, Some(never)) => match never {},
        }
    }

    /// Takes it apart: the socket, and its TLS session to carry along.
    pub(crate) fn into_parts(self) -> (Wire, Session) {
        match self {
            Socket::Plain(tcp) => (Wire::Tcp(tcp), None),
            Socket::Unix(unix) => (Wire::Unix(unix), None),
            #[cfg(feature = "tls")]
            Socket::Tls(tls) => {
                let (tcp, session) = tls.into_parts();
                (Wire::Tcp(tcp), Some(session))
            }
        }
    }

    /// What carries the bytes, as a request needs to know it.
    pub(crate) fn carrier(&self) -> Carrier {
        match self {
            Socket::Plain(_) => Carrier::Tcp,
            Socket::Unix(_) => Carrier::Unix,
            #[cfg(feature = "tls")]
            Socket::Tls(_) => Carrier::Tls,
        }
    }

    /// Whether input may wait inside the transport (decrypted, or records read past
    /// what was asked) that no readiness event will announce: TLS only.
    pub(crate) fn holds_input(&self) -> bool {
        self.carrier() == Carrier::Tls
    }
}

macro_rules! each {
    ($self:ident, $io:ident => $call:expr) => {
        match $self {
            Socket::Plain($io) => $call,
            Socket::Unix($io) => $call,
            #[cfg(feature = "tls")]
            Socket::Tls($io) => $call,
        }
    };
}

impl Transport for Socket {
    #[inline(always)]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        each!(self, io => io.read(buf))
    }

    #[inline(always)]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each!(self, io => io.write(buf))
    }

    #[inline(always)]
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        each!(self, io => io.write_vectored(bufs))
    }

    fn send_file(&mut self, file: &File, offset: &mut u64, count: usize) -> io::Result<usize> {
        each!(self, io => io.send_file(file, offset, count))
    }

    #[inline(always)]
    fn flush_pending(&mut self) -> io::Result<bool> {
        each!(self, io => io.flush_pending())
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        each!(self, io => io.shutdown_write())
    }

    fn close(&mut self) {
        each!(self, io => io.close())
    }
}

impl Socket {
    /// The socket underneath, to register with a poll.
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Socket::Plain(tcp) => tcp,
            Socket::Unix(unix) => unix,
            #[cfg(feature = "tls")]
            Socket::Tls(tls) => &mut tls.tcp,
        }
    }
}

impl mio::event::Source for Socket {
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
