//! Failures under concurrent load: a panic storm beside keep-alive traffic costs the
//! panicking requests their 500s and nobody else anything.
mod util;

use std::thread;

use util::{Client, get, server_with};
use warden::FailureKind;

#[test]
fn panic_storm_beside_keep_alive_traffic() {
    let server = server_with(|b| b.workers(2));
    let addr = server.local_addrs()[0];
    let normal: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let mut client = Client::connect(addr);
                for _ in 0..300 {
                    let reply = client.send(get("/plaintext")).reply().expect("never fails");
                    assert_eq!(reply.body, b"Hello, World!");
                }
            })
        })
        .collect();
    let storm: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || {
                let mut client = Client::connect(addr);
                for _ in 0..300 {
                    assert_eq!(client.get_status("/panic"), 500);
                }
            })
        })
        .collect();
    for t in normal.into_iter().chain(storm) {
        t.join().expect("client thread");
    }
    let stats = server.stats();
    assert_eq!(stats.failures_of(FailureKind::Panic), 600);
    assert_eq!(
        stats.worker_restarts, 0,
        "panics in handlers never cost a worker"
    );
}
