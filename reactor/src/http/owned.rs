//! A request that owns its data: what a deferred answer, a blocking job or a stream
//! keeps after the handler returned and the connection's buffer moved on.

use std::fmt;
use std::net::SocketAddr;

use crate::http::parse::Version;
use crate::http::request::{self, ConnId, Request};

impl Request<'_> {
    /// A copy of the request that owns its data, to keep or to send to another thread.
    pub fn to_owned_request(&self) -> OwnedRequest {
        use std::fmt::Write;
        // Two allocations whatever the request (three with a body): the text fields side
        // by side, and the header fields packed.
        let mut text = String::with_capacity(self.method().len() + self.target().len() + 32);
        text.push_str(self.method());
        text.push_str(self.target());
        let target_end = text.len();
        let _ = write!(text, "{}", self.request_id());
        let packed: usize = self
            .fields()
            .iter()
            .map(|h| HEADER_LENGTHS + h.name.len() + h.value.len())
            .sum();
        let mut headers = Vec::with_capacity(packed);
        for h in self.fields() {
            // `max_head` is at most 1 GiB (the builder refuses more): lengths fit.
            let name = u32::try_from(h.name.len()).expect("a head is under 1 GiB");
            let value = u32::try_from(h.value.len()).expect("a head is under 1 GiB");
            headers.extend_from_slice(&name.to_le_bytes());
            headers.extend_from_slice(&value.to_le_bytes());
            headers.extend_from_slice(h.name.as_bytes());
            headers.extend_from_slice(h.value);
        }
        OwnedRequest {
            text,
            method_end: self.method().len(),
            target_end,
            path_end: self.path_end(),
            version: self.version(),
            headers,
            header_count: self.fields().len(),
            body: self.body().to_vec(),
            peer: self.peer_addr(),
            conn: self.conn_id(),
        }
    }
}

/// A request that owns its data: what [`Responder::request`](crate::Responder::request) and the closures of
/// [`Request::blocking`] see, after the handler returned and the connection moved on.
#[derive(Clone, PartialEq, Eq)]
pub struct OwnedRequest {
    /// The method, the target and the request id, one after another.
    text: String,
    method_end: usize,
    target_end: usize,
    /// Where the path ends within the target.
    path_end: usize,
    version: Version,
    /// Each header field as a 4-byte name length, a 4-byte value length (little-endian),
    /// the name and the value: one allocation for them all (a deferred request is copied
    /// once, and an idle event stream keeps its copy).
    headers: Vec<u8>,
    header_count: usize,
    body: Vec<u8>,
    peer: SocketAddr,
    conn: ConnId,
}

/// The two lengths before each packed header field.
const HEADER_LENGTHS: usize = 8;

/// The header fields of an [`OwnedRequest`], in order.
#[derive(Clone, Debug)]
pub struct OwnedHeaders<'r> {
    packed: &'r [u8],
    left: usize,
}

impl<'r> Iterator for OwnedHeaders<'r> {
    type Item = (&'r str, &'r [u8]);

    fn next(&mut self) -> Option<(&'r str, &'r [u8])> {
        if self.left == 0 {
            return None;
        }
        let p = self.packed;
        let name_len = u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize;
        let value_len = u32::from_le_bytes([p[4], p[5], p[6], p[7]]) as usize;
        let name_end = HEADER_LENGTHS + name_len;
        let value_end = name_end + value_len;
        // Names were `&str` when packed.
        let name = std::str::from_utf8(&p[HEADER_LENGTHS..name_end])
            .expect("header names were packed from strings");
        let value = &p[name_end..value_end];
        self.packed = &p[value_end..];
        self.left -= 1;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for OwnedHeaders<'_> {}

impl OwnedRequest {
    /// The request's id (see [`Request::request_id`]).
    pub fn request_id(&self) -> &str {
        &self.text[self.target_end..]
    }

    /// The method, as sent.
    pub fn method(&self) -> &str {
        &self.text[..self.method_end]
    }

    /// The request target as sent.
    pub fn target(&self) -> &str {
        &self.text[self.method_end..self.target_end]
    }

    /// The path of the target, without the query (see [`Request::path`]).
    pub fn path(&self) -> &str {
        request::path(self.target(), self.path_end)
    }

    /// The query, without the `?`, if the target has one.
    pub fn query(&self) -> Option<&str> {
        request::query(self.target(), self.path_end)
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The host the request is for (see [`Request::host`]).
    pub fn host(&self) -> Option<&str> {
        request::host(self.method(), self.target(), self.header_str("host"))
    }

    /// The trace this request belongs to (see [`Request::trace_id`]).
    pub fn trace_id(&self) -> Option<&str> {
        crate::http::trace::of_headers(self.headers())
    }

    /// The value of the first header named `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The value of the first header named `name` if it is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every header field in order, names as sent.
    pub fn headers(&self) -> OwnedHeaders<'_> {
        OwnedHeaders {
            packed: &self.headers,
            left: self.header_count,
        }
    }

    /// The body, after chunked decoding.
    pub fn body(&self) -> &[u8] {
        &self.body
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

impl fmt::Debug for OwnedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedRequest")
            .field("method", &self.method())
            .field("target", &self.target())
            .field("version", &self.version)
            .field("headers", &self.header_count)
            .field("body", &self.body.len())
            .field("peer", &self.peer)
            .field("conn", &self.conn)
            .field("request_id", &self.request_id())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use httparse::Header;

    use super::*;

    fn request<'a>(target: &'a str, headers: &'a [Header<'a>]) -> Request<'a> {
        Request::sample(target, headers)
    }

    #[test]
    fn an_owned_copy_keeps_every_field_in_order() {
        let headers = [
            Header {
                name: "Host",
                value: b"example",
            },
            Header {
                name: "X-Bytes",
                value: b"\xff\x00not utf-8",
            },
            Header {
                name: "x-request-id",
                value: b"edge-1",
            },
            Header {
                name: "Empty",
                value: b"",
            },
        ];
        let req = request("/a/b?c=d", &headers);
        let owned = req.to_owned_request();
        assert_eq!(owned.method(), "GET");
        assert_eq!(owned.target(), "/a/b?c=d");
        assert_eq!(owned.path(), "/a/b");
        assert_eq!(owned.query(), Some("c=d"));
        assert_eq!(owned.request_id(), "edge-1");
        let fields: Vec<(&str, &[u8])> = owned.headers().collect();
        assert_eq!(
            fields,
            [
                ("Host", &b"example"[..]),
                ("X-Bytes", &b"\xff\x00not utf-8"[..]),
                ("x-request-id", &b"edge-1"[..]),
                ("Empty", &b""[..]),
            ]
        );
        assert_eq!(owned.headers().len(), 4);
        assert_eq!(owned.header("x-bytes"), Some(&b"\xff\x00not utf-8"[..]));
        assert_eq!(owned.header_str("x-bytes"), None);
        assert_eq!(owned.host(), Some("example"));
        assert_eq!(owned.header("missing"), None);
    }
}
