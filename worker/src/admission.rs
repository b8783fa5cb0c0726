//! The per-client connection limit as the acceptor keeps it: a connection is counted as
//! it is accepted, before any thread spends anything on it (a handshake, a worker's slot,
//! a buffer), and one past the limit is closed unread.

use std::net::SocketAddr;

use warden_reactor::{ClientLimit, ClientSlot, ProxyProtocol};

use crate::counters::{AcceptStats, bump};

/// What the per-client limit says of a connection just accepted.
pub(crate) enum Admission {
    /// Nothing is counted: no limit, or the listener's PROXY protocol header will name
    /// the client (the reactor counts it then).
    Uncounted,
    /// Counted: the place goes with the connection.
    Counted(ClientSlot),
    /// Its address holds the limit already: close it.
    Refused,
}

/// The limit, and the listeners it is counted on here.
pub(crate) struct Admitter {
    limit: Option<ClientLimit>,
    /// Which listeners (by index) take a PROXY protocol header: their clients are known
    /// only to the reactor.
    proxied: Vec<bool>,
}

impl Admitter {
    /// Counts with `limit` on every listener of `listeners` without a PROXY header.
    pub(crate) fn new(
        limit: Option<ClientLimit>,
        proxy: &ProxyProtocol,
        listeners: usize,
    ) -> Admitter {
        Admitter {
            limit,
            proxied: (0..listeners).map(|i| proxy.trusted(i).is_some()).collect(),
        }
    }

    /// Takes a place for a connection from `peer` on listener `i`, if one is kept there;
    /// a refusal is counted in `stats`.
    pub(crate) fn admit(&self, i: usize, peer: SocketAddr, stats: &AcceptStats) -> Admission {
        let Some(limit) = &self.limit else {
            return Admission::Uncounted;
        };
        if self.proxied.get(i).copied().unwrap_or(false) {
            return Admission::Uncounted;
        }
        match limit.admit(peer.ip()) {
            Some(slot) => Admission::Counted(slot),
            None => {
                bump(&stats.over_client_limit);
                log::debug!(
                    "{peer}: past {} connections from its address; closed",
                    limit.max()
                );
                Admission::Refused
            }
        }
    }
}
