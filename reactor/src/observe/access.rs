//! The access log: one line per answered request through `log`, target `warden::access`,
//! at info level. Off by default; off, it costs one branch per request.

use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use crate::http::parse::Version;
use crate::http::request::ConnId;
use crate::http::request_id::RequestId;

/// The shape of an access log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessLog {
    /// Common log format, extended:
    /// `127.0.0.1 - - [Sun, 06 Nov 1994 08:49:37 GMT] "GET /x HTTP/1.1" 200 13 41us worker=0 conn=7 id=...`
    Common,
    /// logfmt: `peer=127.0.0.1:5000 method=GET target="/x" status=200 bytes=13 us=41 worker=0 conn=7 id=...`
    Logfmt,
}

/// What one line says.
pub(crate) struct Entry<'e> {
    pub(crate) peer: SocketAddr,
    pub(crate) method: &'e str,
    pub(crate) target: &'e str,
    pub(crate) version: Version,
    /// The status sent; `None` when the connection closed without an answer.
    pub(crate) status: Option<u16>,
    /// Body bytes sent.
    pub(crate) bytes: usize,
    /// Since the request reached the handler.
    pub(crate) started: Instant,
    pub(crate) worker: usize,
    pub(crate) conn: ConnId,
    pub(crate) id: RequestId<'e>,
    /// The response's `Date`, for the common format.
    pub(crate) date: &'e [u8],
}

/// Writes one line (the logger's formatter is the only buffer involved).
pub(crate) fn write(format: AccessLog, e: &Entry<'_>) {
    let micros = e.started.elapsed().as_micros();
    let status = Status(e.status);
    match format {
        AccessLog::Logfmt => log::info!(
            target: "warden::access",
            "peer={} method={} target={:?} status={status} bytes={} us={micros} worker={} conn={} id={}",
            e.peer,
            e.method,
            e.target,
            e.bytes,
            e.worker,
            e.conn.0,
            e.id
        ),
        AccessLog::Common => log::info!(
            target: "warden::access",
            "{} - - [{}] \"{} {} {}\" {status} {} {micros}us worker={} conn={} id={}",
            e.peer.ip(),
            String::from_utf8_lossy(e.date),
            e.method,
            e.target,
            e.version.as_str(),
            e.bytes,
            e.worker,
            e.conn.0,
            e.id
        ),
    }
}

/// A status, or `-` for none.
struct Status(Option<u16>);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(status) => write!(f, "{status}"),
            None => f.write_str("-"),
        }
    }
}
