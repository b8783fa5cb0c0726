//! TLS over TCP: a rustls server connection, established off the loop (the handshake
//! pool of `warden-worker`), read and written here. The loop never runs handshake crypto:
//! a connection arrives with its handshake done; what remains is record encryption.
//!
//! Encrypted output the kernel would not take yet stays in the session (bounded by
//! rustls's send buffer); [`Transport::flush_pending`] says when it is all out, so the
//! connection keeps waiting to write until then.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::fs::FileExt;

use mio::net::TcpStream;
use rustls::ServerConnection;

use crate::transport::{ClientProtocolError, Transport};

/// One TLS record's worth of plaintext: how much of a file one call reads and encrypts.
/// A file is never held in memory whole; this is the most of it at any time.
const FILE_PIECE: usize = 16 * 1024;

/// An established TLS connection: the socket and its rustls session.
#[derive(Debug)]
pub(crate) struct TlsStream {
    pub(crate) tcp: TcpStream,
    pub(crate) session: Box<ServerConnection>,
    /// Where our side of the session is.
    ending: Ending,
}

/// How far our side of a session has ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    /// Open both ways.
    Open,
    /// Our `close_notify` is queued (and written if the socket took it): nothing more is
    /// ever written, and it is never sent twice.
    Notified,
    /// The session failed (the client's bad record or alert): no `close_notify` follows a
    /// fatal alert.
    Failed,
}

impl TlsStream {
    /// An established session over `tcp`.
    pub(crate) fn new(tcp: TcpStream, session: Box<ServerConnection>) -> TlsStream {
        TlsStream {
            tcp,
            session,
            ending: Ending::Open,
        }
    }

    /// The socket and its session, to move to another thread (still open).
    pub(crate) fn into_parts(self) -> (TcpStream, Box<ServerConnection>) {
        (self.tcp, self.session)
    }

    /// Queues our `close_notify` and writes what the socket takes now: "Each party MUST
    /// send a close_notify alert before closing its write side of the connection"
    /// (RFC 8446, 6.1). Without it, a client cannot tell a body we ended from one cut
    /// short (a close-delimited body, HTTP/1.0's way, depends on it). Best effort: a
    /// full socket loses it.
    fn notify_close(&mut self) {
        if self.ending == Ending::Open {
            self.ending = Ending::Notified;
            self.session.send_close_notify();
        }
        let _ = self.write_records();
    }

    /// Writes encrypted output until none is left (`Ok`) or the socket is full
    /// (`WouldBlock`).
    fn write_records(&mut self) -> io::Result<()> {
        while self.session.wants_write() {
            match self.session.write_tls(&mut self.tcp) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// After plaintext was handed to the session: its records go out now if the socket
    /// takes them; what it does not take waits (see `flush_pending`).
    fn push(&mut self, accepted: usize) -> io::Result<usize> {
        match self.write_records() {
            Ok(()) => Ok(accepted),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(accepted),
            Err(e) => Err(e),
        }
    }
}

impl Transport for TlsStream {
    /// Fills `buf` as far as the socket allows, as a plain socket's read does: a read
    /// shorter than `buf` means the socket is drained (the connection counts on that to
    /// skip a read that would only say `WouldBlock`), or its end was reached.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            match self.session.reader().read(&mut buf[filled..]) {
                Ok(0) if filled < buf.len() => return Ok(filled), // the client's close_notify
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The socket ended without a close_notify. For HTTP/1.1 that is an
                // ordinary end of input: every message is delimited on its own, so a
                // truncation shows as an incomplete message, not as lost data.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(filled),
                Err(e) => return Err(e),
            }
            match self.session.read_tls(&mut self.tcp) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && filled > 0 => {
                    return Ok(filled);
                }
                Err(e) => return Err(e),
            }
            if let Err(e) = self.session.process_new_packets() {
                // The client's doing (a record that does not decrypt, its own fatal
                // alert, a renegotiation): the alert rustls queued says why, and the
                // connection ends either way.
                self.ending = Ending::Failed;
                let _ = self.write_records();
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    ClientProtocolError(format!("tls: {e}")),
                ));
            }
            // Records that answer records (a key update) go out with the next write if
            // the socket is full now.
            if self.session.wants_write() {
                match self.write_records() {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Encrypted output first: the session's buffer is the bound on what waits.
        self.write_records()?;
        let accepted = self.session.writer().write(buf)?;
        self.push(accepted)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.write_records()?;
        let accepted = self.session.writer().write_vectored(bufs)?;
        self.push(accepted)
    }

    /// No sendfile here: the bytes must pass through the process to be encrypted. A
    /// piece of the file at a time, read, encrypted, written.
    fn send_file(&mut self, file: &File, offset: &mut u64, count: usize) -> io::Result<usize> {
        self.write_records()?;
        let mut piece = [0u8; FILE_PIECE];
        let want = count.min(FILE_PIECE);
        let read = file.read_at(&mut piece[..want], *offset)?;
        if read == 0 {
            return Ok(0);
        }
        let accepted = self.session.writer().write(&piece[..read])?;
        *offset += accepted as u64;
        self.push(accepted)
    }

    fn flush_pending(&mut self) -> io::Result<bool> {
        match self.write_records() {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.notify_close();
        self.tcp.shutdown(Shutdown::Write)
    }

    fn close(&mut self) {
        self.notify_close();
    }
}
