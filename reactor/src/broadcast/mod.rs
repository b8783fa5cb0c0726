//! Fan-out: publish an event once, and every subscriber's loop sends it from one shared
//! copy ([`Broadcast`]); with a [`Broker`], every server given the same broker shares its
//! topics.
//!
//! This layer sits on `answer` (a topic and its subscribers' cursors live there, as the
//! loop's side of a subscription): `config` (what a hub is made with, ids, errors),
//! `resume` (where a subscriber starts), `hub` (the topics), and for a broker: `broker`
//! (the engine seam), `link` (what the hub shares with its threads), `take` (a topic's
//! copy of the broker's), and the threads `publisher`, `feed` and `copier`; `redis` is
//! one engine.

mod broker;
mod config;
mod copier;
mod feed;
mod hub;
mod link;
mod publisher;
#[cfg(feature = "redis")]
mod redis;
mod resume;
mod take;

pub use self::broker::{Broker, BrokerError, Feed, Notice, Outgoing, Replay, Session, Stored};
pub use self::config::{BroadcastConfig, EventId, PublishError};
pub use self::link::BrokerStats;
#[cfg(feature = "redis")]
pub use self::redis::{RedisBroker, RedisConfig};

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::TrySendError;

use crate::answer::sse::{Event, check, encode};
use crate::answer::topic::{Subscription, Topic};
use crate::http::request::Request;
use crate::http::response::Response;

use self::hub::Hub;
use self::link::{Done, JOIN_QUEUE, Join, Link, PUBLISH_DEADLINE, PUBLISH_QUEUE, Publish};
use self::resume::resolve;

/// A hub of event streams: [`Broadcast::publish`] an event to a topic from any thread, and
/// [`Broadcast::subscribe`] a request to a topic in a handler. The subscription is served
/// by the request's own worker loop, as Server-Sent Events: no thread per subscriber, and
/// no copy of an event per subscriber (each event is encoded once; a subscriber is a
/// cursor into the topic's events). A publish wakes each loop with subscribers to the
/// topic once.
///
/// Events get ids 1, 2, 3, ... per topic, and the newest `history` (within `max_lag`
/// bytes) are offered to a subscriber that comes back. A subscriber that sends
/// `Last-Event-ID: N` first gets every kept event after N, then live ones. What cannot be
/// replayed is said, never skipped: when the events after N are no longer kept (or would
/// not fit in one replay of `max_lag` bytes), or N is not an id of this hub (newer than
/// its last: the server restarted), the stream starts with an `event: reset` whose data
/// says why (its first word: `gone`, `unknown`), then what is kept.
///
/// `Last-Event-ID` is read as ids are written here: digits (`N`), or with a broker
/// `EPOCH:N` (surrounding spaces ignored). Digits past the largest number (2^64 - 1) read
/// as the largest. Anything else (`-1`, `+1`, `1.5`, letters, an empty value) is no id:
/// the subscriber starts with live events. With two such headers, the first is read.
///
/// A subscriber that falls `max_lag` bytes behind is cut (never sooner: the events it
/// still needs are kept for it); one that leaves is removed at once; an idle stream gets a
/// comment line every keep-alive interval
/// ([`Config::sse_keepalive`](crate::Config::sse_keepalive)). A drain ends every
/// subscription with its last chunk.
///
/// ## Across servers
///
/// [`Broadcast::with_broker`] shares the topics through a broker (Redis:
/// `RedisBroker`, feature `redis`): a publish on any server reaches every server's
/// subscribers, in one order, each event once, with the same id `EPOCH:N` everywhere; the
/// history lives in the broker. No loop waits for the broker: publishes go through the
/// hub's publisher thread ([`Broadcast::publish_with`] answers later), one subscription
/// per server feeds every loop, and a subscription the server cannot answer from its copy
/// of the topic is completed by its copier thread. While the broker cannot be reached,
/// publishes and new subscriptions are refused (503), never served from one server alone.
///
/// ```
/// use warden_reactor::{Broadcast, BroadcastConfig, Event, Request, Response};
///
/// let hub = Broadcast::new(BroadcastConfig::default());
/// let subscriptions = hub.clone();
/// let handler = move |req: &Request<'_>| match req.path().strip_prefix("/topics/") {
///     Some(topic) => subscriptions.subscribe(req, topic),
///     None => Response::status_page(404),
/// };
/// # let _ = handler;
/// // From any thread:
/// let id = hub.publish("prices", &Event::new("EURUSD 1.0842"))?;
/// assert_eq!(id.to_string(), "1");
/// # Ok::<(), warden_reactor::PublishError>(())
/// ```
#[derive(Clone)]
pub struct Broadcast {
    hub: Arc<Hub>,
}

