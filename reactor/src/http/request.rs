//! The request a handler sees: a view into the connection's read buffer.

use std::fmt;
use std::net::SocketAddr;

use std::sync::Arc;

use httparse::Header;

use crate::answer::defer::{Deferral, Dispatch, Job, Offload, Responder, Ticket, Work};
use crate::answer::inflow::BodyReader;
use crate::answer::stream::BodyWriter;
use crate::answer::upgrade::{Upgrade, Upgraded};
use crate::http::parse::{Head, Version};
use crate::http::request_id::RequestId;
use crate::http::response::Response;
use crate::timer::TimerKind;

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
    /// How to answer later; `None` only for requests made outside a reactor.
    dispatch: Option<&'a Dispatch<'a>>,
}

impl<'a> Request<'a> {
    /// The request of a parsed `head` whose path ends at `path_end` in its target.
    pub(crate) fn new(
        head: &Head<'a, 'a>,
        path_end: usize,
        body: &'a [u8],
        peer: SocketAddr,
        conn: ConnId,
        dispatch: Option<&'a Dispatch<'a>>,
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
            dispatch,
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
        let (worker, seq) = self.dispatch.map_or((0, 0), |d| (d.worker, d.seq));
        RequestId::of(self.header("x-request-id"), worker, seq)
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

    /// A copy of the request that owns its data, to keep or to send to another thread.
    pub fn to_owned_request(&self) -> OwnedRequest {
        use std::fmt::Write;
        // Two allocations whatever the request (three with a body): the text fields side
        // by side, and the header fields packed.
        let mut text = String::with_capacity(self.method.len() + self.target.len() + 32);
        text.push_str(self.method);
        text.push_str(self.target);
        let target_end = text.len();
        let _ = write!(text, "{}", self.request_id());
        let packed: usize = self
            .headers
            .iter()
            .map(|h| HEADER_LENGTHS + h.name.len() + h.value.len())
            .sum();
        let mut headers = Vec::with_capacity(packed);
        for h in self.headers {
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
            method_end: self.method.len(),
            target_end,
            path_end: self.path_end,
            version: self.version,
            headers,
            header_count: self.headers.len(),
            body: self.body.to_vec(),
            peer: self.peer,
            conn: self.conn,
        }
    }

    /// Answers later, from any thread: returns the placeholder to return from the handler
    /// now, and the [`Responder`] that sends the real answer, with an owned copy of the
    /// request. The loop serves its other connections meanwhile; this connection parses
    /// no further request until the answer is written, so responses stay in order. Past
    /// the handler deadline ([`Config::handler_deadline`](crate::Config::handler_deadline))
    /// the client gets 503 and a `Hung` failure names the request.
    ///
    /// The placeholder means "deferred" only when returned by the handler that asked for
    /// it; returned by anything else it is an invalid response (500).
    ///
    /// # Panics
    ///
    /// If the request was already deferred (a handler bug: caught by the request frame,
    /// answered 500), or if it was made outside a reactor.
    pub fn defer(&self) -> (Response, Responder) {
        self.defer_until(TimerKind::Deferred)
    }

    /// Runs `work` on the blocking pool and answers with what it returns; returns the
    /// placeholder to return from the handler. This is how a handler calls a database, hashes
    /// a password or reads a file without stalling the loop that serves every other
    /// connection of its worker.
    ///
    /// The job waits in a bounded first-come queue: when it is full the client gets 503
    /// with `Retry-After` at once and an `Overload` failure is reported. Its deadline
    /// ([`Config::blocking_timeout`](crate::Config::blocking_timeout)) counts from the
    /// moment it is queued: past it the client gets 503 and a `Timeout` failure says how
    /// long the job queued and ran. A panic in `work` is a failure of this request's frame
    /// (500 unless the policy answers otherwise). A job whose client left while it queued
    /// is not run; one already running runs to its end, and its answer is discarded.
    ///
    /// A reactor without a pool (run on its own, not by `warden`) runs `work` right here.
    ///
    /// ```
    /// use warden_reactor::{Request, Response};
    ///
    /// fn handler(req: &Request<'_>) -> Response {
    ///     req.blocking(|req| {
    ///         std::thread::sleep(std::time::Duration::from_millis(5)); // a database call
    ///         Response::text(format!("looked up {}", req.path()))
    ///     })
    /// }
    /// # let _ = handler;
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Request::defer`].
    pub fn blocking<F>(&self, work: F) -> Response
    where
        F: FnOnce(&OwnedRequest) -> Response + Send + 'static,
    {
        let Some(offload) = self.dispatch.and_then(|d| d.offload) else {
            return work(&self.to_owned_request());
        };
        self.offload(offload, Work::Answer(Box::new(work)))
    }

    /// Queues `work` on the pool; a full queue is answered 503 by the request frame.
    fn offload(&self, offload: &dyn Offload, work: Work) -> Response {
        let (pending, responder) = self.defer_until(TimerKind::Blocking);
        if let Err(job) = offload.submit(Job::new(work, responder)) {
            job.reject();
            self.dispatch
                .expect("a pool comes with a dispatch")
                .taken
                .set(Deferral::Overloaded);
        }
        pending
    }

    /// Sends `head`, then runs `work` on the blocking pool to write the body as it is
    /// made (through a [`BodyWriter`]: chunked, with backpressure, see
    /// [`Responder::stream`]); returns the placeholder to return from the handler. `Ok`
    /// ends the body; an error other than the client leaving (`BrokenPipe`), or a panic,
    /// cuts it short and is reported. The job's deadline (the blocking timeout) applies
    /// until the head is sent; a pool thread busy past it is counted lost and replaced,
    /// so a body that takes longer than that is better written from a thread of its own
    /// (`defer` and [`Responder::stream`]). Without a pool, `work` runs on a new thread.
    ///
    /// ```
    /// use std::io::Write;
    /// use warden_reactor::{Request, Response};
    ///
    /// fn report(req: &Request<'_>) -> Response {
    ///     let head = Response::new(200).with_content_type("text/csv");
    ///     req.stream_blocking(head, |_, body| {
    ///         for row in 0..1000 {
    ///             writeln!(body, "{row},{}", row * row)?; // rows from a database, say
    ///         }
    ///         Ok(())
    ///     })
    /// }
    /// # let _ = report;
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Request::defer`].
    pub fn stream_blocking<F>(&self, head: Response, work: F) -> Response
    where
        F: FnOnce(&OwnedRequest, &mut BodyWriter) -> std::io::Result<()> + Send + 'static,
    {
        let Some(offload) = self.dispatch.and_then(|d| d.offload) else {
            let (pending, responder) = self.defer();
            let job = Job::new(Work::Stream(Box::new(head), Box::new(work)), responder);
            let spawned = std::thread::Builder::new()
                .name("warden-stream".to_owned())
                .spawn(move || job.run());
            if let Err(e) = spawned {
                // The job, dropped with the closure, answers 500 through its responder.
                log::warn!("no thread for a streamed response: {e}");
            }
            return pending;
        };
        self.offload(offload, Work::Stream(Box::new(head), Box::new(work)))
    }

    /// Sends `head` and then everything `reader` gives, read on the blocking pool (see
    /// [`Request::stream_blocking`]): the simple case of a streamed body.
    ///
    /// # Panics
    ///
    /// As [`Request::defer`].
    pub fn stream_reader<R>(&self, head: Response, mut reader: R) -> Response
    where
        R: std::io::Read + Send + 'static,
    {
        self.stream_blocking(head, move |_, body| {
            std::io::copy(&mut reader, body)?;
            Ok(())
        })
    }

    /// The body of a request whose body streams (see
    /// [`Config::stream_bodies`](crate::Config::stream_bodies)), to read as it arrives, on
    /// the blocking pool or a thread of your own (never on the loop: it delivers the
    /// bytes). `None` for a buffered body ([`Request::body`]), or once taken. An
    /// `Expect: 100-continue` is answered at the first read, so a handler that answers
    /// without reading (401, 413, 417) refuses the upload before it is sent; the
    /// connection then closes after that answer.
    ///
    /// ```
    /// use std::io::Read;
    /// use warden_reactor::{Request, Response};
    ///
    /// fn upload(req: &Request<'_>) -> Response {
    ///     let Some(mut body) = req.body_reader() else {
    ///         return Response::text(format!("{} bytes, buffered\n", req.body().len()));
    ///     };
    ///     req.blocking(move |_| {
    ///         let mut total = 0u64;
    ///         let mut buf = vec![0u8; 64 * 1024];
    ///         loop {
    ///             match body.read(&mut buf) {
    ///                 Ok(0) => break Response::text(format!("{total} bytes, streamed\n")),
    ///                 Ok(n) => total += n as u64,
    ///                 Err(e) => break Response::text(format!("{e}\n")).with_status(400),
    ///             }
    ///         }
    ///     })
    /// }
    /// # let _ = upload;
    /// ```
    pub fn body_reader(&self) -> Option<BodyReader> {
        self.dispatch?
            .inflow
            .take()
            .map(|inflow| BodyReader::new(Arc::clone(inflow)))
    }

    /// The protocol the client asks to switch to: its `Upgrade` header, when `Connection`
    /// lists `upgrade` and the request is HTTP/1.1 ("A server MUST ignore an Upgrade
    /// header field that is received in an HTTP/1.0 request", RFC 9110 7.8).
    pub fn upgrade_requested(&self) -> Option<&'a str> {
        if self.version() != crate::http::parse::Version::Http11 {
            return None;
        }
        let asked = self.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("connection")
                && std::str::from_utf8(h.value).is_ok_and(|v| {
                    v.split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
                })
        });
        if asked {
            self.header_str("upgrade")
        } else {
            None
        }
    }

    /// Accepts the protocol upgrade the client asked for ([`Request::upgrade_requested`]):
    /// `head` (a `101` naming the protocol in its `Upgrade` header, with whatever else
    /// the protocol's handshake needs) is written, then the connection leaves the worker
    /// and `then` gets it as a blocking [`TcpStream`](std::net::TcpStream), with the bytes
    /// the client already sent after the request. `then` runs on the worker's loop: hand
    /// the connection to a thread of your own and return. Returns the placeholder to
    /// return from the handler.
    ///
    /// An invalid `head` (not 101, no `Upgrade` header) is a failure of the request
    /// frame: 500, and the connection stays HTTP.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use warden_reactor::{Request, Response};
    ///
    /// fn handler(req: &Request<'_>) -> Response {
    ///     if req.upgrade_requested() != Some("echo") {
    ///         return Response::status_page(426).with_header("Upgrade", "echo");
    ///     }
    ///     let head = Response::new(101).with_header("Upgrade", "echo");
    ///     req.upgrade(head, |upgraded| {
    ///         std::thread::spawn(move || {
    ///             let mut stream = upgraded.stream;
    ///             let _ = stream.write_all(&upgraded.buffered);
    ///             let mut buf = [0; 4096];
    ///             while let Ok(n @ 1..) = stream.read(&mut buf) {
    ///                 if stream.write_all(&buf[..n]).is_err() {
    ///                     break;
    ///                 }
    ///             }
    ///         });
    ///     })
    /// }
    /// # let _ = handler;
    /// ```
    ///
    /// # Panics
    ///
    /// As [`Request::defer`].
    pub fn upgrade<F>(&self, head: Response, then: F) -> Response
    where
        F: FnOnce(Upgraded) + Send + 'static,
    {
        let dispatch = self
            .dispatch
            .expect("only requests made by a reactor can be upgraded");
        let upgrade = Upgrade {
            head,
            then: Box::new(then),
            request: self.to_owned_request(),
        };
        match dispatch.taken.replace(Deferral::Upgrade(Box::new(upgrade))) {
            Deferral::None => {}
            Deferral::Pending(earlier) => {
                earlier.withdraw();
                panic!("a request can be deferred or upgraded once");
            }
            Deferral::Overloaded | Deferral::Upgrade(_) => {
                panic!("a request can be deferred or upgraded once");
            }
        }
        Response::placeholder()
    }

    fn defer_until(&self, timer: TimerKind) -> (Response, Responder) {
        let dispatch = self
            .dispatch
            .expect("only requests made by a reactor can be deferred");
        let ticket = Arc::new(Ticket::new(
            self.to_owned_request(),
            dispatch.key,
            dispatch.listener,
            timer,
        ));
        match dispatch
            .taken
            .replace(Deferral::Pending(Arc::clone(&ticket)))
        {
            Deferral::None => {}
            Deferral::Pending(earlier) => {
                earlier.withdraw();
                ticket.withdraw();
                panic!("a request can be deferred once: defer() or blocking() was called twice");
            }
            Deferral::Overloaded | Deferral::Upgrade(_) => {
                ticket.withdraw();
                panic!("a request can be deferred once: blocking() or upgrade() was called too");
            }
        }
        (
            Response::placeholder(),
            Responder::new(ticket, dispatch.door.clone()),
        )
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
fn host<'t>(method: &str, target: &'t str, header: Option<&'t str>) -> Option<&'t str> {
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

fn query(target: &str, path_end: usize) -> Option<&str> {
    target
        .get(path_end + 1..)
        .filter(|_| path_end < target.len())
}

/// A request that owns its data: what [`Responder::request`] and the closures of
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
        path(self.target(), self.path_end)
    }

    /// The query, without the `?`, if the target has one.
    pub fn query(&self) -> Option<&str> {
        query(self.target(), self.path_end)
    }

    /// The protocol version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The host the request is for (see [`Request::host`]).
    pub fn host(&self) -> Option<&str> {
        host(self.method(), self.target(), self.header_str("host"))
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
        Request {
            method: "GET",
            target,
            path_end: path_end(target),
            version: Version::Http11,
            headers,
            body: b"",
            peer: SocketAddr::from(([127, 0, 0, 1], 9)),
            conn: ConnId(1),
            dispatch: None,
        }
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
