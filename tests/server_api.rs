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
    // Settings that could only give nonsense are refused at once, naming the setting.
    let mut tiny = warden::Config::default();
    tiny.read_buffer = 0;
    let cases: Vec<(warden::Builder, &str)> = vec![
        (Server::builder().config(tiny), "read_buffer"),
        (
            Server::builder().header_timeout(std::time::Duration::ZERO),
            "timeouts",
        ),
        (
            Server::builder().handler_deadline(Some(std::time::Duration::ZERO)),
            "handler_deadline",
        ),
        (Server::builder().workers(1_000_000), "workers"),
        (Server::builder().blocking_threads(0), "blocking_threads"),
        (
            Server::builder().blocking_timeout(std::time::Duration::ZERO),
            "blocking_timeout",
        ),
        (Server::builder().max_request_line(4), "max_request_line"),
        (
            Server::builder().failure_channel_capacity(0),
            "failure_channel",
        ),
    ];
    for (builder, setting) in cases {
        let err = builder
            .bind("127.0.0.1:0")
            .serve(routes)
            .expect_err(setting);
        assert!(matches!(err, Error::Config { .. }), "{setting}: {err:?}");
        assert!(err.to_string().contains(setting), "{setting}: {err}");
    }
    // "No limit" on the body is a setting, not an overflow.
    let unlimited = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .max_body(usize::MAX)
        .serve(routes)
        .expect("serve");
    let mut client = util::Client::to(&unlimited);
    let reply = client
        .send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        .reply()
        .expect("echo");
    assert_eq!(reply.text(), "abc");
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

#[test]
fn a_handler_holding_a_weak_handle_lets_the_server_go() {
    use std::sync::{Arc, OnceLock};
    use warden::WeakServerHandle;
    let me: Arc<OnceLock<WeakServerHandle>> = Arc::default();
    let slot = Arc::clone(&me);
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .shutdown_grace(std::time::Duration::ZERO)
        .serve(move |req: &warden::Request<'_>| {
            match slot.get().and_then(WeakServerHandle::upgrade) {
                Some(server) => {
                    warden::Response::text(format!("{} requests", server.stats().requests))
                }
                None => routes(req),
            }
        })
        .expect("serve");
    let _ = me.set(server.downgrade());
    let addr = server.local_addrs()[0];
    let mut client = util::Client::connect(addr);
    assert_eq!(client.get_status("/anything"), 200);
    drop(client);
    // The last strong handle goes: the server shuts down and stops listening, although
    // its own handler can still reach it weakly.
    drop(server);
    assert!(me.get().expect("set").upgrade().is_none());
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still listening"
    );
}

#[test]
fn content_type_set_as_a_header_is_the_one_content_type() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(|_: &warden::Request<'_>| {
            warden::Response::text("<p>x</p>").with_header("Content-Type", "text/html")
        })
        .expect("serve");
    let mut client = util::Client::to(&server);
    let reply = client.send(util::get("/")).reply().expect("reply");
    let types: Vec<_> = reply
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .collect();
    assert_eq!(types.len(), 1, "{:?}", reply.headers);
    assert_eq!(types[0].1, "text/html");
}
