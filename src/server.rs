//! `Server::builder()`: addresses, workers, limits and timeouts, then `serve`.

use std::fmt;
use std::net::ToSocketAddrs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use warden_reactor::{
    AccessLog, Broadcast, Config, Failure, Handler, ProxyProtocol, Request, Response, Restart,
};
use warden_worker::{
    BlockingConfig, DEFAULT_BACKLOG, ListenOptions, OnError, Policies, PoolConfig, StartError,
    StatsView, WorkerPool,
};

use crate::error::Error;
use crate::handle::ServerHandle;
use crate::listeners::{ListenerTls, PLAIN, Source, tls_on};
use crate::metrics::{self, METRICS_CONTENT_TYPE, ServerStats};

/// Default connection limit per worker (actix: 25,600); past it the acceptor pauses.
pub const DEFAULT_MAX_CONNECTIONS: usize = 25_000;

/// Default grace period of a shutdown (actix: 30 s).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Default handler deadline: past it the watchdog reports the handler `Hung` and
/// replaces its worker (AnyEvent::Task: 30 s).
pub const DEFAULT_HANDLER_DEADLINE: Duration = Duration::from_secs(30);

/// Default restart intensity: more than 10 restarts...
pub const DEFAULT_MAX_RESTARTS: usize = 10;

/// ...within 10 s stop the server.
pub const DEFAULT_RESTART_PERIOD: Duration = Duration::from_secs(10);

/// Default stall threshold: a handler running on an event loop longer is reported, and new
/// connections avoid its worker meanwhile.
pub const DEFAULT_STALL_THRESHOLD: Duration = Duration::from_millis(20);

/// The entry point: `Server::builder()`.
#[derive(Debug)]
pub struct Server {
    _private: (),
}

impl Server {
    /// A builder with every default of `DESIGN.md`.
    ///
    /// ```
    /// use warden::{Request, Response, Server};
    ///
    /// let server = Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .workers(2)
    ///     .serve(|req: &Request<'_>| Response::text(format!("you asked for {}", req.path())))?;
    /// println!("listening on {:?}", server.local_addrs());
    /// server.shutdown(std::time::Duration::from_secs(1));
    /// server.wait()?;
    /// # Ok::<(), warden::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder {
            addrs: Vec::new(),
            errors: Vec::new(),
            workers: None,
            config: Config::default(),
            backlog: DEFAULT_BACKLOG,
            reuse_port: false,
            health_route: None,
            metrics_route: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            handler_deadline: Some(DEFAULT_HANDLER_DEADLINE),
            max_restarts: DEFAULT_MAX_RESTARTS,
            restart_period: DEFAULT_RESTART_PERIOD,
            failure_channel: 1024,
            on_error: None,
            blocking: BlockingConfig::default(),
            stall_threshold: Some(DEFAULT_STALL_THRESHOLD),
            max_requests_per_worker: None,
            hubs: Vec::new(),
            unix_mode: None,
            proxied: Vec::new(),
            #[cfg(any(feature = "tls", feature = "tls-ring"))]
            handshakes: warden_worker::HandshakeConfig::default(),
        }
    }
}

/// Configures and starts a server. Every setting has a default; see `DESIGN.md`.
pub struct Builder {
    /// Each address, with the policy of the `bind_with` that added it and its TLS
    /// settings.
    pub(crate) addrs: Vec<(Source, Option<OnError>, ListenerTls)>,
    errors: Vec<Error>,
    workers: Option<usize>,
    pub(crate) config: Config,
    backlog: i32,
    reuse_port: bool,
    health_route: Option<String>,
    metrics_route: Option<String>,
    max_connections: usize,
    shutdown_grace: Duration,
    handler_deadline: Option<Duration>,
    max_restarts: usize,
    restart_period: Duration,
    failure_channel: usize,
    on_error: Option<OnError>,
    blocking: BlockingConfig,
    stall_threshold: Option<Duration>,
    max_requests_per_worker: Option<(u64, u64)>,
    /// Broadcast hubs whose counters the server reports.
    hubs: Vec<Broadcast>,
    /// The file mode of Unix domain sockets; `None`: the umask's.
    pub(crate) unix_mode: Option<u32>,
    /// The trusted PROXY protocol sources of the `addrs` added by `bind_proxied`.
    pub(crate) proxied: Vec<(usize, Vec<warden_reactor::Cidr>)>,
    /// The handshake pool of TLS listeners.
    #[cfg(any(feature = "tls", feature = "tls-ring"))]
    pub(crate) handshakes: warden_worker::HandshakeConfig,
}

