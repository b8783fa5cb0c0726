//! The standalone warden server: the TechEmpower-style benchmark routes.
//!
//! `cargo run --release -- --help` lists the flags.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use warden::{Request, Response, Server};

const USAGE: &str = "\
warden: a multi-worker HTTP/1.1 benchmark server

USAGE:
    warden [OPTIONS]

OPTIONS:
    --addr ADDR                  listen on ADDR (repeatable) [default: 127.0.0.1:8080]
    --workers N                  worker threads [default: available cores]
    --header-timeout-ms N        time for a complete request head [default: 10000]
    --keepalive-timeout-ms N     idle time between keep-alive requests [default: 15000]
    --body-timeout-ms N          time a body may stall [default: 30000]
    --write-timeout-ms N         time a response may wait for the client [default: 30000]
    --max-body BYTES             largest request body [default: 1048576]
    --max-connections N          connections per worker before accept pauses [default: 25000]
    -h, --help                   print this help

ROUTES:
    GET  /plaintext   Hello, World! (text/plain)
    GET  /json        {\"message\":\"Hello, World!\"} (application/json)
    POST /echo        the request body
    anything else     404

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
    max_connections: Option<usize>,
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
        max_connections: None,
    };
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| -> Result<u64, String> {
            v.parse()
                .map_err(|_| format!("{flag}: {v:?} is not a whole number"))
        };
        match flag.as_str() {
            "--addr" => {
                let v = value()?;
                o.addrs.push(
                    v.parse()
                        .map_err(|_| format!("--addr: {v:?} is not an IP:port"))?,
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
            "--max-connections" => o.max_connections = Some(number(value()?)? as usize),
            other => return Err(format!("unknown option {other:?}; see --help")),
        }
    }
    if o.addrs.is_empty() {
        o.addrs.push(SocketAddr::from(([127, 0, 0, 1], 8080)));
    }
    Ok(Some(o))
}

/// The benchmark routes.
fn route(req: &Request<'_>) -> Response {
    match (req.method(), req.path()) {
        // TechEmpower expects exactly `text/plain`; the shorter head also costs the client less.
        ("GET" | "HEAD", "/plaintext") => Response::bytes("text/plain", &b"Hello, World!"[..]),
        ("GET" | "HEAD", "/json") => Response::json(r#"{"message":"Hello, World!"}"#),
        ("POST", "/echo") => Response::bytes("application/octet-stream", req.body().to_vec()),
        _ => Response::status_page(404),
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
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

    let mut builder = Server::builder();
    for addr in &options.addrs {
        builder = builder.bind(*addr);
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
    if let Some(n) = options.max_body {
        builder = builder.max_body(n);
    }
    if let Some(n) = options.max_connections {
        builder = builder.max_connections(n);
    }

    let server = match builder.serve(route) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("warden: {e}");
            return ExitCode::FAILURE;
        }
    };
    for addr in server.local_addrs() {
        println!("listening on {addr}");
    }
    match server.wait() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warden: {e}");
            ExitCode::FAILURE
        }
    }
}
