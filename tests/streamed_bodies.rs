//! Streamed request bodies over sockets: larger than `max_body`, Content-Length and
//! chunked, `100 Continue` only once the handler reads (and none when it refuses first),
//! framing errors and a client that leaves reaching the reader, the size limit, and the
//! loop holding the client back while the reader does not read.
mod util;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender};
use util::{Client, PATIENCE, eventually, get};
use warden::{BodyReader, INFLOW_BOUND, Request, Responder, Response, Server, ServerHandle};

/// A streamed body and the responder that answers once it is read.
type Held = (BodyReader, Responder);

/// Streams `/up*` bodies: `/up` counts and sums the body on the pool; `/up/refuse` answers
/// 413 without reading; `/up/held` hands the reader and the responder to the test.
fn upload_server(held: Option<Sender<Held>>) -> ServerHandle {
    let held = std::sync::Mutex::new(held);
    Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .max_body(1024)
        .max_streamed_body(64 * 1024 * 1024)
        .stream_bodies(|req| req.path().starts_with("/up"))
        .serve(move |req: &Request<'_>| -> Response {
            match req.path() {
                "/up/refuse" => Response::text("too large for you\n").with_status(413),
                "/up/held" => {
                    let body = req.body_reader().expect("a streamed body");
                    let (pending, responder) = req.defer();
                    let tx = held.lock().expect("lock").clone().expect("a holder");
                    let _ = tx.send((body, responder));
                    pending
                }
                "/up" => {
                    let mut body = req.body_reader().expect("a streamed body");
                    req.blocking(move |_| {
                        let mut all = Vec::new();
                        match body.read_to_end(&mut all) {
                            Ok(n) => Response::text(format!("{n} {}", checksum(&all))),
                            Err(e) => Response::text(format!("{:?}", e.kind())).with_status(400),
                        }
                    })
                }
                _ => Response::text(format!("buffered {}", req.body().len())),
            }
        })
        .expect("server starts")
}

fn checksum(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0u64, |h, &b| h.rotate_left(5) ^ u64::from(b))
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn a_body_larger_than_max_body_streams_whole_then_the_connection_goes_on() {
    let server = upload_server(None);
    let body = payload(4 * 1024 * 1024);
    let mut client = Client::to(&server);
    client.send(format!(
        "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    client.send(&body);
    client.send(get("/after"));
    let reply = client.reply().expect("an answer");
    assert_eq!(reply.text(), format!("{} {}", body.len(), checksum(&body)));
    assert_eq!(client.reply().expect("the next").text(), "buffered 0");
    // Buffered bodies keep their limit.
    let reply = client
        .send("POST /other HTTP/1.1\r\nHost: t\r\nContent-Length: 2048\r\n\r\n")
        .reply()
        .expect("an answer");
    assert_eq!(reply.status, 413);
}

#[test]
fn a_chunked_body_streams_decoded() {
    let server = upload_server(None);
    let body = payload(300_000);
    let mut encoded = Vec::new();
    for chunk in body.chunks(70_001) {
        encoded.extend_from_slice(format!("{:x};ext=1\r\n", chunk.len()).as_bytes());
        encoded.extend_from_slice(chunk);
        encoded.extend_from_slice(b"\r\n");
    }
    encoded.extend_from_slice(b"0\r\nTrailer: x\r\n\r\n");
    let mut client = Client::to(&server);
    client.send("POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    client.send(&encoded);
    let reply = client.reply().expect("an answer");
    assert_eq!(reply.text(), format!("{} {}", body.len(), checksum(&body)));
    assert_eq!(
        client.send(get("/after")).reply().expect("next").text(),
        "buffered 0"
    );
}

#[test]
fn continue_is_sent_when_the_handler_reads_and_not_when_it_refuses() {
    let server = upload_server(None);
    // Accepted: the client waits for 100 before sending its body.
    let mut client = Client::to(&server);
    client
        .send("POST /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let interim = client.reply().expect("100 Continue");
    assert_eq!(interim.status, 100);
    client.send("hello");
    let reply = client.reply().expect("the answer");
    assert_eq!(reply.text(), format!("5 {}", checksum(b"hello")));

    // Refused: the final answer, no 100, and the connection closes after it.
    let mut client = Client::to(&server);
    client.send(
        "POST /up/refuse HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 9999999\r\n\r\n",
    );
    let reply = client.reply().expect("the refusal");
    assert_eq!(reply.status, 413);
    assert!(client.is_closed());
}

#[test]
fn framing_errors_and_limits_reach_the_reader_or_the_client() {
    let server = upload_server(None);
    // A malformed chunk size halfway: the reader fails, the connection closes after.
    let mut client = Client::to(&server);
    client.send(
        "POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
    );
    let reply = client.reply().expect("an answer");
    assert_eq!((reply.status, reply.text().as_str()), (400, "InvalidData"));
    assert!(client.is_closed());

    // Past max_streamed_body: 413 before a byte of the body is read.
    let mut client = Client::to(&server);
    client.send(format!(
        "POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        65 * 1024 * 1024
    ));
    let reply = client.reply().expect("an answer");
    assert_eq!(reply.status, 413);

    // The client closes its side before the body ends: the reader learns it.
    let mut client = Client::to(&server);
    client.send("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly this");
    client.finish_sending();
    let reply = client.reply().expect("an answer");
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (400, "UnexpectedEof")
    );
}

#[test]
fn a_reader_that_does_not_read_holds_the_client_back() {
    const TOTAL: usize = 48 * 1024 * 1024;
    let (tx, rx): (Sender<Held>, Receiver<Held>) = crossbeam_channel::unbounded();
    let server = upload_server(Some(tx));
    let client = Client::to(&server);
    let mut stream = client.stream.try_clone().expect("clone");
    let written = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&written);
    let sender = std::thread::spawn(move || {
        write!(
            stream,
            "POST /up/held HTTP/1.1\r\nHost: t\r\nContent-Length: {TOTAL}\r\n\r\n"
        )
        .expect("head");
        let block = vec![b'z'; 64 * 1024];
        let mut sent = 0;
        while sent < TOTAL {
            stream
                .write_all(&block)
                .expect("the server reads it all in the end");
            sent += block.len();
            counter.store(sent as u64, Ordering::SeqCst);
        }
    });
    let (mut body, responder) = rx.recv_timeout(PATIENCE).expect("the reader");
    eventually("the client starts sending", || {
        written.load(Ordering::SeqCst) > 0
    });
    // However fast the client, it gets no further ahead of the reader than what the
    // kernel buffers hold plus the reader's bound: the server does not buffer the body.
    let slack = (32 * 1024 * 1024 + 2 * INFLOW_BOUND) as u64;
    let mut read = 0u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let ahead = written.load(Ordering::SeqCst).saturating_sub(read);
        assert!(
            ahead <= slack,
            "the client ran {ahead} bytes ahead of the reader"
        );
        match body.read(&mut buf).expect("the body") {
            0 => break,
            n => read += n as u64,
        }
    }
    assert_eq!(read, TOTAL as u64);
    sender.join().expect("sender");
    responder
        .send(Response::text("read\n"))
        .expect("the client waits");
    let mut client = client;
    assert_eq!(client.reply().expect("the answer").text(), "read\n");
}
