//! The worker pool: every worker gets connections, the least loaded first, and each has
//! its own handler from the factory.
mod util;

use std::cell::Cell;

use util::{Client, eventually, get};
use warden::{Request, Response, Server};

/// A handler that says which worker it runs on and how many requests that worker saw:
/// per-worker state in a `Cell`, no lock.
fn per_worker_server(workers: usize) -> warden::ServerHandle {
    Server::builder()
        .bind("127.0.0.1:0")
        .workers(workers)
        .serve_with(|worker| {
            let seen = Cell::new(0u64);
            move |_: &Request<'_>| {
                seen.set(seen.get() + 1);
                Response::text(format!("{worker} {}", seen.get()))
            }
        })
        .expect("serve")
}

fn worker_of(client: &mut Client) -> usize {
    let reply = client.send(get("/")).reply().expect("reply");
    reply
        .text()
        .split(' ')
        .next()
        .expect("id")
        .parse()
        .expect("number")
}

#[test]
fn connections_spread_over_every_worker() {
    let server = per_worker_server(4);
    let mut clients: Vec<Client> = (0..8).map(|_| Client::to(&server)).collect();
    let mut per_worker = [0; 4];
    for client in &mut clients {
        per_worker[worker_of(client)] += 1;
    }
    // Connections stay open, so least-loaded placement gives each worker exactly two.
    assert_eq!(per_worker, [2, 2, 2, 2]);
    let stats = server.stats();
    assert_eq!(stats.workers.len(), 4);
    eventually("stats published", || {
        let s = server.stats();
        s.requests == 8 && s.workers.iter().all(|w| w.counters.accepted == 2)
    });
    assert_eq!(server.stats().active_connections, 8);
}

#[test]
fn a_freed_slot_is_refilled_first() {
    let server = per_worker_server(2);
    let mut a = Client::to(&server);
    let mut b = Client::to(&server);
    let wa = worker_of(&mut a);
    let wb = worker_of(&mut b);
    assert_ne!(wa, wb);
    drop(a);
    eventually("the close is seen", || {
        server.stats().active_connections == 1
    });
    let mut c = Client::to(&server);
    assert_eq!(
        worker_of(&mut c),
        wa,
        "the worker with the free slot gets the next connection"
    );
}

#[test]
fn state_is_per_worker_and_persists_across_requests() {
    let server = per_worker_server(1);
    let mut client = Client::to(&server);
    for n in 1..=5 {
        let reply = client.send(get("/")).reply().expect("reply");
        assert_eq!(reply.text(), format!("0 {n}"));
    }
}

#[test]
fn threads_are_named() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .serve(|_: &Request<'_>| {
            Response::text(
                std::thread::current()
                    .name()
                    .unwrap_or("unnamed")
                    .to_owned(),
            )
        })
        .expect("serve");
    let mut names: Vec<String> = (0..2)
        .map(|_| {
            Client::to(&server)
                .send(get("/"))
                .reply()
                .expect("reply")
                .text()
        })
        .collect();
    names.sort();
    assert_eq!(names, ["warden-worker-0", "warden-worker-1"]);
}
