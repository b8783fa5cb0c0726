//! TLS listeners: certificates ([`TlsConfig`], reloaded through [`TlsHandle`]), the
//! handshake pool that keeps handshake crypto off every event loop
//! ([`HandshakeConfig`]), and what it counts ([`TlsStats`]). Built with the `tls`
//! feature. An established connection is served by a worker like any other; its reactor
//! only encrypts and decrypts records.

pub(crate) mod config;
pub(crate) mod handshake;
pub(crate) mod route;
pub(crate) mod stats;
