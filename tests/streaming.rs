//! Streamed responses over sockets: chunked and close-delimited bodies, HEAD, ordering
//! with pipelined requests, backpressure, a client that leaves, a writer that is dropped
//! or panics, a refused head, and Server-Sent Events framing.
mod util;

use std::io::{ErrorKind, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::Sender;
use util::{Client, PATIENCE, eventually, get, next_failure};
use warden::{
    BodyWriter, Event, FailureKind, OwnedRequest, Request, Responder, Response, STREAM_BOUND,
    Server, ServerHandle,
};

/// A one-worker server whose handler defers every request and runs `write` with its
/// responder on a thread of its own (`/plain` is answered at once).
fn stream_server<F>(write: F) -> ServerHandle
where
    F: Fn(Responder) + Send + Sync + 'static,
{
    let write = Arc::new(write);
    Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(move |req: &Request<'_>| -> Response {
            if req.path() == "/plain" {
                return Response::text("plain");
            }
            let (pending, responder) = req.defer();
            let write = Arc::clone(&write);
            std::thread::spawn(move || write(responder));
            pending
        })
        .expect("server starts")
}

/// A plain head.
fn head() -> Response {
    Response::new(200).with_content_type("text/plain")
}

/// Writes the lines `0..n` of the request's `n=` (default 3), flushing each.
fn lines(responder: Responder) {
    let n: usize = responder
        .request()
        .query()
        .and_then(|q| q.strip_prefix("n="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let mut body = responder.stream(head()).expect("the client waits");
    for i in 0..n {
        writeln!(body, "line {i}").expect("written");
        body.flush().expect("flushed");
    }
    body.finish().expect("finished");
}

#[test]
fn a_streamed_body_is_chunked_and_the_connection_goes_on() {
    let server = stream_server(lines);
    let mut client = Client::to(&server);
    // Pipelined behind the stream: answered after it, in order.
    client.send(format!("{}{}", get("/lines?n=3"), get("/plain")));
    let reply = client.reply().expect("the stream");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(reply.header("content-length"), None);
    assert_eq!(reply.text(), "line 0\nline 1\nline 2\n");
    assert_eq!(client.reply().expect("the next").text(), "plain");
    // And again on the same connection.
    let reply = client
        .send(get("/lines?n=1"))
        .reply()
        .expect("another stream");
    assert_eq!(reply.text(), "line 0\n");
}

#[test]
fn each_flush_is_one_chunk() {
    let server = stream_server(lines);
    let mut client = Client::to(&server);
    client.send(get("/lines?n=2"));
    let reply = client.head_reply().expect("the head"); // the body is read chunk by chunk
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(client.chunk().expect("a chunk"), b"line 0\n");
    assert_eq!(client.chunk().expect("a chunk"), b"line 1\n");
    assert_eq!(client.chunk(), None);
}

#[test]
fn http10_bodies_end_with_the_close_and_head_gets_no_body() {
    let server = stream_server(lines);
    let mut client = Client::to(&server);
    client.send("GET /lines HTTP/1.0\r\n\r\n");
    let reply = client.reply().expect("the stream");
    assert_eq!(reply.header("transfer-encoding"), None);
    assert_eq!(reply.header("connection"), Some("close"));
    assert_eq!(reply.text(), "line 0\nline 1\nline 2\n");

    let mut client = Client::to(&server);
    client.send("HEAD /lines HTTP/1.1\r\nHost: t\r\n\r\n");
    let reply = client.head_reply().expect("the head");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    // No body bytes came: the next response starts right after the head.
    assert_eq!(
        client.send(get("/plain")).reply().expect("next").text(),
        "plain"
    );
}

#[test]
fn a_client_that_does_not_read_holds_the_writer_back() {
    const TOTAL: u64 = 256 * 1024 * 1024;
    let accepted = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&accepted);
    let server = stream_server(move |responder| {
        let mut body = responder.stream(head()).expect("the client waits");
        let block = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < TOTAL {
            body.write_all(&block)
                .expect("the client reads it all in the end");
            sent += block.len() as u64;
            counter.store(sent, Ordering::SeqCst);
        }
        body.finish().expect("finished");
    });
    let mut client = Client::to(&server);
    client.send(get("/big"));
    client.head_reply().expect("the head");
    // However fast the writer, it can be ahead of the reader by no more than what the
    // kernel buffers hold plus the stream's bound: memory stays bounded.
    let slack = 32 * 1024 * 1024 + STREAM_BOUND as u64;
    let mut read = 0u64;
    eventually("the writer starts", || accepted.load(Ordering::SeqCst) > 0);
    assert!(accepted.load(Ordering::SeqCst) <= slack);
    while let Some(chunk) = client.chunk() {
        read += chunk.len() as u64;
        let ahead = accepted.load(Ordering::SeqCst).saturating_sub(read);
        assert!(
            ahead <= slack,
            "the writer ran {ahead} bytes ahead of the client"
        );
    }
    assert_eq!(read, TOTAL);
}

#[test]
fn a_client_that_leaves_makes_the_writer_fail_with_broken_pipe() {
    let (tx, rx) = crossbeam_channel::unbounded();
    let tx = std::sync::Mutex::new(tx);
    let server = stream_server(move |responder| {
        let mut body = responder.stream(head()).expect("the client waits");
        let error = loop {
            let written = body.write_all(&[b'y'; 4096]).and_then(|()| body.flush());
            if let Err(e) = written {
                break e.kind();
            }
        };
        let _ = tx.lock().expect("lock").send(error);
    });
    let failures = server.failures();
    let mut client = Client::to(&server);
    client.send(get("/forever"));
    client.head_reply().expect("the head");
    client.chunk().expect("some body");
    client.reset();
    assert_eq!(
        rx.recv_timeout(PATIENCE).expect("the writer stops"),
        ErrorKind::BrokenPipe
    );
    let failure = failures.recv_timeout(PATIENCE).unwrap_or_else(|_| {
        let stats = server.stats();
        panic!(
            "no failure: client_gone {} dropped {} closed {:?}",
            stats.failures_of(FailureKind::ClientGone),
            stats.dropped_failure_reports,
            stats.http.closed_by
        )
    });
    assert_eq!(failure.kind, FailureKind::ClientGone);
    assert_eq!(failure.path.as_deref(), Some("/forever"));
}

#[test]
fn a_writer_dropped_mid_stream_cuts_the_body_and_is_reported() {
    let server = stream_server(|responder| {
        let mut body = responder.stream(head()).expect("the client waits");
        body.write_all(b"partial").expect("written");
        body.flush().expect("flushed");
        drop(body); // no finish()
    });
    let failures = server.failures();
    let mut client = Client::to(&server);
    client.send(get("/dropped"));
    client.head_reply().expect("the head");
    // The client sees the body cut short: the connection closes without the last chunk.
    assert_eq!(client.chunks_until_close(), Err(b"partial".to_vec()));
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Unanswered);
    assert_eq!(failure.path.as_deref(), Some("/dropped"));
    assert!(failure.message.contains("finish"), "{}", failure.message);
}

