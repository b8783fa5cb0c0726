//! The smallest warden server.
//!
//! ```sh
//! cargo run --example hello            # serves http://127.0.0.1:3000 until Ctrl-C
//! curl http://127.0.0.1:3000/hello/you
//! ```
//!
//! With `WARDEN_EXAMPLE_SELF_TEST=1` it serves on a free port, asks itself once, and
//! exits: that is how the test suite runs every example.

mod common;

use std::time::Duration;

use warden::{Request, Response, Server};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = common::self_test();
    let server = Server::builder()
        .bind(common::addr("127.0.0.1:3000"))
        .serve(
            |req: &Request<'_>| match req.path().strip_prefix("/hello/") {
                Some(name) => Response::text(format!("Hello, {name}!\n")),
                None => Response::status_page(404),
            },
        )?;
    let addr = server.local_addrs()[0];
    println!("listening on http://{addr}");

    if self_test {
        let reply = common::get(addr, "/hello/warden")?;
        assert!(reply.ends_with("Hello, warden!\n"), "{reply}");
        println!("self-test passed");
        server.shutdown(Duration::from_secs(1));
    }
    server.wait()?;
    Ok(())
}
