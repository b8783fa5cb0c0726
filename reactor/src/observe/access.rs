//! The access log: one line per answered request through `log`, target `warden::access`,
//! at info level. Off by default; off, it costs one branch per request.

use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

use crate::http::parse::Version;
use crate::http::request::{ConnId, Peer, UNIX_PEER};
use crate::http::request_id::RequestId;

/// The shape of an access log line. Every field a client chose (target, user agent,
/// referer, request id) is escaped: a `"` or `\\` gets a backslash, and any byte that is
/// not printable ASCII is written `\\xHH`, so no client can end a field or a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessLog {
    /// The combined log format (the common one with referer and user agent, as nginx
    /// writes by default), extended:
    /// `127.0.0.1 - - [Sun, 06 Nov 1994 08:49:37 GMT] "GET /x HTTP/1.1" 200 13 "-" "curl/8.5" 41us worker=0 conn=7 id=... trace=...`
    Common,
    /// logfmt: `peer=127.0.0.1:5000 method=GET target="/x" status=200 bytes=13 us=41 worker=0 conn=7 id=... trace=... ua="curl/8.5"`
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
    pub(crate) bytes: u64,
    /// Since the request reached the handler.
    pub(crate) started: Instant,
    pub(crate) worker: usize,
    pub(crate) conn: ConnId,
    pub(crate) id: RequestId<'e>,
    /// The trace of a valid `traceparent`.
    pub(crate) trace: Option<&'e str>,
    pub(crate) user_agent: Option<&'e [u8]>,
    pub(crate) referer: Option<&'e [u8]>,
    /// The response's `Date`, for the common format.
    pub(crate) date: &'e [u8],
}

/// Writes one line (the logger's formatter is the only buffer involved).
pub(crate) fn write(format: AccessLog, e: &Entry<'_>) {
    let micros = e.started.elapsed().as_micros();
    let status = Status(e.status);
    let id = Bare(e.id);
    let trace = Trace(e.trace);
    match format {
        AccessLog::Logfmt => log::info!(
            target: "warden::access",
            "peer={} method={} target=\"{}\" status={status} bytes={} us={micros} worker={} conn={} id={id}{trace} ua=\"{}\"",
            Peer(e.peer),
            e.method,
            Escaped(e.target.as_bytes()),
            e.bytes,
            e.worker,
            e.conn.0,
            Escaped(e.user_agent.unwrap_or(b""))
        ),
        AccessLog::Common => log::info!(
            target: "warden::access",
            "{} - - [{}] \"{} {} {}\" {status} {} \"{}\" \"{}\" {micros}us worker={} conn={} id={id}{trace}",
            PeerIp(e.peer),
            String::from_utf8_lossy(e.date),
            e.method,
            Escaped(e.target.as_bytes()),
            e.version.as_str(),
            e.bytes,
            Escaped(e.referer.unwrap_or(b"-")),
            Escaped(e.user_agent.unwrap_or(b"-")),
            e.worker,
            e.conn.0,
        ),
    }
}

/// A peer's IP for the common format, or `unix`.
struct PeerIp(SocketAddr);

impl fmt::Display for PeerIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == UNIX_PEER {
            f.write_str("unix")
        } else {
            write!(f, "{}", self.0.ip())
        }
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

/// Bytes a client chose, for a quoted field: `"` and `\\` escaped with a backslash,
/// every byte outside printable ASCII as `\\xHH`.
struct Escaped<'a>(&'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while !rest.is_empty() {
            // The longest run that needs nothing, written at once.
            let plain = rest
                .iter()
                .position(|&b| !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\')
                .unwrap_or(rest.len());
            let (run, tail) = rest.split_at(plain);
            f.write_str(std::str::from_utf8(run).expect("printable ASCII is UTF-8"))?;
            let Some((&b, tail)) = tail.split_first() else {
                break;
            };
            match b {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                _ => write!(f, "\\x{b:02x}")?,
            }
            rest = tail;
        }
        Ok(())
    }
}

/// A request id as a logfmt value: bare when it is safe so (visible ASCII, none of
/// `"`, `\\`, `=`), quoted and escaped otherwise.
struct Bare<'a>(RequestId<'a>);

impl fmt::Display for Bare<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            RequestId::Incoming(id)
                if id.is_empty()
                    || id
                        .bytes()
                        .any(|b| matches!(b, b'"' | b'\\' | b'=') || !b.is_ascii_graphic()) =>
            {
                write!(f, "\"{}\"", Escaped(id.as_bytes()))
            }
            id => write!(f, "{id}"),
        }
    }
}

/// ` trace=ID`, or nothing. The id is 32 lowercase hex digits (checked on parsing).
struct Trace<'a>(Option<&'a str>);

impl fmt::Display for Trace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(trace) => write!(f, " trace={trace}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_every_field_whole() {
        let cases: &[(&[u8], &str)] = &[
            (b"/plain?a=1", "/plain?a=1"),
            (b"/a\"b", "/a\\\"b"),
            (b"back\\slash", "back\\\\slash"),
            (b"line\r\nbreak", "line\\x0d\\x0abreak"),
            (b"\x00\x7f\xff", "\\x00\\x7f\\xff"),
            (b"sp ace", "sp ace"),
        ];
        for (raw, written) in cases {
            assert_eq!(Escaped(raw).to_string(), *written);
        }
    }

    #[test]
    fn request_ids_are_bare_only_when_safe() {
        assert_eq!(Bare(RequestId::Incoming("abc-123")).to_string(), "abc-123");
        assert_eq!(Bare(RequestId::Incoming("a\"b")).to_string(), "\"a\\\"b\"");
        assert_eq!(Bare(RequestId::Incoming("k=v")).to_string(), "\"k=v\"");
        assert_eq!(
            Bare(RequestId::Made { worker: 1, seq: 2 }).to_string(),
            RequestId::Made { worker: 1, seq: 2 }.to_string()
        );
    }
}
