//! The acceptor thread: accepts on every listener and hands each socket to the
//! least-loaded worker.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use mio::{Events, Interest, Poll, Token, Waker};
use warden_reactor::{
    Backlog, ClientLimit, Failure, FailureKind, Frame, Handoff, Inbox, Orphans, ProxyProtocol,
    SendError, SlotSignal, Stats, catch, describe_panic, set_supervised,
};

use crate::accept_error::{is_one_clients, is_resource_exhaustion};
use crate::admission::{Admission, Admitter};
use crate::busy::Busy;
use crate::counters::{AcceptStats, FailureSink, bump};
use crate::listening::{Accepted, Listening};
#[cfg(feature = "tls")]
use crate::tls::{
    config::TlsConfig,
    handshake::{HandshakeConfig, Handshaker},
    route::{Intake, TlsRoute},
};
use crate::unix::Listener;

/// The token of the acceptor's waker; listeners use their index.
const WAKER: Token = Token(usize::MAX);

/// How long accepting pauses after the process or system runs out of descriptors or
/// memory, as actix-server does: retrying at once would spin, since the pending
/// connection stays ready.
pub const RESOURCE_BACKOFF: Duration = Duration::from_millis(500);

/// Failures of the acceptor itself in a row (a listener that keeps failing, a poll that
/// fails), each followed by a [`RESOURCE_BACKOFF`], after which it gives up and the server
/// stops with the reason. An accepted connection starts the count again.
pub const ACCEPTOR_RETRIES: u32 = 5;

/// A worker as the acceptor sees it: where to send sockets and how loaded it is.
#[derive(Debug)]
pub struct WorkerSlot {
    id: usize,
    inbox: Inbox,
    stats: Arc<Stats>,
    /// Sockets sent to this worker; minus those it has closed, its load.
    handed: u64,
    /// False once the worker stopped taking sockets (its inbox is closed).
    live: bool,
    /// What the monitor says of it: a handler stalling its loop.
    busy: Option<Arc<Busy>>,
}

impl WorkerSlot {
    /// The worker `id`, reached through `inbox`, whose reactor publishes `stats`.
    pub fn new(id: usize, inbox: Inbox, stats: Arc<Stats>) -> WorkerSlot {
        WorkerSlot {
            id,
            inbox,
            stats,
            handed: 0,
            live: true,
            busy: None,
        }
    }

    /// Follows the monitor's view of the worker: while its handler stalls the loop, new
    /// connections go to another worker with room.
    pub(crate) fn watched(mut self, busy: Arc<Busy>) -> WorkerSlot {
        self.busy = Some(busy);
        self
    }

    /// Whether new connections had better go elsewhere: its handler stalls its loop, or
    /// it waits to be recycled.
    fn is_stalled(&self) -> bool {
        self.busy.as_ref().is_some_and(|b| b.is_stalled()) || self.stats.is_recycling()
    }

    /// Connections sent and not yet closed, queued ones included.
    fn load(&self) -> u64 {
        self.handed.saturating_sub(self.stats.closed())
    }
}

/// What the acceptor is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Listeners registered; accepting.
    Accepting,
    /// Every worker is at its connection limit: listeners deregistered, new clients wait
    /// in the kernel backlog until a reactor closes a connection and wakes us.
    Full,
    /// Out of descriptors or memory: listeners deregistered until `until`.
    Backoff { until: Instant },
}

/// Messages to the acceptor thread.
#[derive(Debug)]
enum Control {
    /// Close the listeners and exit.
    Stop,
    /// Route to `slot` instead of the worker with the same id, then hand out what the
    /// old one left behind.
    Replace(WorkerSlot, Option<Leftovers>),
    /// Stop routing to worker `id`; hand out what it left behind.
    Remove(usize, Option<Leftovers>),
    /// Hand out connections a stopped worker left behind.
    Adopt(Orphans),
}

/// What a worker that no longer gets connections leaves to the others.
#[derive(Debug)]
enum Leftovers {
    /// A stopped worker's connections and queue.
    Orphans(Orphans),
    /// The queue of a worker stuck in a hung handler: taken once the acceptor has
    /// stopped sending to it, so no socket is queued there afterwards.
    Queued(Backlog),
}

