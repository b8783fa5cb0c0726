//! A public listener and an admin listener in one process, with different error
//! policies: the public side never shows internals (a plain 503), the admin side shows
//! operators what failed and where.
//!
//! ```sh
//! cargo run --example two_listeners
//! curl http://127.0.0.1:3000/report    # 503, nothing leaked
//! curl http://127.0.0.1:3001/report    # 500 with the failure
//! ```

mod common;

use std::time::Duration;

use warden::{Failure, FailureKind, Request, Response, Restart, Server};

/// Public: say as little as possible.
fn public_policy(failure: &Failure) -> Restart {
    match failure.kind {
        FailureKind::Panic | FailureKind::InvalidResponse => {
            Restart::Respond(Response::text("temporarily unavailable\n").with_status(503))
        }
        kind => kind.default_restart(),
    }
}

/// Admin: say everything.
fn admin_policy(failure: &Failure) -> Restart {
    match failure.kind {
        FailureKind::Panic | FailureKind::InvalidResponse => {
            Restart::Respond(Response::text(format!("{failure}\n")).with_status(500))
        }
        kind => kind.default_restart(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = common::self_test();
    let (public, admin) = (
        common::addr("127.0.0.1:3000"),
        common::addr("127.0.0.1:3001"),
    );
    let server = Server::builder()
        .bind_with(public, public_policy)
        .bind_with(admin, admin_policy)
        .serve(|req: &Request<'_>| match req.path() {
            "/report" => panic!("the report generator is broken"),
            _ => Response::text("ok\n"),
        })?;
    let (public, admin) = (server.local_addrs()[0], server.local_addrs()[1]);
    println!("public on http://{public}, admin on http://{admin}");

    if self_test {
        let reply = common::get(public, "/report")?;
        assert!(
            reply.starts_with("HTTP/1.1 503") && !reply.contains("broken"),
            "{reply}"
        );
        let reply = common::get(admin, "/report")?;
        assert!(
            reply.starts_with("HTTP/1.1 500") && reply.contains("the report generator is broken"),
            "{reply}"
        );
        println!("self-test passed");
        server.shutdown(Duration::from_secs(1));
    }
    server.wait()?;
    Ok(())
}
