//! Calling a (simulated) database without stalling the event loop: each query runs on
//! the blocking pool, each pool thread holds its own database connection, and the error
//! policy tells a slow database from a busy server.
//!
//! | route | what happens |
//! | --- | --- |
//! | `/users/ID` | a 20 ms query on the pool, on that thread's own connection |
//! | `/report` | a 300 ms query |
//! | `/report?year=all` | a 1.5 s query: past the 1 s deadline, answered 504 |
//! | `/health` | answered on the loop, never waits for the database |
//!
//! The policy answers a job past its deadline (`FailureKind::Timeout`) with 504 Gateway
//! Timeout, and a full queue (`FailureKind::Overload`) with 503 and `Retry-After: 2`.
//!
//! ```sh
//! cargo run --example blocking    # then: curl http://127.0.0.1:3000/users/7
//! ```

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use warden::{Failure, FailureKind, Request, Response, Restart, Server, with_resource};

/// A connection to the simulated database: blocking calls, one per pool thread.
struct Db {
    id: usize,
    queries: u64,
}

impl Db {
    fn connect() -> Db {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        Db {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            queries: 0,
        }
    }

    /// A query that takes `cost` and returns one row.
    fn query(&mut self, sql: &str, cost: Duration) -> String {
        std::thread::sleep(cost);
        self.queries += 1;
        format!(
            "{sql} -> 1 row (connection {}, its query #{})\n",
            self.id, self.queries
        )
    }
}

fn handler(req: &Request<'_>) -> Response {
    let path = req.path();
    if path == "/health" {
        return Response::text("ok\n");
    }
    let (sql, cost) = if let Some(id) = path.strip_prefix("/users/") {
        let Ok(id) = id.parse::<u64>() else {
            return Response::status_page(404);
        };
        (
            format!("SELECT name FROM users WHERE id = {id}"),
            Duration::from_millis(20),
        )
    } else if path == "/report" && req.query() == Some("year=all") {
        (
            "SELECT sum(total) FROM orders".to_owned(),
            Duration::from_millis(1500),
        )
    } else if path == "/report" {
        (
            "SELECT sum(total) FROM orders WHERE year = 2026".to_owned(),
            Duration::from_millis(300),
        )
    } else {
        return Response::status_page(404);
    };
    // The closure runs on a pool thread; the loop moves on to other connections now.
    req.blocking(
        move |_| match with_resource(|db: &mut Db| db.query(&sql, cost)) {
            Some(row) => Response::text(row),
            None => Response::status_page(500),
        },
    )
}

fn policy(failure: &Failure) -> Restart {
    match failure.kind {
        FailureKind::Timeout => Restart::Respond(
            Response::text("the database did not answer in time\n").with_status(504),
        ),
        FailureKind::Overload => Restart::Respond(
            Response::text("too busy, try again shortly\n")
                .with_status(503)
                .with_header("Retry-After", "2"),
        ),
        _ => failure.default_restart(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = common::self_test();
    let mut builder = Server::builder()
        .bind(common::addr("127.0.0.1:3000"))
        .blocking_resource(Db::connect)
        .blocking_timeout(Duration::from_secs(1))
        .on_error(policy);
    if self_test {
        // Small enough to fill: one thread, one queued job.
        builder = builder.workers(1).blocking_threads(1).blocking_queue(1);
    }
    let server = builder.serve(handler)?;
    let addr = server.local_addrs()[0];
    println!("listening on http://{addr}");

    if self_test {
        let users = common::get(addr, "/users/7")?;
        assert!(users.starts_with("HTTP/1.1 200"), "{users}");
        assert!(users.contains("users WHERE id = 7"), "{users}");

        // One report runs, one waits in the queue, and a third finds no room: 503.
        let first = std::thread::spawn(move || common::get(addr, "/report"));
        wait_for(|| server.stats().blocking.busy == 1);
        let second = std::thread::spawn(move || common::get(addr, "/report"));
        wait_for(|| server.stats().blocking.queued == 1);
        let busy = common::get(addr, "/users/8")?;
        assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
        assert!(busy.contains("Retry-After: 2"), "{busy}");
        // The loop itself never waits for the database.
        assert!(common::get(addr, "/health")?.starts_with("HTTP/1.1 200"));
        for report in [first, second] {
            let report = report.join().expect("client thread")?;
            assert!(report.starts_with("HTTP/1.1 200"), "{report}");
        }

        // Past its deadline: 504, and the pool stays usable.
        let slow = common::get(addr, "/report?year=all")?;
        assert!(slow.starts_with("HTTP/1.1 504"), "{slow}");
        assert!(common::get(addr, "/users/9")?.starts_with("HTTP/1.1 200"));
        let stats = server.stats();
        assert_eq!(stats.failures_of(FailureKind::Overload), 1);
        assert_eq!(stats.failures_of(FailureKind::Timeout), 1);
        server.shutdown(Duration::from_secs(2));
        server.wait()?;
        println!("self-test passed");
        return Ok(());
    }
    server.wait()?;
    Ok(())
}

/// Waits (bounded) for a counter the pool publishes from its own threads.
fn wait_for(condition: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !condition() {
        assert!(start.elapsed() < Duration::from_secs(20), "never happened");
        std::thread::sleep(Duration::from_millis(2));
    }
}
