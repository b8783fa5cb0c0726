//! Running out of file descriptors is survived: accept backs off instead of spinning or
//! dying, and serving resumes by itself once descriptors are freed.
//!
//! The server runs as a child process (the `warden` binary) with a low RLIMIT_NOFILE, so
//! the limit cannot disturb the test process.
mod util;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use util::{Client, get};

/// Kills the child when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn out_of_descriptors_then_recovers() {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 48 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_warden"))
        .args(["--addr", "127.0.0.1:0", "--workers", "1"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start warden");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read stdout");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .expect("address");

    // Far more connections than the server has descriptors: the kernel completes their
    // handshakes into the backlog, the server accepts until EMFILE, then backs off.
    let mut clients: Vec<Client> = (0..100).map(|_| Client::connect(addr)).collect();
    for client in &mut clients {
        client.send(get("/plaintext"));
    }
    // The first ones are served even while the rest cannot be accepted.
    assert_eq!(clients[0].reply().expect("first client served").status, 200);

    // Free every descriptor; the server must come back by itself.
    drop(clients);
    let mut fresh = Client::connect(addr);
    let reply = fresh
        .send(get("/plaintext"))
        .reply()
        .expect("served after recovery");
    assert_eq!(reply.status, 200);
    drop(fresh);

    drop(server);
    let mut log = String::new();
    stderr.read_to_string(&mut log).expect("stderr");
    assert!(
        log.contains("accept failed"),
        "the exhaustion was logged: {log}"
    );
    assert!(
        log.matches("accept failed").count() < 20,
        "logged once per episode, not per retry: {log}"
    );
}
