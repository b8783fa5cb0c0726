//! Pipelining: every request buffered is answered, in order, in one batch.
mod util;

use util::{Client, get, server};

#[test]
fn a_hundred_requests_in_one_write() {
    let server = server();
    let mut client = Client::to(&server);
    let mut batch = String::new();
    for i in 0..100 {
        if i % 2 == 0 {
            batch.push_str(&get("/plaintext"));
        } else {
            batch.push_str(&format!(
                "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{i}",
                i.to_string().len()
            ));
        }
    }
    client.send(&batch);
    for i in 0..100 {
        let reply = client.reply().expect("reply");
        assert_eq!(reply.status, 200);
        if i % 2 == 0 {
            assert_eq!(reply.body, b"Hello, World!", "response {i}");
        } else {
            assert_eq!(reply.text(), i.to_string(), "response {i} in order");
        }
    }
}

#[test]
fn pipelined_requests_split_anywhere() {
    let server = server();
    let batch = format!(
        "{}POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n{}",
        get("/plaintext"),
        get("/json")
    );
    // The same bytes cut at each position give the same three responses.
    for cut in 0..batch.len() {
        let mut client = Client::to(&server);
        client.send(&batch[..cut]);
        client.send(&batch[cut..]);
        let bodies: Vec<Vec<u8>> = (0..3)
            .map(|_| client.reply().expect("reply").body)
            .collect();
        assert_eq!(
            bodies,
            [
                b"Hello, World!".to_vec(),
                b"ok".to_vec(),
                br#"{"message":"Hello, World!"}"#.to_vec()
            ],
            "cut at {cut}"
        );
    }
}

#[test]
fn a_close_in_the_middle_stops_the_pipeline() {
    let server = server();
    let mut client = Client::to(&server);
    client.send(format!(
        "{}GET /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n{}",
        get("/json"),
        get("/plaintext")
    ));
    assert_eq!(client.reply().expect("first").status, 200);
    let second = client.reply().expect("second");
    assert_eq!(second.header("connection"), Some("close"));
    assert!(
        client.is_closed(),
        "the request after Connection: close is not served"
    );
}

#[test]
fn large_pipelined_responses_are_all_delivered() {
    // Responses far beyond the output high-water mark, to a client that reads slowly.
    let server = server();
    let mut client = Client::to(&server);
    let body = "b".repeat(200_000);
    let request = format!(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let writer = {
        let mut stream = client.stream.try_clone().expect("clone");
        std::thread::spawn(move || {
            use std::io::Write;
            for _ in 0..10 {
                stream.write_all(request.as_bytes()).expect("write");
            }
        })
    };
    for _ in 0..10 {
        let reply = client.reply().expect("reply");
        assert_eq!(reply.body.len(), body.len());
    }
    writer.join().expect("writer");
}
