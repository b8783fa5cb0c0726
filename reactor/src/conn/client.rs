//! A connection's place in the per-client connection limit.

use crate::clients::ClientSlot;
use crate::http::error::RequestError;
use crate::shared::Shared;

use super::Conn;
use super::reading::Reading;
use super::reject::reject;

impl Conn {
    /// The connection holds `client`'s place from now on (taken by the acceptor, or by
    /// the reactor it moves from); it is given back when the connection is dropped.
    pub(crate) fn set_client(&mut self, client: Option<Box<ClientSlot>>) {
        self.client = client;
    }

    /// Takes its place away, to move with it to another reactor.
    pub(crate) fn take_client(&mut self) -> Option<Box<ClientSlot>> {
        self.client.take()
    }

    /// Counts the client a PROXY protocol header named. Past the limit, the connection
    /// is answered 503 at once (the balancer relays it to the client; closing instead
    /// would look like a failed backend to it) and closes after a short linger: it holds
    /// its worker's slot for no longer than that, whatever the client sends.
    pub(super) fn admit_named_client<H>(&mut self, cx: &mut Shared<H>) {
        let Some(limit) = &cx.config.max_connections_per_ip else {
            return;
        };
        match limit.admit(self.peer.ip()) {
            Some(slot) => self.client = Some(Box::new(slot)),
            None => {
                log::debug!(
                    "worker {} {} {}: past {} connections from its address",
                    cx.worker,
                    self.id,
                    self.peer,
                    limit.max()
                );
                let why = reject(
                    cx,
                    self.rbuf.as_mut(),
                    &mut self.writing,
                    RequestError::ClientLimit,
                    self.id,
                    self.peer,
                );
                self.reading = Reading::rejected(why);
            }
        }
    }
}
