//! The request a handler sees: a view into the connection's read buffer.

use std::any::Any;
use std::fmt;
use std::net::SocketAddr;

use httparse::Header;

use crate::http::parse::{Head, Version};
use crate::http::request_id::RequestId;

/// The peer of every connection to a Unix domain socket: it has no address, and a TCP
/// peer never has port 0 (`0.0.0.0:0`). Logs and failures show it as `unix`; it is never
/// counted against a per-client limit.
pub const UNIX_PEER: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::UNSPECIFIED,
    0,
));

/// What carries a connection's bytes, as a request needs to know it: whether it came
/// over TLS, and whether an upgrade can hand its socket over (plain TCP only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Carrier {
    /// Plain TCP.
    #[default]
    Tcp,
    /// TLS over TCP.
    Tls,
    /// A Unix domain socket.
    Unix,
}

/// A peer for logs: its address, or `unix`.
pub(crate) struct Peer(pub(crate) SocketAddr);

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == UNIX_PEER {
            f.write_str("unix")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// Identifies one connection within its reactor, for logs and failure reports. Ids are
/// never reused while the reactor runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl ConnId {
    /// Not a connection: the worker's handler factory, as its activity shows it.
    pub const SETUP: ConnId = ConnId(u64::MAX);
}

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
    /// The worker whose loop took the request, and how many requests it took before:
    /// what a made request id is made of.
    worker: usize,
    seq: u64,
    /// How to answer later: the loop's side of deferring, streaming and upgrading, opaque
    /// here (it is the `answer` layer's `Dispatch`, which that layer's `impl Request`
    /// block looks for; the wire format knows nothing of answering later). `None` only
    /// for requests made outside a reactor.
    handoff: Option<&'a dyn Any>,
}

impl<'a> Request<'a> {
    /// The request of a parsed `head` whose path ends at `path_end` in its target; `seq`
    /// is the worker and the number of requests its loop took before this one.
    pub(crate) fn new(
        head: &Head<'a, 'a>,
        path_end: usize,
        body: &'a [u8],
        peer: SocketAddr,
        conn: ConnId,
        (worker, seq): (usize, u64),
        handoff: Option<&'a dyn Any>,
    ) -> Request<'a> {
        Request {
            method: head.method,
            target: head.target,
            path_end,
            version: head.info.version,
            headers: head.headers,
            body,
            peer,
            conn,
            worker,
            seq,
            handoff,
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
        path(self.target, self.path_end)
    }

    /// The query, without the `?`, if the target has one.
    pub fn query(&self) -> Option<&'a str> {
        query(self.target, self.path_end)
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The host the request is for: the authority of an absolute-form target, which wins
    /// over the `Host` header ("the origin server MUST ignore the received Host header
    /// field (if any) and instead use the host information of the request-target", RFC
    /// 9112 section 3.2.2); the target of a `CONNECT`; else the `Host` header. `None` when
    /// nothing names one (HTTP/1.0 without `Host`).
    pub fn host(&self) -> Option<&'a str> {
        host(
            self.method,
            self.target,
            self.header("host")
                .and_then(|v| std::str::from_utf8(v).ok()),
        )
    }

    /// The request's id, for logs and failures: its `X-Request-Id` when that is 1 to 128
    /// visible ASCII characters (a proxy's id is kept along the way), else one made here
    /// (see [`RequestId`]). Costs nothing unless asked for.
    pub fn request_id(&self) -> RequestId<'a> {
        RequestId::of(self.header("x-request-id"), self.worker, self.seq)
    }

    /// The trace this request belongs to: the trace-id of a valid W3C `traceparent`
    /// header (version 00, or a later one read as 00), 32 lowercase hex digits. `None`
    /// without one, with an invalid one (ignored, never echoed), or with two.
    pub fn trace_id(&self) -> Option<&'a str> {
        crate::http::trace::of_headers(self.headers())
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

    /// Where the request's path ends in its target.
    pub(crate) fn path_end(&self) -> usize {
        self.path_end
    }

    /// The header fields as parsed.
    pub(crate) fn fields(&self) -> &'a [Header<'a>] {
        self.headers
    }

    /// The loop's side of answering later (see the field), for the `answer` layer.
    pub(crate) fn handoff(&self) -> Option<&'a dyn Any> {
        self.handoff
    }
}

/// Where the path ends in `target`: at the `?`, or the end.
pub(crate) fn path_end(target: &str) -> usize {
    target
        .bytes()
        .position(|b| b == b'?')
        .unwrap_or(target.len())
}

/// The path of `target` (see [`Request::path`]).
pub(crate) fn path(target: &str, path_end: usize) -> &str {
    let without_query = &target[..path_end];
    if without_query.starts_with('/') {
        return without_query;
    }
    match without_query.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => without_query,
    }
}

/// See [`Request::host`].
pub(crate) fn host<'t>(method: &str, target: &'t str, header: Option<&'t str>) -> Option<&'t str> {
    if let Some((_, rest)) = target
        .split_once("://")
        .filter(|_| !target.starts_with('/'))
    {
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        // Userinfo is not host information.
        return Some(
            authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host),
        );
    }
    if method == "CONNECT" {
        return Some(target);
    }
    header
}

/// The query of `target` (see [`Request::query`]).
pub(crate) fn query(target: &str, path_end: usize) -> Option<&str> {
    target
        .get(path_end + 1..)
        .filter(|_| path_end < target.len())
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

/// A request made outside a reactor, for unit tests.
#[cfg(test)]
impl<'a> Request<'a> {
    pub(crate) fn sample(target: &'a str, headers: &'a [Header<'a>]) -> Request<'a> {
        Request {
            method: "GET",
            target,
            path_end: path_end(target),
            version: Version::Http11,
            headers,
            body: b"",
            peer: SocketAddr::from(([127, 0, 0, 1], 9)),
            conn: ConnId(1),
            worker: 0,
            seq: 0,
            handoff: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(target: &'a str, headers: &'a [Header<'a>]) -> Request<'a> {
        Request::sample(target, headers)
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
            let owned = req.to_owned_request();
            assert_eq!((owned.path(), owned.query()), (*path, *query), "{target}");
        }
    }

    #[test]
    fn the_authority_of_an_absolute_target_wins_over_host() {
        let cases: &[(&str, &str, Option<&str>, Option<&str>)] = &[
            ("GET", "/x", Some("h.example"), Some("h.example")),
            (
                "GET",
                "http://a.example/x",
                Some("b.example"),
                Some("a.example"),
            ),
            (
                "GET",
                "http://a.example:8080?q",
                Some("b"),
                Some("a.example:8080"),
            ),
            ("GET", "https://u:p@a.example/", None, Some("a.example")),
            ("CONNECT", "a.example:443", Some("b"), Some("a.example:443")),
            ("GET", "/x", None, None),
            ("OPTIONS", "*", Some("h"), Some("h")),
        ];
        for (method, target, header, expected) in cases {
            assert_eq!(
                host(method, target, *header),
                *expected,
                "{method} {target}"
            );
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
        let owned = req.to_owned_request();
        assert_eq!(owned.header_str("CONTENT-TYPE"), Some("text/plain"));
        assert_eq!(owned.headers().len(), 2);
        assert_eq!(req.header("content-type"), Some(&b"text/plain"[..]));
        assert_eq!(req.header_str("CONTENT-TYPE"), Some("text/plain"));
        assert_eq!(req.header("x-bin"), Some(&b"\xff"[..]));
        assert_eq!(req.header_str("x-bin"), None);
        assert_eq!(req.header("missing"), None);
        assert_eq!(req.headers().len(), 2);
    }
}
