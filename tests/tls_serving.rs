//! Serving over TLS: pipelined requests, large and slowly read answers, files (read and
//! encrypted in pieces: no sendfile), streamed answers, broadcast subscriptions, streamed
//! uploads, and Upgrade (refused over TLS, with the failure saying why).
#![cfg(any(feature = "tls", feature = "tls-ring"))]

mod util;

use std::io::{Read, Write};
use std::time::Duration;

use util::tls::{self, Pki};
use util::{eventually, get};
use warden::{
    Broadcast, BroadcastConfig, Event, FailureKind, Request, Response, Server, ServerHandle,
    TlsConfig,
};

/// The routes of these tests; `dir` holds the files served.
fn routes(
    hub: Broadcast,
    dir: std::path::PathBuf,
) -> impl Fn(&Request<'_>) -> Response + Clone + Send + Sync + 'static {
    move |req: &Request<'_>| -> Response {
        match req.path() {
            "/file" => Response::open(req, dir.join("big.bin"))
                .unwrap_or_else(|_| Response::status_page(404)),
            "/big" => Response::bytes("application/octet-stream", pattern(3_000_000)),
            "/rows" => req.stream_blocking(Response::new(200), |_, body| {
                for row in 0..100 {
                    writeln!(body, "row {row}")?;
                    body.flush()?;
                }
                Ok(())
            }),
            "/up" => {
                let mut body = req.body_reader().expect("a streamed body");
                req.blocking(move |_| {
                    let mut all = Vec::new();
                    match body.read_to_end(&mut all) {
                        Ok(_) => {
                            Response::text(format!("{} {}", all.len(), all == pattern(all.len())))
                        }
                        Err(e) => Response::text(format!("{:?}", e.kind())).with_status(408),
                    }
                })
            }
            "/upgrade" => req.upgrade(Response::new(101).with_header("Upgrade", "echo"), drop),
            "/events" => hub.subscribe(req, "news"),
            _ => util::routes(req),
        }
    }
}

/// Bytes that show where they are: a piece out of place does not match.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

fn tls_server(pki: &Pki, hub: &Broadcast) -> ServerHandle {
    let (crt, key) = pki.issue("localhost", &["localhost"]);
    std::fs::write(pki.dir.join("big.bin"), pattern(5_000_000)).expect("a file");
    let tls = TlsConfig::from_pem_files(&crt, &key).expect("certificates load");
    Server::builder()
        .bind_tls("127.0.0.1:0", tls)
        .workers(1)
        .broadcast(hub)
        .stream_bodies(|req| req.path() == "/up")
        .serve(routes(hub.clone(), pki.dir.clone()))
        .expect("server starts")
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (pki, hub) = (Pki::new(), Broadcast::new(BroadcastConfig::default()));
    let server = tls_server(&pki, &hub);
    let mut client = tls::client(server.local_addrs()[0], &pki.default_client(), "localhost");
    let batch: String = (0..16)
        .map(|i| {
            if i % 2 == 0 {
                get("/plaintext")
            } else {
                get("/json")
            }
        })
        .collect();
    client.send(batch);
    for i in 0..16 {
        let reply = client.reply().expect("an answer");
        assert_eq!(reply.status, 200);
        let json = reply.header("content-type") == Some("application/json");
        assert_eq!(json, i % 2 == 1, "answer {i} out of order");
    }
    server.shutdown(Duration::ZERO);
}

