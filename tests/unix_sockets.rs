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