/// A hub's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastStats {
    /// Events published through this hub (with a broker: taken by the broker).
    pub published: u64,
    /// Topics known now.
    pub topics: u64,
    /// Bytes of the events the topics keep now (for replays and behind subscribers).
    pub kept_bytes: u64,
    /// The broker's, for a hub with one.
    pub broker: Option<BrokerStats>,
}

impl Broadcast {
    /// A hub of its own, with no topic yet.
    pub fn new(config: BroadcastConfig) -> Broadcast {
        Broadcast {
            hub: Arc::new(Hub::new(config, None)),
        }
    }

    /// A hub whose topics are shared through `broker` with every server given the same
    /// broker. Starts its three threads (`warden-broker-publish`, `-feed`, `-copy`),
    /// which end when the last handle of the hub is dropped. Returns at once: a broker
    /// that cannot be reached yet is tried again (at most 2 s apart), and topics are
    /// served once it answers.
    ///
    /// # Errors
    ///
    /// When a thread cannot be started.
    pub fn with_broker(
        config: BroadcastConfig,
        broker: Arc<dyn Broker>,
    ) -> std::io::Result<Broadcast> {
        let (publish, publishes) = crossbeam_channel::bounded(PUBLISH_QUEUE);
        let (join, joins) = crossbeam_channel::bounded(JOIN_QUEUE);
        let (tell, news) = crossbeam_channel::bounded(4096);
        let link = Arc::new(Link {
            broker,
            up: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            reconnects: AtomicU64::new(0),
            publish_errors: AtomicU64::new(0),
            backfilled: AtomicU64::new(0),
            publish,
            joins: join,
        });
        let history = config.history;
        let hub = Arc::new(Hub::new(config, Some(Arc::clone(&link))));
        let spawn = |name: &str| std::thread::Builder::new().name(name.to_owned());
        let publisher = Arc::clone(&link);
        spawn("warden-broker-publish")
            .spawn(move || publisher::run(publisher, publishes, history))?;
        let feeder = Arc::clone(&link);
        spawn("warden-broker-feed").spawn(move || feed::run(feeder, tell))?;
        let (copier, weak) = (Arc::clone(&link), Arc::downgrade(&hub));
        spawn("warden-broker-copy").spawn(move || copier::run(weak, copier, news, joins))?;
        Ok(Broadcast { hub })
    }

    /// Whether the topics are shared through a broker ([`Broadcast::with_broker`]): then a
    /// publish waits for the broker, and a handler should use [`Broadcast::publish_with`];
    /// on a hub of its own, [`Broadcast::publish`] answers at once.
    pub fn is_shared(&self) -> bool {
        self.hub.link.is_some()
    }

    /// Checks `event` for `topic`: `Err` for what no broker or topic could take.
    fn check(&self, topic: &str, event: &Event<'_>) -> Result<(), PublishError> {
        if topic.is_empty() || topic.len() > 256 {
            return Err(PublishError::Invalid(
                "a topic's name is 1 to 256 bytes long",
            ));
        }
        // Its own id does not count: the topic's replaces it.
        check(&event.with_id("0"))
            .map_err(|_| PublishError::Invalid("an event's type cannot hold line breaks"))?;
        // An upper bound of its encoding: each line of data gets "data: " and a newline.
        let max = self.hub.config.max_lag;
        let lines = event
            .data
            .bytes()
            .filter(|&b| b == b'\n' || b == b'\r')
            .count()
            + 1;
        let kind = event.event.map_or(0, str::len);
        if event.data.len() + 8 * lines + kind + 64 > max {
            return Err(PublishError::TooLarge { max });
        }
        Ok(())
    }

