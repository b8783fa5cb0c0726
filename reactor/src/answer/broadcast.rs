//! Fan-out: publish an event once, and every subscriber's loop sends it from one shared
//! copy ([`Broadcast`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::answer::sse::{Event, check, encode};
use crate::answer::topic::{Followers, IdleKey, Member, Topic};
use crate::http::request::Request;
use crate::http::response::Response;

/// The limits of a [`Broadcast`]; every field has a default.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastConfig {
    /// Events a topic offers to subscribers that come back with `Last-Event-ID`: the
    /// newest this many, and no more than `max_lag` bytes of them. (A live subscriber
    /// that is behind keeps the events it still needs, within `max_lag`: it is cut for
    /// its lag in bytes only.) Default 1024.
    pub history: usize,
    /// Topics at once; a new one past it is refused (publish: an error; subscribe: 503).
    /// Default 1024.
    pub max_topics: usize,
    /// Bytes a subscriber may fall behind (published, not yet sent to it) before it is cut:
    /// its connection closes, and it is counted. Default 1 MiB.
    pub max_lag: usize,
    /// When room for a new topic is needed, a topic nobody follows is forgotten (its
    /// history with it): at once if it never had an event, else once it has had no
    /// event and no subscriber for this long. Default 5 minutes.
    pub topic_idle: Duration,
}

impl Default for BroadcastConfig {
    fn default() -> BroadcastConfig {
        BroadcastConfig {
            history: 1024,
            max_topics: 1024,
            max_lag: 1 << 20,
            topic_idle: Duration::from_secs(300),
        }
    }
}

/// Why an event was not published.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishError {
    /// The topic is new and `max_topics` are in use (none idle long enough to forget).
    #[non_exhaustive]
    TooManyTopics {
        /// The limit.
        max: usize,
        /// When a topic can be forgotten at the soonest, if nothing changes meanwhile (a
        /// 503's `Retry-After`): the oldest idle topic's time left, or `topic_idle` when
        /// every topic has subscribers.
        retry_after: Duration,
    },
    /// The event's type holds a line break, or the topic's name is empty or longer than
    /// 256 bytes.
    Invalid(&'static str),
    /// The event, encoded, is larger than `max_lag`: no subscriber could take it without
    /// being cut.
    TooLarge {
        /// The limit (`max_lag`).
        max: usize,
    },
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::TooManyTopics { max, retry_after } => write!(
                f,
                "too many topics: {max} are in use; one may be forgotten in {retry_after:?}"
            ),
            PublishError::Invalid(why) => write!(f, "not published: {why}"),
            PublishError::TooLarge { max } => {
                write!(
                    f,
                    "not published: the event is larger than max_lag ({max} bytes)"
                )
            }
        }
    }
}

impl std::error::Error for PublishError {}

impl PublishError {
    /// For [`PublishError::TooManyTopics`]: its `retry_after` in whole seconds, rounded
    /// up and at least 1, as a 503's `Retry-After` header gives it. `None` for the others.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            PublishError::TooManyTopics { retry_after, .. } => {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                Some(secs.max(1))
            }
            _ => None,
        }
    }
}

