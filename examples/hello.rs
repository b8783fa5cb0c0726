//! The smallest warden server.
//!
//! ```sh
//! cargo run --example hello            # serves http://127.0.0.1:3000 until Ctrl-C
//! curl http://127.0.0.1:3000/hello/you
//! ```
//!
//! With `WARDEN_EXAMPLE_SELF_TEST=1` it serves on a free port, asks itself once, and
//! exits: that is how the test suite runs every example.

use std::time::Duration;

use warden::{Request, Response, Server};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = std::env::var_os("WARDEN_EXAMPLE_SELF_TEST").is_some();
    let server = Server::builder()
        .bind(if self_test {
            "127.0.0.1:0"
        } else {
            "127.0.0.1:3000"
        })
        .serve(
            |req: &Request<'_>| match req.path().strip_prefix("/hello/") {
                Some(name) => Response::text(format!("Hello, {name}!\n")),
                None => Response::status_page(404),
            },
        )?;
    let addr = server.local_addrs()[0];
    println!("listening on http://{addr}");

    if self_test {
        let reply = get(addr, "/hello/warden")?;
        assert!(reply.ends_with("Hello, warden!\n"), "{reply}");
        println!("self-test passed");
        server.shutdown(Duration::from_secs(1));
    }
    server.wait()?;
    Ok(())
}

/// A minimal client, to keep the example free of dependencies.
fn get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}