impl Leftovers {
    fn take(self) -> Vec<Handoff> {
        match self {
            Leftovers::Orphans(mut orphans) => orphans.take(),
            Leftovers::Queued(backlog) => backlog.take().take(),
        }
    }
}

/// Settings of the acceptor.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct AcceptorConfig {
    /// The most connections a worker holds before the acceptor stops giving it more.
    pub max_connections_per_worker: usize,
    /// The most connections one address may hold, counted here as connections are
    /// accepted: one past it is closed before any thread spends anything on it (a
    /// handshake, a worker's slot, a buffer). Listeners that take a PROXY protocol
    /// header leave the count to the reactor, which learns the client from the header.
    pub client_limit: Option<ClientLimit>,
    /// Which listeners take a PROXY protocol header.
    pub proxy_protocol: ProxyProtocol,
}

impl AcceptorConfig {
    /// Settings with `max_connections_per_worker` and nothing else.
    pub fn new(max_connections_per_worker: usize) -> AcceptorConfig {
        AcceptorConfig {
            max_connections_per_worker,
            ..AcceptorConfig::default()
        }
    }
}

/// A running acceptor thread.
pub struct Acceptor {
    control: Sender<Control>,
    signal: Arc<SlotSignal>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Acceptor {
    /// Makes the acceptor's poll for `listeners`, without starting its thread: the
    /// workers need its [`PreparedAcceptor::signal`] before the acceptor needs them.
    ///
    /// # Errors
    ///
    /// Fails if the poll or its waker cannot be created.
    pub fn prepare(
        listeners: Vec<Listener>,
        config: AcceptorConfig,
    ) -> io::Result<PreparedAcceptor> {
        let poll = Poll::new()?;
        let signal = Arc::new(SlotSignal::new(Waker::new(poll.registry(), WAKER)?));
        let listeners = listeners.into_iter().map(Listening::from).collect();
        Ok(PreparedAcceptor {
            poll,
            signal,
            listeners,
            config,
            stats: Arc::default(),
            #[cfg(feature = "tls")]
            tls: None,
            sink: Arc::new(|failure, fatal| {
                log::error!("{failure}");
                if fatal {
                    log::error!("the acceptor has stopped");
                }
            }),
        })
    }

    /// Asks the thread to close its listeners and exit.
    pub fn stop(&self) {
        self.send(Control::Stop);
    }

    /// Routes new connections to `slot` instead of the worker with the same id (a
    /// restarted worker), then hands out `orphans`, the old worker's leftovers: its idle
    /// connections and what was queued for it. Since the acceptor is what sent to the old
    /// worker, nothing can be queued there after this.
    pub fn replace(&self, slot: WorkerSlot, orphans: Option<Orphans>) {
        self.send(Control::Replace(slot, orphans.map(Leftovers::Orphans)));
    }

    /// Stops routing to worker `id` (aborted, or retired without replacement) and hands
    /// out `orphans` to the others.
    pub fn remove(&self, id: usize, orphans: Option<Orphans>) {
        self.send(Control::Remove(id, orphans.map(Leftovers::Orphans)));
    }

    /// Routes to `slot` instead of a worker stuck in a hung handler, then hands out the
    /// sockets still queued for the stuck one: they are served at once, not after the
    /// hung handler returns.
    pub(crate) fn replace_hung(&self, slot: WorkerSlot, queued: Backlog) {
        self.send(Control::Replace(slot, Some(Leftovers::Queued(queued))));
    }

    /// Stops routing to a worker stuck in a hung handler, and hands out the sockets
    /// still queued for it.
    pub(crate) fn remove_hung(&self, id: usize, queued: Backlog) {
        self.send(Control::Remove(id, Some(Leftovers::Queued(queued))));
    }

    /// Hands out connections a stopped worker left behind.
    pub fn adopt(&self, orphans: Orphans) {
        self.send(Control::Adopt(orphans));
    }

    /// Sends a control message; after the thread has stopped there is nobody to act on
    /// it, and whatever it carried (sockets) is dropped, which closes them.
    fn send(&self, control: Control) {
        if self.control.send(control).is_ok() {
            self.signal.wake();
        }
    }

    /// Waits for the thread to exit.
    ///
    /// # Errors
    ///
    /// The poll error that ended the thread, or `Other` if it panicked.
    pub fn join(mut self) -> io::Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the acceptor thread panicked")),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor")
            .field("signal", &self.signal)
            .finish()
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An acceptor whose poll exists but whose thread has not started: workers are made in
/// between, since they need [`PreparedAcceptor::signal`].
pub struct PreparedAcceptor {
    poll: Poll,
    signal: Arc<SlotSignal>,
    listeners: Vec<Listening>,
    config: AcceptorConfig,
    sink: FailureSink,
    stats: Arc<AcceptStats>,
    /// The TLS config of each listener that speaks TLS (by index), and the handshake
    /// pool's settings.
    #[cfg(feature = "tls")]
    tls: Option<(Vec<Option<TlsConfig>>, HandshakeConfig)>,
}

impl fmt::Debug for PreparedAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedAcceptor")
            .field("listeners", &self.listeners)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PreparedAcceptor {
    /// Sends the acceptor's own failures (a poll that fails, a listener that breaks, a
    /// panic) to `sink` instead of the log; `sink`'s second argument says the acceptor
    /// gave up and no longer accepts, so the server should stop.
    pub fn on_failure(mut self, sink: impl Fn(Failure, bool) + Send + Sync + 'static) -> Self {
        self.sink = Arc::new(sink);
        self
    }

    /// Makes the listeners with a config in `tls` (by index) TLS listeners: their
    /// connections go through the handshake pool, set by `handshakes`, before a worker.
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: Vec<Option<TlsConfig>>, handshakes: HandshakeConfig) -> Self {
        if tls.iter().any(Option::is_some) {
            self.tls = Some((tls, handshakes));
        }
        self
    }

