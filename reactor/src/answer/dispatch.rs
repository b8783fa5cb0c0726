//! The loop's side of a request that may be answered later: what a handler's request
//! needs to defer itself, queue a job, take its streamed body or accept an upgrade, and
//! what it did about it, for the request frame to act on.
//!
//! One [`Dispatch`] per reactor, lent to each request the loop hands its handler (as the
//! request's opaque hand-off: `http` knows nothing of it); the loop sets the connection's
//! part before the call and takes the outcome after it. Handlers run one at a time on the
//! loop's thread, so one is enough, and making it costs nothing per request.

use std::cell::Cell;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::answer::door::Door;
use crate::answer::inflow::Inflow;
use crate::answer::job::Offload;
use crate::answer::ticket::{Patience, Ticket};
use crate::answer::topic::Subscription;
use crate::answer::upgrade::Upgrade;
use crate::http::request::Carrier;

/// What a request needs to defer itself; one per reactor.
pub(crate) struct Dispatch {
    /// Where answers come back: the reactor's answer channel and waker.
    pub(crate) door: Door,
    /// The blocking pool of `Request::blocking`, if the reactor has one.
    pub(crate) offload: Option<Arc<dyn Offload>>,
    /// How long threads answering this reactor's requests may wait on a connection.
    pub(crate) patience: Patience,
    /// The slab key and listener of the connection whose request the handler has.
    pub(crate) key: Cell<usize>,
    pub(crate) listener: Cell<usize>,
    /// What carries that connection's bytes.
    pub(crate) carrier: Cell<Carrier>,
    /// The balancer that named that connection's client by the PROXY protocol.
    pub(crate) proxy: Cell<Option<SocketAddr>>,
    /// What the handler did about deferring, for the request frame to act on.
    pub(crate) taken: Cell<Deferral>,
    /// The body of a streamed request, for
    /// [`Request::body_reader`](crate::Request::body_reader); set only for such requests.
    pub(crate) inflow: Cell<Option<Arc<Inflow>>>,
}

impl Dispatch {
    pub(crate) fn new(door: Door, patience: Patience) -> Dispatch {
        Dispatch {
            door,
            offload: None,
            patience,
            key: Cell::new(0),
            listener: Cell::new(0),
            carrier: Cell::new(Carrier::Tcp),
            proxy: Cell::new(None),
            taken: Cell::new(Deferral::None),
            inflow: Cell::new(None),
        }
    }

    /// The handler is about to get a request of the connection at `key` of `listener`,
    /// with its streamed body if it has one.
    // Inlined: it runs once per request, on the path every request takes.
    #[inline(always)]
    pub(crate) fn enter(
        &self,
        key: usize,
        listener: usize,
        (carrier, proxy): (Carrier, Option<SocketAddr>),
        inflow: Option<&Arc<Inflow>>,
    ) {
        self.key.set(key);
        self.listener.set(listener);
        self.carrier.set(carrier);
        self.proxy.set(proxy);
        if let Some(inflow) = inflow {
            self.inflow.set(Some(Arc::clone(inflow)));
        }
    }

    /// Looks at the streamed body of the request at hand, if it has one (the cell keeps
    /// it: a `Cell` lends nothing, so it is taken and put back).
    pub(crate) fn with_inflow<T>(&self, f: impl FnOnce(&Arc<Inflow>) -> T) -> Option<T> {
        let inflow = self.inflow.take()?;
        let seen = f(&inflow);
        self.inflow.set(Some(inflow));
        Some(seen)
    }

    /// The handler returned: what it did about deferring. A streamed body it did not take
    /// stays with its connection alone.
    #[inline(always)]
    pub(crate) fn leave(&self, had_inflow: bool) -> Deferral {
        if had_inflow {
            self.inflow.set(None);
        }
        self.taken.take()
    }
}

/// Whether the handler deferred its request.
#[derive(Debug, Default)]
pub(crate) enum Deferral {
    /// It did not.
    #[default]
    None,
    /// It did: the answer comes through this ticket.
    Pending(Arc<Ticket>),
    /// It asked for the blocking pool, whose queue was full.
    Overloaded,
    /// It accepted a protocol upgrade.
    Upgrade(Box<Upgrade>),
    /// It made the connection a subscriber of a broadcast topic.
    Subscribe(Box<Subscription>),
}

impl fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatch")
            .field("key", &self.key.get())
            .field("listener", &self.listener.get())
            .field("pool", &self.offload.is_some())
            .finish()
    }
}
