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
