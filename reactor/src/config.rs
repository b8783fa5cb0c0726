//! Limits and timeouts of one reactor.

use std::time::Duration;

use crate::answer::ticket::Patience;
use crate::clients::ClientLimit;
use crate::http::cidr::ProxyProtocol;
use crate::http::limits::Limits;
use crate::observe::access::AccessLog;

/// Limits and timeouts of one reactor; every field has a production default.
///
/// The defaults follow `DESIGN.md`: they sit between nginx's generous and actix's tight
/// settings. Change fields on a default value:
///
/// ```
/// use std::time::Duration;
/// let mut config = warden_reactor::Config::default();
/// config.header_timeout = Duration::from_secs(5);
/// config.max_body = 8 << 20;
/// assert_eq!(config.max_headers, 64);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// How long a client may take to send a complete request head, counted from its first
    /// byte (or from the accept, for a new connection). Not extended by progress, so a client
    /// dripping one byte at a time is cut too. On expiry: 408, then close. Default 10 s.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may sit idle between requests before it is closed
    /// silently. Default 15 s.
    pub keepalive_timeout: Duration,
    /// How long a request body may make no progress. On expiry: 408, then close.
    /// Default 30 s.
    pub body_timeout: Duration,
    /// How long a response may wait for the client to read any of it. On expiry the
    /// connection is closed. Default 30 s.
    pub write_timeout: Duration,
    /// After a final response on a connection that is being closed, how long unread input is
    /// still drained so that the kernel does not reset the connection and destroy the
    /// response before the client reads it. Default 2 s.
    pub linger_timeout: Duration,
    /// How long a deferred answer ([`Request::defer`](crate::Request::defer)) may take,
    /// from the moment the handler deferred it; past it the client gets 503 and a `Hung`
    /// failure names the request. `None`: no limit. Default 30 s, like the watchdog's
    /// handler deadline, which `warden` sets it to.
    pub handler_deadline: Option<Duration>,
    /// How long a job on the blocking pool ([`Request::blocking`](crate::Request::blocking))
    /// may take from the moment it is queued; past it the client gets 503 and a `Timeout`
    /// failure says how long it queued and ran. Default 30 s (AnyEvent::Task's).
    pub blocking_timeout: Duration,
    /// How long a draining reactor lets busy connections finish before closing them,
    /// when the drain starts because every [`Inbox`](crate::Inbox) was dropped; and how
    /// long a reactor due for recycling ([`Config::max_requests`]) lets its streams,
    /// uploads and deferred answers finish before it goes. Default 30 s.
    pub shutdown_grace: Duration,
    /// Largest request head (request line and header section) in bytes; larger gets 431.
    /// Default 16 KiB.
    pub max_head: usize,
    /// Longest request line in bytes; longer gets 414. Default 8 KiB.
    pub max_request_line: usize,
    /// Most header fields in a request, at most [`HEADER_SLOTS`](crate::HEADER_SLOTS); more gets 431. Default 64.
    pub max_headers: usize,
    /// Largest request body in bytes, after chunked decoding; larger gets 413. Default 1 MiB.
    pub max_body: usize,
    /// Size of the read buffer a connection borrows from the pool while it has input.
    /// It grows for a large body and is not pooled again when it did. Default 16 KiB.
    pub read_buffer: usize,
    /// How many free buffers of each kind the reactor keeps for reuse. Default 256.
    pub pooled_buffers: usize,
    /// The `Server` header value on every response. Default `warden`.
    pub server_name: String,
    /// After this many requests the reactor stops with [`Exit::Recycled`](crate::Exit)
    /// (once no deferred answer is pending), for its worker to be replaced: recycling, for
    /// applications whose per-worker state leaks. `None` (the default): never.
    pub max_requests: Option<u64>,
    /// Write one line per answered request through `log` (target `warden::access`, info
    /// level), in this format. Off (`None`) by default, which costs nothing per request.
    pub access_log: Option<AccessLog>,
    /// Which requests get their body as a stream ([`Request::body_reader`]) instead of a
    /// buffer: asked of each request with a body when its head is complete (the request
    /// passed has no body yet). Such a request's handler is called at once, and its body
    /// may be as large as `max_streamed_body`. `None` (the default): every body is
    /// buffered, up to `max_body`.
    ///
    /// [`Request::body_reader`]: crate::Request::body_reader
    pub stream_bodies: Option<StreamBodies>,
    /// The largest streamed request body. Default 1 GiB.
    pub max_streamed_body: u64,
    /// Add `X-Request-Id` to every response (the request's id: its own valid
    /// `X-Request-Id`, or the one made for it), unless the handler set one. Off by
    /// default.
    pub echo_request_id: bool,
    /// How often an idle broadcast subscription gets a comment line, so that proxies in
    /// front keep the stream open (see [`Broadcast`](crate::Broadcast)). Default 15 s.
    pub sse_keepalive: Duration,
    /// The PROXY protocol (v1 or v2, as HAProxy and AWS's NLB send it), on every
    /// listener or on some: on a listener that requires it, a new connection from a
    /// trusted source must begin with a header naming the real client, which then
    /// becomes the request's peer everywhere (logs, failures, limits); a missing or
    /// malformed header closes the connection. A connection from any other source is
    /// refused at once. Default: off.
    pub proxy_protocol: ProxyProtocol,
    /// The most connections one client address may hold, counted across every reactor
    /// given a clone of the same [`ClientLimit`] (the address a PROXY protocol header
    /// names, when there is one). The acceptor counts direct connections (see
    /// [`ClientSlot`](crate::ClientSlot)); the reactor counts the clients PROXY protocol
    /// headers name, and answers one past the limit `503` with `Retry-After` at once, then
    /// closes. `None` (the default): no limit.
    pub max_connections_per_ip: Option<ClientLimit>,
    /// Honour the [`Fault`](crate::Fault)s that responses stage. For tests of supervision
    /// only; off by default, so a handler cannot crash a production worker on purpose.
    pub fault_injection: bool,
}

/// Decides, from a request's head, whether its body streams (see
/// [`Config::stream_bodies`]).
#[derive(Clone, Copy, Debug)]
pub struct StreamBodies(pub fn(&crate::Request<'_>) -> bool);

impl PartialEq for StreamBodies {
    fn eq(&self, other: &StreamBodies) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

impl Eq for StreamBodies {}

impl Default for Config {
    fn default() -> Config {
        // The head limits are the parser's own defaults.
        let limits = Limits::default();
        Config {
            header_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            linger_timeout: Duration::from_secs(2),
            handler_deadline: Some(Duration::from_secs(30)),
            blocking_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            max_head: limits.max_head,
            max_request_line: limits.max_request_line,
            max_headers: limits.max_headers,
            max_body: 1024 * 1024,
            read_buffer: 16 * 1024,
            pooled_buffers: 256,
            server_name: "warden".to_owned(),
            max_requests: None,
            access_log: None,
            echo_request_id: false,
            stream_bodies: None,
            max_streamed_body: 1 << 30,
            fault_injection: false,
            sse_keepalive: Duration::from_secs(15),
            proxy_protocol: ProxyProtocol::Off,
            max_connections_per_ip: None,
        }
    }
}

impl Config {
    /// How long a thread on the other side of a connection (a stream's writer, a body's
    /// reader, a blocking job) may wait on it.
    pub(crate) fn patience(&self) -> Patience {
        Patience::new(self.write_timeout, self.body_timeout, self.blocking_timeout)
    }

    /// What the parser needs of these settings.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_head: self.max_head,
            max_request_line: self.max_request_line,
            max_headers: self.max_headers,
        }
    }
}
