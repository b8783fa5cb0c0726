//! Deployment: a second process takes over a port with SO_REUSEPORT while the first
//! drains; listeners come from systemd socket activation; the health route tells a load
//! balancer to stop sending before connections close.
mod util;

use std::process::{Command, Stdio};

use util::{Binary, Client, get};

fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn a_new_process_takes_over_the_port_while_the_old_one_drains() {
    let old = Binary::start("", &["--workers", "1", "--reuse-port"]);
    let port = old.addr.port().to_string();
    let addr = format!("127.0.0.1:{port}");
    // The new process binds the very same port.
    let new = Binary::start_at(&addr, &["--workers", "1", "--reuse-port"]);
    assert_eq!(new.addr, old.addr);

    let mut in_flight = Client::connect(old.addr);
    assert_eq!(in_flight.get_status("/plaintext"), 200);
    signal(old.child.id(), "TERM");
    let (status, log) = old.exit();
    assert!(
        status.success(),
        "the old process drained and exited cleanly: {log}"
    );
    assert!(
        in_flight.is_closed(),
        "the old process closed its idle connection as it drained"
    );

    // Every new connection now reaches the new process: no refusal at any point.
    for _ in 0..20 {
        let mut client = Client::connect(new.addr);
        assert_eq!(client.get_status("/plaintext"), 200);
    }
}

#[test]
fn without_reuse_port_a_second_server_on_the_port_is_an_error() {
    let first = Binary::start("", &["--workers", "1"]);
    let output = Command::new(util::warden_binary())
        .args(["--addr", &first.addr.to_string(), "--workers", "1"])
        .stdout(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&first.addr.to_string()) && stderr.to_lowercase().contains("in use"),
        "{stderr}"
    );
}

#[test]
fn systemd_socket_activation() {
    // Python plays systemd: it makes the listening socket, puts it at descriptor 3, sets
    // LISTEN_PID to its own pid and execs warden, which keeps that pid.
    let script = r#"
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(128)
print(s.getsockname()[1], flush=True)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
os.execve(sys.argv[1], [sys.argv[1], "--systemd-socket", "--workers", "1"], env)
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(util::warden_binary())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("port");
    let port: u16 = line.trim().parse().expect("a port");
    line.clear();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("listening line");
    assert_eq!(line.trim(), format!("listening on 127.0.0.1:{port}"));

    let mut client = Client::connect(([127, 0, 0, 1], port).into());
    assert_eq!(client.get_status("/plaintext"), 200);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn health_route_turns_503_when_draining() {
    let server = Binary::start(
        "",
        &[
            "--workers",
            "1",
            "--health-route",
            "/healthz",
            "--shutdown-grace-ms",
            "60000",
        ],
    );
    let mut probe = Client::connect(server.addr);
    let reply = probe.send(get("/healthz")).reply().expect("health");
    assert_eq!((reply.status, reply.text().as_str()), (200, "ok\n"));
    // A connection with a request in progress keeps the worker draining.
    let mut busy = Client::connect(server.addr);
    util::begin_upload(&mut busy, "/echo", 2);
    busy.send("x");
    signal(server.child.id(), "TERM");
    // The probe's idle keep-alive connection is closed by the drain; on the busy one the
    // health answer would now be 503. Ask there once the body completes.
    assert!(probe.is_closed());
    busy.send(format!("y{}", get("/healthz")));
    assert_eq!(busy.reply().expect("echo").text(), "xy");
    let health = busy.reply().expect("health while draining");
    assert_eq!((health.status, health.text().as_str()), (503, "draining\n"));
}