impl Builder {
    /// Adds an address to listen on; may be called several times. Port 0 picks a free
    /// port: read it back with [`ServerHandle::local_addrs`]. A name that resolves to
    /// several addresses listens on each.
    pub fn bind<A: ToSocketAddrs + fmt::Debug>(self, addr: A) -> Builder {
        self.add_listener(addr, None, PLAIN)
    }

    /// Adds an address whose connections have their own error policy, in place of the
    /// server's [`Builder::on_error`]: a public listener and an admin listener in one
    /// process can treat failures differently.
    pub fn bind_with<A, P>(self, addr: A, on_error: P) -> Builder
    where
        A: ToSocketAddrs + fmt::Debug,
        P: Fn(&Failure) -> Restart + Send + Sync + 'static,
    {
        self.add_listener(addr, Some(Arc::new(on_error)), PLAIN)
    }

    pub(crate) fn add_listener<A: ToSocketAddrs + fmt::Debug>(
        mut self,
        addr: A,
        on_error: Option<OnError>,
        tls: ListenerTls,
    ) -> Builder {
        match addr.to_socket_addrs() {
            Ok(addrs) => self
                .addrs
                .extend(addrs.map(|a| (Source::Addr(a), on_error.clone(), tls.clone()))),
            Err(e) => self.errors.push(Error::Resolve {
                addr: format!("{addr:?}"),
                source: Arc::new(e),
            }),
        }
        self
    }

    /// Number of worker threads, each with its own event loop. Default: the available
    /// cores.
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// Replaces every reactor setting at once.
    pub fn config(mut self, config: Config) -> Builder {
        self.config = config;
        self
    }

    /// Time allowed for a complete request head; then 408 and close. Default 10 s.
    pub fn header_timeout(mut self, timeout: Duration) -> Builder {
        self.config.header_timeout = timeout;
        self
    }

    /// Time a keep-alive connection may idle between requests. Default 15 s.
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Builder {
        self.config.keepalive_timeout = timeout;
        self
    }

    /// Time a request body may make no progress; then 408 and close. Default 30 s.
    pub fn body_timeout(mut self, timeout: Duration) -> Builder {
        self.config.body_timeout = timeout;
        self
    }

    /// Time a response may wait for the client to read any of it. Default 30 s.
    pub fn write_timeout(mut self, timeout: Duration) -> Builder {
        self.config.write_timeout = timeout;
        self
    }

    /// Largest request body after decoding; larger gets 413. Default 1 MiB.
    pub fn max_body(mut self, bytes: usize) -> Builder {
        self.config.max_body = bytes;
        self
    }

    /// Largest request head; larger gets 431. Default 16 KiB.
    pub fn max_head(mut self, bytes: usize) -> Builder {
        self.config.max_head = bytes;
        self
    }

    /// Longest request line; longer gets 414. Default 8 KiB.
    pub fn max_request_line(mut self, bytes: usize) -> Builder {
        self.config.max_request_line = bytes;
        self
    }

    /// Most header fields; more gets 431. Default 64, at most
    /// [`HEADER_SLOTS`](warden_reactor::HEADER_SLOTS).
    pub fn max_headers(mut self, n: usize) -> Builder {
        self.config.max_headers = n;
        self
    }

    /// Connections one worker holds before the acceptor stops giving it more; when every
    /// worker is full, new clients wait in the listen backlog. Default 25,000.
    pub fn max_connections(mut self, n: usize) -> Builder {
        self.max_connections = n;
        self
    }

    /// Serves on the listening sockets systemd passed to this process (socket activation:
    /// `LISTEN_PID` and `LISTEN_FDS`), in addition to any `bind`. With the socket unit
    /// holding the port, a restart loses no connection attempt: they wait in its backlog.
    /// Serving fails with [`Error::Config`] if systemd passed none.
    pub fn systemd_listeners(mut self) -> Builder {
        self.addrs.push((Source::Systemd, None, PLAIN));
        self
    }