    /// Publishes `event` to `topic` and returns its id there. The event's own id, if it has
    /// one, is replaced by the topic's. On a hub of its own it never waits but for the
    /// topic's short lock; with a broker it waits for the broker's answer (at most about a
    /// second): from a handler, use [`Broadcast::publish_with`], which does not.
    ///
    /// # Errors
    ///
    /// [`PublishError`]: too many topics, an event type with a line break, an event larger
    /// than `max_lag`, or the broker unavailable.
    pub fn publish(&self, topic: &str, event: &Event<'_>) -> Result<EventId, PublishError> {
        if self.hub.link.is_none() {
            self.check(topic, event)?;
            return self.publish_here(topic, event);
        }
        let (tell, answer) = crossbeam_channel::bounded(1);
        self.publish_with(topic, event, move |result| {
            let _ = tell.send(result);
        });
        answer
            .recv_timeout(PUBLISH_DEADLINE * 2)
            .unwrap_or_else(|_| {
                Err(PublishError::Unavailable {
                    reason: "the broker did not answer in time".to_owned(),
                    retry_after: Duration::from_secs(1),
                })
            })
    }

    /// Publishes `event` to `topic` and calls `done` once with its id or why it was not
    /// published, without waiting: on the hub's publisher thread with a broker, at once on
    /// a hub of its own (or when the event is refused before reaching the broker). With a
    /// broker, `done` comes within about a second: [`PublishError::Unavailable`] when the
    /// broker did not take the event by then (it was delivered nowhere and took no id).
    ///
    /// ```
    /// use warden_reactor::{Broadcast, Event, Request, Response};
    ///
    /// // POST /topics/NAME: 202 with the event's id, once the hub has taken it.
    /// fn publish(hub: &Broadcast, req: &Request<'_>, topic: &str) -> Response {
    ///     let (pending, responder) = req.defer();
    ///     let data = String::from_utf8_lossy(req.body()).into_owned();
    ///     hub.publish_with(topic, &Event::new(&data), move |result| {
    ///         let _ = responder.send(match result {
    ///             Ok(id) => Response::text(format!("id={id}\n")).with_status(202),
    ///             Err(e) => Response::text(format!("{e}\n")).with_status(503),
    ///         });
    ///     });
    ///     pending
    /// }
    /// # let _ = publish;
    /// ```
    pub fn publish_with(
        &self,
        topic: &str,
        event: &Event<'_>,
        done: impl FnOnce(Result<EventId, PublishError>) + Send + 'static,
    ) {
        if let Err(e) = self.check(topic, event) {
            return done(Err(e));
        }
        let Some(link) = &self.hub.link else {
            return done(self.publish_here(topic, event));
        };
        let hub = Arc::downgrade(&self.hub);
        let done: Done = Box::new(move |result| {
            if result.is_ok()
                && let Some(hub) = hub.upgrade()
            {
                hub.published.fetch_add(1, Ordering::Relaxed);
            }
            done(result)
        });
        let job = Publish {
            topic: topic.into(),
            kind: event.event.map(Into::into),
            data: event.data.into(),
            queued: Instant::now(),
            done,
        };
        match link.publish.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => {
                link.refuse(job.done, "the queue to the broker is full".to_owned());
            }
        }
    }

    /// A publish on a hub of its own.
    fn publish_here(&self, topic: &str, event: &Event<'_>) -> Result<EventId, PublishError> {
        let (topic, topics) = self.hub.topic(topic)?;
        drop(topics);
        let config = &self.hub.config;
        let id = topic.publish(config.history, config.max_lag, |id, out| {
            let mut buf = itoa::Buffer::new();
            encode(&event.with_id(buf.format(id)), out);
        });
        self.hub.published.fetch_add(1, Ordering::Relaxed);
        Ok(EventId::local(id))
    }

    /// Makes `req`'s connection a subscriber of `topic`: `200`, `text/event-stream`, then
    /// the topic's events as they are published (after the kept ones `Last-Event-ID`
    /// asks for), served by the request's own loop until the client leaves, falls too far
    /// behind, or the server drains. Return what it returns from the handler. A HEAD
    /// request gets the head alone (and makes no topic); a new topic past `max_topics`
    /// gets 503 with a `Retry-After` that says when one may be forgotten.
    ///
    /// With a broker, a topic this server has a copy of is answered at once; one it has
    /// not copied yet (or an id it cannot place) is completed by the hub's copier thread
    /// after asking the broker; while the broker is unreachable, the answer is 503 with
    /// `Retry-After: 1`.
    ///
    /// # Panics
    ///
    /// If the request was made outside a reactor, or was deferred already (as
    /// [`Request::defer`]).
    pub fn subscribe(&self, req: &Request<'_>, topic: &str) -> Response {
        if req.method() == "HEAD" {
            // The head says what a GET would get; nothing is followed, nothing is made.
            let detached = Arc::new(Topic::new(topic, 0, None));
            let member = {
                let mut state = detached.lock();
                detached.join(&mut state, 1)
            };
            return req.subscribe_to(Subscription {
                topic: member,
                next: 1,
                max_lag: self.hub.config.max_lag,
                reset: None,
            });
        }
        let last = req.header_str("last-event-id").and_then(EventId::parse);
        match &self.hub.link {
            None => self.subscribe_here(req, topic, last),
            Some(link) => self.subscribe_shared(req, topic, last, link),
        }
    }

    /// A subscription on a hub of its own.
    fn subscribe_here(&self, req: &Request<'_>, topic: &str, last: Option<EventId>) -> Response {
        let (topic, mut topics) = match self.hub.topic(topic) {
            Ok(found) => found,
            Err(e @ PublishError::TooManyTopics { .. }) => return unavailable(&e),
            // A name that cannot be a topic's.
            Err(_) => return Response::status_page(404),
        };
        let config = &self.hub.config;
        let subscription = {
            let mut state = topic.lock();
            let start = resolve(&state, last, config.history, config.max_lag as u64, true)
                .expect("a hub of its own resolves every id");
            self.hub.join(&topic, &mut topics, &mut state, start)
        };
        drop(topics);
        req.subscribe_to(subscription)
    }

    /// A subscription with a broker: from this server's copy of the topic if it can place
    /// the client there, else completed by the copier thread.
    fn subscribe_shared(
        &self,
        req: &Request<'_>,
        name: &str,
        last: Option<EventId>,
        link: &Link,
    ) -> Response {
        if !link.up.load(Ordering::SeqCst) {
            return Response::status_page(503).with_header("Retry-After", "1");
        }
        if name.is_empty() || name.len() > 256 {
            return Response::status_page(404);
        }
        let config = &self.hub.config;
        let (found, mut topics) = self.hub.find(name);
        if let Some(topic) = found {
            let mut state = topic.lock();
            if let Some(start) = resolve(&state, last, config.history, config.max_lag as u64, false)
            {
                let subscription = self.hub.join(&topic, &mut topics, &mut state, start);
                drop(state);
                drop(topics);
                return req.subscribe_to(subscription);
            }
        }
        drop(topics);
        let (pending, responder) = req.defer();
        let join = Join {
            topic: name.into(),
            last,
            responder,
        };
        match link.joins.try_send(join) {
            Ok(()) => pending,
            Err(TrySendError::Full(join) | TrySendError::Disconnected(join)) => {
                join.responder.withdraw();
                Response::status_page(503).with_header("Retry-After", "1")
            }
        }
    }

    /// The hub's counters.
    pub fn stats(&self) -> BroadcastStats {
        let topics = self.hub.topics();
        BroadcastStats {
            published: self.hub.published.load(Ordering::Relaxed),
            topics: topics.by_name.len() as u64,
            kept_bytes: topics.by_name.values().map(|t| t.lock().kept_bytes).sum(),
            broker: self.hub.link.as_ref().map(|link| link.stats()),
        }
    }
}

