//! A full pool pauses accepting (clients wait in the kernel backlog) and resumes as soon
//! as a slot frees.
mod util;

use std::time::Duration;

use util::{Client, eventually, get, server_with};

#[test]
fn full_pool_pauses_and_resumes() {
    let server = server_with(|b| b.max_connections(2));
    let mut first = Client::to(&server);
    let mut second = Client::to(&server);
    assert_eq!(first.get_status("/plaintext"), 200);
    assert_eq!(second.get_status("/plaintext"), 200);

    // The third connection completes its handshake in the backlog, but is not accepted.
    let mut third = Client::to(&server);
    third.send(get("/plaintext"));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(server.stats().accepted, 2, "accepting paused at the limit");
    third.stream.set_nonblocking(true).expect("nonblocking");
    let mut probe = [0u8; 1];
    assert!(
        third.stream.peek(&mut probe).is_err(),
        "no answer while the pool is full"
    );
    third.stream.set_nonblocking(false).expect("blocking");

    // A slot frees: the waiting client is accepted and answered.
    drop(first);
    let reply = third.reply().expect("answered after the pause");
    assert_eq!(reply.status, 200);
    eventually("three accepted", || server.stats().accepted == 3);

    // Still bounded: one more waits again until another slot frees.
    let mut fourth = Client::to(&server);
    fourth.send(get("/plaintext"));
    drop(second);
    assert_eq!(fourth.reply().expect("4").status, 200);
}

#[test]
fn many_waiting_clients_are_all_served_as_slots_free() {
    let server = server_with(|b| b.max_connections(1));
    let mut clients: Vec<Client> = (0..20).map(|_| Client::to(&server)).collect();
    for client in &mut clients {
        client.send("GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    }
    // One at a time: each answer closes its connection and frees the slot for the next.
    for client in &mut clients {
        assert_eq!(client.reply().expect("served in turn").status, 200);
    }
    eventually("all accepted", || server.stats().accepted == 20);
}
