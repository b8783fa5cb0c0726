//! What a listener is made of before the server binds it: where its socket comes from,
//! and whether it speaks TLS.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Where a listener comes from.
#[derive(Debug)]
pub(crate) enum Source {
    /// Bind this address.
    Addr(SocketAddr),
    /// Take the sockets systemd passed (socket activation).
    Systemd,
    /// Make a Unix domain socket at this path.
    Unix(PathBuf),
}

/// A listener's TLS settings: `None` for plain HTTP.
#[cfg(any(feature = "tls", feature = "tls-ring"))]
pub(crate) type ListenerTls = Option<warden_worker::TlsConfig>;
/// A listener's TLS settings: none without the `tls` feature.
#[cfg(not(any(feature = "tls", feature = "tls-ring")))]
#[derive(Clone, Debug)]
pub(crate) struct ListenerTls;

/// A plain listener's TLS settings.
#[cfg(any(feature = "tls", feature = "tls-ring"))]
pub(crate) const PLAIN: ListenerTls = None;

/// Whether a listener speaks TLS.
#[cfg(any(feature = "tls", feature = "tls-ring"))]
pub(crate) fn tls_on(tls: &ListenerTls) -> bool {
    tls.is_some()
}

/// Whether a listener speaks TLS: never without the `tls` feature.
#[cfg(not(any(feature = "tls", feature = "tls-ring")))]
pub(crate) fn tls_on(_: &ListenerTls) -> bool {
    false
}

/// A plain listener's TLS settings.
#[cfg(not(any(feature = "tls", feature = "tls-ring")))]
pub(crate) const PLAIN: ListenerTls = ListenerTls;
