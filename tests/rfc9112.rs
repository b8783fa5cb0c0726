//! Every RFC 9112 rule of DESIGN.md over a real socket: the exact status, the connection
//! closed after a framing error, and the request pipelined behind it never served.
mod util;

use util::{Client, get, server};

/// (name, raw request, status). Each is followed on the wire by a valid request.
const REJECTED: &[(&str, &str, u16)] = &[
    (
        "cl and te",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "te and cl",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "differing content-lengths",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        400,
    ),
    (
        "content-length +5",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
        400,
    ),
    (
        "content-length 0x5",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello",
        400,
    ),
    (
        "content-length -1",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        400,
    ),
    (
        "content-length 5 5",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\nhello",
        400,
    ),
    (
        "content-length overflow",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 184467440737095516160\r\n\r\n",
        400,
    ),
    (
        "te chunked, gzip",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "te xchunked",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "te space before colon",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "te tab before colon",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "te leading space on name",
        "POST /echo HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "te vertical tab in value",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "te on http/1.0",
        "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
    ),
    (
        "obs-fold",
        "GET /plaintext HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
        400,
    ),
    (
        "bare CR",
        "GET /plaintext HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n",
        400,
    ),
    (
        "NUL in value",
        "GET /plaintext HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n",
        400,
    ),
    (
        "name not a token",
        "GET /plaintext HTTP/1.1\r\nHost: a\r\nX@A: b\r\n\r\n",
        400,
    ),
    ("missing host", "GET /plaintext HTTP/1.1\r\n\r\n", 400),
    (
        "duplicate host",
        "GET /plaintext HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        400,
    ),
    (
        "invalid host",
        "GET /plaintext HTTP/1.1\r\nHost: a b\r\n\r\n",
        400,
    ),
    (
        "malformed request line",
        "GET /plaintext\r\nHost: a\r\n\r\n",
        400,
    ),
    (
        "malformed version",
        "GET /plaintext HTTP/1.x\r\nHost: a\r\n\r\n",
        400,
    ),
    (
        "chunk size non-hex",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        400,
    ),
    (
        "chunk size empty",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\nab\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk size overflow",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
        400,
    ),
    (
        "chunk size 0x5",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk size bare LF",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        400,
    ),
    (
        "chunk data without CRLF",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
        400,
    ),
    (
        "unknown coding",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
    ),
    (
        "http/2.0",
        "GET /plaintext HTTP/2.0\r\nHost: a\r\n\r\n",
        505,
    ),
    (
        "http/3.0",
        "GET /plaintext HTTP/3.0\r\nHost: a\r\n\r\n",
        505,
    ),
];

#[test]
fn rejected_with_status_and_close_and_nothing_after_served() {
    let server = server();
    for (name, request, status) in REJECTED {
        let mut client = Client::to(&server);
        client.send(format!("{request}{}", get("/describe")));
        let reply = client
            .reply()
            .unwrap_or_else(|| panic!("{name}: no response"));
        assert_eq!(reply.status, *status, "{name}");
        assert_eq!(reply.header("connection"), Some("close"), "{name}");
        assert!(
            reply.header("content-length").is_some(),
            "{name}: self-delimiting"
        );
        assert!(
            client.is_closed(),
            "{name}: connection stays open, or the pipelined request was served"
        );
    }
}

#[test]
fn smuggled_request_in_a_rejected_body_is_never_served() {
    let server = server();
    let mut client = Client::to(&server);
    let smuggled = get("/describe");
    client.send(format!(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}",
        5 + smuggled.len()
    ));
    assert_eq!(client.reply().expect("reply").status, 400);
    assert!(client.read_to_close().is_empty());
}

#[test]
fn other_clients_do_not_notice() {
    let server = server();
    let mut steady = Client::to(&server);
    for (name, request, _) in REJECTED {
        let mut bad = Client::to(&server);
        bad.send(request);
        steady.send(get("/plaintext"));
        let reply = steady
            .reply()
            .unwrap_or_else(|| panic!("after {name}: steady client lost"));
        assert_eq!(reply.body, b"Hello, World!");
    }
}

#[test]
fn accepted_forms() {
    let server = server();
    let mut client = Client::to(&server);
    let cases: &[(&str, &str)] = &[
        (
            "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
            "OPTIONS * HTTP/1.1 body=0",
        ),
        (
            "GET http://a.example/describe?q HTTP/1.1\r\nHost: a.example\r\n\r\n",
            "GET http://a.example/describe?q HTTP/1.1 body=0",
        ),
        (
            "POST /describe HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nhi",
            "POST /describe HTTP/1.1 body=2",
        ),
        (
            "\r\nGET /describe HTTP/1.1\r\nHost: a\r\n\r\n",
            "GET /describe HTTP/1.1 body=0",
        ),
        (
            "GET /describe HTTP/1.1\nHost: a\n\n",
            "GET /describe HTTP/1.1 body=0",
        ),
        (
            "GET /describe HTTP/1.1\r\nHost:\r\n\r\n",
            "GET /describe HTTP/1.1 body=0",
        ),
    ];
    for (request, described) in cases {
        client.send(request);
        let reply = client.reply().expect("reply");
        assert_eq!(reply.text(), *described);
    }
    // CONNECT's authority form parses and reaches the handler (which has no route for it).
    client.send("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n");
    assert_eq!(client.reply().expect("reply").status, 404);
}

#[test]
fn the_authority_of_an_absolute_target_replaces_host() {
    let server = server();
    let mut client = Client::to(&server);
    client.send("GET http://a.example:8080/host HTTP/1.1\r\nHost: b.example\r\n\r\n");
    assert_eq!(client.reply().expect("reply").text(), "a.example:8080");
    client.send("GET /host HTTP/1.1\r\nHost: b.example\r\n\r\n");
    assert_eq!(client.reply().expect("reply").text(), "b.example");
}

#[test]
fn a_2xx_to_connect_carries_no_length_and_ends_the_connection() {
    let server = warden::Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(|_: &warden::Request<'_>| warden::Response::new(200))
        .expect("serve");
    let mut client = Client::to(&server);
    client.send("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n");
    let raw = String::from_utf8(client.read_to_close()).expect("ascii");
    assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
    assert!(!raw.contains("Content-Length"), "{raw}");
    assert!(raw.contains("Connection: close\r\n"), "{raw}");
}
