//! The PROXY protocol header at the start of a connection from a trusted balancer: read
//! before any HTTP, it names the client the connection is really from.

use crate::http::proxy::{self, ProxyHeader};
use crate::observe::stats::CloseReason;
use crate::shared::Shared;

use super::Conn;
use super::reading::Reading;

impl Conn {
    /// Begins the connection by waiting for its PROXY protocol header (the reactor
    /// requires one from this peer).
    pub(crate) fn expect_proxy_header(&mut self) {
        self.reading = Reading::Proxy;
    }

    /// Reads the header from what is buffered: `true` once it is taken (the peer is now
    /// the client it names, and HTTP follows), `false` while more bytes are needed or
    /// when the connection closes for a bad header.
    pub(super) fn take_proxy_header<H>(&mut self, cx: &mut Shared<H>) -> bool {
        let Some(buf) = &mut self.rbuf else {
            return false;
        };
        match proxy::parse(buf.filled(), cx.config.max_head) {
            Ok(None) => false,
            Ok(Some(ProxyHeader { source, len })) => {
                buf.consume(len);
                if let Some(client) = source {
                    log::trace!(
                        "worker {} {} {}: PROXY protocol: the client is {client}",
                        cx.worker,
                        self.id,
                        self.peer
                    );
                    self.proxy = Some(self.peer);
                    self.peer = client;
                }
                self.reading = Reading::Head;
                // The client is known only now.
                self.admit_named_client(cx);
                matches!(self.reading, Reading::Head)
            }
            Err(e) => {
                log::debug!(
                    "worker {} {} {}: {e}; closing",
                    cx.worker,
                    self.id,
                    self.peer
                );
                cx.stats.proxy_bad_header();
                buf.clear();
                self.reading = Reading::Closing {
                    linger: false,
                    why: CloseReason::ClientError,
                };
                false
            }
        }
    }

    /// The balancer's address, when a PROXY protocol header named the client.
    pub(crate) fn proxy(&self) -> Option<std::net::SocketAddr> {
        self.proxy
    }

    /// A connection moving from another reactor whose header was read there.
    pub(crate) fn set_proxy(&mut self, proxy: Option<std::net::SocketAddr>) {
        self.proxy = proxy;
    }
}
