//! The embedding API: configuration errors, addresses, stats, shutdown.
mod util;

use std::time::Duration;

use util::{Client, eventually, routes};
use warden::{Error, Server};

#[test]
fn bind_failure_names_the_address_and_the_os_error() {
    let first = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(routes)
        .expect("first");
    let taken = first.local_addrs()[0];
    let err = Server::builder()
        .bind(taken)
        .workers(1)
        .serve(routes)
        .expect_err("port is taken");
    assert!(matches!(err, Error::Bind { addr, .. } if addr == taken));
    let message = err.to_string();
    assert!(message.contains(&taken.to_string()), "{message}");
    assert!(message.to_lowercase().contains("in use"), "{message}");
}

#[test]
fn configuration_errors_are_errors_not_panics() {
    let no_addr = Server::builder().serve(routes).expect_err("no address");
    assert!(matches!(no_addr, Error::NoAddress));
    let zero = Server::builder()
        .bind("127.0.0.1:0")
        .workers(0)
        .serve(routes)
        .expect_err("0 workers");
    assert!(matches!(zero, Error::Config { .. }));
    assert!(zero.to_string().contains("workers"));
    let bad_name = Server::builder()
        .bind("127.0.0.1:0")
        .config({
            let mut c = warden::Config::default();
            c.server_name = "a\r\nb".into();
            c
        })
        .serve(routes)
        .expect_err("bad server name");
    assert!(matches!(bad_name, Error::Config { .. }));
    let unresolvable = Server::builder()
        .bind("no-such-host.invalid:80")
        .serve(routes)
        .expect_err("resolve");
    assert!(matches!(unresolvable, Error::Resolve { .. }));
}

#[test]
fn several_addresses_each_serve() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(routes)
        .expect("serve");
    assert_eq!(server.local_addrs().len(), 2);
    for addr in server.local_addrs() {
        let mut client = Client::connect(*addr);
        assert_eq!(client.get_status("/plaintext"), 200);
    }
    eventually("both counted", || server.stats().requests == 2);
}

#[test]
fn shutdown_closes_idle_connections_and_wait_returns() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(2)
        .serve(routes)
        .expect("serve");
    let mut idle = Client::to(&server);
    assert_eq!(idle.get_status("/plaintext"), 200);
    server.shutdown(Duration::from_secs(10));
    assert!(
        idle.is_closed(),
        "idle keep-alive connection closed at once"
    );
    server.wait().expect("clean exit");
    assert!(
        std::net::TcpStream::connect(server.local_addrs()[0]).is_err(),
        "no longer listening"
    );
}