#[test]
fn a_writer_that_panics_mid_stream_cuts_the_body_and_is_reported() {
    let server = stream_server(|responder| {
        let mut body: BodyWriter = responder.stream(head()).expect("the client waits");
        body.write_all(b"half").expect("written");
        body.flush().expect("flushed");
        panic!("the writer fails halfway");
    });
    let failures = server.failures();
    let mut client = Client::to(&server);
    client.send(get("/panics"));
    client.head_reply().expect("the head");
    assert_eq!(client.chunks_until_close(), Err(b"half".to_vec()));
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Panic);
    assert_eq!(failure.path.as_deref(), Some("/panics"));
}

#[test]
fn an_invalid_streamed_head_is_answered_500_and_the_writer_learns_it() {
    let (tx, rx) = crossbeam_channel::unbounded::<ErrorKind>();
    let tx: std::sync::Mutex<Sender<ErrorKind>> = std::sync::Mutex::new(tx);
    let server = stream_server(move |responder| {
        // 204 has no body: it cannot head a streamed one.
        let mut body = responder.stream(Response::new(204)).expect("delivered");
        let error = loop {
            if let Err(e) = body.write_all(b"x").and_then(|()| body.flush()) {
                break e.kind();
            }
            if !body.is_open() {
                break ErrorKind::BrokenPipe;
            }
        };
        let _ = tx.lock().expect("lock").send(error);
    });
    let failures = server.failures();
    let mut client = Client::to(&server);
    let reply = client.send(get("/bad")).reply().expect("an answer");
    assert_eq!(reply.status, 500);
    assert_eq!(next_failure(&failures).kind, FailureKind::InvalidResponse);
    assert_eq!(
        rx.recv_timeout(PATIENCE).expect("the writer stops"),
        ErrorKind::BrokenPipe
    );
    // The connection is still usable.
    assert_eq!(
        client.send(get("/plain")).reply().expect("next").text(),
        "plain"
    );
}

