//! TLS listeners over real sockets: handshakes off the loop, versions, SNI, live reloads,
//! resumption across workers, files and streams, and the wrong protocol on each port.
#![cfg(feature = "tls")]

mod util;

use std::io::{Read, Write};
use std::time::Duration;

use util::tls::{self, Pki};
use util::{Client, get};
use warden::{Response, Server, ServerHandle, TlsConfig};

fn tls_server(
    pki: &Pki,
    configure: impl FnOnce(warden::Builder) -> warden::Builder,
) -> (ServerHandle, TlsConfig) {
    let (crt, key) = pki.issue("localhost", &["localhost"]);
    let tls = TlsConfig::from_pem_files(&crt, &key).expect("certificates load");
    let builder = Server::builder()
        .bind_tls("127.0.0.1:0", tls.clone())
        .workers(1);
    let server = configure(builder)
        .serve(util::routes)
        .expect("server starts");
    (server, tls)
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
    server.shutdown(Duration::ZERO);
}