/// A hub of event streams: [`Broadcast::publish`] an event to a topic from any thread, and
/// [`Broadcast::subscribe`] a request to a topic in a handler. The subscription is served
/// by the request's own worker loop, as Server-Sent Events: no thread per subscriber, and
/// no copy of an event per subscriber (each event is encoded once; a subscriber is a
/// cursor into the topic's events). A publish wakes each loop with subscribers to the
/// topic once.
///
/// Events get ids 1, 2, 3, ... per topic, and the newest `history` (within `max_lag`
/// bytes) are offered to a subscriber that comes back. A subscriber that sends
/// `Last-Event-ID: N` first gets every kept event after N, then live ones. When N is older
/// than what is kept, it gets what is kept (the events in between are gone); when N is
/// newer than the topic's last id, the ids have begun again (the server restarted), and it
/// gets everything kept, so a client that filters by id misses nothing new. A replay is at
/// most `max_lag` bytes: the newest events that fit.
///
/// `Last-Event-ID` is read as the spec's ids are written here: digits only (surrounding
/// spaces ignored). Digits past the largest id (2^64 - 1) read as the largest id, so any
/// such value replays everything kept, as one just past the last id does. Anything else
/// (`-1`, `+1`, `1.5`, letters, an empty value) is no id: the subscriber starts with live
/// events. With two such headers, the first is read.
///
/// A subscriber that falls `max_lag` bytes behind is cut (never sooner: the events it
/// still needs are kept for it); one that leaves is removed at once; an idle stream gets a comment line every keep-alive interval
/// ([`Config::sse_keepalive`](crate::Config::sse_keepalive)). A drain ends every
/// subscription with its last chunk.
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
/// assert_eq!(id, 1);
/// # Ok::<(), warden_reactor::PublishError>(())
/// ```
#[derive(Clone)]
pub struct Broadcast {
    hub: Arc<Hub>,
}

struct Hub {
    config: BroadcastConfig,
    topics: Mutex<Topics>,
    published: AtomicU64,
}

/// The topics of a hub, behind its lock.
#[derive(Default)]
struct Topics {
    by_name: HashMap<Box<str>, Arc<Topic>>,
    /// The topics nobody follows, in the order they are forgotten when room is needed:
    /// first those that never had an event, then the longest idle. A publish since an
    /// entry was made is found when the entry comes up (it is then put back in its
    /// place), so publishing never takes the hub's lock; joining and leaving do.
    idle: BTreeMap<IdleKey, Box<str>>,
    /// The next topic's serial.
    serial: u64,
}

impl Followers for Hub {
    /// The last subscriber of `topic` left: it goes into the idle order (if it is still
    /// this hub's and still unfollowed: someone may have joined meanwhile).
    fn unfollowed(&self, topic: &Arc<Topic>) {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let ours = topics
            .by_name
            .get(&topic.name)
            .is_some_and(|t| Arc::ptr_eq(t, topic));
        if !ours {
            return;
        }
        let mut state = topic.lock();
        if state.subscribers > 0 {
            return;
        }
        let key = state.idle_key_now(topic.serial);
        if let Some(old) = state.idle_key.replace(key) {
            topics.idle.remove(&old);
        }
        topics.idle.insert(key, topic.name.clone());
    }
}

/// A hub's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastStats {
    /// Events published.
    pub published: u64,
    /// Topics known now.
    pub topics: u64,
    /// Bytes of the events the topics keep now (for replays and behind subscribers).
    pub kept_bytes: u64,
}

/// What a subscribing request hands its loop: the topic and where to start.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) topic: Member,
    /// The id of the first event to send.
    pub(crate) next: u64,
    pub(crate) max_lag: usize,
}

impl Broadcast {
    /// A hub with no topic yet.
    pub fn new(config: BroadcastConfig) -> Broadcast {
        Broadcast {
            hub: Arc::new(Hub {
                config,
                topics: Mutex::new(Topics::default()),
                published: AtomicU64::new(0),
            }),
        }
    }

