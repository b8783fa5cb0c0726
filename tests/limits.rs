//! Size limits: 414, 431, 413, each with a closed connection.
mod util;

use util::{Client, expect_final, get, server, server_with};

#[test]
fn request_line_too_long_is_414() {
    let server = server();
    let mut client = Client::to(&server);
    client.send(get(&format!("/{}", "a".repeat(9 * 1024))));
    expect_final(&mut client, 414);
}

#[test]
fn request_line_just_under_the_limit_is_served() {
    let server = server();
    let mut client = Client::to(&server);
    // "GET " + target + " HTTP/1.1" = 8 KiB exactly.
    let target = format!("/describe?{}", "a".repeat(8 * 1024 - 4 - 9 - 10));
    client.send(get(&target));
    assert_eq!(client.reply().expect("reply").status, 200);
}

#[test]
fn head_too_large_is_431() {
    let server = server();
    let mut client = Client::to(&server);
    let mut request = String::from("GET /plaintext HTTP/1.1\r\nHost: a\r\n");
    for i in 0..40 {
        request.push_str(&format!("X-Filler-{i}: {}\r\n", "v".repeat(500)));
    }
    request.push_str("\r\n");
    client.send(request);
    expect_final(&mut client, 431);
}

#[test]
fn too_many_headers_is_431() {
    let server = server();
    let mut client = Client::to(&server);
    let mut request = String::from("GET /plaintext HTTP/1.1\r\nHost: a\r\n");
    for i in 0..64 {
        request.push_str(&format!("X-{i}: v\r\n"));
    }
    request.push_str("\r\n");
    client.send(request);
    expect_final(&mut client, 431);
}

#[test]
fn body_too_large_is_413() {
    let server = server_with(|b| b.max_body(1000));
    let mut client = Client::to(&server);
    client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n");
    expect_final(&mut client, 413);

    let mut client = Client::to(&server);
    client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n");
    client.send("x".repeat(1000));
    client.send("\r\n1\r\n");
    expect_final(&mut client, 413);

    let mut client = Client::to(&server);
    client.send(format!(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n{}",
        "x".repeat(1000)
    ));
    assert_eq!(
        client.reply().expect("reply").body.len(),
        1000,
        "the limit itself is allowed"
    );
}

#[test]
fn default_body_limit_is_one_mebibyte() {
    let server = server();
    let mut client = Client::to(&server);
    client.send(format!(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        (1 << 20) + 1
    ));
    expect_final(&mut client, 413);
}
