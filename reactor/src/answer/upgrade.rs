//! Protocol upgrades: a handler accepts `Upgrade` with `101 Switching Protocols`, and the
//! socket leaves the loop, as a blocking [`TcpStream`], for the application's own thread.

use std::fmt;
use std::net::TcpStream;

use crate::http::owned::OwnedRequest;
use crate::http::response::Response;

/// A connection that switched protocols, handed to the application (see
/// [`Request::upgrade`](crate::Request::upgrade)). It has left the worker: its loop, its
/// timeouts and its counters no longer apply.
#[non_exhaustive]
pub struct Upgraded {
    /// The socket, in blocking mode.
    pub stream: TcpStream,
    /// Bytes the client sent after the request, already read from the socket: the new
    /// protocol's first bytes, to be consumed before reading `stream`.
    pub buffered: Vec<u8>,
    /// The request that asked for the upgrade.
    pub request: OwnedRequest,
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded")
            .field("stream", &self.stream)
            .field("buffered", &self.buffered.len())
            .field("request", &self.request)
            .finish()
    }
}

/// An accepted upgrade, between the handler and the hand-over: the 101 head, and what
/// takes the connection once the head is written.
pub(crate) struct Upgrade {
    pub(crate) head: Response,
    pub(crate) then: Box<dyn FnOnce(Upgraded) + Send>,
    pub(crate) request: OwnedRequest,
}

impl fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgrade")
            .field("head", &self.head)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}