    fn topics(&self) -> MutexGuard<'_, Topics> {
        self.hub.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The topic `name`, made if new and there is room, with the hub's lock still held
    /// (so a subscriber can be counted in before the topic could be forgotten).
    fn topic<'h>(
        &'h self,
        name: &str,
    ) -> Result<(Arc<Topic>, MutexGuard<'h, Topics>), PublishError> {
        if name.is_empty() || name.len() > 256 {
            return Err(PublishError::Invalid(
                "a topic's name is 1 to 256 bytes long",
            ));
        }
        let mut topics = self.topics();
        if let Some(topic) = topics.by_name.get(name) {
            return Ok((Arc::clone(topic), topics));
        }
        let max = self.hub.config.max_topics;
        if topics.by_name.len() >= max {
            self.make_room(&mut topics)?;
        }
        topics.serial += 1;
        let hub: std::sync::Weak<dyn Followers> = Arc::downgrade(&self.hub) as std::sync::Weak<Hub>;
        let topic = Arc::new(Topic::new(name, topics.serial, Some(hub)));
        // Nobody follows it yet: it is a candidate to forget from the start (one that
        // never gets an event goes first).
        let key = {
            let mut state = topic.lock();
            let key = state.idle_key_now(topic.serial);
            state.idle_key = Some(key);
            key
        };
        topics.idle.insert(key, name.into());
        topics.by_name.insert(name.into(), Arc::clone(&topic));
        Ok((topic, topics))
    }

    /// Forgets one topic nobody follows: one that never had an event, else the longest
    /// idle if it has been idle for `topic_idle`. O(log n) per entry looked at, and an
    /// entry is looked at again only after a publish moved it.
    fn make_room(&self, topics: &mut Topics) -> Result<(), PublishError> {
        let idle_for = self.hub.config.topic_idle;
        while let Some((&key, name)) = topics.idle.first_key_value() {
            let name = name.clone();
            let Some(topic) = topics.by_name.get(&name).map(Arc::clone) else {
                topics.idle.remove(&key);
                continue;
            };
            let mut state = topic.lock();
            if state.idle_key != Some(key) || state.subscribers > 0 {
                // A stale entry (the topic is followed, or has a newer one).
                topics.idle.remove(&key);
                continue;
            }
            let now = state.idle_key_now(topic.serial);
            if now != key {
                // Published to since: back in its place.
                topics.idle.remove(&key);
                topics.idle.insert(now, name);
                state.idle_key = Some(now);
                continue;
            }
            let (had_events, since, _) = key;
            let idle = since.elapsed();
            if had_events && idle < idle_for {
                return Err(PublishError::TooManyTopics {
                    max: self.hub.config.max_topics,
                    retry_after: idle_for - idle,
                });
            }
            state.idle_key = None;
            drop(state);
            topics.idle.remove(&key);
            topics.by_name.remove(&name);
            return Ok(());
        }
        // Every topic has subscribers: one may be forgotten `topic_idle` after they leave.
        Err(PublishError::TooManyTopics {
            max: self.hub.config.max_topics,
            retry_after: idle_for,
        })
    }

    /// Publishes `event` to `topic` and returns its id there. The event's own id, if it has
    /// one, is replaced by the topic's. Never waits but for the topic's short lock.
    ///
    /// # Errors
    ///
    /// [`PublishError`]: too many topics, or an event type with a line break.
    pub fn publish(&self, topic: &str, event: &Event<'_>) -> Result<u64, PublishError> {
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
        let (topic, topics) = self.topic(topic)?;
        drop(topics);
        let id = topic.publish(self.hub.config.history, max, |id, out| {
            let id = id.to_string();
            encode(&event.with_id(&id), out);
        });
        self.hub.published.fetch_add(1, Ordering::Relaxed);
        Ok(id)
    }

    /// Makes `req`'s connection a subscriber of `topic`: `200`, `text/event-stream`, then
    /// the topic's events as they are published (after the kept ones `Last-Event-ID`
    /// asks for), served by the request's own loop until the client leaves, falls too far
    /// behind, or the server drains. Return what it returns from the handler. A HEAD
    /// request gets the head alone (and makes no topic); a new topic past `max_topics`
    /// gets 503 with a `Retry-After` that says when one may be forgotten.
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
            });
        }
        let (topic, topics) = match self.topic(topic) {
            Ok(found) => found,
            Err(e @ PublishError::TooManyTopics { .. }) => {
                let secs = e.retry_after_secs().expect("TooManyTopics has one");
                let mut buf = itoa::Buffer::new();
                return Response::status_page(503)
                    .with_header("Retry-After", buf.format(secs).to_owned());
            }
            // A name that cannot be a topic's.
            Err(_) => return Response::status_page(404),
        };
        let last_seen = req.header_str("last-event-id").and_then(last_event_id);
        let max_lag = self.hub.config.max_lag as u64;
        let (member, next) = {
            let mut topics = topics;
            let mut state = topic.lock();
            let from = state.replay_from(self.hub.config.history);
            let mut next = match last_seen {
                None => state.next_id,
                // Newer than anything published: the ids began again (a restart).
                Some(n) if n >= state.next_id => from,
                // Older than what is kept: what is kept.
                Some(n) => (n + 1).max(from),
            };
            // A replay is a backlog like any other: no more than `max_lag` of it, the
            // newest events, or the subscriber would be cut at once.
            while next < state.next_id
                && state
                    .start_of(next)
                    .is_some_and(|at| state.bytes - at > max_lag)
            {
                next += 1;
            }
            // Counted in under the hub's lock: the topic cannot be forgotten between
            // being found here and being followed by the loop.
            if let Some(key) = state.idle_key.take() {
                topics.idle.remove(&key);
            }
            (topic.join(&mut state, next), next)
        };
        req.subscribe_to(Subscription {
            topic: member,
            next,
            max_lag: self.hub.config.max_lag,
        })
    }

    /// The hub's counters.
    pub fn stats(&self) -> BroadcastStats {
        let topics = self.topics();
        BroadcastStats {
            published: self.hub.published.load(Ordering::Relaxed),
            topics: topics.by_name.len() as u64,
            kept_bytes: topics.by_name.values().map(|t| t.lock().kept_bytes).sum(),
        }
    }
}