    /// Sets `SO_REUSEPORT` on the listeners, so a new process can bind the same port while
    /// the old one drains: start the new one, then SIGTERM the old (a zero-downtime
    /// restart). Off by default, so that a second server on the port is an error.
    pub fn reuse_port(mut self, on: bool) -> Builder {
        self.reuse_port = on;
        self
    }

    /// Answers `GET path` itself, before the handler: `200 ok` while serving, `503
    /// draining` once a shutdown has started, so a load balancer stops sending traffic
    /// before the connections close.
    pub fn health_route(mut self, path: impl Into<String>) -> Builder {
        self.health_route = Some(path.into());
        self
    }

    /// Answers `GET path` itself, before the handler, with the server's counters in the
    /// Prometheus text exposition format (see [`ServerHandle::metrics`] for the same text
    /// elsewhere). The counters are kept per worker and summed when scraped, so a scrape
    /// costs the request path nothing.
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// let server = warden::Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .metrics_route("/metrics")
    ///     .serve(|_: &warden::Request<'_>| warden::Response::text("hi"))?;
    /// let mut client = std::net::TcpStream::connect(server.local_addrs()[0])?;
    /// client.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    /// let mut response = String::new();
    /// client.read_to_string(&mut response)?;
    /// assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
    /// assert!(response.contains("# TYPE warden_http_request_duration_seconds histogram"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn metrics_route(mut self, path: impl Into<String>) -> Builder {
        self.metrics_route = Some(path.into());
        self
    }

    /// The listen backlog. Default 1024.
    pub fn backlog(mut self, n: i32) -> Builder {
        self.backlog = n;
        self
    }

    /// The error policy: called with every [`Failure`] on the thread where it happened,
    /// before anything unwinds further, it picks the [`Restart`]. Without one, each frame's
    /// default applies: a 500 for a handler's failure, closing the connection for the
    /// connection's, a fresh worker for a crashed or hung one. If the policy itself
    /// panics, the default applies.
    ///
    /// ```
    /// use warden::{FailureKind, Request, Response, Restart, Server};
    ///
    /// let server = Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .on_error(|failure| match failure.kind {
    ///         FailureKind::Panic => Restart::Respond(Response::status_page(503)),
    ///         _ => failure.default_restart(),
    ///     })
    ///     .serve(|_: &Request<'_>| -> Response { panic!("not today") })?;
    /// server.shutdown(std::time::Duration::ZERO);
    /// server.wait()?;
    /// # Ok::<(), warden::Error>(())
    /// ```
    pub fn on_error<P>(mut self, policy: P) -> Builder
    where
        P: Fn(&Failure) -> Restart + Send + Sync + 'static,
    {
        self.on_error = Some(Arc::new(policy));
        self
    }

    /// How long a handler may run before the watchdog reports it `Hung`, stops routing
    /// to its worker and starts a replacement (the old thread finishes the handler and
    /// exits). `None` turns the watchdog off. Default 30 s.
    pub fn handler_deadline(mut self, deadline: Option<Duration>) -> Builder {
        self.handler_deadline = deadline;
        self
    }

    /// Restart intensity: more than `max` worker restarts within `period` stop the
    /// server, and [`ServerHandle::wait`] returns [`Error::RestartIntensity`].
    /// Default 10 in 10 s.
    pub fn restart_intensity(mut self, max: usize, period: Duration) -> Builder {
        self.max_restarts = max;
        self.restart_period = period;
        self
    }

    /// Threads of the blocking pool that runs the closures of
    /// [`Request::blocking`](warden_reactor::Request::blocking), shared by every worker.
    /// Default: 16 per core (rouille runs 8 per core, astra 15: blocking jobs mostly wait
    /// on a database or a disk, so the count follows what they wait on, not the cores).
    pub fn blocking_threads(mut self, n: usize) -> Builder {
        self.blocking.threads = n;
        self.blocking.max_lost = n;
        self
    }

    /// Jobs that may wait for a blocking-pool thread, first come first served; one more
    /// is answered 503 with `Retry-After` at once and reported as an `Overload` failure.
    /// Default 1024.
    pub fn blocking_queue(mut self, n: usize) -> Builder {
        self.blocking.queue = n;
        self
    }

    /// A blocking job's deadline, from the moment it is queued: past it the client gets
    /// 503 and a `Timeout` failure says how long the job queued and ran. Its thread, which
    /// cannot be killed, is counted lost and replaced. Default 30 s (AnyEvent::Task's).
    pub fn blocking_timeout(mut self, timeout: Duration) -> Builder {
        self.blocking.timeout = timeout;
        self
    }

    /// A resource each blocking-pool thread holds, built by `factory` when the thread
    /// starts (and again on a fresh thread after a job panicked): a database connection,
    /// say. Jobs reach it with [`with_resource`](crate::with_resource).
    ///
    /// ```
    /// use warden::{Request, Response, Server, with_resource};
    ///
    /// struct Db { queries: u64 }
    /// let server = Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .blocking_threads(2)
    ///     .blocking_resource(|| Db { queries: 0 })
    ///     .serve(|req: &Request<'_>| {
    ///         req.blocking(|_| {
    ///             let n = with_resource(|db: &mut Db| { db.queries += 1; db.queries });
    ///             Response::text(format!("query {} on this thread", n.unwrap_or(0)))
    ///         })
    ///     })?;
    /// # server.shutdown(std::time::Duration::ZERO);
    /// # Ok::<(), warden::Error>(())
    /// ```
    pub fn blocking_resource<T, F>(mut self, factory: F) -> Builder
    where
        T: 'static,
        F: Fn() -> T + Send + Sync + 'static,
    {
        self.blocking.resource = Some(Arc::new(move || Box::new(factory())));
        self
    }

    /// A handler running on an event loop longer than this stalls every other connection
    /// of its worker: it is counted (`loop_stalls`), logged once per route per minute with
    /// its duration, and new connections go to other workers while it runs. `None` turns
    /// the detection off. Default 20 ms.
    pub fn stall_threshold(mut self, threshold: Option<Duration>) -> Builder {
        self.stall_threshold = threshold;
        self
    }

    /// Counts `hub`'s events and topics in the server's stats and metrics
    /// (`warden_broadcast_published_total`); its subscribers are counted by the workers
    /// that serve them whether or not it is given here.
    pub fn broadcast(mut self, hub: &Broadcast) -> Builder {
        self.hubs.push(hub.clone());
        self
    }

    /// How often an idle broadcast subscription gets a comment line, so that proxies in
    /// front keep it open. Default 15 s.
    pub fn sse_keepalive(mut self, interval: Duration) -> Builder {
        self.config.sse_keepalive = interval;
        self
    }

    /// Recycling, as gunicorn's `max_requests`: a worker is replaced after `n` requests plus
    /// a different number up to `jitter` (so workers started together are not replaced
    /// together), for applications whose per-worker state leaks. Its connections move to
    /// the replacement, busy ones mid-request with what they had buffered; what cannot
    /// move (deferred answers, streamed responses and uploads) it lets finish first, up to
    /// the shutdown grace (past it, those are cut and counted as
    /// [`CloseReason::Recycled`](crate::CloseReason::Recycled)). Counted in
    /// `ServerStats::worker_recycles`, not as a failure or a restart. Off by default.
    pub fn max_requests_per_worker(mut self, n: u64, jitter: u64) -> Builder {
        self.max_requests_per_worker = Some((n, jitter));
        self
    }

    /// One line per answered request through `log` (target `warden::access`, info level),
    /// in the common log format extended or in logfmt: peer, method, target, status, body
    /// bytes, microseconds since the handler got the request, worker, connection and
    /// request id. Off (`None`) by default, which costs nothing per request.
    pub fn access_log(mut self, format: Option<AccessLog>) -> Builder {
        self.config.access_log = format;
        self
    }

    /// Streams the bodies of the requests `predicate` picks (asked when a request's head
    /// is complete; it has no body yet): their handler is called at once and reads the
    /// body as it arrives with [`Request::body_reader`], on the blocking pool or a thread
    /// of its own, up to [`max_streamed_body`](Builder::max_streamed_body). Other bodies
    /// are buffered whole, up to `max_body`.
    ///
    /// ```
    /// let server = warden::Server::builder()
    ///     .bind("127.0.0.1:0")
    ///     .stream_bodies(|req| req.path() == "/upload")
    ///     .serve(|req: &warden::Request<'_>| match req.body_reader() {
    ///         Some(mut body) => req.blocking(move |_| {
    ///             let n = std::io::copy(&mut body, &mut std::io::sink());
    ///             warden::Response::text(format!("{n:?}\n"))
    ///         }),
    ///         None => warden::Response::text("buffered\n"),
    ///     })?;
    /// # drop(server);
    /// # Ok::<(), warden::Error>(())
    /// ```
    pub fn stream_bodies(mut self, predicate: fn(&Request<'_>) -> bool) -> Builder {
        self.config.stream_bodies = Some(warden_reactor::StreamBodies(predicate));
        self
    }

    /// The largest streamed request body (see [`Builder::stream_bodies`]); larger ones
    /// are refused with 413 before any byte of them is read. Default 1 GiB.
    pub fn max_streamed_body(mut self, bytes: u64) -> Builder {
        self.config.max_streamed_body = bytes;
        self
    }

    /// Adds `X-Request-Id` to every response: the request's own valid `X-Request-Id`,
    /// or the id made for it (the one in its failures and access-log line), unless the
    /// handler set the header itself. A client can then quote the id of a request that
    /// failed. Off by default.
    pub fn echo_request_id(mut self, on: bool) -> Builder {
        self.config.echo_request_id = on;
        self
    }

    /// Room in the error channel ([`ServerHandle::failures`]). Default 1024.
    pub fn failure_channel_capacity(mut self, capacity: usize) -> Builder {
        self.failure_channel = capacity;
        self
    }

    /// Lets responses stage a [`Fault`](warden_reactor::Fault) (a panic of the
    /// connection's processing or of the worker's loop), to test supervision. Off by
    /// default; never turn it on in production.
    pub fn fault_injection(mut self, on: bool) -> Builder {
        self.config.fault_injection = on;
        self
    }

    /// The grace period used when the server shuts itself down (the last handle is
    /// dropped, or a policy chose to stop), and the longest a worker due for recycling
    /// waits for its streams. Default 30 s.
    pub fn shutdown_grace(mut self, grace: Duration) -> Builder {
        self.shutdown_grace = grace;
        // The reactors' own: how long a worker due for recycling waits for its streams.
        self.config.shutdown_grace = grace;
        self
    }

    /// Starts serving with one handler shared by every worker.
    ///
    /// # Errors
    ///
    /// See [`Builder::serve_with`].
    pub fn serve<H>(self, handler: H) -> Result<ServerHandle, Error>
    where
        H: Handler + Send + Sync,
    {
        let handler = Arc::new(handler);
        self.serve_with(move |_| {
            let handler = Arc::clone(&handler);
            move |req: &Request<'_>| -> Response { handler.call(req) }
        })
    }

    /// Starts serving with a handler made per worker: `factory(worker_id)` runs on each
    /// worker's thread when it starts, so the handler may own per-worker resources
    /// without locks.
    ///
    /// # Errors
    ///
    /// [`Error::NoAddress`] without `bind`; [`Error::Resolve`] or [`Error::Bind`] naming
    /// the address and the OS error; [`Error::Config`] naming a setting that could only
    /// give nonsense (`workers(0)`, `read_buffer` under 64 bytes, a zero timeout, an
    /// invalid server name, ...); [`Error::Worker`] if the factory
    /// panics for a first worker; [`Error::Start`] if a thread or poll cannot be created.
    pub fn serve_with<H, F>(self, factory: F) -> Result<ServerHandle, Error>
    where
        H: Handler,
        F: Fn(usize) -> H + Send + Sync + 'static,
    {
        if let Some(error) = self.errors.first().cloned() {
            return Err(error);
        }
        if self.addrs.is_empty() {
            return Err(Error::NoAddress);
        }
        let workers = self.check()?;

        let mut listeners = Vec::with_capacity(self.addrs.len());
        let mut options = ListenOptions::default();
        options.backlog = self.backlog;
        options.reuse_port = self.reuse_port;
        // Which of `addrs` each listener came from (systemd's may be several): its error
        // policy, TLS and PROXY protocol settings are that entry's.
        let mut sources = Vec::with_capacity(self.addrs.len());
        for (j, (source, ..)) in self.addrs.iter().enumerate() {
            let before = listeners.len();
            match source {
                Source::Addr(addr) => {
                    let listener =
                        warden_worker::bind_with(*addr, options).map_err(|e| Error::Bind {
                            addr: *addr,
                            source: Arc::new(e),
                        })?;
                    listeners.push(listener.into());
                }
                Source::Unix(path) => {
                    let listener = warden_worker::bind_unix(path, self.unix_mode, self.backlog)
                        .map_err(|e| Error::BindUnix {
                            path: path.clone(),
                            source: Arc::new(e),
                        })?;
                    listeners.push(listener);
                }
                Source::Systemd => {
                    let passed = warden_worker::systemd_listeners()
                        .map_err(|e| Error::start("the systemd listeners", e))?;
                    if passed.is_empty() {
                        return Err(Error::Config {
                            reason: "systemd_listeners: no sockets were passed (LISTEN_FDS)",
                        });
                    }
                    listeners.extend(passed);
                }
            }
            sources.extend(std::iter::repeat_n(j, listeners.len() - before));
        }
        let listener_policies: Vec<_> = sources.iter().map(|&j| self.addrs[j].1.clone()).collect();
        #[cfg(any(feature = "tls", feature = "tls-ring"))]
        let listener_tls: Vec<_> = sources.iter().map(|&j| self.addrs[j].2.clone()).collect();
        let proxy = self.proxy_by_listener(&sources);
        let draining = Arc::new(AtomicBool::new(false));
        let health = self.health_route.map(|path| (path, Arc::clone(&draining)));
        let server: Arc<OnceLock<StatsView>> = Arc::default();
        let metrics = self.metrics_route.map(|path| (path, Arc::clone(&server)));
        let hubs = self.hubs.clone();
        let factory = move |worker: usize| Routes {
            inner: factory(worker),
            hubs: hubs.clone(),
            health: health.clone(),
            metrics: metrics.clone(),
        };
        let mut config = PoolConfig::default();
        config.workers = workers;
        config.reactor = self.config;
        config.reactor.proxy_protocol = proxy;
        config.max_connections_per_worker = self.max_connections;
        config.handler_deadline = self.handler_deadline;
        config.max_restarts = self.max_restarts;
        config.restart_period = self.restart_period;
        config.shutdown_grace = self.shutdown_grace;
        config.failure_channel = self.failure_channel;
        config.blocking = self.blocking;
        config.stall_threshold = self.stall_threshold;
        config.max_requests_per_worker = self.max_requests_per_worker;
        #[cfg(any(feature = "tls", feature = "tls-ring"))]
        {
            config.tls = listener_tls;
            config.handshakes = self.handshakes;
        }
        let policies = Policies {
            server: self.on_error,
            listeners: listener_policies,
        };
        let pool =
            WorkerPool::start(listeners, config, policies, factory).map_err(|e| match e {
                StartError::Worker(failure) => Error::Worker(failure),
                StartError::Acceptor(e) => Error::start("the acceptor", e),
                StartError::Supervisor(e) => Error::start("the supervisor", e),
                other => Error::start("the server", std::io::Error::other(other.to_string())),
            })?;
        for addr in pool.local_addrs() {
            log::info!("listening on {addr} with {workers} workers");
        }
        let handle = ServerHandle::new(pool, self.shutdown_grace, draining, self.hubs);
        let _ = server.set(handle.stats_view());
        Ok(handle)
    }
}

