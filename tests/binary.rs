//! The standalone binary: its routes, `/stats`, the fault routes, and its exit status when
//! the server stops on an error.
mod util;

use util::{Binary, Client, get};

#[test]
fn benchmark_routes_and_stats() {
    let server = Binary::start("", &["--workers", "2", "--blocking-threads", "4"]);
    let mut client = Client::connect(server.addr);
    let reply = client.send(get("/plaintext")).reply().expect("plaintext");
    assert_eq!(
        (reply.header("content-type"), reply.text().as_str()),
        (Some("text/plain"), "Hello, World!")
    );
    let reply = client.send(get("/json")).reply().expect("json");
    assert_eq!(reply.text(), r#"{"message":"Hello, World!"}"#);
    let reply = client
        .send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nping")
        .reply()
        .expect("echo");
    assert_eq!(reply.text(), "ping");
    assert_eq!(client.get_status("/nope"), 404);
    assert_eq!(client.get_status("/fault/panic"), 404);
    let reply = client.send(get("/sleep?ms=5")).reply().expect("sleep");
    assert_eq!(reply.text(), "slept 5 ms\n");
    let stats = client.send(get("/stats")).reply().expect("stats").text();
    for key in [
        r#""accepted":1"#,
        r#""requests":6"#,
        r#""timeout":0,"overload":0,"unanswered":0"#,
        r#""loop_stalls":0"#,
        // Busy, idle and done move as the pool thread finishes after the answer.
        r#""blocking":{"busy":"#,
        r#""lost":0,"queued":0,"done":"#,
        r#""rejected":0,"timed_out":0,"panicked":0,"abandoned":0}"#,
        r#""stalled":false"#,
        r#""worker_restarts":0"#,
        r#""failures":{"panic":0,"#,
        r#""dropped_failure_reports":0"#,
        r#""workers":[{"id":0"#,
    ] {
        assert!(stats.contains(key), "{key} missing from {stats}");
    }
}

#[test]
fn fault_routes_are_supervised_and_exit_stops_with_status_1() {
    // The watchdog itself is tested deterministically in watchdog.rs; here the route only.
    let server = Binary::start("", &["--workers", "1", "--fault-routes"]);
    let mut client = Client::connect(server.addr);
    assert_eq!(client.get_status("/fault/panic"), 500);
    assert_eq!(client.get_status("/fault/bad-header"), 500);
    assert_eq!(client.get_status("/fault/crash"), 200);
    let mut other = Client::connect(server.addr);
    let slept = other
        .send(get("/fault/hang?ms=5"))
        .reply()
        .expect("hang")
        .text();
    assert_eq!(slept, "slept 5 ms\n");
    let mut last = Client::connect(server.addr);
    let stats = last.send(get("/stats")).reply().expect("stats").text();
    assert!(
        stats.contains(r#""panic":1,"invalid_response":1"#),
        "{stats}"
    );
    assert!(stats.contains(r#""worker_panic":1"#), "{stats}");

    assert_eq!(last.get_status("/fault/exit"), 500);
    let (status, log) = server.exit();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("warden: stopped: shut down by the error policy"),
        "{log}"
    );
    assert!(log.contains("during GET /fault/exit"), "{log}");
    // One line per failure.
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("ERROR") && l.contains(" panic on worker"))
            .count(),
        2,
        "{log}"
    );
}

#[test]
fn restart_intensity_exits_with_the_reason() {
    let server = Binary::start(
        "",
        &[
            "--workers",
            "1",
            "--fault-routes",
            "--max-restarts",
            "1",
            "--restart-period-ms",
            "600000",
        ],
    );
    for _ in 0..2 {
        let mut client = Client::connect(server.addr);
        assert_eq!(client.get_status("/fault/crash"), 200);
    }
    let (status, log) = server.exit();
    assert_eq!(status.code(), Some(1));
    assert!(
        log.contains("restart intensity exceeded: more than 1 worker restarts"),
        "{log}"
    );
}

#[test]
fn bad_flags_are_refused() {
    let output = std::process::Command::new(util::warden_binary())
        .args(["--workers", "many"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a whole number"));
    let output = std::process::Command::new(util::warden_binary())
        .args(["--proxy-protocol", "10.0.0.0/33"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not an address range"));
    let help = std::process::Command::new(util::warden_binary())
        .arg("--help")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&help.stdout);
    // Every flag the parser knows, read from its source, is in --help.
    let source = concat!(
        include_str!("../server/src/main.rs"),
        include_str!("../server/src/tls.rs")
    );
    let parsed: Vec<&str> = source
        .split('"')
        .filter(|s| s.starts_with("--") && s.len() > 2 && !s.contains(' '))
        .collect();
    assert!(parsed.len() >= 15, "found the flags: {parsed:?}");
    for flag in parsed {
        assert!(text.contains(flag), "--help documents {flag}");
    }
}

fn signal(server: &Binary, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn sigterm_drains_what_is_in_flight_then_exits_cleanly() {
    let server = Binary::start("", &["--workers", "1"]);
    let mut idle = Client::connect(server.addr);
    assert_eq!(idle.get_status("/plaintext"), 200);
    let mut busy = Client::connect(server.addr);
    util::begin_upload(&mut busy, "/echo", 4);
    busy.send("pi");
    signal(&server, "TERM");
    assert!(idle.is_closed(), "idle connections close at once");
    busy.send("ng");
    let reply = busy.reply().expect("the request in flight is answered");
    assert_eq!(
        (reply.text().as_str(), reply.header("connection")),
        ("ping", Some("close"))
    );
    let (status, log) = server.exit();
    assert!(status.success(), "{log}");
    assert!(log.contains("draining"), "{log}");
}

#[test]
fn a_second_signal_stops_at_once() {
    let server = Binary::start("", &["--workers", "1", "--shutdown-grace-ms", "600000"]);
    let mut stuck = Client::connect(server.addr);
    util::begin_upload(&mut stuck, "/echo", 100); // busy, and never finished
    let mut idle = Client::connect(server.addr);
    assert_eq!(idle.get_status("/plaintext"), 200);
    signal(&server, "INT");
    assert!(idle.is_closed(), "the drain has started");
    signal(&server, "INT");
    let (status, _) = server.exit();
    assert_eq!(status.code(), Some(130));
}

#[test]
fn streaming_routes_stream() {
    let server = Binary::start("", &["--workers", "1"]);
    let mut client = Client::connect(server.addr);
    let reply = client
        .send(get("/stream?chunks=3&size=4"))
        .reply()
        .expect("a stream");
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(reply.text(), "abcdabcdabcd");
    let reply = client
        .send(get("/events?n=2&ms=1"))
        .reply()
        .expect("events");
    assert_eq!(reply.header("content-type"), Some("text/event-stream"));
    assert_eq!(
        reply.text(),
        "id: 1\ndata: event 1 of 2\n\nid: 2\ndata: event 2 of 2\n\n"
    );
    // 300 KB, chunked, past the buffered limit: streamed to the pool and checksummed.
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for word in body.chunks_exact(8) {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        hash = (hash ^ w).wrapping_mul(0x0100_0000_01b3);
    }
    for &b in body.chunks_exact(8).remainder() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    client.send("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for chunk in body.chunks(65_536) {
        client.send(format!("{:x}\r\n", chunk.len()));
        client.send(chunk);
        client.send("\r\n");
    }
    client.send("0\r\n\r\n");
    let reply = client.reply().expect("the upload's answer");
    assert_eq!(
        reply.text(),
        format!("length={} checksum={hash:016x}\n", body.len())
    );
}

#[test]
fn a_client_that_does_not_read_holds_back_no_other_stream() {
    let server = Binary::start("", &["--workers", "1"]);
    // Never reads: its events fill the kernel's buffers and its queue, then wait.
    let mut stalled = Client::connect(server.addr);
    stalled.send(get("/events?n=1000000&ms=0"));
    let mut bulk = Client::connect(server.addr);
    bulk.send(get("/stream?chunks=4096&size=16384"));
    // Every other stream still gets all it asked for.
    let mut client = Client::connect(server.addr);
    let reply = client
        .send(get("/events?n=3&ms=1"))
        .reply()
        .expect("events beside a stalled stream");
    assert_eq!(reply.header("x-accel-buffering"), Some("no"));
    assert_eq!(reply.text().matches("data: event").count(), 3);
    let reply = client
        .send(get("/stream?chunks=3&size=4"))
        .reply()
        .expect("a stream beside a stalled one");
    assert_eq!(reply.text(), "abcdabcdabcd");
    drop((stalled, bulk));
}

#[test]
fn the_upload_route_sums_an_empty_body_and_refuses_past_its_limit() {
    let server = Binary::start("", &["--workers", "1", "--max-streamed-body", "1000"]);
    let mut client = Client::connect(server.addr);
    let reply = client
        .send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        .reply()
        .expect("an answer");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "length=0 checksum=cbf29ce484222325\n");
    // Chunked, past the limit: refused as the Content-Length one is, and closed.
    client.send("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    for _ in 0..4 {
        client.send(format!("{:x}\r\n{}\r\n", 500, "y".repeat(500)));
    }
    client.send("0\r\n\r\n");
    let reply = client.reply().expect("the refusal");
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("connection"), Some("close"));
    let mut client = Client::connect(server.addr);
    let reply = client
        .send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n")
        .reply()
        .expect("the refusal");
    assert_eq!(reply.status, 413);
}

#[test]
fn topics_are_published_to_and_followed() {
    let server = Binary::start("", &["--workers", "2", "--topic-history", "2"]);
    let mut publisher = Client::connect(server.addr);
    for text in ["one", "two", "three"] {
        let reply = publisher
            .send(format!(
                "POST /topics/news?event=note HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{text}",
                text.len()
            ))
            .reply()
            .expect("published");
        assert_eq!(reply.status, 202);
    }
    // Everything kept (two events) for a client that says it saw none, after a reset
    // that says the first is gone.
    let mut follower = Client::connect(server.addr);
    follower.send("GET /topics/news HTTP/1.1\r\nHost: a\r\nLast-Event-ID: 0\r\n\r\n");
    let head = follower.head_reply().expect("the head");
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    let reset = follower.chunk().expect("a reset");
    assert!(
        reset.starts_with(b"event: reset\ndata: gone: "),
        "{reset:?}"
    );
    let first = follower.chunk().expect("an event");
    assert_eq!(first, b"id: 2\nevent: note\ndata: two\n\n");
    let stats = publisher.send(get("/stats")).reply().expect("stats").text();
    assert!(
        stats.contains(r#""broadcast":{"subscribers":1,"published":3,"#),
        "{stats}"
    );
}

#[test]
fn a_wrong_method_on_a_known_route_is_405_with_allow() {
    let server = Binary::start("", &["--workers", "1"]);
    let mut client = Client::connect(server.addr);
    for (request, allow) in [
        ("POST /plaintext", "GET, HEAD"),
        ("GET /echo", "POST"),
        ("DELETE /topics/news", "GET, HEAD, POST"),
        ("PUT /stats", "GET"),
    ] {
        let reply = client
            .send(format!(
                "{request} HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
            ))
            .reply()
            .expect("an answer");
        assert_eq!(
            (reply.status, reply.header("allow")),
            (405, Some(allow)),
            "{request}"
        );
    }
    assert_eq!(client.get_status("/nothing-here"), 404);
    server.kill();
}

#[test]
fn sighup_on_a_plain_server_is_taken_not_fatal() {
    // Before, only a server with TLS handled SIGHUP: a plain one died of it (exit 129,
    // no drain, a Unix socket file left behind).
    let server = Binary::start("", &["--workers", "1"]);
    let mut client = Client::connect(server.addr);
    assert_eq!(client.get_status("/plaintext"), 200);
    signal(&server, "HUP");
    // Still serving, on the same connection and on new ones.
    assert_eq!(client.get_status("/json"), 200);
    assert_eq!(Client::connect(server.addr).get_status("/plaintext"), 200);
    signal(&server, "TERM");
    let (status, log) = server.exit();
    assert!(status.success(), "{log}");
    assert!(log.contains("nothing to reload"), "{log}");
}

#[test]
fn shutdown_grace_reaches_the_recycling_of_workers() {
    // A worker recycled after its one request waits for the answers still running at
    // most the grace, then cuts them. Before, the flag reached only the signal drain:
    // recycling waited 30 s, and the slow answer below came after 15 s.
    let server = Binary::start(
        "",
        &[
            "--workers",
            "1",
            "--max-requests-per-worker",
            "1",
            "--shutdown-grace-ms",
            "200",
        ],
    );
    let mut slow = Client::connect(server.addr);
    slow.send(get("/sleep?ms=15000"));
    let mut quick = Client::connect(server.addr);
    assert_eq!(quick.get_status("/plaintext"), 200);
    // Cut at the grace: no answer, long before the 15 s (and the test's patience).
    let answer = slow.reply();
    assert!(
        answer.as_ref().is_none_or(|r| r.status != 200),
        "the slow answer was waited for: {:?}",
        answer.map(|r| r.text())
    );
    assert_eq!(Client::connect(server.addr).get_status("/plaintext"), 200);
}
