//! The event loop: one `mio::Poll`, the connection slab, the timers and the inbox.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::answer::door::{Answer, Delivery};
use crate::answer::job::Offload;
use crate::answer::topic::Topic;
use crate::config::Config;
use crate::conn::{Conn, Outcome, ticket_failure};
use crate::exit::Exit;
use crate::http::date::DateCache;
use crate::http::handler::Handler;
use crate::http::request::{ConnId, UNIX_PEER};
use crate::http::response::Fault;
use crate::inbox::{Arrival, Command, Handoff, Inbox, Orphans};
use crate::observe::stats::{CloseReason, Stats};
use crate::prepared::{PreparedReactor, WAKER};
use crate::shared::Shared;
use crate::slot::SlotSignal;
use crate::supervise::activity::Activity;
use crate::supervise::failure::{Failure, FailureKind};
use crate::supervise::frame::{self, Supervisor};
use crate::timer::{Link, Nodes, TimerKind, Timers};
use crate::transport::{Transport, Wire};

/// Readiness events taken per `poll` call.
const EVENTS: usize = 1024;

/// Whether the loop is serving or on its way out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunState {
    /// Serving, taking new connections from the inbox.
    Running,
    /// Shutting down: idle connections are closed, busy ones finish their current
    /// response; at `deadline` (ms on the reactor's clock) whatever is left is closed.
    Draining { deadline: u64 },
    /// Its share of requests is answered ([`Config::max_requests`]), but streams or
    /// answers still run on connections that cannot move: serving on until none is left,
    /// or until `deadline` (the shutdown grace), then recycled.
    Recycling { deadline: u64 },
}

/// One thread's HTTP/1.1 event loop.
///
/// A reactor owns a `mio::Poll`, a slab of connections, one timer structure and an
/// [`Inbox`] through which other threads hand it accepted sockets. [`Reactor::run`] serves
/// until a shutdown is asked for through the inbox and the drain completes.
///
/// ```
/// use std::io::{Read, Write};
/// use warden_reactor::{Config, Reactor, Request, Response};
///
/// let (mut reactor, inbox) = Reactor::new(Config::default(), |_: &Request<'_>| Response::text("hi"))?;
/// let stats = reactor.stats();
/// let thread = std::thread::spawn(move || reactor.run());
///
/// // Accept one connection here and hand it over.
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (socket, peer) = listener.accept()?;
/// socket.set_nonblocking(true)?;
/// inbox.send(mio::net::TcpStream::from_std(socket), peer).expect("reactor is running");
///
/// client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
/// let mut response = String::new();
/// client.read_to_string(&mut response)?;
/// assert!(response.starts_with("HTTP/1.1 200 OK\r\n") && response.ends_with("\r\n\r\nhi"));
/// drop(client);
///
/// inbox.shutdown(std::time::Duration::from_secs(1));
/// thread.join().expect("reactor thread")?;
/// assert_eq!(stats.snapshot().requests, 1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Reactor<H> {
    poll: Poll,
    events: Option<Events>,
    conns: Slab<Conn>,
    timers: Timers,
    inbox: Receiver<Command>,
    /// Deferred answers, from whichever thread sent them; woken by the inbox's waker.
    answers: Receiver<Delivery>,
    shared: Shared<H>,
    /// Origin of the millisecond clock the timers run on.
    epoch: Instant,
    /// Milliseconds since `epoch`, read once per loop turn.
    now: u64,
    next_id: u64,
    state: RunState,
    /// What a connection that cannot move is counted as when the reactor ends with it:
    /// cut by a restart, unless the reactor was recycled.
    cut_as: CloseReason,
    slot_signal: Option<Arc<SlotSignal>>,
    /// Connections that spent their read budget with input left: driven again next turn,
    /// since no new readiness event will announce what is already there.
    again: Vec<usize>,
    /// The list being driven this turn; swapped with `again` to reuse both allocations.
    again_now: Vec<usize>,
    /// The subscribers a publish woke, kept to reuse its allocation.
    woken: Vec<(usize, ConnId)>,
}

