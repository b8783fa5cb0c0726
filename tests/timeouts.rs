//! Each timeout, configured short. The assertions are about what happens when a timer
//! fires, never about how soon: a slow machine only makes these tests slower.
mod util;

use std::time::Duration;

use util::{Client, eventually, expect_final, server_with};

const SHORT: Duration = Duration::from_millis(200);

#[test]
fn header_timeout_answers_408_and_closes() {
    let server = server_with(|b| b.header_timeout(SHORT));
    let mut client = Client::to(&server);
    client.send("GET /plaintext HTTP/1.1\r\nHost:");
    expect_final(&mut client, 408);
}

#[test]
fn header_timeout_is_not_extended_by_dripping_bytes() {
    let server = server_with(|b| b.header_timeout(SHORT));
    let mut client = Client::to(&server);
    client.send("GET /plaintext HTTP/1.1\r\n");
    // Keep dripping until the server gives up; each byte is progress, and must not help.
    let reply = loop {
        std::thread::sleep(Duration::from_millis(20));
        if client.stream.peek(&mut [0u8; 1]).is_ok_and(|n| n > 0) {
            break client.reply().expect("408");
        }
        use std::io::Write;
        if client.stream.write_all(b"X").is_err() {
            break client.reply().expect("408 before the reset");
        }
    };
    assert_eq!(reply.status, 408);
}

#[test]
fn silent_new_connection_times_out_too() {
    let server = server_with(|b| b.header_timeout(SHORT));
    let mut client = Client::to(&server);
    expect_final(&mut client, 408);
}

#[test]
fn idle_keepalive_closes_silently() {
    let server = server_with(|b| b.keepalive_timeout(SHORT));
    let mut client = Client::to(&server);
    assert_eq!(client.get_status("/plaintext"), 200);
    assert!(client.is_closed(), "closed without another response");
}

#[test]
fn keepalive_timeout_does_not_cut_active_connections() {
    let server = server_with(|b| {
        b.keepalive_timeout(Duration::from_secs(30))
            .header_timeout(Duration::from_secs(30))
    });
    let mut client = Client::to(&server);
    for _ in 0..20 {
        assert_eq!(client.get_status("/plaintext"), 200);
    }
}

#[test]
fn stalled_body_answers_408() {
    let server = server_with(|b| b.body_timeout(SHORT));
    let mut client = Client::to(&server);
    client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    expect_final(&mut client, 408);
}

#[test]
fn a_client_that_never_reads_is_cut_at_the_write_timeout() {
    let server = server_with(|b| b.write_timeout(SHORT));
    let client = Client::to(&server);
    // Ask for far more than the socket buffers hold, and never read.
    let body = "r".repeat(1 << 20);
    let request = format!(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = client.stream.try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        for _ in 0..8 {
            if stream.write_all(request.as_bytes()).is_err() {
                break; // the server gave up on us: expected
            }
        }
    });
    eventually("the stuck connection is closed", || {
        server.stats().accepted == 1 && server.stats().active_connections == 0
    });
    drop(client);
    writer.join().expect("writer");
}

#[test]
fn the_write_deadline_is_not_extended_by_a_client_that_sends_but_never_reads() {
    use std::io::Write;
    let server = warden::Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .write_timeout(Duration::from_millis(500))
        .serve(|req: &warden::Request<'_>| match req.path() {
            // Far more than the socket buffers of both sides hold.
            "/big" => warden::Response::bytes("application/octet-stream", vec![b'x'; 32 << 20]),
            _ => util::routes(req),
        })
        .expect("serve");
    let mut client = Client::to(&server);
    // Each byte on the wire at once, not held back by Nagle's algorithm.
    client.stream.set_nodelay(true).expect("nodelay");
    client.send(util::get("/big"));
    // Keep sending, never read: each byte wakes the server, none of it is progress in
    // writing, so the deadline set when the output stalled must still fire.
    let start = std::time::Instant::now();
    while !(server.stats().accepted == 1 && server.stats().active_connections == 0) {
        assert!(
            start.elapsed() < util::PATIENCE,
            "a client that sends without reading kept its connection"
        );
        let _ = client.stream.write_all(b"x"); // fails once the server is gone
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn each_pipelined_head_gets_its_own_header_deadline() {
    let timeout = Duration::from_millis(600);
    let server = server_with(|b| b.header_timeout(timeout));
    let mut client = Client::to(&server);
    // Each write ends one request and starts the next, for well past one header timeout
    // in all: every head arrives within its own deadline, so none may be answered 408.
    client.send("GET /plaintext HTTP/1.1\r\nHost: a");
    let start = std::time::Instant::now();
    let mut answered = 0;
    while start.elapsed() < timeout * 3 {
        std::thread::sleep(timeout / 4);
        client.send("\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: a");
        let reply = client.reply().expect("an answer");
        assert_eq!(
            reply.status,
            200,
            "answer {answered} after {:?}",
            start.elapsed()
        );
        answered += 1;
    }
    assert!(answered >= 8);
}
