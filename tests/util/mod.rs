//! Helpers shared by the integration tests: a server on a free loopback port and a raw
//! HTTP/1.1 client that shows exactly what went over the wire.
#![allow(dead_code)] // each test file uses a different subset

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use warden::{Builder, Request, Response, Server, ServerHandle};

pub mod prom;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(any(feature = "tls", feature = "tls-ring"))]
pub mod tls;

/// Upper bound on any single wait in a test. Tests never rely on it to pass: it only
/// turns a hang into a failure.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The routes of the benchmark binary, plus a few for tests.
pub fn routes(req: &Request<'_>) -> Response {
    match (req.method(), req.path()) {
        ("GET" | "HEAD", "/plaintext") => Response::text("Hello, World!"),
        ("GET", "/json") => Response::json(r#"{"message":"Hello, World!"}"#),
        ("POST", "/echo") => Response::bytes("application/octet-stream", req.body().to_vec()),
        ("GET", "/host") => Response::text(req.host().unwrap_or("(none)").to_owned()),
        ("GET", "/bad-header") => Response::text("x").with_header("X-Evil", "a\r\nSet-Cookie: b"),
        ("GET", "/panic") => panic!("handler asked to panic"),
        (_, "/describe") | ("OPTIONS", "*") => Response::text(format!(
            "{} {} {} body={}",
            req.method(),
            req.target(),
            req.version().as_str(),
            req.body().len()
        )),
        _ => Response::status_page(404),
    }
}

/// A one-worker server on 127.0.0.1:0 with the test routes.
pub fn server() -> ServerHandle {
    server_with(|b| b)
}

/// A server on 127.0.0.1:0 with the test routes, configured by `configure`.
pub fn server_with(configure: impl FnOnce(Builder) -> Builder) -> ServerHandle {
    let builder = Server::builder().bind("127.0.0.1:0").workers(1);
    configure(builder).serve(routes).expect("server starts")
}

/// One parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A raw client over one connection: a TCP socket, or anything else that reads and
/// writes bytes (a TLS stream).
pub struct Client<S = TcpStream> {
    pub stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Client<S> {
    /// A client over `stream`, already connected.
    pub fn over(stream: S) -> Client<S> {
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// A client over `stream`, with bytes already read from it.
    pub fn over_with(stream: S, buf: Vec<u8>) -> Client<S> {
        Client { stream, buf }
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) -> &mut Client<S> {
        self.stream
            .write_all(bytes.as_ref())
            .unwrap_or_else(|e| panic!("write: {e}"));
        self
    }

    /// `GET path` on this connection; the status of the answer (it must come).
    pub fn get_status(&mut self, path: &str) -> u16 {
        self.send(get(path))
            .reply()
            .unwrap_or_else(|| panic!("no answer to GET {path}"))
            .status
    }
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn to(server: &ServerHandle) -> Client {
        Client::connect(server.local_addrs()[0])
    }

    /// A client of `server` whose address is `source` (another loopback address, such
    /// as 127.0.0.2: a second client, as the server's per-address rules see it).
    pub fn from(source: &str, server: &ServerHandle) -> Client {
        let stream = connect_from(source, server.local_addrs()[0]);
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Closes the connection with a reset (SO_LINGER 0): gone, not politely finished.
    pub fn reset(self) {
        let socket = socket2::Socket::from(self.stream);
        socket.set_linger(Some(Duration::ZERO)).expect("linger 0");
        drop(socket);
    }

    /// Stops sending (half-close); responses can still be read.
    pub fn finish_sending(&mut self) {
        self.stream.shutdown(Shutdown::Write).expect("shutdown");
    }

    /// The socket and the bytes read from it that no response has taken yet: for a
    /// connection that switched protocols.
    pub fn into_parts(self) -> (TcpStream, Vec<u8>) {
        (self.stream, self.buf)
    }
}

impl<S: Read + Write> Client<S> {
    /// Reads more bytes; `false` on EOF or reset.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => false,
            // A TLS peer that closed without close_notify.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => false,
            Err(e) => panic!("read failed (a hang?): {e}"),
        }
    }

    /// The next response; `None` if the connection closed before one arrived.
    pub fn reply(&mut self) -> Option<Reply> {
        self.reply_to(false)
    }

    /// The next response to a HEAD request (no body, whatever Content-Length says).
    pub fn head_reply(&mut self) -> Option<Reply> {
        self.reply_to(true)
    }

    fn reply_to(&mut self, head: bool) -> Option<Reply> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buf).expect("a well-formed response") {
                httparse::Status::Complete(len) => {
                    let status = response.code.expect("status");
                    let headers: Vec<(String, String)> = response
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_owned(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    let reply = Reply {
                        status,
                        headers,
                        body: Vec::new(),
                    };
                    let bodiless = head || status == 204 || status == 304 || status < 200;
                    let chunked = reply
                        .header("transfer-encoding")
                        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
                    if chunked && !bodiless {
                        self.buf.drain(..len);
                        let mut body = Vec::new();
                        while let Some(chunk) = self.chunk() {
                            body.extend_from_slice(&chunk);
                        }
                        return Some(Reply { body, ..reply });
                    }
                    if !bodiless && reply.header("content-length").is_none() {
                        // Delimited by the close (HTTP/1.0 streaming).
                        self.buf.drain(..len);
                        let body = self.read_to_close();
                        return Some(Reply { body, ..reply });
                    }
                    let length: usize = if bodiless {
                        0
                    } else {
                        reply
                            .header("content-length")
                            .expect("every response is self-delimiting")
                            .parse()
                            .expect("numeric length")
                    };
                    while self.buf.len() < len + length {
                        assert!(self.fill(), "connection closed inside a response body");
                    }
                    let body = self.buf[len..len + length].to_vec();
                    self.buf.drain(..len + length);
                    return Some(Reply { body, ..reply });
                }
                httparse::Status::Partial => {
                    if !self.fill() {
                        assert!(
                            self.buf.is_empty(),
                            "connection closed inside a response head: {:?}",
                            String::from_utf8_lossy(&self.buf)
                        );
                        return None;
                    }
                }
            }
        }
    }

    /// The next chunk of a chunked body whose head was read; `None` after the last chunk
    /// (and its empty trailer section). Panics on anything malformed, or on a close
    /// before the last chunk: use [`Client::chunks_until_close`] where that is expected.
    pub fn chunk(&mut self) -> Option<Vec<u8>> {
        match self.try_chunk() {
            Ok(chunk) => chunk,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Client::chunk`], but a close before the last chunk is an `Err`.
    pub fn try_chunk(&mut self) -> Result<Option<Vec<u8>>, String> {
        loop {
            match decode_chunk(&self.buf)? {
                Some((chunk, used)) => {
                    self.buf.drain(..used);
                    return Ok(chunk);
                }
                None => {
                    if !self.fill() {
                        return Err(format!(
                            "connection closed inside a chunked body ({} bytes unparsed: {:?})",
                            self.buf.len(),
                            String::from_utf8_lossy(&self.buf)
                        ));
                    }
                }
            }
        }
    }

    /// Chunks until the last one (`Ok`) or until the server closes the connection
    /// without it (`Err` with what had arrived): a body cut short.
    pub fn chunks_until_close(&mut self) -> Result<Vec<u8>, Vec<u8>> {
        let mut body = Vec::new();
        loop {
            match self.try_chunk() {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => return Ok(body),
                Err(_) => return Err(body),
            }
        }
    }

    /// Whether the server has closed the connection, with nothing more sent.
    pub fn is_closed(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        !self.fill()
    }

    /// Everything until the server closes the connection.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }
}

/// Decodes one chunk at the front of `buf` strictly (as curl does: a hex size, optional
/// extensions, CRLF, the data, CRLF; after the last chunk, trailer lines and an empty
/// line). `Ok(None)` when more bytes are needed; `Ok(Some((None, used)))` for the last
/// chunk and its trailers.
#[allow(clippy::type_complexity)]
pub fn decode_chunk(buf: &[u8]) -> Result<Option<(Option<Vec<u8>>, usize)>, String> {
    let Some(line_end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let line = std::str::from_utf8(&buf[..line_end]).map_err(|e| e.to_string())?;
    let size_text = line.split(';').next().unwrap_or("");
    let size = usize::from_str_radix(size_text, 16)
        .map_err(|_| format!("bad chunk size line {line:?}"))?;
    let data_start = line_end + 2;
    if size == 0 {
        // Trailer lines until an empty one.
        let mut at = data_start;
        loop {
            let Some(end) = buf[at..].windows(2).position(|w| w == b"\r\n") else {
                return Ok(None);
            };
            if end == 0 {
                return Ok(Some((None, at + 2)));
            }
            at += end + 2;
        }
    }
    if buf.len() < data_start + size + 2 {
        return Ok(None);
    }
    if &buf[data_start + size..data_start + size + 2] != b"\r\n" {
        return Err("chunk data not followed by CRLF".into());
    }
    Ok(Some((
        Some(buf[data_start..data_start + size].to_vec()),
        data_start + size + 2,
    )))
}

/// A request for `path` with a Host header.
pub fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// A TCP connection to `addr` from the loopback address `source` (127.0.0.2, ...: Linux
/// routes all of 127.0.0.0/8 to the loopback device).
pub fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let source: SocketAddr = format!("{source}:0").parse().expect("a loopback address");
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    socket
        .bind(&source.into())
        .expect("bind the source address");
    socket
        .connect(&addr.into())
        .unwrap_or_else(|e| panic!("connect to {addr} from {source}: {e}"));
    let stream = TcpStream::from(socket);
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

/// The next Server-Sent Event on `client`'s chunked stream, as text (keep-alive comments
/// skipped, but not for longer than [`PATIENCE`]: they would keep a read timeout from ever
/// firing).
pub fn next_event(client: &mut Client) -> String {
    let start = std::time::Instant::now();
    loop {
        assert!(
            start.elapsed() < PATIENCE,
            "no event, only keep-alive comments"
        );
        let chunk = client.chunk().expect("an event");
        let text = String::from_utf8(chunk).expect("text");
        if !text.starts_with(':') {
            return text;
        }
    }
}

/// Waits until `condition` holds, for counters published by another thread; fails after
/// [`PATIENCE`].
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !condition() {
        assert!(start.elapsed() < PATIENCE, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Asserts that the next response has `status`, says `Connection: close`, and that the
/// server then closes the connection.
pub fn expect_final(client: &mut Client, status: u16) {
    let reply = client.reply().expect("a response");
    assert_eq!(reply.status, status);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(
        client.is_closed(),
        "the connection is closed after a final {status}"
    );
}

/// Routes that stage failures, for the supervision tests (the server needs
/// `fault_injection(true)` for `/crash` and `/conn-crash`).
pub fn fault_routes(req: &Request<'_>) -> Response {
    use warden::Fault;
    match req.path() {
        "/panic" => panic!("handler asked to panic"),
        "/bad-header" => Response::text("x").with_header("X-Evil", "a\r\nb"),
        "/crash" => Response::text("crashing").with_fault(Fault::WorkerPanic),
        "/conn-crash" => Response::text("lost").with_fault(Fault::ConnectionPanic),
        _ => routes(req),
    }
}

/// The next failure reported on `failures`; fails the test after [`PATIENCE`].
pub fn next_failure(failures: &crossbeam_channel::Receiver<warden::Failure>) -> warden::Failure {
    failures.recv_timeout(PATIENCE).expect("a failure report")
}

/// The `warden` binary (package `warden-server`), built once per test process: another
/// package's binary has no `CARGO_BIN_EXE_*` here. `cargo test --workspace` has built it
/// already, so this is quick; a narrower run would otherwise find it missing or stale.
pub fn warden_binary() -> &'static std::path::Path {
    static PATH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let mut build = std::process::Command::new(env!("CARGO"));
        build.args(["build", "-p", "warden-server", "--bin", "warden", "--quiet"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        assert!(
            build
                .status()
                .expect("cargo build -p warden-server")
                .success(),
            "the warden binary builds"
        );
        // Beside the test binary's `deps` folder.
        std::env::current_exe()
            .expect("test binary path")
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target dir")
            .join("warden")
    })
}

/// The `warden` binary running as a child process; killed when dropped.
pub struct Binary {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl Binary {
    /// Starts the binary on 127.0.0.1:0 with `args`, under `sh -c "PREFIX exec ..."` so a
    /// test can set limits (`ulimit -n 48 &&`); waits for its `listening on` line.
    pub fn start(shell_prefix: &str, args: &[&str]) -> Binary {
        Binary::launch(shell_prefix, "127.0.0.1:0", args)
    }

    /// Starts the binary listening on `addr`.
    pub fn start_at(addr: &str, args: &[&str]) -> Binary {
        Binary::launch("", addr, args)
    }

    fn launch(shell_prefix: &str, addr: &str, args: &[&str]) -> Binary {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!(r#"{shell_prefix} exec "$0" "$@""#))
            .arg(warden_binary())
            .args(["--addr", addr])
            .args(args)
            // WARDEN_TEST_LOG=debug shows the child's every decision when a test fails.
            .env(
                "RUST_LOG",
                std::env::var("WARDEN_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("RUST_BACKTRACE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start warden");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read stdout");
        let Some(addr) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let mut log = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                let _ = stderr.read_to_string(&mut log);
            }
            panic!("warden did not start: first line {line:?}, stderr:\n{log}");
        };
        let addr = addr.parse().expect("address");
        Binary { child, addr }
    }

    /// Waits for the process to exit by itself; returns its status and what it logged.
    pub fn exit(mut self) -> (std::process::ExitStatus, String) {
        let mut log = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut log).expect("stderr");
        }
        let status = self.child.wait().expect("wait");
        (status, log)
    }

    /// Stops the process and returns what it logged.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let mut log = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut log).expect("stderr");
        }
        log
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `POST path` with a body of `length` bytes still to come, and returns once the
/// server has parsed the head (it answers `100 Continue`): from then on the connection is
/// busy, not idle, on the server's side, with no race.
pub fn begin_upload(client: &mut Client, path: &str, length: usize) {
    client.send(format!(
        "POST {path} HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
    ));
    assert_eq!(client.reply().expect("100 Continue").status, 100);
}