#[test]
fn large_answers_and_files_arrive_whole_even_read_slowly() {
    let (pki, hub) = (Pki::new(), Broadcast::new(BroadcastConfig::default()));
    let server = tls_server(&pki, &hub);
    let mut client = tls::client(server.local_addrs()[0], &pki.default_client(), "localhost");
    let reply = client.send(get("/big")).reply().expect("the body");
    assert!(reply.body == pattern(3_000_000));
    let reply = client.send(get("/file")).reply().expect("the file");
    assert_eq!(reply.header("content-length"), Some("5000000"));
    assert!(reply.body == pattern(5_000_000));

    // Asked for, then read in small sips while the server's records wait for room.
    client.send(get("/file"));
    std::thread::sleep(Duration::from_millis(50));
    let mut sipped = Vec::new();
    let mut sip = [0u8; 1000];
    while sipped.len() < 200_000 {
        let n = client.stream.read(&mut sip).expect("read");
        assert!(n > 0, "closed early");
        sipped.extend_from_slice(&sip[..n]);
    }
    let mut client = util::Client::over_with(client.stream, sipped);
    let reply = client.reply().expect("the rest of the file");
    assert!(reply.body == pattern(5_000_000));
    // A range of it, then HEAD: no body.
    let reply = client
        .send("GET /file HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-1999\r\n\r\n")
        .reply()
        .expect("a range");
    assert_eq!(reply.status, 206);
    assert!(reply.body == pattern(5_000_000)[1000..2000]);
    let reply = client
        .send("HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n")
        .head_reply()
        .expect("a head");
    assert_eq!(reply.header("content-length"), Some("5000000"));
    assert_eq!(client.get_status("/plaintext"), 200);
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_streamed_answer_and_a_subscription_over_tls() {
    let (pki, hub) = (Pki::new(), Broadcast::new(BroadcastConfig::default()));
    let server = tls_server(&pki, &hub);
    let (addr, config) = (server.local_addrs()[0], pki.default_client());
    let mut client = tls::client(addr, &config, "localhost");
    let reply = client.send(get("/rows")).reply().expect("the rows");
    let expected: String = (0..100).map(|r| format!("row {r}\n")).collect();
    assert_eq!(reply.text(), expected);

    let mut subscriber = tls::client(addr, &config, "localhost");
    let head = subscriber
        .send(get("/events"))
        .head_reply()
        .expect("a head");
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    eventually("subscribed", || server.stats().http.subscribers == 1);
    for i in 0..3 {
        hub.publish("news", &Event::new(&format!("event {i}")))
            .expect("published");
    }
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let text = String::from_utf8(subscriber.chunk().expect("an event")).expect("text");
        if !text.starts_with(':') {
            seen.push(text);
        }
    }
    assert!(seen[2].contains("data: event 2"), "{seen:?}");
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_streamed_upload_over_tls() {
    let (pki, hub) = (Pki::new(), Broadcast::new(BroadcastConfig::default()));
    let server = tls_server(&pki, &hub);
    let mut client = tls::client(server.local_addrs()[0], &pki.default_client(), "localhost");
    let body = pattern(2_000_000);
    client.send(format!(
        "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    for piece in body.chunks(100_000) {
        client.send(piece);
    }
    let reply = client.reply().expect("an answer");
    assert_eq!(reply.text(), "2000000 true");
    assert_eq!(client.get_status("/plaintext"), 200);
    server.shutdown(Duration::ZERO);
}

#[test]
fn upgrade_over_tls_is_refused_with_the_reason() {
    let (pki, hub) = (Pki::new(), Broadcast::new(BroadcastConfig::default()));
    let server = tls_server(&pki, &hub);
    let failures = server.failures();
    let mut client = tls::client(server.local_addrs()[0], &pki.default_client(), "localhost");
    let reply = client
        .send("GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n")
        .reply()
        .expect("an answer");
    assert_eq!(reply.status, 500);
    let failure = util::next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Panic);
    assert!(
        failure
            .message
            .contains("TLS connection cannot be upgraded"),
        "{}",
        failure.message
    );
    server.shutdown(Duration::ZERO);
}

#[test]
fn tls_sessions_move_with_their_connections_across_recycling_and_crashes() {
    let pki = Pki::new();
    let (crt, key) = pki.issue("localhost", &["localhost"]);
    let tls = TlsConfig::from_pem_files(&crt, &key).expect("certificates load");
    let server = Server::builder()
        .bind_tls("127.0.0.1:0", tls)
        .workers(1)
        .max_requests_per_worker(3, 0)
        .fault_injection(true)
        .serve(util::fault_routes)
        .expect("server starts");
    let mut client = tls::client(server.local_addrs()[0], &pki.default_client(), "localhost");
    // Half a request across each move too: the decrypted bytes move with the session.
    for i in 0..10 {
        client.send("GET /plaintext HTTP/1.1\r\nHo");
        if i % 3 == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        client.send("st: a\r\n\r\n");
        assert_eq!(client.reply().expect("answered").status, 200, "request {i}");
    }
    eventually("recycled", || server.stats().worker_recycles >= 2);
    // The worker's loop panics after answering: the idle connection moves to the new one.
    assert_eq!(client.get_status("/crash"), 200);
    eventually("restarted", || server.stats().worker_restarts == 1);
    assert_eq!(client.get_status("/json"), 200);
    server.shutdown(Duration::ZERO);
}

/// Reads a TLS connection to its end: `Ok` with everything when the server ended it with
/// a `close_notify`, `Err` with what came when the socket ended without one (a truncation
/// attack would look the same).
fn read_to_notified_end(stream: &mut tls::TlsStream) -> Result<Vec<u8>, Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(got),
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

#[test]
fn every_close_the_server_starts_ends_with_close_notify() {
    let (pki, hub) = (Pki::new(), Broadcast::new(BroadcastConfig::default()));
    let server = tls_server(&pki, &hub);
    let addr = server.local_addrs()[0];
    let cases = [
        // An answer with `Connection: close`.
        "GET /plaintext HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        // HTTP/1.0 without keep-alive.
        "GET /json HTTP/1.0\r\n\r\n",
        // A streamed body to an HTTP/1.0 client: delimited by the close alone, so only
        // the close_notify says it is whole.
        "GET /rows HTTP/1.0\r\n\r\n",
    ];
    for request in cases {
        let mut stream = tls::connect(addr, &pki.default_client(), "localhost");
        stream.write_all(request.as_bytes()).expect("send");
        let got = read_to_notified_end(&mut stream).unwrap_or_else(|got| {
            panic!(
                "no close_notify after {request:?}; got {:?}",
                String::from_utf8_lossy(&got)
            )
        });
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("HTTP/1."), "{text}");
        if request.contains("/rows") {
            assert!(text.ends_with("row 99\n"), "{text}");
        }
    }
    server.shutdown(Duration::ZERO);
}
