//! `/topics/NAME`: a broadcast hub's topics, subscribed with `GET` and published to with
//! `POST`, served by the subscribers' own loops.
//!
//! `GET /events`: Server-Sent Events, every stream of the process served by one ticker
//! thread that never waits for a client. A stream whose client has not read its last
//! events is set aside until its connection says it has room; the others go on.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::ErrorKind;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use warden::{
    Broadcast, BroadcastConfig, Event, EventStream, PublishError, Readiness, RedisBroker,
    RedisConfig, Request, Response,
};

use crate::streams::{Driver, Registered, Streams, query};

/// The most events and the longest pause `/events` takes.
const MAX_EVENTS: u64 = 1 << 20;
const MAX_PAUSE_MS: u64 = 3_600_000;

/// `GET /events?n=N&ms=M`: N events M ms apart, then the stream ends.
pub(crate) fn events(req: &Request<'_>) -> Response {
    let n = query(req, "n").unwrap_or(10).min(MAX_EVENTS);
    let every = Duration::from_millis(query(req, "ms").unwrap_or(1000).min(MAX_PAUSE_MS));
    let (pending, responder) = req.defer();
    let Ok(stream) = responder.event_stream() else {
        return pending;
    };
    if stream.is_open() {
        ticker().add(Subscription {
            stream,
            sent: 0,
            n,
            every,
        });
    } else {
        let _ = stream.finish(); // HEAD: the head was all
    }
    pending
}

/// One event stream and its schedule.
struct Subscription {
    stream: EventStream,
    sent: u64,
    n: u64,
    every: Duration,
}

impl Registered for Subscription {
    fn register(&mut self, ready: &Readiness, token: u64) {
        self.stream.register(ready, token);
    }
}

/// What became of a stream's turn.
enum Turn {
    /// Its next event is due then.
    Next(Instant),
    /// Its client has not read what is queued: set aside until its token is marked.
    Blocked,
    /// It ended: all sent, or the client left.
    Done,
}

impl Subscription {
    /// Sends what was due at `due` (the end once every event is out); it is `now`.
    fn turn(&mut self, due: Instant, now: Instant) -> Turn {
        if self.sent == self.n {
            return match self.stream.try_finish() {
                Err(e) if e.kind() == ErrorKind::WouldBlock => Turn::Blocked,
                _ => Turn::Done,
            };
        }
        let data = format!("event {} of {}", self.sent + 1, self.n);
        let id = (self.sent + 1).to_string();
        match self.stream.try_send(&Event::new(&data).id(&id)) {
            Ok(()) => {
                self.sent += 1;
                // On its schedule (`due` plus the pause), but never due again within
                // this pass: every stream due now gets its turn before any gets a second.
                let next = if self.sent == self.n {
                    now
                } else {
                    due + self.every
                };
                Turn::Next(next.max(now + Duration::from_nanos(1)))
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => Turn::Blocked,
            Err(_) => Turn::Done, // the client left
        }
    }
}

/// A stream's next turn: the earliest first in the max-heap, then by token.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Due(Reverse<Instant>, Reverse<u64>);

/// The ticker thread, started on first use.
fn ticker() -> &'static Driver<Subscription> {
    static TICKER: OnceLock<Driver<Subscription>> = OnceLock::new();
    TICKER.get_or_init(|| Driver::start("warden-events", tick))
}