/// The most worker threads a server may ask for: more is a mistake, not a setting.
const MAX_WORKERS: usize = 1024;

/// The most blocking-pool threads.
const MAX_BLOCKING_THREADS: usize = 16 * 1024;

/// The smallest read buffer: a request line fits, and the buffer doubles from there.
const MIN_READ_BUFFER: usize = 64;

impl Builder {
    /// Refuses settings that could only give nonsense, naming the setting; returns the
    /// number of workers.
    fn check(&self) -> Result<usize, Error> {
        let workers = self
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        let c = &self.config;
        let name_ok = c.server_name.bytes().all(|b| b == b'\t' || b >= b' ')
            && !c.server_name.contains('\x7f');
        let zero = Duration::ZERO;
        let refused = [
            (workers == 0, "workers must be at least 1"),
            (workers > MAX_WORKERS, "workers must be at most 1024"),
            (
                self.max_connections == 0,
                "max_connections must be at least 1",
            ),
            (!name_ok, "server_name must be a valid header value"),
            (
                self.blocking.threads == 0 || self.blocking.queue == 0,
                "blocking_threads and blocking_queue must be at least 1",
            ),
            (
                self.blocking.threads > MAX_BLOCKING_THREADS,
                "blocking_threads must be at most 16384",
            ),
            (
                self.blocking.timeout == zero,
                "blocking_timeout must be more than 0",
            ),
            (
                c.max_request_line > c.max_head,
                "max_request_line must not exceed max_head",
            ),
            (
                c.max_request_line < 16,
                "max_request_line must be at least 16 bytes (a request line fits)",
            ),
            (c.max_head > 1 << 30, "max_head must be at most 1 GiB"),
            (
                c.proxy_protocol != ProxyProtocol::Off
                    && self.addrs.iter().any(|(.., tls)| tls_on(tls)),
                "proxy_protocol is not supported on TLS listeners yet",
            ),
            (
                c.read_buffer < MIN_READ_BUFFER,
                "read_buffer must be at least 64 bytes",
            ),
            (
                c.header_timeout == zero || c.body_timeout == zero || c.write_timeout == zero,
                "header, body and write timeouts must be more than 0",
            ),
            (
                self.handler_deadline == Some(zero),
                "handler_deadline must be more than 0 (None turns the watchdog off)",
            ),
            (
                self.failure_channel == 0,
                "failure_channel_capacity must be at least 1",
            ),
            (
                self.metrics_route.is_some() && self.metrics_route == self.health_route,
                "metrics_route and health_route must be different paths",
            ),
            (
                [&self.metrics_route, &self.health_route]
                    .iter()
                    .any(|p| p.as_ref().is_some_and(|p| !p.starts_with('/'))),
                "health_route and metrics_route must start with /",
            ),
            (
                self.max_requests_per_worker.is_some_and(|(n, _)| n == 0),
                "max_requests_per_worker must be at least 1",
            ),
        ];
        match refused.into_iter().find(|(bad, _)| *bad) {
            Some((_, reason)) => Err(Error::Config { reason }),
            None => Ok(workers),
        }
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field(
                "addrs",
                &self.addrs.iter().map(|(a, ..)| a).collect::<Vec<_>>(),
            )
            .field("reuse_port", &self.reuse_port)
            .field("health_route", &self.health_route)
            .field("metrics_route", &self.metrics_route)
            .field("workers", &self.workers)
            .field("config", &self.config)
            .field("backlog", &self.backlog)
            .field("max_connections", &self.max_connections)
            .field("handler_deadline", &self.handler_deadline)
            .field("max_restarts", &self.max_restarts)
            .field("restart_period", &self.restart_period)
            .field("on_error", &self.on_error.is_some())
            .field("blocking", &self.blocking)
            .field("stall_threshold", &self.stall_threshold)
            .finish_non_exhaustive()
    }
}

