//! Unix domain socket listeners over real sockets: requests, a mode, stale and live
//! socket files, removal on exit, TCP beside them, peers shown as `unix`, and
//! connections that move when a worker crashes.
mod util;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use util::{Client, PATIENCE, get};
use warden::{Error, Request, Response, Server, ServerHandle};

/// A fresh directory for this test's sockets.
fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("warden-unix-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory");
    dir
}

fn client(path: &std::path::Path) -> Client<UnixStream> {
    let stream = UnixStream::connect(path).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    Client::over(stream)
}

fn serve(configure: impl FnOnce(warden::Builder) -> warden::Builder) -> ServerHandle {
    configure(Server::builder().workers(1).fault_injection(true))
        .serve(|req: &Request<'_>| match req.path() {
            "/who" => Response::text(format!(
                "peer={} unix={}",
                req.peer_addr(),
                req.peer_addr() == warden::UNIX_PEER
            )),
            "/up" => req.upgrade(Response::new(101).with_header("Upgrade", "x"), drop),
            _ => util::fault_routes(req),
        })
        .expect("server starts")
}

#[test]
fn requests_over_a_unix_socket_beside_tcp_with_a_mode() {
    let dir = dir("basic");
    let path = dir.join("w.sock");
    let server = serve(|b| b.bind("127.0.0.1:0").bind_unix(&path).unix_mode(0o660));
    let mode = std::fs::metadata(&path)
        .expect("the socket file")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o660);
    let mut unix = client(&path);
    let reply = unix.send(get("/who")).reply().expect("an answer");
    assert_eq!(reply.text(), "peer=0.0.0.0:0 unix=true");
    // Keep-alive and pipelining as over TCP.
    unix.send(format!("{}{}", get("/plaintext"), get("/json")));
    assert_eq!(unix.reply().expect("first").status, 200);
    assert_eq!(unix.reply().expect("second").status, 200);
    // TCP beside it: local_addrs lists the TCP listeners.
    assert_eq!(Client::to(&server).get_status("/plaintext"), 200);
    // Upgrade is refused here, as over TLS.
    let failures = server.failures();
    let reply = unix
        .send("GET /up HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n")
        .reply()
        .expect("an answer");
    assert_eq!(reply.status, 500);
    let failure = util::next_failure(&failures);
    assert!(
        failure.message.contains("Unix domain socket"),
        "{}",
        failure.message
    );
    assert!(failure.to_string().contains("from unix"), "{failure}");

    server.shutdown(Duration::ZERO);
    server.wait().expect("stopped");
    assert!(!path.exists(), "the socket file is removed on exit");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stale_socket_file_is_replaced_and_a_live_one_refused() {
    let dir = dir("stale");
    let path = dir.join("w.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).expect("a socket nobody listens on"));
    let server = serve(|b| b.bind_unix(&path));
    assert_eq!(client(&path).get_status("/plaintext"), 200);
    match Server::builder().bind_unix(&path).serve(util::routes) {
        Err(Error::BindUnix {
            path: named,
            source,
        }) => {
            assert_eq!(named, path);
            assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
        }
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("a second server took a live socket"),
    }
    // The refused server did not remove the live one's file.
    assert_eq!(client(&path).get_status("/plaintext"), 200);
    server.shutdown(Duration::ZERO);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_unix_connection_moves_to_the_new_worker_after_a_crash() {
    let dir = dir("crash");
    let path = dir.join("w.sock");
    let server = serve(|b| b.bind_unix(&path));
    let mut unix = client(&path);
    assert_eq!(unix.get_status("/crash"), 200);
    util::eventually("restarted", || server.stats().worker_restarts == 1);
    assert_eq!(unix.get_status("/plaintext"), 200);
    server.shutdown(Duration::ZERO);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_binary_listens_on_unix_sockets() {
    let dir = dir("binary");
    let path = dir.join("b.sock");
    let addr = format!("unix:{}", path.display());
    let binary = util::Binary::start(
        "",
        &["--workers", "1", "--addr", &addr, "--unix-mode", "600"],
    );
    util::eventually("the socket exists", || path.exists());
    let mode = std::fs::metadata(&path)
        .expect("the socket file")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let reply = client(&path).send(get("/plaintext")).reply();
    let log = binary.kill();
    assert_eq!(
        reply.map(|r| r.status),
        Some(200),
        "the binary's log:\n{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn systemd_passes_a_unix_socket_and_keeps_its_file() {
    let dir = dir("systemd");
    let path = dir.join("activated.sock");
    // Python plays systemd: it makes the listening socket, puts it at descriptor 3, sets
    // LISTEN_PID to its own pid and execs warden, which keeps that pid.
    let script = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[2])
s.listen(128)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
os.execve(sys.argv[1], [sys.argv[1], "--systemd-socket", "--workers", "1"], env)
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(util::warden_binary())
        .arg(&path)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3");
    util::eventually("the socket is listening", || {
        UnixStream::connect(&path).is_ok()
    });
    assert_eq!(client(&path).get_status("/plaintext"), 200);
    // A drain and a clean exit leave systemd's file where it is.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exited = child.wait().expect("wait");
    assert!(exited.success(), "{exited:?}");
    assert!(path.exists(), "the socket file is systemd's to keep");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_proxy_protocol_leaves_unix_socket_listeners_alone() {
    // `proxy_protocol` for every listener: TCP clients must come from a trusted balancer
    // with a header; a Unix socket's peer has no address to trust, and before this its
    // every client was closed unanswered.
    let dir = dir("proxied");
    let path = dir.join("w.sock");
    let trusted: warden::Cidr = "10.0.0.0/8".parse().expect("a range");
    let server = serve(|b| {
        b.bind("127.0.0.1:0")
            .bind_unix(&path)
            .proxy_protocol([trusted])
    });
    let mut unix = client(&path);
    let reply = unix
        .send(get("/who"))
        .reply()
        .expect("an answer over the unix socket");
    assert_eq!(reply.text(), "peer=0.0.0.0:0 unix=true");
    // TCP from an untrusted source is still refused.
    let mut tcp = Client::to(&server);
    assert!(tcp.send(get("/who")).reply().is_none());
    server.shutdown(Duration::ZERO);
}