/// Sends each stream's events when they are due. The streams live in the driver's map;
/// the heap holds when each one's turn comes, and a blocked stream is in the heap again
/// only once its connection has room.
fn tick(subs: &mut Streams<Subscription>, ready: &Readiness) {
    let mut due: BinaryHeap<Due> = BinaryHeap::new();
    let mut tokens = Vec::new();
    loop {
        let wait = due.peek().map_or(Duration::from_secs(3600), |Due(at, _)| {
            at.0.saturating_duration_since(Instant::now())
        });
        tokens.clear();
        ready.wait(&mut tokens, wait);
        let now = Instant::now();
        // Blocked streams with room again, and new ones: their turn is now.
        for &token in &tokens {
            if subs.contains(token) {
                due.push(Due(Reverse(now), Reverse(token)));
            }
        }
        let alive = subs.take_new(ready, |token, _| {
            due.push(Due(Reverse(now), Reverse(token)));
            true
        });
        if !alive {
            return; // the server is gone
        }
        while due.peek().is_some_and(|Due(at, _)| at.0 <= now) {
            let Due(Reverse(at), Reverse(token)) = due.pop().expect("peeked");
            let Some(sub) = subs.get_mut(&token) else {
                continue; // ended, or a second mark of the same turn
            };
            match sub.turn(at, now) {
                Turn::Next(at) => due.push(Due(Reverse(at), Reverse(token))),
                Turn::Blocked => {}
                Turn::Done => {
                    subs.remove(&token);
                }
            }
        }
    }
}

/// The URL prefix of the broadcast topics.
pub(crate) const TOPICS: &str = "/topics/";

/// The process's broadcast hub.
static HUB: OnceLock<Broadcast> = OnceLock::new();

/// Makes the process's hub: of its own, or sharing its topics through the Redis at
/// `broker` (`redis://HOST:PORT[/DB]`). Returns at once either way: a broker that cannot
/// be reached yet is tried again, and topics are served once it answers.
pub(crate) fn init(
    config: BroadcastConfig,
    broker: Option<&str>,
) -> Result<&'static Broadcast, String> {
    let hub = match broker {
        None => Broadcast::new(config),
        Some(url) => {
            let broker =
                RedisBroker::new(RedisConfig::new(url)).map_err(|e| format!("--broker: {e}"))?;
            Broadcast::with_broker(config, Arc::new(broker))
                .map_err(|e| format!("--broker: {e}"))?
        }
    };
    Ok(HUB.get_or_init(|| hub))
}

/// The hub (one of its own with the defaults if `init` was not called).
fn hub() -> &'static Broadcast {
    HUB.get_or_init(|| Broadcast::new(BroadcastConfig::default()))
}

/// `GET /topics/NAME`: the connection follows topic NAME.
pub(crate) fn subscribe(req: &Request<'_>) -> Response {
    let topic = req.path().strip_prefix(TOPICS).unwrap_or_default();
    hub().subscribe(req, topic)
}

/// `POST /topics/NAME[?event=TYPE]`: the body, as one event; 202 with its id once the hub
/// (or its broker) has taken it.
pub(crate) fn publish(req: &Request<'_>) -> Response {
    let topic = req.path().strip_prefix(TOPICS).unwrap_or_default();
    let Ok(data) = std::str::from_utf8(req.body()) else {
        return Response::text("an event's data is UTF-8 text\n").with_status(400);
    };
    let kind = req
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("event=")));
    let mut event = Event::new(data);
    if let Some(kind) = kind {
        event = event.event(kind);
    }
    let hub = hub();
    if !hub.is_shared() {
        // A hub of its own answers at once: no deferral on this path.
        return published(hub.publish(topic, &event));
    }
    let (pending, responder) = req.defer();
    hub.publish_with(topic, &event, move |result| {
        // An error: the client left or its deadline passed; nobody to tell.
        let _ = responder.send(published(result));
    });
    pending
}

/// The answer to a publish.
fn published(result: Result<warden::EventId, PublishError>) -> Response {
    match result {
        Ok(id) => Response::text(format!("id={id}\n")).with_status(202),
        Err(e @ (PublishError::TooManyTopics { .. } | PublishError::Unavailable { .. })) => {
            // When a topic may be forgotten at the soonest, or the broker tried again.
            let secs = e.retry_after_secs().unwrap_or(1);
            Response::text(format!("{e}\n"))
                .with_status(503)
                .with_header("Retry-After", secs.to_string())
        }
        Err(e @ PublishError::TooLarge { .. }) => Response::text(format!("{e}\n")).with_status(413),
        Err(e) => Response::text(format!("{e}\n")).with_status(400),
    }
}