#[test]
fn server_sent_events_are_framed_as_the_standard_says() {
    let server = stream_server(|responder| {
        let mut events = responder.event_stream().expect("the client waits");
        events
            .send(&Event::new("one\ntwo\r\nthree").id("7").event("greeting"))
            .expect("sent");
        events.comment("keep-alive").expect("sent");
        events
            .send(&Event::new("").retry(std::time::Duration::from_millis(1500)))
            .expect("sent");
        let refused = events.send(&Event::new("x").id("a\nb"));
        assert_eq!(refused.map_err(|e| e.kind()), Err(ErrorKind::InvalidInput));
        events.finish().expect("finished");
    });
    let mut client = Client::to(&server);
    let reply = client.send(get("/events")).reply().expect("the stream");
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    assert_eq!(
        reply.text(),
        "id: 7\nevent: greeting\ndata: one\ndata: two\ndata: three\n\n\
         : keep-alive\n\
         retry: 1500\ndata: \n\n"
    );
}

#[test]
fn the_request_travels_with_the_responder() {
    let (tx, rx) = crossbeam_channel::unbounded::<OwnedRequest>();
    let tx = std::sync::Mutex::new(tx);
    let server = stream_server(move |responder| {
        let _ = tx.lock().expect("lock").send(responder.request().clone());
        let body = responder.stream(head()).expect("the client waits");
        body.finish().expect("finished");
    });
    let mut client = Client::to(&server);
    let reply = client.send(get("/empty?x=1")).reply().expect("the stream");
    assert_eq!(reply.body, b"");
    let request = rx.recv_timeout(PATIENCE).expect("the request");
    assert_eq!(request.target(), "/empty?x=1");
}

#[test]
fn a_body_from_a_reader_or_a_job_on_the_pool() {
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 241) as u8).collect();
    let expected = data.clone();
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .workers(1)
        .serve(move |req: &Request<'_>| -> Response {
            match req.path() {
                "/reader" => req.stream_reader(head(), std::io::Cursor::new(data.clone())),
                "/rows" => req.stream_blocking(head(), |_, body| {
                    for row in 0..3 {
                        writeln!(body, "row {row}")?;
                    }
                    Ok(())
                }),
                _ => req.stream_blocking(head(), |_, body| {
                    body.write_all(b"half")?;
                    body.flush()?;
                    panic!("the job fails halfway");
                }),
            }
        })
        .expect("server starts");
    let failures = server.failures();
    let mut client = Client::to(&server);
    let reply = client.send(get("/reader")).reply().expect("the body");
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert!(reply.body == expected);
    let reply = client.send(get("/rows")).reply().expect("the rows");
    assert_eq!(reply.text(), "row 0\nrow 1\nrow 2\n");
    client.send(get("/panics"));
    client.head_reply().expect("the head");
    assert_eq!(client.chunks_until_close(), Err(b"half".to_vec()));
    let failure = next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Panic);
    assert_eq!(failure.path.as_deref(), Some("/panics"));
}
