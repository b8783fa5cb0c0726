//! Certificates for TLS listeners: loaded from PEM files, picked by SNI, reloaded live.
//!
//! One [`TlsConfig`] is one rustls `ServerConfig`, shared by every thread that makes
//! handshakes for its listeners: one session cache and one ticket key (rotated), so a
//! client that reconnects resumes whichever worker it lands on. Certificates sit behind
//! the config's resolver, so a reload swaps them for new handshakes and leaves the
//! config (and so every session and ticket) as it was.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use rustls::ServerConfig;

use super::provider;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache};
use rustls::sign::CertifiedKey;
use warden_reactor::{Failure, FailureKind, Frame};

/// Sessions the shared cache keeps for TLS 1.2 clients that resume by id (the others
/// resume by ticket, which the server does not store). About 100 bytes each.
const SESSION_CACHE: usize = 16 * 1024;

/// Why certificates could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate file could not be read, or holds no certificate.
    Certificate {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The key file could not be read, holds no private key, or a key rustls cannot use.
    Key {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The key is not the one of the certificate.
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the settings (a bug of ours if it ever shows).
    Config(String),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Certificate { path, reason } => {
                write!(f, "certificate {}: {reason}", path.display())
            }
            TlsError::Key { path, reason } => write!(f, "private key {}: {reason}", path.display()),
            TlsError::Mismatch { cert, key } => write!(
                f,
                "private key {} does not belong to certificate {}",
                key.display(),
                cert.display()
            ),
            TlsError::Config(reason) => write!(f, "tls settings refused: {reason}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// A certificate chain and its key, as files.
#[derive(Clone, Debug)]
struct Pair {
    cert: PathBuf,
    key: PathBuf,
}

impl Pair {
    fn load(&self, provider: &CryptoProvider) -> Result<Arc<CertifiedKey>, TlsError> {
        let bad_cert = |reason: String| TlsError::Certificate {
            path: self.cert.clone(),
            reason,
        };
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .map_err(|e| bad_cert(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad_cert(e.to_string()))?;
        if chain.is_empty() {
            return Err(bad_cert("no CERTIFICATE block in the file".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| TlsError::Key {
            path: self.key.clone(),
            reason: e.to_string(),
        })?;
        match CertifiedKey::from_der(chain, key, provider) {
            Ok(certified) => Ok(Arc::new(certified)),
            Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::Mismatch {
                cert: self.cert.clone(),
                key: self.key.clone(),
            }),
            Err(e) => Err(TlsError::Key {
                path: self.key.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

/// The files of a config: a default pair, and one per SNI name.
#[derive(Clone, Debug, Default)]
struct Files {
    default: Option<Pair>,
    sni: Vec<(String, Pair)>,
}

/// The certificates in use, as loaded from [`Files`].
#[derive(Debug, Default)]
struct Certificates {
    default: Option<Arc<CertifiedKey>>,
    /// By lowercase name; a name may be a wildcard, `*.example.com`.
    by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl Certificates {
    fn load(files: &Files, provider: &CryptoProvider) -> Result<Certificates, TlsError> {
        let default = files
            .default
            .as_ref()
            .map(|p| p.load(provider))
            .transpose()?;
        let mut by_name = HashMap::with_capacity(files.sni.len());
        for (name, pair) in &files.sni {
            by_name.insert(name.clone(), pair.load(provider)?);
        }
        Ok(Certificates { default, by_name })
    }

    /// The certificate for the name the client asked for: that name, else a wildcard
    /// covering it (one label), else the default.
    fn pick(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = name {
            // rustls hands the SNI name lowercase already (it is a DNS name).
            if let Some(found) = self.by_name.get(name) {
                return Some(Arc::clone(found));
            }
            if let Some((_, parent)) = name.split_once('.')
                && let Some(found) = self.by_name.get(&format!("*.{parent}"))
            {
                return Some(Arc::clone(found));
            }
        }
        self.default.clone()
    }
}

/// Picks the certificate of each handshake from what is loaded now.
#[derive(Debug)]
struct Resolver {
    current: Arc<RwLock<Arc<Certificates>>>,
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            // A reload panicked while swapping: what it left is whole (one `Arc`).
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        current.pick(hello.server_name())
    }
}

type Sink = Arc<dyn Fn(Failure) + Send + Sync>;

struct Inner {
    provider: Arc<CryptoProvider>,
    files: Mutex<Files>,
    current: Arc<RwLock<Arc<Certificates>>>,
    server: Arc<ServerConfig>,
    /// Where a failed reload is reported, once a server runs with this config.
    sink: OnceLock<Sink>,
}

/// The TLS settings of one or more listeners: certificates (a default and any number
/// by SNI name), TLS 1.2 and 1.3, ALPN `http/1.1`. Clones share everything, reloads
/// included.
///
/// ```no_run
/// use warden_worker::TlsConfig;
///
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?
///     .add_sni("api.example.com", "api-cert.pem", "api-key.pem")?;
/// let handle = tls.handle();
/// // ... later, when the files were renewed:
/// handle.reload()?;
/// # Ok::<(), warden_worker::TlsError>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    inner: Arc<Inner>,
}

impl TlsConfig {
    /// Serves the certificate chain in `cert` (PEM, the leaf first) with the private key
    /// in `key` (PEM: PKCS#8, PKCS#1 or SEC1) to every client whose SNI name has no
    /// certificate of its own.
    ///
    /// # Errors
    ///
    /// A file that cannot be read or parsed, or a key that is not the certificate's.
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsConfig, TlsError> {
        let files = Files {
            default: Some(Pair {
                cert: cert.as_ref().to_owned(),
                key: key.as_ref().to_owned(),
            }),
            sni: Vec::new(),
        };
        TlsConfig::with_files(files)
    }

    /// Adds a certificate for clients asking for `name` by SNI (`*.example.com` covers
    /// one label under it). Names compare without regard to case.
    ///
    /// # Errors
    ///
    /// As [`TlsConfig::from_pem_files`]; then nothing is added.
    pub fn add_sni(
        self,
        name: &str,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsConfig, TlsError> {
        let pair = Pair {
            cert: cert.as_ref().to_owned(),
            key: key.as_ref().to_owned(),
        };
        let loaded = pair.load(&self.inner.provider)?;
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let mut files = self.inner.files.lock().unwrap_or_else(|p| p.into_inner());
        let mut current = self
            .inner
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner());
        let mut next = Certificates {
            default: current.default.clone(),
            by_name: current.by_name.clone(),
        };
        next.by_name.insert(name.clone(), loaded);
        *current = Arc::new(next);
        files.sni.retain(|(n, _)| *n != name);
        files.sni.push((name, pair));
        drop((current, files));
        Ok(self)
    }

    fn with_files(files: Files) -> Result<TlsConfig, TlsError> {
        let provider = Arc::new(provider::default_provider());
        let current = Arc::new(RwLock::new(Arc::new(Certificates::load(
            &files, &provider,
        )?)));
        let config = |e: rustls::Error| TlsError::Config(e.to_string());
        let mut server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(config)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver {
                current: Arc::clone(&current),
            }));
        // "http/1.1" and nothing else: the server speaks nothing else. A client that
        // offers only other protocols is refused with `no_application_protocol`, as
        // RFC 7301 (3.2) asks.
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        server.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE);
        // One ticket key for every thread of the server, rotated by rustls (every six
        // hours, the previous key still accepted for the next period).
        server.ticketer = provider::Ticketer::new().map_err(config)?;
        Ok(TlsConfig {
            inner: Arc::new(Inner {
                provider,
                files: Mutex::new(files),
                current,
                server: Arc::new(server),
                sink: OnceLock::new(),
            }),
        })
    }

    /// A handle to reload the certificates from their files while the server runs.
    pub fn handle(&self) -> TlsHandle {
        TlsHandle {
            inner: Arc::clone(&self.inner),
        }
    }

    /// The rustls settings every handshake of these listeners uses.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.inner.server)
    }

    /// Sends the failures of later reloads to `sink` (a server's error channel). The
    /// first sink set stays.
    pub fn report_to(&self, sink: impl Fn(Failure) + Send + Sync + 'static) {
        let _ = self.inner.sink.set(Arc::new(sink));
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files = self.inner.files.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("TlsConfig")
            .field("default", &files.default)
            .field("sni", &files.sni)
            .finish_non_exhaustive()
    }
}

/// Reloads a [`TlsConfig`]'s certificates from their files.
#[derive(Clone)]
pub struct TlsHandle {
    inner: Arc<Inner>,
}

impl TlsHandle {
    /// Reads every certificate and key file again. New handshakes use what was read;
    /// connections already established keep theirs, and sessions resume across the
    /// reload (the ticket key and session cache stay).
    ///
    /// # Errors
    ///
    /// If any file cannot be read or parsed, or a key does not match its certificate,
    /// nothing changes: the old certificates stay in use. The error is also reported as
    /// a [`FailureKind::Tls`] failure to the error channel of the server running with
    /// this config.
    pub fn reload(&self) -> Result<(), TlsError> {
        let files = self
            .inner
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match Certificates::load(&files, &self.inner.provider) {
            Ok(loaded) => {
                *self
                    .inner
                    .current
                    .write()
                    .unwrap_or_else(|p| p.into_inner()) = Arc::new(loaded);
                log::info!("tls: certificates reloaded ({} SNI names)", files.sni.len());
                Ok(())
            }
            Err(e) => {
                let mut failure = Failure::new(
                    FailureKind::Tls,
                    format!("reloading certificates failed: {e}; the old certificates stay in use"),
                );
                failure.frame = Frame::Server;
                match self.inner.sink.get() {
                    Some(sink) => sink(failure),
                    None => log::error!("{failure}"),
                }
                Err(e)
            }
        }
    }
}

impl fmt::Debug for TlsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsHandle").finish_non_exhaustive()
    }
}