/// 503 for `e`, with its `Retry-After`.
fn unavailable(e: &PublishError) -> Response {
    let secs = e.retry_after_secs().unwrap_or(1);
    let mut buf = itoa::Buffer::new();
    Response::status_page(503).with_header("Retry-After", buf.format(secs).to_owned())
}

impl fmt::Debug for Broadcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcast")
            .field("config", &self.hub.config)
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_bounded_and_idle_ones_forgotten() {
        let hub = Broadcast::new(BroadcastConfig {
            max_topics: 2,
            topic_idle: Duration::from_secs(3600),
            ..BroadcastConfig::default()
        });
        assert_eq!(hub.publish("a", &Event::new("1")), Ok(EventId::local(1)));
        assert_eq!(hub.publish("b", &Event::new("1")), Ok(EventId::local(1)));
        assert_eq!(
            hub.publish("a", &Event::new("2")),
            Ok(EventId::local(2)),
            "a known topic"
        );
        match hub.publish("c", &Event::new("1")) {
            Err(PublishError::TooManyTopics { max, retry_after }) => {
                assert_eq!(max, 2);
                assert!(retry_after > Duration::from_secs(3590), "{retry_after:?}");
            }
            other => panic!("{other:?}"),
        }
        let hub = Broadcast::new(BroadcastConfig {
            max_topics: 2,
            topic_idle: Duration::ZERO,
            ..BroadcastConfig::default()
        });
        for topic in ["a", "b", "c", "d"] {
            assert_eq!(
                hub.publish(topic, &Event::new("1")),
                Ok(EventId::local(1)),
                "{topic}"
            );
        }
        assert!(hub.stats().topics <= 2);
        assert_eq!(hub.stats().published, 4);
    }

    #[test]
    fn topics_that_never_had_an_event_go_first() {
        let hub = Broadcast::new(BroadcastConfig {
            max_topics: 2,
            topic_idle: Duration::from_secs(3600),
            ..BroadcastConfig::default()
        });
        assert_eq!(hub.publish("kept", &Event::new("1")), Ok(EventId::local(1)));
        drop(hub.hub.topic("empty").expect("made"));
        // Full, and "kept" is not idle long enough: "empty" goes.
        assert_eq!(hub.publish("new", &Event::new("1")), Ok(EventId::local(1)));
        let topics = hub.hub.topics();
        assert!(topics.by_name.contains_key("kept") && topics.by_name.contains_key("new"));
        assert_eq!(topics.idle.len(), 2, "one entry per unfollowed topic");
    }

    #[test]
    fn an_event_no_subscriber_could_take_is_refused() {
        let hub = Broadcast::new(BroadcastConfig {
            max_lag: 1000,
            ..BroadcastConfig::default()
        });
        assert_eq!(
            hub.publish("t", &Event::new(&"x".repeat(2000))),
            Err(PublishError::TooLarge { max: 1000 })
        );
        assert_eq!(
            hub.publish("t", &Event::new(&"x".repeat(500))),
            Ok(EventId::local(1))
        );
    }

    #[test]
    fn nothing_can_inject_a_line() {
        let hub = Broadcast::new(BroadcastConfig::default());
        assert!(matches!(
            hub.publish("t", &Event::new("x").event("a\nid: 99")),
            Err(PublishError::Invalid(_))
        ));
        assert!(hub.publish("", &Event::new("x")).is_err());
        // Data lines are split wherever a line break is; the id is the hub's.
        hub.publish("t", &Event::new("one\r\ntwo\rthree\nfour").id("77"))
            .expect("published");
        let (topic, topics) = hub.hub.topic("t").expect("known");
        drop(topics);
        let state = topic.lock();
        let sent = state.event(1).expect("kept").wire(false).to_vec();
        assert_eq!(
            String::from_utf8(sent).expect("text"),
            "id: 1\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
        );
    }
}
