//! Certificates made for the test (never a key in the repository) and TLS clients.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::{Client, PATIENCE};

/// A TLS client connection, read and written as plain bytes.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// A certificate authority of the test's own, and a directory for the files it issues.
pub struct Pki {
    pub dir: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Pki {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "warden-tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "warden test ca");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("ca key"))
            .expect("ca certificate");
        Pki { dir, ca }
    }

    /// A certificate for `names` (ECDSA P-256), written as `<stem>.crt` and `<stem>.key`.
    pub fn issue(&self, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        self.issue_with(stem, names, KeyPair::generate().expect("key"))
    }

    /// A certificate for `names` with an RSA-2048 key.
    pub fn issue_rsa(&self, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("an rsa key");
        self.issue_with(stem, names, key)
    }

    fn issue_with(&self, stem: &str, names: &[&str], key: KeyPair) -> (PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let params = CertificateParams::new(names).expect("leaf params");
        let cert = params.signed_by(&key, &self.ca).expect("leaf certificate");
        let (crt, pem) = (
            self.dir.join(format!("{stem}.crt")),
            self.dir.join(format!("{stem}.key")),
        );
        std::fs::write(&crt, cert.pem()).expect("write the certificate");
        std::fs::write(&pem, key.serialize_pem()).expect("write the key");
        (crt, pem)
    }

    /// A client config trusting this authority, with the given TLS versions, ALPN
    /// `http/1.1`, and session resumption (rustls's in-memory store).
    pub fn client(
        &self,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.ca.der().clone())
            .expect("the ca is a trust anchor");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A client config for TLS 1.3 and 1.2, as browsers have.
    pub fn default_client(&self) -> Arc<ClientConfig> {
        self.client(&[&rustls::version::TLS13, &rustls::version::TLS12])
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Opens a TLS connection to `addr` for `name`, handshake done.
pub fn connect(addr: SocketAddr, config: &Arc<ClientConfig>, name: &str) -> TlsStream {
    try_connect(addr, config, name).unwrap_or_else(|e| panic!("tls to {addr} as {name}: {e}"))
}

/// Opens a TLS connection, or says why the handshake failed.
pub fn try_connect(
    addr: SocketAddr,
    config: &Arc<ClientConfig>,
    name: &str,
) -> std::io::Result<TlsStream> {
    let tcp = TcpStream::connect(addr)?;
    handshake(tcp, config, name)
}

/// Makes a TLS handshake over `tcp` (connected already: from another source address,
/// say), or says why it failed.
pub fn handshake(
    tcp: TcpStream,
    config: &Arc<ClientConfig>,
    name: &str,
) -> std::io::Result<TlsStream> {
    tcp.set_read_timeout(Some(PATIENCE))?;
    let server = ServerName::try_from(name.to_owned()).expect("a server name");
    let conn = ClientConnection::new(Arc::clone(config), server).expect("a client session");
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

/// A raw HTTP client over a new TLS connection.
pub fn client(addr: SocketAddr, config: &Arc<ClientConfig>, name: &str) -> Client<TlsStream> {
    Client::over(connect(addr, config, name))
}

/// The DER of the certificate the server presented.
pub fn presented(stream: &TlsStream) -> Vec<u8> {
    stream
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .expect("the server presented a certificate")
        .to_vec()
}

/// The DER of the certificate in a PEM file.
pub fn der_of(path: &Path) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_file(path)
        .expect("a certificate")
        .to_vec()
}
