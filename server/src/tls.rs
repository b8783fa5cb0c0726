//! `--tls-*`: every `--addr` listener speaks TLS with the certificates given, and
//! `SIGHUP` reloads them from their files.

use std::path::PathBuf;
use std::time::Duration;

use warden::{Builder, TlsConfig, TlsHandle};

/// The TLS flags of the command line.
#[derive(Debug, Default)]
pub struct TlsOptions {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// `NAME,CERT,KEY` of each `--tls-sni`.
    pub sni: Vec<(String, PathBuf, PathBuf)>,
    pub handshake_timeout: Option<Duration>,
    pub first_byte_timeout: Option<Duration>,
    pub max_handshakes: Option<usize>,
}

impl TlsOptions {
    /// Takes `flag` if it is a TLS flag (`Ok(true)`), reading its value from `value`.
    pub fn parse(
        &mut self,
        flag: &str,
        value: &mut dyn FnMut() -> Result<String, String>,
    ) -> Result<bool, String> {
        let number = |v: String| -> Result<u64, String> {
            v.parse()
                .map_err(|_| format!("{flag}: {v:?} is not a whole number"))
        };
        match flag {
            "--tls-cert" => self.cert = Some(value()?.into()),
            "--tls-key" => self.key = Some(value()?.into()),
            "--tls-sni" => {
                let v = value()?;
                let mut parts = v.splitn(3, ',');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(name), Some(cert), Some(key)) if !name.is_empty() => {
                        self.sni.push((name.to_owned(), cert.into(), key.into()));
                    }
                    _ => return Err(format!("--tls-sni: {v:?} is not NAME,CERT,KEY")),
                }
            }
            "--tls-handshake-timeout-ms" => {
                self.handshake_timeout = Some(Duration::from_millis(number(value()?)?));
            }
            "--tls-first-byte-timeout-ms" => {
                self.first_byte_timeout = Some(Duration::from_millis(number(value()?)?));
            }
            "--max-handshakes" => self.max_handshakes = Some(number(value()?)? as usize),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The certificates, loaded; `None` when no TLS flag was given.
    pub fn load(&self) -> Result<Option<TlsConfig>, String> {
        let (cert, key) = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => (cert, key),
            (None, None) if self.sni.is_empty() => return Ok(None),
            _ => {
                return Err(
                    "--tls-cert and --tls-key go together (and --tls-sni needs them)".into(),
                );
            }
        };
        let mut tls = TlsConfig::from_pem_files(cert, key).map_err(|e| e.to_string())?;
        for (name, cert, key) in &self.sni {
            tls = tls
                .add_sni(name, cert, key)
                .map_err(|e| format!("--tls-sni {name}: {e}"))?;
        }
        Ok(Some(tls))
    }

    /// Applies the handshake settings.
    pub fn configure(&self, mut builder: Builder) -> Builder {
        if let Some(t) = self.handshake_timeout {
            builder = builder.handshake_timeout(t);
        }
        if let Some(t) = self.first_byte_timeout {
            builder = builder.tls_first_byte_timeout(t);
        }
        if let Some(n) = self.max_handshakes {
            builder = builder.max_handshakes(n);
        }
        builder
    }
}

/// Takes every `SIGHUP` (whose default action would kill the process without a drain):
/// reloads the certificates if the server has TLS listeners, else says there is nothing
/// to reload. A reload that fails keeps the old certificates; the failure is reported on
/// the server's error channel (and so logged).
pub fn reload_on_sighup(
    mut signals: signal_hook::iterator::Signals,
    handle: Option<TlsHandle>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("warden-sighup".to_owned())
        .spawn(move || {
            for _ in signals.forever() {
                match &handle {
                    Some(handle) => {
                        log::warn!("SIGHUP: reloading the TLS certificates");
                        if handle.reload().is_ok() {
                            log::warn!("TLS certificates reloaded");
                        }
                    }
                    None => log::warn!("SIGHUP: nothing to reload (no TLS listener); ignored"),
                }
            }
        })?;
    Ok(())
}
