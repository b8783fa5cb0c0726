//! Draining on SIGINT or SIGTERM: stop accepting, close idle connections, finish what is
//! in flight (answered with `Connection: close`), then exit. A second signal exits at
//! once.
//!
//! ```sh
//! cargo run --example graceful_shutdown &
//! curl http://127.0.0.1:3000/slow & sleep 0.1; kill -TERM %1   # the slow request still completes
//! ```

mod common;

use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use warden::{Request, Response, Server};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = common::self_test();
    let server = Server::builder()
        .bind(common::addr("127.0.0.1:3000"))
        .health_route("/healthz")
        .serve(|req: &Request<'_>| {
            if req.path() == "/slow" {
                std::thread::sleep(Duration::from_millis(300));
            }
            Response::text("done\n")
        })?;
    let addr = server.local_addrs()[0];
    println!("listening on http://{addr}");

    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let handle = server.clone();
    std::thread::spawn(move || {
        let mut received = signals.forever();
        if received.next().is_some() {
            println!("draining: in-flight requests finish, idle connections close");
            handle.shutdown(Duration::from_secs(30));
        }
        if received.next().is_some() {
            std::process::exit(130);
        }
    });

    if self_test {
        let slow = std::thread::spawn(move || common::request(addr, "/slow", false));
        std::thread::sleep(Duration::from_millis(100)); // the slow request is in its handler
        signal_hook::low_level::raise(SIGTERM)?;
        let reply = slow.join().expect("client")?;
        assert!(
            reply.starts_with("HTTP/1.1 200") && reply.contains("Connection: close"),
            "{reply}"
        );
        server.wait()?;
        println!("self-test passed");
        return Ok(());
    }
    server.wait()?;
    println!("stopped cleanly");
    Ok(())
}
