//! In-memory protocol sessions, for fuzzing and property tests: the connection state
//! machine fed bytes directly, with no event loop and no timing. Not part of the API.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};

use crate::config::Config;
use crate::conn::Conn;
use crate::http::handler::Handler;
use crate::http::request::ConnId;
use crate::shared::Shared;

/// One connection's protocol, driven by hand: `feed` bytes in any pieces, read what it
/// answered. The same bytes in any split must give the same answers.
pub struct Session<H> {
    conn: Conn,
    cx: Shared<H>,
    output: Vec<u8>,
    /// Restarts so far: each moved connection gets a new id, as in a new reactor.
    moves: u64,
}

impl<H: Handler> Session<H> {
    /// A session answering with `handler` under `config`.
    ///
    /// # Errors
    ///
    /// The connection needs a socket to exist (it is never read or written); making one
    /// over loopback can fail.
    pub fn new(config: Config, handler: H) -> io::Result<Session<H>> {
        // Handler panics are reported, not printed, as on a worker thread.
        crate::supervise::frame::install_panic_hook();
        crate::supervise::frame::set_supervised(true);
        let stream = placeholder_socket()?;
        let peer = SocketAddr::from(([127, 0, 0, 1], 9));
        Ok(Session {
            conn: Conn::new(
                crate::transport::Socket::Plain(mio::net::TcpStream::from_std(stream)),
                peer,
                ConnId(0),
                0,
                0,
                false,
            ),
            cx: Shared::standalone(config, handler)?,
            output: Vec::new(),
            moves: 0,
        })
    }

    /// Feeds bytes as if they had just been read, and answers what can be answered.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.conn.feed(bytes, &mut self.cx, &mut self.output);
    }

    /// Moves the connection to a fresh one, as a worker restart hands it to the next
    /// reactor: what it was in the middle of goes along, and the answers must be the same
    /// as without the move.
    ///
    /// # Errors
    ///
    /// Making the placeholder socket of the fresh connection can fail.
    pub fn restart(&mut self) -> io::Result<()> {
        let peer = self.conn.peer();
        let fresh = Conn::new(
            crate::transport::Socket::Plain(mio::net::TcpStream::from_std(placeholder_socket()?)),
            peer,
            ConnId(0),
            0,
            0,
            false,
        );
        let old = std::mem::replace(&mut self.conn, fresh);
        if let (stream, Some(carried)) = old.carry(&mut self.cx) {
            self.moves += 1;
            self.conn = Conn::resume(stream, peer, ConnId(self.moves), 0, 0, carried);
        }
        Ok(())
    }

    /// Everything answered so far.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// Everything answered so far, without `100 Continue` interim responses: whether one
    /// is sent depends on whether the body came with the head ("a server MAY omit sending
    /// a 100 response if it has already received some or all of the content"), so it is
    /// the one part of the output that may differ between splits.
    pub fn final_output(&self) -> Vec<u8> {
        let interim: &[u8] = crate::http::encode::CONTINUE;
        let mut out = Vec::with_capacity(self.output.len());
        let mut rest = &self.output[..];
        while let Some(i) = rest.windows(interim.len()).position(|w| w == interim) {
            out.extend_from_slice(&rest[..i]);
            rest = &rest[i + interim.len()..];
        }
        out.extend_from_slice(rest);
        out
    }

    /// Whether the connection will read no more requests (a framing error, or a close).
    pub fn is_closing(&self) -> bool {
        self.conn.is_closing()
    }
}

impl<H> std::fmt::Debug for Session<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("output", &self.output.len())
            .finish()
    }
}

/// A connected socket that nothing reads or writes: the connection type needs one.
fn placeholder_socket() -> io::Result<TcpStream> {
    thread_local! {
        static PAIR: Result<(TcpStream, TcpStream), String> = (|| {
            let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            let client = TcpStream::connect(listener.local_addr().map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            let (server, _) = listener.accept().map_err(|e| e.to_string())?;
            server.set_nonblocking(true).map_err(|e| e.to_string())?;
            Ok((client, server))
        })();
    }
    PAIR.with(|pair| match pair {
        Ok((_, server)) => server.try_clone(),
        Err(e) => Err(io::Error::other(e.clone())),
    })
}
