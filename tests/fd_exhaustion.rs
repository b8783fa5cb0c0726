//! Running out of file descriptors is survived: accept backs off instead of spinning or
//! dying, and serving resumes by itself once descriptors are freed.
//!
//! The server runs as a child process (the `warden` binary) with a low RLIMIT_NOFILE, so
//! the limit cannot disturb the test process.
mod util;

use util::{Binary, Client, get};

#[test]
fn out_of_descriptors_then_recovers() {
    let server = Binary::start("ulimit -n 48 &&", &["--workers", "1"]);

    // Far more connections than the server has descriptors: the kernel completes their
    // handshakes into the backlog, the server accepts until EMFILE, then backs off.
    let mut clients: Vec<Client> = (0..100).map(|_| Client::connect(server.addr)).collect();
    for client in &mut clients {
        client.send(get("/plaintext"));
    }
    // The first ones are served even while the rest cannot be accepted.
    assert_eq!(clients[0].reply().expect("first client served").status, 200);

    // Free every descriptor; the server must come back by itself.
    drop(clients);
    let mut fresh = Client::connect(server.addr);
    let reply = fresh
        .send(get("/plaintext"))
        .reply()
        .expect("served after recovery");
    assert_eq!(reply.status, 200);
    drop(fresh);

    let log = server.kill();
    assert!(
        log.contains("accept failed"),
        "the exhaustion was logged: {log}"
    );
    assert!(
        log.matches("accept failed").count() < 20,
        "logged once per episode, not per retry: {log}"
    );
}