    /// The acceptor's counters.
    pub fn stats(&self) -> Arc<AcceptStats> {
        Arc::clone(&self.stats)
    }

    /// The signal to give every worker's reactor.
    pub fn signal(&self) -> Arc<SlotSignal> {
        Arc::clone(&self.signal)
    }

    /// The addresses the listeners are bound to.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname`, which a bound listener does not give.
    pub fn local_addrs(&self) -> io::Result<Vec<SocketAddr>> {
        self.listeners
            .iter()
            .filter_map(Listening::local_addr)
            .collect()
    }

    /// Starts the thread `warden-acceptor`, handing sockets to `workers`.
    ///
    /// # Errors
    ///
    /// Fails if a listener cannot be registered or the thread cannot be spawned.
    pub fn start(self, workers: Vec<WorkerSlot>) -> io::Result<Acceptor> {
        let (control, rx) = crossbeam_channel::unbounded();
        let signal = Arc::clone(&self.signal);
        let n_listeners = self.listeners.len();
        let mut looper = Loop {
            poll: self.poll,
            listeners: self.listeners,
            workers,
            signal: self.signal,
            control: rx,
            state: State::Accepting,
            max_per_worker: self.config.max_connections_per_worker as u64,
            admission: Admitter::new(
                self.config.client_limit,
                &self.config.proxy_protocol,
                n_listeners,
            ),
            cursor: 0,
            exhausted_logged: false,
            failures: 0,
            sink: Arc::clone(&self.sink),
            stats: self.stats,
            #[cfg(feature = "tls")]
            tls: None,
        };
        #[cfg(feature = "tls")]
        if let Some((configs, handshakes)) = self.tls {
            let (done, ended) = crossbeam_channel::unbounded();
            let handshaker = Handshaker::start(
                handshakes,
                Arc::clone(&looper.stats),
                Arc::clone(&self.sink),
                done,
                Arc::clone(&looper.signal),
            )?;
            looper.tls = Some(TlsRoute::new(
                &configs,
                handshaker,
                ended,
                handshakes.max_in_flight,
            ));
        }
        looper.register_listeners()?;
        let sink = self.sink;
        let thread = thread::Builder::new()
            .name("warden-acceptor".to_owned())
            .spawn(move || {
                set_supervised(true);
                catch(|| looper.run()).unwrap_or_else(|payload| {
                    let mut failure = Failure::new(FailureKind::Panic, "");
                    describe_panic(payload.as_ref(), &mut failure);
                    failure.message = format!("the acceptor panicked: {}", failure.message);
                    failure.frame = Frame::Server;
                    let message = failure.message.clone();
                    sink(failure, true);
                    Err(io::Error::other(message))
                })
            })?;
        Ok(Acceptor {
            control,
            signal,
            thread: Some(thread),
        })
    }
}

