//! Worker recycling: a worker is replaced after its share of requests, and its clients
//! notice nothing, not even one in the middle of a request.
mod util;

use util::{Client, eventually, get, server_with};

#[test]
fn a_worker_is_recycled_after_its_share_and_its_clients_go_on() {
    let server = server_with(|b| b.max_requests_per_worker(5, 0));
    let failures = server.failures();
    let mut client = Client::to(&server);
    // Half a request, then the rest later: across recyclings the bytes stay in order.
    for i in 0..23 {
        if i % 4 == 0 {
            client.send("GET /plaintext HTTP/1.1\r\nHo");
            client.send("st: a\r\n\r\n");
            assert_eq!(client.reply().expect("answered").status, 200, "request {i}");
        } else {
            assert_eq!(client.get_status("/plaintext"), 200, "request {i}");
        }
    }
    eventually("recycled at least four times", || {
        server.stats().worker_recycles >= 4
    });
    // Counted by each worker as it goes, and kept from the ones replaced.
    eventually("every request counted", || server.stats().requests == 23);
    assert_eq!(
        server.stats().worker_restarts,
        0,
        "recycling is not a restart"
    );
    assert!(failures.try_recv().is_err(), "recycling is not a failure");
    // A fresh client is served by the current worker.
    let mut fresh = Client::to(&server);
    assert_eq!(fresh.send(get("/json")).reply().expect("reply").status, 200);
}
