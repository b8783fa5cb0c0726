//! Choosing what happens when something fails, and watching every failure from a
//! monitoring thread.
//!
//! Each `Restart` choice, picked by `on_error` on the thread where the failure happened:
//!
//! | failure | choice here |
//! | --- | --- |
//! | a handler panics on `/flaky` | `Respond` with a 503 and `Retry-After` |
//! | a handler panics on `/poisoned` | `RestartWorker`: its state can't be trusted |
//! | a handler panics on `/unsafe-to-answer` | `CloseConnection` |
//! | a handler panics on `/fatal` | `Shutdown`: `wait()` returns the failure |
//! | anything else | each frame's default (`failure.default_restart()`) |
//!
//! (`AbortWorker` stops a worker without a replacement; see `two_listeners.rs`.)
//!
//! ```sh
//! cargo run --example on_error    # then: curl http://127.0.0.1:3000/flaky
//! ```

mod common;

use std::time::Duration;

use warden::{Failure, FailureKind, Request, Response, Restart, Server};

fn policy(failure: &Failure) -> Restart {
    match (failure.kind, failure.path.as_deref()) {
        (FailureKind::Panic, Some("/flaky")) => Restart::Respond(
            Response::text("busy, try again\n")
                .with_status(503)
                .with_header("Retry-After", "1"),
        ),
        (FailureKind::Panic, Some("/poisoned")) => Restart::RestartWorker,
        (FailureKind::Panic, Some("/unsafe-to-answer")) => Restart::CloseConnection,
        (FailureKind::Panic, Some("/fatal")) => Restart::Shutdown,
        (kind, _) => kind.default_restart(),
    }
}

fn handler(req: &Request<'_>) -> Response {
    match req.path() {
        "/ok" => Response::text("fine\n"),
        path => panic!("{path} failed on purpose"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = common::self_test();
    let server = Server::builder()
        .bind(common::addr("127.0.0.1:3000"))
        .on_error(policy)
        .serve(handler)?;
    let addr = server.local_addrs()[0];
    println!("listening on http://{addr}");

    // Monitoring: every failure, with its context, from every worker. Once someone reads
    // the channel, warden stops logging failures at error level itself.
    let failures = server.failures();
    let monitor = std::thread::spawn(move || {
        let mut seen = 0;
        for failure in failures.iter() {
            seen += 1;
            eprintln!("monitor: {failure}");
        }
        seen
    });

    if self_test {
        assert!(common::get(addr, "/flaky")?.starts_with("HTTP/1.1 503"));
        assert!(common::get(addr, "/ok")?.starts_with("HTTP/1.1 200"));
        assert!(
            common::get(addr, "/unsafe-to-answer")?.is_empty(),
            "closed without an answer"
        );
        assert!(common::get(addr, "/poisoned")?.starts_with("HTTP/1.1 500"));
        // The replacement starts in the background; let it before stopping everything.
        let start = std::time::Instant::now();
        while server.stats().worker_restarts == 0 {
            assert!(start.elapsed() < Duration::from_secs(20), "never restarted");
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(common::get(addr, "/fatal")?.starts_with("HTTP/1.1 500"));
        let stopped = server.wait().expect_err("the policy chose Shutdown");
        println!("stopped: {stopped}");
        assert_eq!(server.stats().worker_restarts, 1);
        drop(server);
        assert_eq!(monitor.join().expect("monitor"), 4);
        println!("self-test passed");
        return Ok(());
    }
    if let Err(reason) = server.wait() {
        eprintln!("server stopped: {reason}");
    }
    server.shutdown(Duration::ZERO);
    Ok(())
}