/// A `Last-Event-ID` value: digits only, those past the largest id read as the largest.
fn last_event_id(value: &str) -> Option<u64> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(u64::MAX))
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
        assert_eq!(hub.publish("a", &Event::new("1")), Ok(1));
        assert_eq!(hub.publish("b", &Event::new("1")), Ok(1));
        assert_eq!(hub.publish("a", &Event::new("2")), Ok(2), "a known topic");
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
            assert_eq!(hub.publish(topic, &Event::new("1")), Ok(1), "{topic}");
        }
        assert!(hub.stats().topics <= 2);
        assert_eq!(hub.stats().published, 4);
    }

    #[test]
    fn last_event_id_is_digits_and_overflow_reads_as_the_largest() {
        let cases = [
            ("5", Some(5)),
            (" 7 ", Some(7)),
            ("18446744073709551615", Some(u64::MAX)),
            ("99999999999999999999999", Some(u64::MAX)),
            ("-1", None),
            ("+1", None),
            ("1.5", None),
            ("abc", None),
            ("", None),
        ];
        for (value, id) in cases {
            assert_eq!(last_event_id(value), id, "{value:?}");
        }
    }

    #[test]
    fn topics_that_never_had_an_event_go_first() {
        let hub = Broadcast::new(BroadcastConfig {
            max_topics: 2,
            topic_idle: Duration::from_secs(3600),
            ..BroadcastConfig::default()
        });
        assert_eq!(hub.publish("kept", &Event::new("1")), Ok(1));
        drop(hub.topic("empty").expect("made"));
        // Full, and "kept" is not idle long enough: "empty" goes.
        assert_eq!(hub.publish("new", &Event::new("1")), Ok(1));
        let topics = hub.topics();
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
        assert_eq!(hub.publish("t", &Event::new(&"x".repeat(500))), Ok(1));
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
        let (topic, topics) = hub.topic("t").expect("known");
        drop(topics);
        let state = topic.lock();
        let sent = state.event(1).expect("kept").wire(false).to_vec();
        assert_eq!(
            String::from_utf8(sent).expect("text"),
            "id: 1\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
        );
    }
}
