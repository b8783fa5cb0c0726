//! The standalone warden server: the TechEmpower-style benchmark routes.
//!
//! `cargo run --release -- --help` lists the flags.

mod events;
mod files;
mod streams;
mod tls;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use warden::{
    BroadcastConfig, Failure, FailureKind, Fault, Request, Response, Restart, Server, ServerHandle,
};

const USAGE: &str = "\
warden: a multi-worker HTTP/1.1 benchmark server

USAGE:
    warden [OPTIONS]

OPTIONS:
    --addr ADDR                  listen on ADDR, an IP:port or unix:/path/to.sock (a Unix
                                 domain socket; plain HTTP) (repeatable)
                                 [default: 127.0.0.1:8080]
    --unix-mode MODE             file mode of the unix: sockets, octal (e.g. 660)
                                 [default: from the umask]
    --workers N                  worker threads [default: available cores]
    --header-timeout-ms N        time for a complete request head [default: 10000]
    --keepalive-timeout-ms N     idle time between keep-alive requests [default: 15000]
    --body-timeout-ms N          time a body may stall [default: 30000]
    --write-timeout-ms N         time a response may wait for the client [default: 30000]
    --max-body BYTES             largest request body [default: 1048576]
    --max-streamed-body BYTES    largest body POST /upload reads as it arrives; past it
                                 413 [default: 1073741824]
    --max-connections N          connections per worker before accept pauses [default: 25000]
    --handler-deadline-ms N      a handler running longer is reported hung and its worker
                                 replaced; 0 turns the watchdog off [default: 30000]
    --max-restarts N             restart intensity: more than N worker restarts... [default: 10]
    --restart-period-ms N        ...within this period stop the server [default: 10000]
    --shutdown-grace-ms N        on SIGINT or SIGTERM, time to finish requests in flight
                                 before closing; a second signal stops at once [default: 30000]
    --reuse-port                 SO_REUSEPORT: a new process may take over the port while
                                 this one drains (zero-downtime restart)
    --systemd-socket             serve on the sockets systemd passes (socket activation);
                                 no default --addr then
    --health-route PATH          answer GET PATH with 200 ok, and 503 once draining
    --static DIR                 serve the files under DIR at /static/ (sendfile, ETag,
                                 Last-Modified, 304, a single Range; nothing outside
                                 DIR, no directory listing) [default: off]
    --metrics-route PATH         answer GET PATH with the counters in the Prometheus text
                                 format (e.g. /metrics) [default: off]
    --blocking-threads N         threads of the blocking pool (GET /sleep runs there)
                                 [default: 16 per core]
    --blocking-queue N           jobs that may wait for a blocking thread; more are
                                 answered 503 with Retry-After [default: 1024]
    --blocking-timeout-ms N      a blocking job's deadline from the moment it is queued;
                                 past it the client gets 503 [default: 30000]
    --max-requests-per-worker N  recycle a worker after N requests (plus up to
                                 --max-requests-jitter more) [default: never]
    --max-requests-jitter N      see --max-requests-per-worker [default: 0]
    --access-log FORMAT          one line per request (log target warden::access):
                                 common or logfmt [default: off]
    --echo-request-id            add X-Request-Id (the client's, or one made here) to
                                 every response
    --topic-history N            events kept per topic for Last-Event-ID [default: 1024]
    --max-topics N               topics at once; a new one past it gets 503 [default: 1024]
    --subscriber-max-lag BYTES   a subscriber further behind is cut [default: 1048576]
    --broker redis://HOST:PORT[/DB]
                                 share the topics with every server given the same
                                 Redis 7 (or Valkey): ids EPOCH:N, history in Redis
                                 [default: topics of this process only]
    --sse-keepalive-ms N         a comment line to idle subscribers this often
                                 [default: 15000]
    --stall-threshold-ms N       a handler running on an event loop longer is logged and
                                 counted as a loop stall; 0 turns it off [default: 20]
    --proxy-protocol CIDR        require a PROXY protocol header (v1 or v2) on every
                                 connection from CIDR (repeatable), and refuse other
                                 sources; the header's client becomes the peer everywhere
                                 [default: off]
    --max-connections-per-ip N   connections one client address may hold; past it, a
                                 connection is closed as it is accepted (a client named
                                 by a PROXY header: answered 503) [default: no limit]
    --tls-cert FILE              serve TLS on every --addr with this certificate chain
                                 (PEM, leaf first); needs --tls-key [default: plain HTTP]
    --tls-key FILE               the certificate's private key (PEM: PKCS#8, PKCS#1, SEC1)
    --tls-sni NAME,CERT,KEY      another certificate, for clients asking for NAME by SNI
                                 (*.example.com covers one label) (repeatable)
    --tls-handshake-timeout-ms N a TLS handshake taking longer is closed and counted
                                 [default: 10000]
    --tls-first-byte-timeout-ms N  a TLS client silent this long after the accept is
                                 closed and counted (a handshake timeout) [default: 3000]
    --max-handshakes N           TLS handshakes in flight at once; more connections wait
                                 in the accept queue [default: 512]
                                 SIGHUP reloads every certificate and key file; a reload
                                 that fails keeps the old ones and says why
    --fault-routes               serve the /fault/* routes below, to exercise supervision
    -h, --help                   print this help

ROUTES:
    GET  /plaintext   Hello, World! (text/plain)
    GET  /json        {\"message\":\"Hello, World!\"} (application/json)
    POST /echo        the request body
    GET  /sleep?ms=N  blocks N ms (at most 10000) on the blocking pool, as a handler calling
                      a database should, and answers \"slept N ms\"
    GET  /stream?chunks=N&size=B
                      a chunked body of N chunks of B bytes (one thread writes every
                      such body, never waiting for a client)
    GET  /events?n=N&ms=M
                      Server-Sent Events: N events M ms apart, then the stream ends (one
                      thread serves every event stream)
    GET  /topics/NAME subscribes to topic NAME: its events as Server-Sent Events, sent by
                      the connection's own worker (Last-Event-ID replays kept events)
    POST /topics/NAME publishes the body as one event (?event=TYPE sets its type) and
                      answers 202 with id=N
    POST /upload      reads the body as it arrives (streamed, up to 1 GiB, on the blocking
                      pool) and answers its length and a 64-bit checksum
    GET  /stats       counters as JSON: requests, connections, restarts, failures by kind,
                      loop stalls, the blocking pool, broadcast
    anything else     404

FAULT ROUTES (with --fault-routes):
    GET /fault/panic        the handler panics (answered 500)
    GET /fault/bad-header   the handler returns a header value with CR LF (answered 500)
    GET /fault/crash        the worker's loop panics after answering (worker restarted)
    GET /fault/hang?ms=N    the handler sleeps N ms on the event loop (a loop stall; past
                            the deadline: reported hung)
    GET /fault/exit         the error policy chooses to shut the server down (exit 1)

Each failure is one log line. When the server stops on an error (restart intensity,
/fault/exit) the process prints the reason and exits with status 1.

Logs go to stderr through env_logger: RUST_LOG=debug explains every decision.
";

/// What the command line asked for.
struct Options {
    addrs: Vec<SocketAddr>,
    workers: Option<usize>,
    header_timeout: Option<Duration>,
    keepalive_timeout: Option<Duration>,
    body_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    max_body: Option<usize>,
    max_streamed_body: Option<u64>,
    max_connections: Option<usize>,
    handler_deadline: Option<Duration>,
    max_restarts: Option<usize>,
    restart_period: Option<Duration>,
    shutdown_grace: Duration,
    fault_routes: bool,
    reuse_port: bool,
    systemd: bool,
    health_route: Option<String>,
    static_dir: Option<std::path::PathBuf>,
    metrics_route: Option<String>,
    blocking_threads: Option<usize>,
    blocking_queue: Option<usize>,
    blocking_timeout: Option<Duration>,
    stall_threshold: Option<Duration>,
    broadcast: BroadcastConfig,
    /// The Redis the topics are shared through.
    broker: Option<String>,
    sse_keepalive: Option<Duration>,
    access_log: Option<warden::AccessLog>,
    echo_request_id: bool,
    max_requests: Option<u64>,
    max_requests_jitter: u64,
    tls: tls::TlsOptions,
    proxy_protocol: Vec<warden::Cidr>,
    max_connections_per_ip: Option<u32>,
    unix: Vec<std::path::PathBuf>,
    unix_mode: Option<u32>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        addrs: Vec::new(),
        workers: None,
        header_timeout: None,
        keepalive_timeout: None,
        body_timeout: None,
        write_timeout: None,
        max_body: None,
        max_streamed_body: None,
        max_connections: None,
        handler_deadline: None,
        max_restarts: None,
        restart_period: None,
        shutdown_grace: warden::DEFAULT_SHUTDOWN_GRACE,
        fault_routes: false,
        reuse_port: false,
        systemd: false,
        health_route: None,
        static_dir: None,
        metrics_route: None,
        blocking_threads: None,
        blocking_queue: None,
        blocking_timeout: None,
        stall_threshold: None,
        broadcast: BroadcastConfig::default(),
        broker: None,
        sse_keepalive: None,
        access_log: None,
        echo_request_id: false,
        max_requests: None,
        max_requests_jitter: 0,
        tls: tls::TlsOptions::default(),
        proxy_protocol: Vec::new(),
        max_connections_per_ip: None,
        unix: Vec::new(),
        unix_mode: None,
    };
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        // Switches take no value.
        let switch = match flag.as_str() {
            "--fault-routes" => Some(&mut o.fault_routes),
            "--reuse-port" => Some(&mut o.reuse_port),
            "--systemd-socket" => Some(&mut o.systemd),
            "--echo-request-id" => Some(&mut o.echo_request_id),
            _ => None,
        };
        if let Some(switch) = switch {
            *switch = true;
            continue;
        }
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        if o.tls.parse(&flag, &mut value)? {
            continue;
        }
        let number = |v: String| -> Result<u64, String> {
            v.parse()
                .map_err(|_| format!("{flag}: {v:?} is not a whole number"))
        };
        match flag.as_str() {
            "--addr" => {
                let v = value()?;
                match v.strip_prefix("unix:") {
                    Some(path) if !path.is_empty() => o.unix.push(path.into()),
                    _ => {
                        o.addrs.push(v.parse().map_err(|_| {
                            format!("--addr: {v:?} is not an IP:port or unix:/path")
                        })?)
                    }
                }
            }
            "--unix-mode" => {
                let v = value()?;
                o.unix_mode = Some(
                    u32::from_str_radix(&v, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777)
                        .ok_or_else(|| {
                            format!("--unix-mode: {v:?} is not an octal file mode such as 660")
                        })?,
                );
            }
            "--workers" => o.workers = Some(number(value()?)? as usize),
            "--header-timeout-ms" => {
                o.header_timeout = Some(Duration::from_millis(number(value()?)?))
            }
            "--keepalive-timeout-ms" => {
                o.keepalive_timeout = Some(Duration::from_millis(number(value()?)?));
            }
            "--body-timeout-ms" => o.body_timeout = Some(Duration::from_millis(number(value()?)?)),
            "--write-timeout-ms" => {
                o.write_timeout = Some(Duration::from_millis(number(value()?)?))
            }
            "--max-body" => o.max_body = Some(number(value()?)? as usize),
            "--max-streamed-body" => o.max_streamed_body = Some(number(value()?)?),
            "--max-connections" => o.max_connections = Some(number(value()?)? as usize),
            "--handler-deadline-ms" => {
                o.handler_deadline = Some(Duration::from_millis(number(value()?)?));
            }
            "--max-restarts" => o.max_restarts = Some(number(value()?)? as usize),
            "--health-route" => o.health_route = Some(value()?),
            "--metrics-route" => o.metrics_route = Some(value()?),
            "--static" => {
                let dir = value()?;
                let canonical = std::path::Path::new(&dir)
                    .canonicalize()
                    .map_err(|e| format!("--static {dir}: {e}"))?;
                if !canonical.is_dir() {
                    return Err(format!("--static {dir}: not a directory"));
                }
                o.static_dir = Some(canonical);
            }
            "--blocking-threads" => o.blocking_threads = Some(number(value()?)? as usize),
            "--blocking-queue" => o.blocking_queue = Some(number(value()?)? as usize),
            "--blocking-timeout-ms" => {
                o.blocking_timeout = Some(Duration::from_millis(number(value()?)?));
            }
            "--max-requests-per-worker" => o.max_requests = Some(number(value()?)?),
            "--max-requests-jitter" => o.max_requests_jitter = number(value()?)?,
            "--access-log" => {
                o.access_log = Some(match value()?.as_str() {
                    "common" => warden::AccessLog::Common,
                    "logfmt" => warden::AccessLog::Logfmt,
                    other => {
                        return Err(format!("--access-log: {other:?} is not common or logfmt"));
                    }
                });
            }
            "--topic-history" => o.broadcast.history = number(value()?)? as usize,
            "--max-topics" => o.broadcast.max_topics = number(value()?)? as usize,
            "--subscriber-max-lag" => o.broadcast.max_lag = number(value()?)? as usize,
            "--broker" => o.broker = Some(value()?),
            "--sse-keepalive-ms" => {
                o.sse_keepalive =
                    Some(Duration::from_millis(number(value()?)?).max(Duration::from_millis(1)));
            }
            "--stall-threshold-ms" => {
                o.stall_threshold = Some(Duration::from_millis(number(value()?)?));
            }
            "--restart-period-ms" => {
                o.restart_period = Some(Duration::from_millis(number(value()?)?))
            }
            "--max-connections-per-ip" => {
                let n = number(value()?)?;
                o.max_connections_per_ip = Some(u32::try_from(n).unwrap_or(u32::MAX));
            }
            "--proxy-protocol" => {
                let v = value()?;
                o.proxy_protocol
                    .push(v.parse().map_err(|e| format!("--proxy-protocol: {e}"))?);
            }
            "--shutdown-grace-ms" => {
                o.shutdown_grace = Duration::from_millis(number(value()?)?);
            }
            other => return Err(format!("unknown option {other:?}; see --help")),
        }
    }
    if o.addrs.is_empty() && o.unix.is_empty() && !o.systemd {
        o.addrs.push(SocketAddr::from(([127, 0, 0, 1], 8080)));
    }
    Ok(Some(o))
}

/// The directory of `--static`, canonical.
static STATIC_ROOT: OnceLock<std::path::PathBuf> = OnceLock::new();

/// The running server, for `/stats`: set once `serve` has returned.
static SERVER: OnceLock<ServerHandle> = OnceLock::new();

/// The benchmark routes.
fn route(req: &Request<'_>) -> Response {
    match (req.method(), req.path()) {
        // TechEmpower expects exactly `text/plain`; the shorter head also costs the client less.
        ("GET" | "HEAD", "/plaintext") => Response::bytes("text/plain", &b"Hello, World!"[..]),
        ("GET" | "HEAD", "/json") => Response::json(r#"{"message":"Hello, World!"}"#),
        ("POST", "/echo") => Response::bytes("application/octet-stream", req.body().to_vec()),
        ("GET", "/sleep") => {
            let ms = query_ms(req).unwrap_or(0).min(10_000);
            req.blocking(move |_| {
                std::thread::sleep(Duration::from_millis(ms));
                Response::text(format!("slept {ms} ms\n"))
            })
        }
        ("GET" | "HEAD", "/stream") => streams::stream(req),
        ("POST", "/upload") => streams::upload(req),
        ("GET" | "HEAD", "/events") => events::events(req),
        ("GET" | "HEAD", path) if path.starts_with(events::TOPICS) => events::subscribe(req),
        ("POST", path) if path.starts_with(events::TOPICS) => events::publish(req),
        ("GET" | "HEAD", path) if path.starts_with(files::PREFIX) => match STATIC_ROOT.get() {
            Some(root) => files::serve(req, root),
            None => Response::status_page(404),
        },
        ("GET", "/stats") => match SERVER.get() {
            Some(server) => Response::json(stats_json(server)),
            None => Response::status_page(503),
        },
        (_, path) => match allowed(path) {
            // "The origin server MUST generate an Allow header field in a 405 (Method Not
            // Allowed) response containing a list of the target resource's currently
            // supported methods" (RFC 9110, 15.5.6).
            Some(allow) => Response::status_page(405).with_header("Allow", allow),
            None => Response::status_page(404),
        },
    }
}

/// The methods a known route answers, for a request with another.
fn allowed(path: &str) -> Option<&'static str> {
    match path {
        "/plaintext" | "/json" | "/stream" | "/events" => Some("GET, HEAD"),
        "/echo" | "/upload" => Some("POST"),
        "/sleep" | "/stats" => Some("GET"),
        p if p.starts_with(events::TOPICS) => Some("GET, HEAD, POST"),
        p if p.starts_with(files::PREFIX) && STATIC_ROOT.get().is_some() => Some("GET, HEAD"),
        _ => None,
    }
}

/// The benchmark routes plus the ones that exercise supervision.
fn route_with_faults(req: &Request<'_>) -> Response {
    match (req.method(), req.path()) {
        ("GET", "/fault/panic") => panic!("fault route: the handler panics"),
        ("GET", "/fault/bad-header") => {
            Response::text("never sent").with_header("X-Fault", "injected\r\nSet-Cookie: x=1")
        }
        ("GET", "/fault/crash") => Response::text("crashing the worker after this response\n")
            .with_fault(Fault::WorkerPanic),
        ("GET", "/fault/hang") => {
            let ms = query_ms(req).unwrap_or(1000);
            std::thread::sleep(Duration::from_millis(ms));
            Response::text(format!("slept {ms} ms\n"))
        }
        ("GET", "/fault/exit") => panic!("fault route: exit requested"),
        _ => route(req),
    }
}

/// The `ms=N` of the query.
fn query_ms(req: &Request<'_>) -> Option<u64> {
    req.query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("ms=")))
        .and_then(|v| v.parse().ok())
}

/// The policy of the binary: the defaults, except that `/fault/exit` stops the server.
fn on_error(failure: &Failure) -> Restart {
    if failure.path.as_deref() == Some("/fault/exit") {
        return Restart::Shutdown;
    }
    failure.default_restart()
}

fn stats_json(server: &ServerHandle) -> String {
    let stats = server.stats();
    let count = |kind| stats.failures_of(kind);
    let workers: Vec<String> = stats
        .workers
        .iter()
        .map(|w| {
            format!(
                r#"{{"id":{},"accepted":{},"active_connections":{},"requests":{},"queued":{},"stalled":{}}}"#,
                w.id,
                w.counters.accepted,
                w.counters.active_connections,
                w.counters.requests,
                w.queued,
                w.stalled
            )
        })
        .collect();
    format!(
        concat!(
            r#"{{"accepted":{},"active_connections":{},"requests":{},"worker_restarts":{},"#,
            r#""last_restart_us":{},"failures":{{"panic":{},"invalid_response":{},"#,
            r#""connection_panic":{},"worker_panic":{},"hung":{},"client_gone":{},"io":{},"#,
            r#""timeout":{},"overload":{},"unanswered":{},"tls":{}}},"#,
            r#""dropped_failure_reports":{},"loop_stalls":{},"worker_recycles":{},"#,
            r#""blocking":{{"busy":{},"idle":{},"lost":{},"queued":{},"done":{},"rejected":{},"#,
            r#""timed_out":{},"panicked":{},"abandoned":{}}},"#,
            r#""broadcast":{{"subscribers":{},"published":{},"cut":{},"topics":{},"broker":{}}},"#,
            r#""workers":[{}]}}"#
        ),
        stats.accepted,
        stats.active_connections,
        stats.requests,
        stats.worker_restarts,
        stats.last_restart.as_micros(),
        count(FailureKind::Panic),
        count(FailureKind::InvalidResponse),
        count(FailureKind::ConnectionPanic),
        count(FailureKind::WorkerPanic),
        count(FailureKind::Hung),
        count(FailureKind::ClientGone),
        count(FailureKind::Io),
        count(FailureKind::Timeout),
        count(FailureKind::Overload),
        count(FailureKind::Unanswered),
        count(FailureKind::Tls),
        stats.dropped_failure_reports,
        stats.loop_stalls,
        stats.worker_recycles,
        stats.blocking.busy,
        stats.blocking.idle,
        stats.blocking.lost,
        stats.blocking.queued,
        stats.blocking.done,
        stats.blocking.rejected,
        stats.blocking.timed_out,
        stats.blocking.panicked,
        stats.blocking.abandoned,
        stats.http.subscribers,
        stats.broadcast.published,
        stats.http.subscribers_cut,
        stats.broadcast.topics,
        stats.broadcast.broker.map_or_else(
            || "null".to_owned(),
            |b| format!(
                r#"{{"up":{},"reconnects":{},"publish_errors":{},"backfilled":{}}}"#,
                b.up, b.reconnects, b.publish_errors, b.backfilled
            )
        ),
        workers.join(",")
    )
}

/// SIGINT or SIGTERM starts a graceful drain; a second one stops at once. `signals` is
/// made before the server starts: it needs descriptors, which a server accepting
/// connections may have used up by then.
fn drain_on_signals(
    mut signals: signal_hook::iterator::Signals,
    server: &'static ServerHandle,
    grace: Duration,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("warden-signals".to_owned())
        .spawn(move || {
            let mut received = signals.forever();
            if let Some(signal) = received.next() {
                log::warn!(
                    "signal {signal}: draining for up to {grace:?}; send it again to stop at once"
                );
                server.shutdown(grace);
            }
            if let Some(signal) = received.next() {
                log::warn!("signal {signal} again: stopping now");
                std::process::exit(130);
            }
        })?;
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("warden: {message}");
            return ExitCode::from(2);
        }
    };
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"));
    if options.access_log.is_some() {
        // Asked for on the command line: shown whatever RUST_LOG says of other targets.
        logger.filter_module("warden::access", log::LevelFilter::Info);
    }
    logger.init();

    let tls = match options.tls.load() {
        Ok(tls) => tls,
        Err(message) => {
            eprintln!("warden: {message}");
            return ExitCode::from(2);
        }
    };
    let mut builder = options.tls.configure(Server::builder());
    for addr in &options.addrs {
        builder = match &tls {
            Some(tls) => builder.bind_tls(*addr, tls.clone()),
            None => builder.bind(*addr),
        };
    }
    for path in &options.unix {
        builder = builder.bind_unix(path);
    }
    if let Some(mode) = options.unix_mode {
        builder = builder.unix_mode(mode);
    }
    if let Some(n) = options.workers {
        builder = builder.workers(n);
    }
    if let Some(t) = options.header_timeout {
        builder = builder.header_timeout(t);
    }
    if let Some(t) = options.keepalive_timeout {
        builder = builder.keepalive_timeout(t);
    }
    if let Some(t) = options.body_timeout {
        builder = builder.body_timeout(t);
    }
    if let Some(t) = options.write_timeout {
        builder = builder.write_timeout(t);
    }
    if let Some(n) = options.max_streamed_body {
        builder = builder.max_streamed_body(n);
    }
    if let Some(n) = options.max_body {
        builder = builder.max_body(n);
    }
    if let Some(n) = options.max_connections {
        builder = builder.max_connections(n);
    }
    if let Some(deadline) = options.handler_deadline {
        builder = builder.handler_deadline((!deadline.is_zero()).then_some(deadline));
    }
    if options.max_restarts.is_some() || options.restart_period.is_some() {
        builder = builder.restart_intensity(
            options.max_restarts.unwrap_or(warden::DEFAULT_MAX_RESTARTS),
            options
                .restart_period
                .unwrap_or(warden::DEFAULT_RESTART_PERIOD),
        );
    }
    builder = builder
        .shutdown_grace(options.shutdown_grace)
        .stream_bodies(streams::streams_body)
        .on_error(on_error)
        .fault_injection(options.fault_routes)
        .reuse_port(options.reuse_port);
    if options.systemd {
        builder = builder.systemd_listeners();
    }
    if let Some(n) = options.blocking_threads {
        builder = builder.blocking_threads(n);
    }
    if let Some(n) = options.blocking_queue {
        builder = builder.blocking_queue(n);
    }
    if let Some(t) = options.blocking_timeout {
        builder = builder.blocking_timeout(t);
    }
    if options.access_log.is_some() {
        builder = builder.access_log(options.access_log);
    }
    if let Some(n) = options.max_requests {
        builder = builder.max_requests_per_worker(n, options.max_requests_jitter);
    }
    let hub = match events::init(options.broadcast.clone(), options.broker.as_deref()) {
        Ok(hub) => hub,
        Err(message) => {
            eprintln!("warden: {message}");
            return ExitCode::from(2);
        }
    };
    builder = builder.broadcast(hub);
    if let Some(interval) = options.sse_keepalive {
        builder = builder.sse_keepalive(interval);
    }
    if let Some(t) = options.stall_threshold {
        builder = builder.stall_threshold((!t.is_zero()).then_some(t));
    }
    if options.echo_request_id {
        builder = builder.echo_request_id(true);
    }
    if let Some(path) = options.metrics_route {
        builder = builder.metrics_route(path);
    }
    if let Some(dir) = options.static_dir {
        let _ = STATIC_ROOT.set(dir);
    }
    if let Some(n) = options.max_connections_per_ip {
        builder = builder.max_connections_per_ip(n);
    }
    if !options.proxy_protocol.is_empty() {
        builder = builder.proxy_protocol(options.proxy_protocol.iter().copied());
    }
    if let Some(path) = options.health_route {
        builder = builder.health_route(path);
    }

    let routes: fn(&Request<'_>) -> Response = if options.fault_routes {
        route_with_faults
    } else {
        route
    };
    let signals = match signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("warden: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    // SIGHUP reloads what can be reloaded; it never kills the server (its default).
    let reload = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])
        .and_then(|hup| tls::reload_on_sighup(hup, tls.as_ref().map(|t| t.handle())));
    if let Err(e) = reload {
        eprintln!("warden: cannot handle SIGHUP: {e}");
        return ExitCode::FAILURE;
    }
    let server = match builder.serve(routes) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("warden: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Set before announcing the addresses: from then on clients may ask for /stats.
    let server = SERVER.get_or_init(|| server);
    if let Err(e) = drain_on_signals(signals, server, options.shutdown_grace) {
        eprintln!("warden: cannot handle signals: {e}");
        return ExitCode::FAILURE;
    }
    // A closed stdout (a supervisor that read the first line and left) must not stop
    // the server: these lines are a courtesy.
    let mut stdout = std::io::stdout();
    for addr in server.local_addrs() {
        let _ = writeln!(stdout, "listening on {addr}");
    }
    for path in &options.unix {
        let _ = writeln!(stdout, "listening on unix:{}", path.display());
    }
    let _ = stdout.flush();
    match server.wait() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden: stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
