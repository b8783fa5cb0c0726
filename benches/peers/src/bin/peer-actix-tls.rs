//! actix-web 4 over TLS (rustls 0.23 with ring, as warden uses), one worker
//! (`WORKERS=n` for n): `/plaintext` for HTTPS keep-alive and handshake benchmarks.
//! `CERT` and `KEY` name the PEM files.
use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8443".into());
    let cert = std::env::var("CERT").expect("CERT: the certificate file");
    let key = std::env::var("KEY").expect("KEY: the key file");
    let chain = CertificateDer::pem_file_iter(cert)
        .expect("certificate file")
        .collect::<Result<Vec<_>, _>>()
        .expect("certificates");
    let key = PrivateKeyDer::from_pem_file(key).expect("key");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("certificate and key");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    HttpServer::new(|| {
        App::new().route("/plaintext", web::get().to(|| async {
            HttpResponse::Ok().content_type("text/plain").body("Hello, World!")
        }))
    })
    .workers(std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()).unwrap_or(1))
    .max_connection_rate(256)
    .bind_rustls_0_23(addr, config)?
    .run()
    .await
}
