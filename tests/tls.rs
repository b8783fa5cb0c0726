//! TLS listeners over real sockets: versions and ALPN, SNI, live reloads (good and
//! bad), handshake timeouts and bounds, garbage and plain HTTP on a TLS port, and
//! resumption across workers. Serving over TLS (files, streams, pipelining, uploads) is
//! in `tls_serving.rs`.
#![cfg(any(feature = "tls", feature = "tls-ring"))]

mod util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use util::tls::{self, Pki};
use util::{Client, PATIENCE, get};
use warden::{FailureKind, Request, Response, Server, ServerHandle, TlsConfig, TlsError};

/// A one-worker server with a TLS listener (certificate for `localhost`) and a metrics
/// route.
fn tls_server(
    pki: &Pki,
    configure: impl FnOnce(warden::Builder) -> warden::Builder,
) -> (ServerHandle, TlsConfig) {
    let (crt, key) = pki.issue("localhost", &["localhost"]);
    let tls = TlsConfig::from_pem_files(&crt, &key).expect("certificates load");
    let builder = Server::builder()
        .bind_tls("127.0.0.1:0", tls.clone())
        .metrics_route("/metrics")
        .workers(1);
    let server = configure(builder)
        .serve(util::routes)
        .expect("server starts");
    (server, tls)
}

/// A metric of the server, read over TLS.
fn metric(server: &ServerHandle, pki: &Pki, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut client = tls::client(server.local_addrs()[0], &pki.default_client(), "localhost");
    let reply = client.send(get("/metrics")).reply().expect("metrics");
    let exposition = util::prom::parse(&reply.text()).unwrap_or_else(|e| panic!("{e}"));
    exposition.value(name, labels)
}

/// Handshakes the server counted as ended with `result` (ok, failed, timeout).
fn handshakes(server: &ServerHandle, pki: &Pki, result: &str) -> f64 {
    metric(
        server,
        pki,
        "warden_tls_handshakes_total",
        &[("result", result)],
    )
}

/// Waits until the server closes `stream` (EOF or reset), reading and dropping whatever
/// it sends first; returns what it sent.
fn until_closed(mut stream: TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
}

#[test]
fn a_request_over_tls_13_and_12() {
    let pki = Pki::new();
    let (server, _) = tls_server(&pki, |b| b);
    let addr = server.local_addrs()[0];
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let config = pki.client(&[version]);
        let mut client = tls::client(addr, &config, "localhost");
        assert_eq!(client.stream.conn.protocol_version(), Some(version.version));
        assert_eq!(client.stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
        let reply = client.send(get("/plaintext")).reply().expect("an answer");
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "Hello, World!")
        );
        // Keep-alive: a second request on the same session.
        assert_eq!(client.get_status("/json"), 200);
    }
    assert_eq!(handshakes(&server, &pki, "ok"), 3.0);
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_client_offering_only_other_protocols_is_refused() {
    let pki = Pki::new();
    let (server, _) = tls_server(&pki, |b| b);
    let mut config = (*pki.default_client()).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let refused = tls::try_connect(
        server.local_addrs()[0],
        &std::sync::Arc::new(config),
        "localhost",
    );
    let Err(e) = refused else {
        panic!("no protocol in common: no handshake");
    };
    assert!(e.to_string().contains("NoApplicationProtocol"), "{e}");
    server.shutdown(Duration::ZERO);
}