impl PreparedReactor {
    /// The reactor, answering with `handler`.
    ///
    /// # Errors
    ///
    /// As [`PreparedReactor::new`]; the settings were checked there already.
    pub fn with_handler<H: Handler>(self, handler: H) -> io::Result<Reactor<H>> {
        let PreparedReactor {
            config,
            poll,
            timers,
            waker,
            door,
            answers,
            inbox,
            draining,
            activity,
            stats,
        } = self;
        drop(waker); // the inbox and the door hold it
        let mut shared = Shared::new(config, handler, DateCache::new(Instant::now()), door)?;
        shared.draining = draining;
        shared.activity = activity;
        shared.stats = stats;
        Ok(Reactor {
            poll,
            events: Some(Events::with_capacity(EVENTS)),
            conns: Slab::with_capacity(1024),
            timers,
            inbox,
            answers,
            shared,
            epoch: Instant::now(),
            now: 0,
            next_id: 0,
            state: RunState::Running,
            cut_as: CloseReason::Restart,
            slot_signal: None,
            again: Vec::new(),
            again_now: Vec::new(),
            woken: Vec::new(),
        })
    }
}

impl<H: Handler> Reactor<H> {
    /// Makes a reactor that answers with `handler`, and the inbox that feeds it.
    ///
    /// # Errors
    ///
    /// Fails if the poll or its waker cannot be created (the process is out of file
    /// descriptors), or with `InvalidInput` if `config.server_name` is not a valid header
    /// value.
    pub fn new(config: Config, handler: H) -> io::Result<(Reactor<H>, Inbox)> {
        let (prepared, inbox) = PreparedReactor::new(config)?;
        Ok((prepared.with_handler(handler)?, inbox))
    }

