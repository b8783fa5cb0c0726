//! The request a handler sees: a view into the connection's read buffer.

use std::fmt;
use std::net::SocketAddr;

use httparse::Header;

use crate::parse::Version;

/// Identifies one connection within its reactor, for logs and failure reports. Ids are
/// never reused while the reactor runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// One HTTP request, borrowed from the connection's buffer for the duration of the handler
/// call: reading it allocates nothing.
///
/// ```
/// use warden_reactor::{Request, Response};
///
/// fn handler(req: &Request<'_>) -> Response {
///     let agent = req.header_str("user-agent").unwrap_or("unknown");
///     Response::text(format!("{} {} from {agent}", req.method(), req.path()))
/// }
/// # let _ = handler;
/// ```
pub struct Request<'a> {
    method: &'a str,
    target: &'a str,
    /// Where the path ends in `target` (at the `?`, or the end); found once.
    path_end: usize,
    version: Version,
    headers: &'a [Header<'a>],
    body: &'a [u8],
    peer: SocketAddr,
    conn: ConnId,
}

impl<'a> Request<'a> {
    pub(crate) fn new(
        method: &'a str,
        target: &'a str,
        version: Version,
        headers: &'a [Header<'a>],
        body: &'a [u8],
        peer: SocketAddr,
        conn: ConnId,
    ) -> Request<'a> {
        let path_end = target
            .bytes()
            .position(|b| b == b'?')
            .unwrap_or(target.len());
        Request {
            method,
            target,
            path_end,
            version,
            headers,
            body,
            peer,
            conn,
        }
    }

    /// The method, as sent (methods are case-sensitive): `GET`, `POST`, ...
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request target as sent: `/a/b?c`, `http://host/a`, `host:443` or `*`.
    pub fn target(&self) -> &'a str {
        self.target
    }

    /// The path of the target, without the query: `/a/b` for `/a/b?c` and for
    /// `http://host/a/b?c`. For authority-form (CONNECT) and `*`, the whole target.
    pub fn path(&self) -> &'a str {
        let without_query = &self.target[..self.path_end];
        if without_query.starts_with('/') {
            return without_query;
        }
        match without_query.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
            None => without_query,
        }
    }

    /// The query, without the `?`, if the target has one.
    pub fn query(&self) -> Option<&'a str> {
        self.target
            .get(self.path_end + 1..)
            .filter(|_| self.path_end < self.target.len())
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The value of the first header named `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// The value of the first header named `name` if it is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every header field in order, names as sent.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a [u8])> + 'a {
        self.headers.iter().map(|h| (h.name, h.value))
    }

    /// The body, after chunked decoding; empty when the request has none.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The connection this request arrived on.
    pub fn conn_id(&self) -> ConnId {
        self.conn
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("version", &self.version)
            .field("headers", &self.headers.len())
            .field("body", &self.body.len())
            .field("peer", &self.peer)
            .field("conn", &self.conn)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(target: &'a str, headers: &'a [Header<'a>]) -> Request<'a> {
        let peer = SocketAddr::from(([127, 0, 0, 1], 9));
        Request::new(
            "GET",
            target,
            Version::Http11,
            headers,
            b"",
            peer,
            ConnId(1),
        )
    }

    #[test]
    fn path_and_query() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("/", "/", None),
            ("/a/b?c=d", "/a/b", Some("c=d")),
            ("/a?", "/a", Some("")),
            ("http://h.example/x/y?z", "/x/y", Some("z")),
            ("http://h.example", "/", None),
            ("h.example:443", "h.example:443", None),
            ("*", "*", None),
        ];
        for (target, path, query) in cases {
            let req = request(target, &[]);
            assert_eq!(req.path(), *path, "{target}");
            assert_eq!(req.query(), *query, "{target}");
        }
    }

    #[test]
    fn headers_are_case_insensitive() {
        let headers = [
            Header {
                name: "Content-Type",
                value: b"text/plain",
            },
            Header {
                name: "X-Bin",
                value: b"\xff",
            },
        ];
        let req = request("/", &headers);
        assert_eq!(req.header("content-type"), Some(&b"text/plain"[..]));
        assert_eq!(req.header_str("CONTENT-TYPE"), Some("text/plain"));
        assert_eq!(req.header("x-bin"), Some(&b"\xff"[..]));
        assert_eq!(req.header_str("x-bin"), None);
        assert_eq!(req.header("missing"), None);
        assert_eq!(req.headers().len(), 2);
    }
}