#[test]
fn plain_and_tls_listeners_mix_and_requests_know_which() {
    let pki = Pki::new();
    let (crt, key) = pki.issue("localhost", &["localhost"]);
    let tls = TlsConfig::from_pem_files(&crt, &key).expect("certificates load");
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .bind_tls("127.0.0.1:0", tls)
        .workers(1)
        .serve(|req: &Request<'_>| Response::text(format!("tls={}", req.is_tls())))
        .expect("server starts");
    let (plain, secure) = (server.local_addrs()[0], server.local_addrs()[1]);
    let reply = Client::connect(plain)
        .send(get("/"))
        .reply()
        .expect("plain answer");
    assert_eq!(reply.text(), "tls=false");
    let mut client = tls::client(secure, &pki.default_client(), "localhost");
    assert_eq!(
        client.send(get("/")).reply().expect("tls answer").text(),
        "tls=true"
    );
    server.shutdown(Duration::ZERO);
}

#[test]
fn sni_picks_the_certificate_of_the_name_asked_for() {
    let pki = Pki::new();
    let (default_crt, default_key) = pki.issue("default", &["localhost"]);
    let (api_crt, api_key) = pki.issue("api", &["api.test"]);
    let (wild_crt, wild_key) = pki.issue("wild", &["*.wild.test"]);
    let tls = TlsConfig::from_pem_files(&default_crt, &default_key)
        .and_then(|t| t.add_sni("API.test", &api_crt, &api_key))
        .and_then(|t| t.add_sni("*.wild.test", &wild_crt, &wild_key))
        .expect("certificates load");
    let server = Server::builder()
        .bind_tls("127.0.0.1:0", tls)
        .workers(1)
        .serve(util::routes)
        .expect("server starts");
    let (addr, config) = (server.local_addrs()[0], pki.default_client());
    for (name, crt) in [
        ("api.test", &api_crt),
        ("x.wild.test", &wild_crt),
        ("localhost", &default_crt),
    ] {
        let mut client = tls::client(addr, &config, name);
        assert_eq!(
            tls::presented(&client.stream),
            tls::der_of(crt),
            "for {name}"
        );
        assert_eq!(client.get_status("/plaintext"), 200);
    }
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_reload_serves_new_certificates_and_leaves_open_connections_alone() {
    let pki = Pki::new();
    let (server, tls) = tls_server(&pki, |b| b);
    let (addr, config) = (server.local_addrs()[0], pki.default_client());
    let mut before = tls::client(addr, &config, "localhost");
    let old = tls::presented(&before.stream);
    assert_eq!(before.get_status("/plaintext"), 200);

    // The files are renewed (same paths), then reloaded.
    let (crt, _) = pki.issue("localhost", &["localhost"]);
    tls.handle().reload().expect("the new files load");
    let new = tls::der_of(&crt);
    assert_ne!(old, new);

    // A new client (a stored session would resume, and show the certificate it was
    // made with).
    let mut after = tls::client(addr, &pki.default_client(), "localhost");
    assert_eq!(tls::presented(&after.stream), new);
    assert_eq!(after.get_status("/plaintext"), 200);
    // The connection made before goes on with its session.
    assert_eq!(before.get_status("/json"), 200);
    assert_eq!(tls::presented(&before.stream), old);
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_failed_reload_keeps_the_old_certificates_and_says_which_file() {
    let pki = Pki::new();
    let (server, tls) = tls_server(&pki, |b| b);
    let failures = server.failures();
    let (addr, config) = (server.local_addrs()[0], pki.default_client());
    let old = tls::presented(&tls::connect(addr, &config, "localhost"));
    let key = pki.dir.join("localhost.key");

    // A key file that is not PEM.
    std::fs::write(&key, "not a key").expect("write");
    let e = tls.handle().reload().expect_err("a bad key cannot load");
    assert!(
        matches!(&e, TlsError::Key { path, .. } if *path == key),
        "{e:?}"
    );
    let failure = util::next_failure(&failures);
    assert_eq!(failure.kind, FailureKind::Tls);
    assert!(
        failure.message.contains(&key.display().to_string()),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("old certificates stay"),
        "{}",
        failure.message
    );

    // A key that is not the certificate's.
    let (_, other_key) = pki.issue("other", &["localhost"]);
    std::fs::copy(&other_key, &key).expect("copy");
    let e = tls
        .handle()
        .reload()
        .expect_err("a foreign key cannot load");
    assert!(matches!(e, TlsError::Mismatch { .. }), "{e:?}");
    assert_eq!(util::next_failure(&failures).kind, FailureKind::Tls);

    // New handshakes still get the old certificate.
    let mut client = tls::client(addr, &config, "localhost");
    assert_eq!(tls::presented(&client.stream), old);
    assert_eq!(client.get_status("/plaintext"), 200);
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_handshake_that_never_comes_times_out_and_is_counted() {
    let pki = Pki::new();
    let (server, _) = tls_server(&pki, |b| b.handshake_timeout(Duration::from_millis(100)));
    let failures = server.failures();
    let silent = TcpStream::connect(server.local_addrs()[0]).expect("connect");
    assert!(until_closed(silent).is_empty());
    assert_eq!(handshakes(&server, &pki, "timeout"), 1.0);
    // Counted, not reported: slow clients are normal.
    assert!(failures.try_recv().is_err());
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_tls_client_that_never_speaks_is_closed_at_the_first_byte_deadline() {
    let pki = Pki::new();
    let (server, _) = tls_server(&pki, |b| {
        b.handshake_timeout(Duration::from_secs(120))
            .tls_first_byte_timeout(Duration::from_millis(200))
    });
    let silent = TcpStream::connect(server.local_addrs()[0]).expect("connect");
    // Long before the handshake timeout (and the test's patience).
    assert!(until_closed(silent).is_empty());
    assert_eq!(handshakes(&server, &pki, "timeout"), 1.0);
    server.shutdown(Duration::ZERO);
}

#[test]
fn silent_connections_of_one_address_cannot_take_every_handshake_place() {
    // Both deadlines far past the test's patience: only the per-address count, taken as
    // connections are accepted (before the handshake pool), can keep places free.
    let pki = Pki::new();
    let (server, _) = tls_server(&pki, |b| {
        b.max_connections_per_ip(4)
            .max_handshakes(16)
            .handshake_timeout(Duration::from_secs(120))
            .tls_first_byte_timeout(Duration::from_secs(120))
    });
    let addr = server.local_addrs()[0];
    let mut kept = Vec::new();
    for i in 0..24 {
        let silent = TcpStream::connect(addr).expect("connect");
        if i < 4 {
            kept.push(silent);
        } else {
            assert!(
                until_closed(silent).is_empty(),
                "connection {i} is closed at once"
            );
        }
    }
    // Another address makes its handshake at once and is served.
    let tcp = util::connect_from("127.0.0.2", addr);
    let stream = tls::handshake(tcp, &pki.default_client(), "localhost").expect("a handshake");
    let mut other = Client::over(stream);
    assert_eq!(other.get_status("/plaintext"), 200);
    let metrics = other.send(get("/metrics")).reply().expect("metrics").text();
    let exposition = util::prom::parse(&metrics).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        exposition.value("warden_connections_over_client_limit_total", &[]),
        20.0
    );
    drop(kept);
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_clients_tls_error_is_counted_as_its_own_not_a_failure_of_the_server() {
    let pki = Pki::new();
    let (server, _) = tls_server(&pki, |b| b);
    let failures = server.failures();
    let addr = server.local_addrs()[0];
    // An established session, then a record that does not decrypt.
    let mut stream = tls::connect(addr, &pki.default_client(), "localhost");
    stream
        .sock
        .write_all(b"\x17\x03\x03\x00\x20garbage-garbage-garbage-garbage!")
        .expect("send");
    let _ = stream.sock.read(&mut [0u8; 256]);
    // Another, with a fatal alert of its own (as `openssl s_client` sends one when the
    // server refuses its renegotiation).
    let mut stream = tls::connect(addr, &pki.default_client(), "localhost");
    // A fatal alert record: level 2 (fatal), description 40 (handshake_failure), sent
    // in the clear as a TLS 1.3 peer may before keys (the server must take it as the end).
    stream
        .sock
        .write_all(b"\x15\x03\x03\x00\x02\x02\x28")
        .expect("send");
    let _ = stream.sock.read(&mut [0u8; 256]);
    util::eventually("both counted", || {
        metric(&server, &pki, "warden_tls_client_errors_total", &[]) >= 2.0
    });
    // Nothing reported: the client's errors are not the server's failures.
    assert!(
        failures.try_recv().is_err(),
        "a client's tls error was reported as a failure"
    );
    server.shutdown(Duration::ZERO);
}

#[test]
fn past_max_handshakes_new_clients_wait_in_the_queue_not_reset() {
    let pki = Pki::new();
    let (server, _) = tls_server(&pki, |b| {
        b.max_handshakes(1)
            .handshake_timeout(Duration::from_millis(300))
    });
    let addr = server.local_addrs()[0];
    // Takes the only place, and keeps it until its handshake times out.
    let silent = TcpStream::connect(addr).expect("connect");
    // Connected by the kernel, accepted only once the place is free; then served.
    let mut client = tls::client(addr, &pki.default_client(), "localhost");
    assert_eq!(client.get_status("/plaintext"), 200);
    assert!(until_closed(silent).is_empty());
    assert_eq!(handshakes(&server, &pki, "timeout"), 1.0);
    server.shutdown(Duration::ZERO);
}

#[test]
fn garbage_on_a_tls_port_is_closed_and_counted_and_others_go_on() {
    let pki = Pki::new();
    let (server, _) = tls_server(&pki, |b| b);
    let addr = server.local_addrs()[0];
    let mut established = tls::client(addr, &pki.default_client(), "localhost");
    for junk in [
        &b"\x16\x03\x01\x00\x05hello"[..], // a handshake record with nonsense
        &b"\x00\x00\x00\x00\x00\x00\x00\x00"[..], // not a record at all
        &[0xff; 300][..],
    ] {
        let mut raw = TcpStream::connect(addr).expect("connect");
        raw.write_all(junk).expect("send");
        let answer = until_closed(raw);
        // At most a TLS alert record, never HTTP.
        assert!(answer.is_empty() || answer[0] == 0x15, "{answer:?}");
    }
    assert_eq!(established.get_status("/plaintext"), 200);
    assert_eq!(handshakes(&server, &pki, "failed"), 3.0);
    server.shutdown(Duration::ZERO);
}

#[test]
fn plain_http_to_a_tls_port_gets_400_saying_so() {
    let pki = Pki::new();
    let (server, _) = tls_server(&pki, |b| b);
    let mut client = Client::to(&server);
    let reply = client.send(get("/plaintext")).reply().expect("an answer");
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(reply.text().contains("HTTPS port"), "{}", reply.text());
    assert!(client.is_closed());
    assert_eq!(
        metric(&server, &pki, "warden_tls_plain_http_total", &[]),
        1.0
    );
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_client_hello_to_a_plain_port_gets_400() {
    let pki = Pki::new();
    let server = util::server();
    // A real ClientHello, as a browser sends to https://host:port/ by mistake.
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut session =
        rustls::ClientConnection::new(pki.default_client(), name).expect("a client session");
    let mut hello = Vec::new();
    session.write_tls(&mut hello).expect("a ClientHello");
    let mut client = Client::to(&server);
    let reply = client.send(&hello).reply().expect("an answer");
    assert_eq!(reply.status, 400);
    assert!(client.is_closed());
    server.shutdown(Duration::ZERO);
}

#[test]
fn a_client_resumes_its_session_on_another_worker() {
    let pki = Pki::new();
    let (crt, key) = pki.issue("localhost", &["localhost"]);
    let tls = TlsConfig::from_pem_files(&crt, &key).expect("certificates load");
    let server = Server::builder()
        .bind_tls("127.0.0.1:0", tls)
        .workers(2)
        .serve_with(|worker| move |_: &Request<'_>| Response::text(format!("{worker}")))
        .expect("server starts");
    let addr = server.local_addrs()[0];
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        // One client config: one session store, as one browser has.
        let config = pki.client(&[version]);
        let mut first = tls::client(addr, &config, "localhost");
        // The answer brings the session tickets with it (TLS 1.3 sends them after the
        // handshake).
        let first_worker = first.send(get("/")).reply().expect("answer").text();
        assert_eq!(
            first.stream.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Full)
        );
        // `first` stays open, so the least-loaded worker is the other one.
        let mut second = tls::client(addr, &config, "localhost");
        let second_worker = second.send(get("/")).reply().expect("answer").text();
        assert_ne!(
            first_worker, second_worker,
            "the second connection went to another worker"
        );
        assert_eq!(
            second.stream.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed),
            "{version:?}"
        );
    }
    server.shutdown(Duration::ZERO);
}

#[test]
fn the_binary_serves_tls_with_sni_and_reloads_on_sighup() {
    let pki = Pki::new();
    let (crt, key) = pki.issue("localhost", &["localhost"]);
    let (api_crt, api_key) = pki.issue("api", &["api.test"]);
    let sni = format!("api.test,{},{}", api_crt.display(), api_key.display());
    let binary = util::Binary::start(
        "",
        &[
            "--workers",
            "1",
            "--tls-cert",
            &crt.display().to_string(),
            "--tls-key",
            &key.display().to_string(),
            "--tls-sni",
            &sni,
            "--metrics-route",
            "/metrics",
        ],
    );
    let addr = binary.addr;
    // A new client config for each look at the certificate: no session to resume.
    let look = |name: &str| {
        let mut client = tls::client(addr, &pki.default_client(), name);
        assert_eq!(client.get_status("/plaintext"), 200);
        tls::presented(&client.stream)
    };
    assert_eq!(look("localhost"), tls::der_of(&crt));
    assert_eq!(look("api.test"), tls::der_of(&api_crt));
    let hup = || {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &binary.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    };

    let (renewed, _) = pki.issue("localhost", &["localhost"]);
    hup();
    util::eventually("the renewed certificate is served", || {
        look("localhost") == tls::der_of(&renewed)
    });

    std::fs::write(&api_key, "garbage").expect("write");
    hup();
    let stats = || {
        let mut client = tls::client(addr, &pki.default_client(), "localhost");
        client.send(get("/stats")).reply().expect("stats").text()
    };
    util::eventually("the failed reload is counted", || {
        stats().contains(r#""tls":1}"#)
    });
    // Both certificates stay as they were.
    assert_eq!(look("localhost"), tls::der_of(&renewed));
    assert_eq!(look("api.test"), tls::der_of(&api_crt));
    let log = binary.kill();
    assert!(log.contains("api.key"), "the log names the file:\n{log}");
}

#[test]
fn the_proxy_protocol_is_refused_on_tls_listeners_for_now() {
    let pki = Pki::new();
    let (crt, key) = pki.issue("localhost", &["localhost"]);
    let tls = TlsConfig::from_pem_files(&crt, &key).expect("certificates load");
    let trusted: warden::Cidr = "127.0.0.1".parse().expect("a range");
    let refused = Server::builder()
        .bind_tls("127.0.0.1:0", tls)
        .proxy_protocol([trusted])
        .serve(util::routes);
    match refused {
        Err(warden::Error::Config { reason }) => assert!(reason.contains("TLS"), "{reason}"),
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("a server with both started"),
    }
}
