//! The acceptor's side of TLS: which listeners speak it, the handshakes in flight and
//! their bound.

use std::net::SocketAddr;
use std::sync::Arc;

use crossbeam_channel::{Receiver, TryRecvError};
use mio::net::TcpStream;
use rustls::ServerConfig;
use warden_reactor::{ClientSlot, Handoff};

use crate::tls::config::TlsConfig;
use crate::tls::handshake::{Handshaken, Handshaker};

/// Whether the TLS listeners take new connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Intake {
    /// Registered with the acceptor's poll, as the acceptor's state allows.
    Open,
    /// `max_in_flight` handshakes running: TLS listeners deregistered, new clients wait
    /// in the accept queue until one ends.
    Full,
}

/// TLS routing, as the acceptor holds it.
pub(crate) struct TlsRoute {
    /// The rustls config of each listener that speaks TLS, by listener index.
    configs: Vec<Option<Arc<ServerConfig>>>,
    handshaker: Handshaker,
    done: Receiver<Handshaken>,
    in_flight: usize,
    max: usize,
    pub(crate) intake: Intake,
}

impl TlsRoute {
    pub(crate) fn new(
        tls: &[Option<TlsConfig>],
        handshaker: Handshaker,
        done: Receiver<Handshaken>,
        max: usize,
    ) -> TlsRoute {
        TlsRoute {
            configs: tls
                .iter()
                .map(|c| c.as_ref().map(TlsConfig::server_config))
                .collect(),
            handshaker,
            done,
            in_flight: 0,
            max: max.max(1),
            intake: Intake::Open,
        }
    }

    /// Whether listener `i` speaks TLS.
    pub(crate) fn is_tls(&self, i: usize) -> bool {
        self.configs.get(i).is_some_and(Option::is_some)
    }

    pub(crate) fn is_full(&self) -> bool {
        self.in_flight >= self.max
    }

    /// Starts the handshake of a connection accepted on TLS listener `i`.
    pub(crate) fn begin(
        &mut self,
        stream: TcpStream,
        peer: SocketAddr,
        i: usize,
        client: Option<ClientSlot>,
    ) {
        let Some(Some(config)) = self.configs.get(i) else {
            unreachable!("only TLS listeners' connections are routed here");
        };
        self.in_flight += 1;
        if !self
            .handshaker
            .begin(stream, peer, i, Arc::clone(config), client)
        {
            log::error!("tls: no handshake thread left; closing the connection of {peer}");
        }
    }

    /// The next handshake that ended: `Some(None)` for one with nothing to serve.
    pub(crate) fn next_done(&mut self) -> Option<Option<Handoff>> {
        match self.done.try_recv() {
            Ok(ended) => {
                self.in_flight -= 1;
                Some(match ended {
                    Handshaken::Ready(handoff) => Some(*handoff),
                    Handshaken::Gone => None,
                })
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => None,
        }
    }
}