    /// The reactor's counters, shared with other threads.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.shared.stats)
    }

    /// Names the worker this reactor serves as, in its log lines.
    pub fn set_worker_id(&mut self, id: usize) {
        self.shared.worker = id;
    }

    /// Reports failures to `supervisor` instead of logging them ([`LogFailures`](crate::LogFailures)).
    pub fn set_supervisor(&mut self, supervisor: Box<dyn Supervisor>) {
        self.shared.supervisor = supervisor;
    }

    /// What the handler is doing right now, for a watchdog on another thread.
    pub fn activity(&self) -> Arc<Activity> {
        Arc::clone(&self.shared.activity)
    }

    /// Runs the closures of [`Request::blocking`](crate::Request::blocking) on `pool`;
    /// without one they run on the loop itself.
    pub fn set_offload(&mut self, pool: Arc<dyn Offload>) {
        self.shared.dispatch.offload = Some(pool);
    }

    /// Signals `signal` each time a connection closes, so an acceptor paused at its
    /// connection limit can resume.
    pub fn set_slot_signal(&mut self, signal: Arc<SlotSignal>) {
        self.slot_signal = Some(signal);
    }

    /// The handler, e.g. to inspect per-worker state after `run` returns.
    pub fn handler(&self) -> &H {
        &self.shared.handler
    }

    /// Serves until a shutdown asked for through the [`Inbox`] (or the drop of every inbox)
    /// has drained every connection, or a failure's restart stops the reactor.
    ///
    /// Handler panics and invalid responses (the request frame) and panics in a
    /// connection's processing (the connection frame) are caught here and reported to the
    /// [`Supervisor`]; a panic of the loop itself unwinds out of `run`, for the worker
    /// frame around it to catch. The reactor is still intact then: [`Reactor::salvage`]
    /// hands its connections on.
    ///
    /// # Errors
    ///
    /// Fails only if polling itself fails, which leaves the reactor unusable; connection
    /// errors close their connection and never end the loop.
    pub fn run(&mut self) -> io::Result<Exit> {
        let mut events = self
            .events
            .take()
            .unwrap_or_else(|| Events::with_capacity(EVENTS));
        let was_supervised = frame::set_supervised(true);
        let result = self.run_with(&mut events);
        frame::set_supervised(was_supervised);
        self.events = Some(events);
        result
    }

    /// Takes what this stopped reactor leaves behind for another: every connection
    /// (deregistered; busy ones with what they were in the middle of: buffered input,
    /// parse state, unwritten output, so a restart loses no byte) and its inbox's queue.
    /// A connection waiting for a deferred answer cannot move (the answer comes to this
    /// reactor): it is closed, and its client counted gone.
    pub fn salvage(&mut self) -> Orphans {
        let mut moving = Vec::new();
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            if let Ok(k) = u32::try_from(key) {
                self.timers.disarm(&mut self.conns, k);
            }
            let mut conn = self.conns.remove(key);
            if self.poll.registry().deregister(&mut conn.stream).is_err() {
                // Not ours to hand on any more: close it.
                self.shared
                    .stats
                    .connection_closed(CloseReason::ServerError);
                conn.release(&mut self.shared, true);
                continue;
            }
            if conn.is_bound() {
                // Cannot move (see `carry`): cut, counted as what ended the worker.
                self.shared.stats.connection_closed(self.cut_as);
            } else {
                self.shared.stats.connection_moved();
            }
            let (peer, listener, proxy) = (conn.peer(), conn.listener(), conn.proxy());
            // Its place in its client's count moves with it (or, if it closes here,
            // is given back as it drops).
            let client = conn.take_client();
            if conn.is_idle() {
                let kept_alive = conn.has_served();
                conn.release(&mut self.shared, true);
                let idle = Handoff::idle(conn.stream, peer, listener, kept_alive, proxy);
                moving.push(idle.with_boxed_client(client));
                continue;
            }
            match conn.carry(&mut self.shared) {
                (stream, Some(carried)) => {
                    let busy = Handoff::carrying(stream, peer, listener, carried, proxy);
                    moving.push(busy.with_boxed_client(client));
                }
                // Cut here: ended as every close we start is.
                (mut stream, None) => stream.close(),
            }
        }
        let queue = std::mem::replace(&mut self.inbox, crossbeam_channel::never());
        Orphans::new(moving, queue)
    }

    fn run_with(&mut self, events: &mut Events) -> io::Result<Exit> {
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            self.tick();
            for event in events.iter() {
                match event.token() {
                    WAKER => {
                        self.drain_inbox();
                        self.take_answers();
                    }
                    Token(key) => {
                        let Some(conn) = self.conns.get_mut(key) else {
                            continue; // closed earlier in this batch
                        };
                        conn.ready(
                            event.is_readable() || event.is_error(),
                            event.is_read_closed(),
                            event.is_write_closed() || event.is_error(),
                        );
                        self.drive(key);
                    }
                }
            }
            std::mem::swap(&mut self.again, &mut self.again_now);
            while let Some(key) = self.again_now.pop() {
                // The key may have been closed, or even reused, since: driving a
                // connection with nothing to do is harmless.
                if self.conns.contains(key) {
                    self.drive(key);
                }
            }
            self.expire_timers();
            self.publish_stats();
            if self.shared.pending_fault.take() == Some(Fault::WorkerPanic) {
                panic!("injected fault: the worker's event loop panics");
            }
            if let Some(exit) = self.shared.stop.take() {
                return Ok(exit);
            }
            if self.is_spent() {
                self.cut_as = CloseReason::Recycled;
                return Ok(Exit::Recycled);
            }
            if let RunState::Draining { deadline } = self.state {
                if self.now >= deadline {
                    self.close_all();
                }
                if self.conns.is_empty() {
                    // Answers that came for connections the drain closed are discarded,
                    // and reported as such, before the reactor goes.
                    self.take_answers();
                    return Ok(Exit::Drained);
                }
            }
        }
    }

    /// Reads the clock once for the whole turn, and refreshes the cached `Date`.
    fn tick(&mut self) {
        let now = Instant::now();
        self.shared.clock.start_turn(now);
        self.now = u64::try_from(now.duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX);
        if self.shared.date.refresh(now) {
            self.shared.preamble.set_date(self.shared.date.bytes());
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        if !self.again.is_empty() {
            return Some(Duration::ZERO);
        }
        let timer = self.timers.next_deadline(&self.conns);
        let drain = match self.state {
            RunState::Draining { deadline } | RunState::Recycling { deadline } => Some(deadline),
            RunState::Running => None,
        };
        let next = match (timer, drain) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // The clock is read after poll returns, so a deadline in this very millisecond
        // waits one more: never a zero-timeout spin.
        next.map(|deadline| Duration::from_millis(deadline.saturating_sub(self.now).max(1)))
    }

    /// Takes everything queued in the inbox.
    fn drain_inbox(&mut self) {
        loop {
            match self.inbox.try_recv() {
                Ok(Command::Connection(handoff)) => self.register(handoff),
                Ok(Command::Shutdown(grace)) => self.begin_drain(grace),
                Ok(Command::Retire) => {
                    // Leave what is still queued for the salvage.
                    self.shared.stop = Some(Exit::Retired);
                    return;
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    // Nobody can reach us any more: drain with the configured grace.
                    if !matches!(self.state, RunState::Draining { .. }) {
                        self.begin_drain(self.shared.config.shutdown_grace);
                    }
                    return;
                }
            }
        }
    }

    /// Takes every deferred answer that has come: each goes to the connection waiting for
    /// it, or, when that connection is gone, is discarded and counted as client-gone.
    fn take_answers(&mut self) {
        while let Ok(delivery) = self.answers.try_recv() {
            let (ticket, answer) = match delivery {
                Delivery::Answer { ticket, answer } => (ticket, answer),
                Delivery::Topic(topic) => {
                    self.publish_to_subscribers(&topic);
                    continue;
                }
            };
            let key = ticket.key;
            if let Answer::Ready = answer {
                // A streamed body has news. Its connection may have closed since: then
                // the writer has been told (its writes fail), and there is nothing to do.
                // Likewise a streamed request body whose reader has made room.
                if self
                    .conns
                    .get(key)
                    .is_some_and(|c| c.streams(&ticket) || c.uploads(&ticket))
                {
                    self.drive(key);
                }
                continue;
            }
            if !self.conns.get(key).is_some_and(|c| c.awaits(&ticket)) {
                let failure = ticket_failure(
                    &ticket,
                    FailureKind::ClientGone,
                    "the connection closed before its deferred answer arrived; the answer is discarded"
                        .to_owned(),
                );
                let restart = self.shared.supervisor.failure(failure);
                self.shared.stop_for(&restart);
                continue;
            }
            let outcome = self.in_frame(key, |conn, shared| conn.deliver(answer, shared));
            self.apply(key, outcome);
            if !matches!(outcome, Outcome::Close(_))
                && self.conns.get(key).is_some_and(Conn::wants_another_turn)
            {
                self.again.push(key);
            }
        }
    }

    /// A topic some connections here follow has new events: each of them sends what it
    /// can now.
    fn publish_to_subscribers(&mut self, topic: &Arc<Topic>) {
        let mut woken = std::mem::take(&mut self.woken);
        self.shared.subscriptions.woken(topic, &mut woken);
        for (key, id) in woken.drain(..) {
            // A key reused since by another connection is not this subscriber.
            if self.conns.get(key).is_some_and(|c| c.id() == id) {
                self.drive(key);
            }
        }
        self.woken = woken;
    }

    fn register(&mut self, handoff: Handoff) {
        let Arrival {
            socket: mut stream,
            peer,
            listener,
            kept_alive,
            carried,
            proxied,
            client,
        } = handoff.into_arrival();
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        // Both interests, once: readiness is edge-triggered, so an unused WRITABLE costs
        // nothing, and no reregister syscall is ever needed.
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            let mut failure = Failure::new(
                FailureKind::Io,
                format!("cannot register the connection: {e}"),
            );
            failure.peer = Some(peer);
            failure.listener = Some(listener);
            // Counted as taken and closed at once: the acceptor's view of this worker's
            // load (sockets handed minus closed) stays exact.
            self.shared.stats.connection_opened();
            self.shared
                .stats
                .connection_closed(CloseReason::ServerError);
            if let Some(signal) = &self.slot_signal {
                signal.slot_freed();
            }
            let restart = self.shared.supervisor.failure(failure);
            self.shared.stop_for(&restart);
            return;
        }
        let id = ConnId(self.next_id);
        self.next_id += 1;
        self.shared.stats.connection_opened();
        if let Some(carried) = carried {
            // Busy: go on at once with what it buffered (no readiness event will say so).
            let conn = entry.insert(Conn::resume(stream, peer, id, listener, key, *carried));
            conn.set_proxy(proxied.flatten());
            conn.set_client(client);
            log::trace!("worker {} {id} {peer}: resumed", self.shared.worker);
            self.drive(key);
            return;
        }
        let holds_input = stream.holds_input();
        let conn = entry.insert(Conn::new(stream, peer, id, listener, key, kept_alive));
        conn.set_client(client);
        match (proxied, self.shared.config.proxy_protocol.trusted(listener)) {
            // Moved from another reactor: past its header already.
            (Some(proxy), _) => conn.set_proxy(proxy),
            // A Unix socket's peer has no address to trust or to name: the PROXY
            // protocol is for TCP listeners (a balancer in front of a Unix socket is on
            // this machine, and the socket file's permissions say who may connect).
            (None, Some(_)) if peer == UNIX_PEER => {}
            // Counted once the header names the client.
            (None, Some(trusted)) if trusted.iter().any(|range| range.contains(peer.ip())) => {
                conn.expect_proxy_header();
            }
            // Only a trusted balancer may speak for a client; anyone else is refused
            // before a byte is read.
            (None, Some(_)) => {
                log::debug!(
                    "worker {} {id} {peer}: not a trusted PROXY protocol source; refused",
                    self.shared.worker
                );
                self.shared.stats.proxy_untrusted();
                self.close(key, CloseReason::ClientError);
                return;
            }
            // Counted by the acceptor, before it got here.
            (None, None) => {}
        }
        log::trace!("worker {} {id} {peer}: accepted", self.shared.worker);
        self.arm(
            key,
            if kept_alive {
                TimerKind::Idle
            } else {
                TimerKind::Header
            },
        );
        if holds_input {
            // Its handshake pool may have read the first request with the handshake's
            // last records: no readiness event will say so.
            self.drive(key);
        }
    }

    fn drive(&mut self, key: usize) {
        let outcome = self.in_frame(key, |conn, shared| conn.drive(shared));
        self.apply(key, outcome);
        if !matches!(outcome, Outcome::Close(_))
            && self.conns.get(key).is_some_and(Conn::wants_another_turn)
        {
            self.again.push(key);
        }
    }

    /// The connection frame: runs `f` on connection `key`, and if it panics, reports a
    /// `ConnectionPanic` and closes that connection only. Its state may be broken; nothing
    /// else is.
    fn in_frame(
        &mut self,
        key: usize,
        f: impl FnOnce(&mut Conn, &mut Shared<H>) -> Outcome,
    ) -> Outcome {
        let conn = &mut self.conns[key];
        let shared = &mut self.shared;
        let result = frame::catch(|| {
            let outcome = f(conn, shared);
            if shared.pending_fault == Some(Fault::ConnectionPanic) {
                shared.pending_fault = None;
                panic!("injected fault: the connection's processing panics");
            }
            outcome
        });
        match result {
            Ok(outcome) => outcome,
            Err(payload) => {
                let mut failure =
                    self.conns[key].failure(FailureKind::ConnectionPanic, "", &self.shared);
                frame::describe_panic(payload.as_ref(), &mut failure);
                let restart = self.shared.supervisor.failure(failure);
                self.shared.stop_for(&restart);
                Outcome::Close(CloseReason::ServerError)
            }
        }
    }

    /// Acts on what driving a connection concluded.
    fn apply(&mut self, key: usize, outcome: Outcome) {
        match outcome {
            Outcome::Close(why) => self.close(key, why),
            Outcome::Upgrade => self.hand_over(key),
            Outcome::Wait(kind) | Outcome::Continue(kind) => {
                // A lingering connection is left to its linger timer: closing it now could
                // reset the final response away.
                if self.shared.is_draining() && self.conns[key].is_idle() {
                    self.close(key, CloseReason::Drain);
                    return;
                }
                let running = self.conns[key].link.kind() == Some(kind);
                if !(running && matches!(outcome, Outcome::Continue(_))) {
                    self.arm(key, kind);
                }
            }
        }
    }

    fn arm(&mut self, key: usize, kind: TimerKind) {
        let key = u32::try_from(key).expect("fewer than 2^32 connections");
        self.timers.arm(&mut self.conns, key, kind, self.now);
    }

    fn close(&mut self, key: usize, why: CloseReason) {
        if let Ok(k) = u32::try_from(key) {
            self.timers.disarm(&mut self.conns, k);
        }
        let mut conn = self.conns.remove(key);
        conn.release(&mut self.shared, false);
        // Every close we start ends the session properly first (TLS: close_notify).
        conn.stream.close();
        log::trace!("worker {} {}: closed", self.shared.worker, conn.id());
        // Dropping the stream closes the socket, which also removes it from the epoll
        // set: no deregister syscall needed.
        drop(conn);
        self.shared.stats.connection_closed(why);
        if let Some(signal) = &self.slot_signal {
            signal.slot_freed();
        }
    }

    /// Gives an upgraded connection to the application: it leaves the loop (and its
    /// counters, as closed for `upgraded`), in blocking mode, with the bytes read past
    /// its request. A panic of the application's callback is a failure of the request.
    fn hand_over(&mut self, key: usize) {
        if let Ok(k) = u32::try_from(key) {
            self.timers.disarm(&mut self.conns, k);
        }
        let mut conn = self.conns.remove(key);
        let _ = self.poll.registry().deregister(&mut conn.stream);
        let (peer, id) = (conn.peer(), conn.id());
        let (stream, buffered, upgrade) = conn.into_upgrade(&mut self.shared);
        self.shared.stats.connection_closed(CloseReason::Upgraded);
        if let Some(signal) = &self.slot_signal {
            signal.slot_freed();
        }
        let Some(upgrade) = upgrade else {
            return; // unreachable: only an upgrading connection is handed over
        };
        let (Wire::Tcp(stream), None) = stream.into_parts() else {
            // `Request::upgrade` refuses TLS and Unix connections before their 101.
            unreachable!("only plain TCP connections are upgraded");
        };
        let stream = std::net::TcpStream::from(stream);
        if let Err(e) = stream.set_nonblocking(false) {
            log::warn!(
                "worker {} {id} {peer}: upgrade: {e}; closing",
                self.shared.worker
            );
            return;
        }
        log::trace!("worker {} {id} {peer}: upgraded", self.shared.worker);
        let crate::answer::upgrade::Upgrade { then, request, .. } = *upgrade;
        let path = request.path().to_owned();
        let method = request.method().to_owned();
        let upgraded = crate::answer::upgrade::Upgraded {
            stream,
            buffered,
            request,
        };
        if let Err(payload) = frame::catch(move || then(upgraded)) {
            let mut failure = Failure::new(FailureKind::Panic, "");
            frame::describe_panic(payload.as_ref(), &mut failure);
            failure.message = format!("the upgrade's callback panicked: {}", failure.message);
            failure.conn = Some(id);
            failure.peer = Some(peer);
            failure.method = Some(method);
            failure.path = Some(path);
            let restart = self.shared.supervisor.failure(failure);
            self.shared.stop_for(&restart);
        }
    }

    fn expire_timers(&mut self) {
        while let Some((key, kind)) = self.timers.pop_expired(&mut self.conns, self.now) {
            let key = key as usize;
            let outcome = self.in_frame(key, |conn, shared| conn.expire(kind, shared));
            self.apply(key, outcome);
        }
    }

    fn begin_drain(&mut self, grace: Duration) {
        let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
        let deadline = self.now.saturating_add(grace_ms);
        self.state = match self.state {
            RunState::Draining { deadline: earlier } => RunState::Draining {
                deadline: earlier.min(deadline),
            },
            RunState::Running | RunState::Recycling { .. } => RunState::Draining { deadline },
        };
        self.shared.draining.store(true, Ordering::Relaxed);
        // Answer whatever already arrived, even on connections that looked idle (a request
        // may be in the kernel with its event not yet seen): one read each, then close
        // every connection left with nothing to do.
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        log::debug!(
            "worker {}: draining {} connections within {grace:?}",
            self.shared.worker,
            keys.len()
        );
        for key in keys {
            self.conns[key].ready(true, false, false);
            let outcome = self.in_frame(key, |conn, shared| conn.drive(shared));
            self.apply(key, outcome);
        }
    }

    fn close_all(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        if !keys.is_empty() {
            log::debug!(
                "worker {}: grace period over, closing {} connections",
                self.shared.worker,
                keys.len()
            );
        }
        for key in keys {
            self.close(key, CloseReason::Drain);
        }
    }

    /// Whether it has answered its share of requests and can go: at once when no
    /// connection is bound to it (a deferred answer, a stream or an upload cannot move to
    /// the replacement), else once the last of those ends or the shutdown grace has
    /// passed since the share was reached (what is left is then cut, counted as
    /// `recycled`). Checked once per turn; the scan of connections only once the share is
    /// reached.
    fn is_spent(&mut self) -> bool {
        let deadline = match self.state {
            RunState::Draining { .. } => return false,
            RunState::Recycling { deadline } => deadline,
            RunState::Running => {
                let max = self.shared.config.max_requests;
                if max.is_none_or(|max| self.shared.stats.requests() < max) {
                    return false;
                }
                let grace = self.shared.config.shutdown_grace;
                let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
                let deadline = self.now.saturating_add(grace_ms);
                self.state = RunState::Recycling { deadline };
                // New connections go to other workers while this one waits.
                self.shared.stats.set_recycling();
                deadline
            }
        };
        let bound = self
            .conns
            .iter()
            .filter(|(_, conn)| conn.is_bound())
            .count();
        if bound > 0 && self.now < deadline {
            return false;
        }
        if bound > 0 {
            log::info!(
                "worker {}: recycled with {bound} streams or answers still running past the grace; cut",
                self.shared.worker
            );
        }
        true
    }

    fn publish_stats(&mut self) {
        if self.shared.served > 0 {
            self.shared.stats.requests_served(self.shared.served);
            self.shared.served = 0;
        }
    }
}

impl<H> std::fmt::Debug for Reactor<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("connections", &self.conns.len())
            .field("state", &self.state)
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}

impl Nodes for Slab<Conn> {
    fn link(&self, key: u32) -> &Link {
        &self[key as usize].link
    }

    fn link_mut(&mut self, key: u32) -> &mut Link {
        &mut self[key as usize].link
    }
}
