//! A connection's place in the per-client connection limit.

use std::net::IpAddr;

use crate::http::request::UNIX_PEER;
use crate::shared::Shared;

use super::Conn;

/// Whether, and how, a connection is counted against its client's limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum Counted {
    /// Not counted: no limit, or its client is not known yet (a PROXY protocol header
    /// is awaited), or it left the table already.
    #[default]
    No,
    /// Counted, within the limit.
    Within(IpAddr),
    /// Counted, past the limit: its first request is answered 503 and it closes.
    Over(IpAddr),
}

impl Conn {
    /// Counts the connection against its client's limit, now that the client is known.
    /// `fresh`: a new connection, which may be refused; one moving from another reactor
    /// was let in there and is only counted.
    pub(crate) fn count_client<H>(&mut self, cx: &Shared<H>, fresh: bool) {
        let Some(limit) = &cx.config.max_connections_per_ip else {
            return;
        };
        // Every Unix socket client is the same "address": a limit would cap them all.
        if self.peer == UNIX_PEER {
            return;
        }
        let ip = self.peer.ip();
        self.counted = if limit.arrive(ip) || !fresh {
            Counted::Within(ip)
        } else {
            log::debug!(
                "worker {} {} {}: past {} connections from its address",
                cx.worker,
                self.id,
                self.peer,
                limit.max()
            );
            Counted::Over(ip)
        };
    }

    /// Takes the connection out of its client's count (it closes, or leaves this
    /// reactor). Once only.
    pub(crate) fn uncount<H>(&mut self, cx: &Shared<H>) {
        if let (Counted::Within(ip) | Counted::Over(ip), Some(limit)) =
            (self.counted, &cx.config.max_connections_per_ip)
        {
            limit.leave(ip);
        }
        self.counted = Counted::No;
    }

    /// Whether its client holds more connections than the limit allows.
    pub(super) fn is_over_limit(&self) -> bool {
        matches!(self.counted, Counted::Over(_))
    }
}