/// A handler with the server's own routes in front of it: health and metrics.
struct Routes<H> {
    inner: H,
    /// The broadcast hubs whose counters the metrics include.
    hubs: Vec<Broadcast>,
    health: Option<(String, Arc<AtomicBool>)>,
    /// The path, and the server's counters once it is running: a view that does not keep
    /// the server (a handle upgraded here could be the last one, and its drop would shut
    /// the server down and join this very worker, on its own loop).
    metrics: Option<(String, Arc<OnceLock<StatsView>>)>,
}

impl<H: Handler> Handler for Routes<H> {
    fn call(&self, req: &Request<'_>) -> Response {
        if let Some((path, draining)) = &self.health
            && req.path() == path
            && matches!(req.method(), "GET" | "HEAD")
        {
            return if draining.load(Ordering::Relaxed) {
                Response::text("draining\n").with_status(503)
            } else {
                Response::text("ok\n")
            };
        }
        if let Some((path, server)) = &self.metrics
            && req.path() == path
            && matches!(req.method(), "GET" | "HEAD")
        {
            // Before `serve` returns the server is not reachable yet: a scrape that early
            // is told to come back.
            return match server.get().and_then(StatsView::stats) {
                Some(stats) => {
                    let mut text = String::with_capacity(16 * 1024);
                    let stats = ServerStats::from(stats).with_hubs(&self.hubs);
                    metrics::render(&stats, &mut text);
                    Response::bytes(METRICS_CONTENT_TYPE, text.into_bytes())
                }
                None => Response::status_page(503).with_header("Retry-After", "1"),
            };
        }
        self.inner.call(req)
    }
}
