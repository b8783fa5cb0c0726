//! TLS listeners: certificates ([`TlsConfig`], reloaded through [`TlsHandle`]), the
//! handshake pool that keeps handshake crypto off every event loop
//! ([`HandshakeConfig`]), and what it counts ([`TlsStats`]). Built with the `tls`
//! feature. An established connection is served by a worker like any other; its reactor
//! only encrypts and decrypts records.

pub(crate) mod config;
pub(crate) mod handshake;
pub(crate) mod route;
pub(crate) mod stats;

/// The crypto provider rustls runs on: aws-lc-rs (rustls's default, the faster RSA), or
/// ring where only that one is built.
#[cfg(feature = "aws-lc-rs")]
pub(crate) mod provider {
    pub(crate) use rustls::crypto::aws_lc_rs::{Ticketer, default_provider};
}

/// The crypto provider rustls runs on: ring, chosen by the `ring` feature alone.
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub(crate) mod provider {
    pub(crate) use rustls::crypto::ring::{Ticketer, default_provider};
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "TLS needs a crypto provider: turn on `aws-lc-rs` or `ring` (in `warden`: `tls` or `tls-ring`)"
);
