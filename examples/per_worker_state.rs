//! A handler per worker, owning a per-worker resource without locks, and rebuilt fresh
//! when its worker is restarted.
//!
//! `serve_with(factory)` calls `factory(worker_id)` on each worker's thread when it
//! starts, and again whenever the worker is replaced after a failure: here a cache that
//! is `RefCell`-based (neither `Send` nor `Sync`), standing in for a database connection
//! or a parser with scratch buffers.
//!
//! ```sh
//! cargo run --example per_worker_state   # then: curl http://127.0.0.1:3000/count
//! ```

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use warden::{Fault, Request, Response, Server};

/// What one worker owns.
struct WorkerState {
    worker: usize,
    hits: RefCell<HashMap<String, u64>>,
}

impl WorkerState {
    fn handle(&self, req: &Request<'_>) -> Response {
        let mut hits = self.hits.borrow_mut();
        let count = hits.entry(req.path().to_owned()).or_default();
        *count += 1;
        let response = Response::text(format!(
            "worker {} saw {} {} times\n",
            self.worker,
            req.path(),
            count
        ));
        if req.path() == "/crash" {
            // Test-only: the worker's loop panics after answering; the supervisor starts a
            // replacement, and the factory builds a fresh state for it.
            return response.with_fault(Fault::WorkerPanic);
        }
        response
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = common::self_test();
    let server = Server::builder()
        .bind(common::addr("127.0.0.1:3000"))
        .workers(1)
        .fault_injection(self_test)
        .serve_with(|worker| {
            println!("worker {worker}: building its state");
            let state = WorkerState {
                worker,
                hits: RefCell::new(HashMap::new()),
            };
            move |req: &Request<'_>| state.handle(req)
        })?;
    let addr = server.local_addrs()[0];
    println!("listening on http://{addr}");

    if self_test {
        assert!(common::get(addr, "/count")?.ends_with("saw /count 1 times\n"));
        assert!(common::get(addr, "/count")?.ends_with("saw /count 2 times\n"));
        common::get(addr, "/crash")?;
        // Wait for the replacement, then see its fresh state.
        while server.stats().worker_restarts == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            common::get(addr, "/count")?.ends_with("saw /count 1 times\n"),
            "fresh after a restart"
        );
        println!("self-test passed");
        server.shutdown(Duration::from_secs(1));
    }
    server.wait()?;
    Ok(())
}