/// The acceptor thread's state.
struct Loop {
    poll: Poll,
    listeners: Vec<Listening>,
    workers: Vec<WorkerSlot>,
    signal: Arc<SlotSignal>,
    control: Receiver<Control>,
    state: State,
    max_per_worker: u64,
    /// The per-client connection limit, as the acceptor keeps it.
    admission: Admitter,
    /// Where the round robin among equally loaded workers starts next.
    cursor: usize,
    /// A resource-exhaustion episode has been logged; cleared when accepting succeeds.
    exhausted_logged: bool,
    /// Failures of the acceptor itself in a row, since a connection was last accepted.
    failures: u32,
    /// Where those failures go; `true` when it gives up.
    sink: FailureSink,
    stats: Arc<AcceptStats>,
    /// TLS listeners and their handshakes, if any listener speaks TLS.
    #[cfg(feature = "tls")]
    tls: Option<TlsRoute>,
}

impl Loop {
    /// Runs until asked to stop (`Ok`), or until the acceptor itself keeps failing
    /// (`Err`: a poll that fails, a listener that cannot be registered or no longer
    /// accepts). Each such failure is reported, then retried after a back-off; the
    /// [`ACCEPTOR_RETRIES`]th in a row without an accepted connection in between gives up.
    fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(64);
        loop {
            let e = match self.turn(&mut events) {
                Ok(true) => return Ok(()),
                Ok(false) => continue,
                Err(e) => e,
            };
            self.failures += 1;
            let fatal = self.failures >= ACCEPTOR_RETRIES;
            let mut failure = Failure::new(
                FailureKind::Io,
                format!(
                    "the acceptor failed ({} in a row): {e}; {}",
                    self.failures,
                    if fatal {
                        "giving up: no new connection can be accepted"
                    } else {
                        "retrying after a back-off"
                    }
                ),
            );
            failure.frame = Frame::Server;
            (self.sink)(failure, fatal);
            if fatal {
                return Err(e);
            }
            self.deregister_listeners();
            self.state = State::Backoff {
                until: Instant::now() + RESOURCE_BACKOFF,
            };
        }
    }

    /// One poll and what it reports; `Ok(true)` means stop.
    fn turn(&mut self, events: &mut Events) -> io::Result<bool> {
        let timeout = match self.state {
            State::Backoff { until } => Some(until.saturating_duration_since(Instant::now())),
            State::Accepting | State::Full => None,
        };
        if let Err(e) = self.poll.poll(events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(false);
            }
            return Err(e);
        }
        for event in events.iter() {
            match event.token() {
                WAKER => {
                    if self.take_control() {
                        return Ok(true);
                    }
                    #[cfg(feature = "tls")]
                    self.take_handshaken()?;
                    if self.state == State::Full && self.has_capacity() {
                        log::debug!("a worker freed a slot: accepting again");
                        self.resume()?;
                    }
                }
                Token(i) if self.state == State::Accepting => self.accept_all(i)?,
                Token(_) => {} // a stale event from before a pause
            }
        }
        if let State::Backoff { until } = self.state
            && Instant::now() >= until
        {
            log::debug!("retrying accept after a back-off");
            self.resume()?;
        }
        Ok(false)
    }

    /// Handles control messages; `true` means stop.
    fn take_control(&mut self) -> bool {
        loop {
            match self.control.try_recv() {
                Ok(Control::Stop) | Err(TryRecvError::Disconnected) => return true,
                Err(TryRecvError::Empty) => return false,
                Ok(Control::Replace(slot, orphans)) => {
                    match self.workers.iter_mut().find(|w| w.id == slot.id) {
                        Some(old) => *old = slot,
                        None => self.workers.push(slot),
                    }
                    self.rehome(orphans);
                }
                Ok(Control::Remove(id, orphans)) => {
                    self.workers.retain(|w| w.id != id);
                    self.rehome(orphans);
                }
                Ok(Control::Adopt(orphans)) => self.rehome(Some(Leftovers::Orphans(orphans))),
            }
        }
    }

    /// Routes a stopped worker's leftovers like freshly accepted sockets.
    fn rehome(&mut self, leftovers: Option<Leftovers>) {
        let Some(leftovers) = leftovers else { return };
        let handoffs = leftovers.take();
        if !handoffs.is_empty() {
            log::debug!(
                "handing {} connections of a stopped worker to the others",
                handoffs.len()
            );
        }
        for handoff in handoffs {
            self.dispatch(handoff, u64::MAX);
        }
    }

    /// Accepts from listener `i` until it would block, the workers are full, or the
    /// process runs out of resources.
    fn accept_all(&mut self, i: usize) -> io::Result<()> {
        loop {
            if !self.has_capacity() {
                return self.pause_full();
            }
            #[cfg(feature = "tls")]
            if let Some(tls) = &mut self.tls
                && tls.is_tls(i)
                && tls.is_full()
            {
                tls.intake = Intake::Full;
                self.deregister_tls();
                return Ok(());
            }
            match self.listeners[i].accept() {
                Ok(accepted) => {
                    bump(&self.stats.accepted);
                    self.exhausted_logged = false;
                    self.failures = 0;
                    let handoff = match accepted {
                        Accepted::Tcp(stream, peer) => {
                            let client = match self.admission.admit(i, peer, &self.stats) {
                                Admission::Uncounted => None,
                                Admission::Counted(slot) => Some(slot),
                                Admission::Refused => {
                                    // Dropped: closed before a byte was read.
                                    drop(stream);
                                    continue;
                                }
                            };
                            // A TLS listener's connection goes to the handshake pool
                            // first, its place in the count with it.
                            #[cfg(feature = "tls")]
                            if let Some(tls) = self.tls.as_mut().filter(|t| t.is_tls(i)) {
                                tls.begin(stream, peer, i, client);
                                continue;
                            }
                            // TCP_NODELAY comes from the listener (see `listener.rs`).
                            Handoff::new(stream, peer, i).with_client(client)
                        }
                        // Every Unix socket client is the same "address": a per-client
                        // limit would cap them all together.
                        Accepted::Unix(stream) => Handoff::unix(stream, i),
                    };
                    self.dispatch(handoff, self.max_per_worker);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_resource_exhaustion(&e) => return self.pause_backoff(&e),
                // That client is gone (or a firewall refused it); the listener is fine.
                Err(e) if is_one_clients(&e) => log::debug!("accept failed: {e}; continuing"),
                // EINVAL (the listener was shut down), EBADF, ENOTSOCK, ...: retrying at
                // once would spin; the caller backs off, reports, and gives up if it lasts.
                Err(e) => return Err(e),
            }
        }
    }

    /// Hands a socket to the least-loaded live worker below `limit`, round robin among
    /// equals. Freshly accepted sockets respect the per-worker limit; those moving from a
    /// stopped worker were accepted already, and are placed even past it. With no worker
    /// left to take it, the socket is dropped, which closes it.
    fn dispatch(&mut self, mut handoff: Handoff, limit: u64) {
        loop {
            let Some(w) = self.pick_worker(limit) else {
                log::warn!(
                    "{}: no live worker to take the connection; closing it",
                    handoff.peer
                );
                return;
            };
            let slot = &mut self.workers[w];
            match slot.inbox.hand_off(handoff) {
                Ok(()) => {
                    slot.handed += 1;
                    return;
                }
                Err(SendError(returned)) => {
                    log::warn!("worker {} stopped taking connections", slot.id);
                    slot.live = false;
                    handoff = returned;
                }
            }
        }
    }

    /// The least-loaded live worker below `limit`, preferring one whose loop is not
    /// stalled by a handler: a new client should not wait behind a slow handler while
    /// another worker is free.
    fn pick_worker(&mut self, limit: u64) -> Option<usize> {
        let n = self.workers.len();
        if n == 0 {
            return None;
        }
        let mut best: Option<(usize, (bool, u64))> = None;
        for step in 0..n {
            let i = (self.cursor + step) % n;
            let slot = &self.workers[i];
            if !slot.live {
                continue;
            }
            let load = slot.load();
            let rank = (slot.is_stalled(), load);
            if load < limit && best.is_none_or(|(_, r)| rank < r) {
                best = Some((i, rank));
            }
        }
        let (i, _) = best?;
        self.cursor = (i + 1) % n;
        Some(i)
    }

    fn has_capacity(&self) -> bool {
        self.workers
            .iter()
            .any(|w| w.live && w.load() < self.max_per_worker)
    }

    fn pause_full(&mut self) -> io::Result<()> {
        bump(&self.stats.paused_full);
        self.deregister_listeners();
        self.state = State::Full;
        self.signal.arm();
        // A worker may have freed a slot between the check and the arm.
        if self.has_capacity() {
            self.signal.disarm();
            return self.resume();
        }
        if !self.workers.iter().any(|w| w.live) {
            log::error!("no live worker left; not accepting");
        } else {
            log::info!("every worker is at its connection limit; pausing accept");
        }
        Ok(())
    }

    fn pause_backoff(&mut self, e: &io::Error) -> io::Result<()> {
        bump(&self.stats.paused_exhausted);
        if !self.exhausted_logged {
            log::warn!("accept failed: {e}; pausing accept for {RESOURCE_BACKOFF:?}");
            self.exhausted_logged = true;
        }
        self.deregister_listeners();
        self.state = State::Backoff {
            until: Instant::now() + RESOURCE_BACKOFF,
        };
        Ok(())
    }

    /// Registers the listeners again. A listener with connections queued meanwhile is
    /// reported ready by the registration itself, so they are accepted on the next turn.
    fn resume(&mut self) -> io::Result<()> {
        self.signal.disarm();
        self.state = State::Accepting;
        self.register_listeners()
    }

    fn register_listeners(&mut self) -> io::Result<()> {
        // From a clean slate: a registration that failed half-way left some registered.
        self.deregister_listeners();
        for (i, listener) in self.listeners.iter_mut().enumerate() {
            #[cfg(feature = "tls")]
            if let Some(tls) = &mut self.tls
                && tls.is_tls(i)
                && tls.is_full()
            {
                tls.intake = Intake::Full;
                continue;
            }
            self.poll
                .registry()
                .register(listener, Token(i), Interest::READABLE)?;
        }
        Ok(())
    }

    /// Hands out the connections whose handshakes ended established, and takes new TLS
    /// connections again if the bound had stopped them.
    #[cfg(feature = "tls")]
    fn take_handshaken(&mut self) -> io::Result<()> {
        while let Some(ended) = self.tls.as_mut().and_then(TlsRoute::next_done) {
            if let Some(handoff) = ended {
                // Accepted already, and its handshake paid for: placed even past the
                // per-worker limit (by at most `max_in_flight` in all).
                self.dispatch(handoff, u64::MAX);
            }
        }
        if let Some(tls) = &mut self.tls
            && tls.intake == Intake::Full
            && !tls.is_full()
        {
            tls.intake = Intake::Open;
            if self.state == State::Accepting {
                for (i, listener) in self.listeners.iter_mut().enumerate() {
                    if tls.is_tls(i) {
                        self.poll
                            .registry()
                            .register(listener, Token(i), Interest::READABLE)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Stops taking connections on TLS listeners: `max_in_flight` handshakes run.
    #[cfg(feature = "tls")]
    fn deregister_tls(&mut self) {
        let Some(tls) = &self.tls else { return };
        for (i, listener) in self.listeners.iter_mut().enumerate() {
            if tls.is_tls(i) {
                let _ = self.poll.registry().deregister(listener);
            }
        }
    }

    fn deregister_listeners(&mut self) {
        for listener in &mut self.listeners {
            match self.poll.registry().deregister(listener) {
                // Not registered (a registration that failed half-way): nothing to undo.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => log::warn!("deregistering a listener failed: {e}"),
                Ok(()) => {}
            }
        }
    }
}
