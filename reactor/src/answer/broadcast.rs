//! Fan-out: publish an event once, and every subscriber's loop sends it from one shared
//! copy ([`Broadcast`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::answer::sse::{Event, check, encode};
use crate::answer::topic::Topic;
use crate::http::request::Request;
use crate::http::response::Response;

/// The limits of a [`Broadcast`]; every field has a default.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastConfig {
    /// Events kept per topic, for subscribers that come back with `Last-Event-ID`.
    /// Default 1024.
    pub history: usize,
    /// Topics at once; a new one past it is refused (publish: an error; subscribe: 503).
    /// Default 1024.
    pub max_topics: usize,
    /// Bytes a subscriber may fall behind (published, not yet sent to it) before it is cut:
    /// its connection closes, and it is counted. Default 1 MiB.
    pub max_lag: usize,
    /// A topic with no subscriber and no event for this long is forgotten (its history
    /// with it) when room for a new topic is needed. Default 5 minutes.
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
    TooManyTopics {
        /// The limit.
        max: usize,
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
            PublishError::TooManyTopics { max } => {
                write!(f, "too many topics: {max} are in use")
            }
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

/// A hub of event streams: [`Broadcast::publish`] an event to a topic from any thread, and
/// [`Broadcast::subscribe`] a request to a topic in a handler. The subscription is served
/// by the request's own worker loop, as Server-Sent Events: no thread per subscriber, and
/// no copy of an event per subscriber (each event is encoded once; a subscriber is a
/// cursor into the topic's events). A publish wakes each loop with subscribers to the
/// topic once.
///
/// Events get ids 1, 2, 3, ... per topic, and the newest `history` are kept. A subscriber
/// that sends `Last-Event-ID: N` first gets every kept event after N, then live ones. When
/// N is older than what is kept, it gets what is kept (the events in between are gone);
/// when N is newer than the topic's last id, the ids have begun again (the server
/// restarted), and it gets everything kept, so a client that filters by id misses nothing
/// new. A replay is at most `max_lag` bytes: the newest events that fit. A subscriber that falls `max_lag` bytes behind is cut; one that leaves is removed
/// at once; an idle stream gets a comment line every keep-alive interval
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
    topics: Mutex<HashMap<Box<str>, Arc<Topic>>>,
    published: AtomicU64,
}

/// A hub's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastStats {
    /// Events published.
    pub published: u64,
    /// Topics known now.
    pub topics: u64,
}

/// What a subscribing request hands its loop: the topic and where to start.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) topic: Arc<Topic>,
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
                topics: Mutex::new(HashMap::new()),
                published: AtomicU64::new(0),
            }),
        }
    }

    fn topics(&self) -> MutexGuard<'_, HashMap<Box<str>, Arc<Topic>>> {
        self.hub.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The topic `name`, made if new and there is room.
    fn topic(&self, name: &str) -> Result<Arc<Topic>, PublishError> {
        if name.is_empty() || name.len() > 256 {
            return Err(PublishError::Invalid(
                "a topic's name is 1 to 256 bytes long",
            ));
        }
        let mut topics = self.topics();
        if let Some(topic) = topics.get(name) {
            return Ok(Arc::clone(topic));
        }
        let max = self.hub.config.max_topics;
        if topics.len() >= max {
            // Forget what nobody follows and nobody has published to for long: random
            // names cannot use up the topics for good.
            let idle = self.hub.config.topic_idle;
            topics.retain(|_, topic| {
                let state = topic.lock();
                state.subscribers > 0 || state.last_active.elapsed() < idle
            });
        }
        if topics.len() >= max {
            return Err(PublishError::TooManyTopics { max });
        }
        let topic = Arc::new(Topic::new(name));
        topics.insert(name.into(), Arc::clone(&topic));
        Ok(topic)
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
        let topic = self.topic(topic)?;
        let id = topic.publish(self.hub.config.history, |id, out| {
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
    /// request gets the head alone; a new topic past `max_topics` gets 503.
    ///
    /// # Panics
    ///
    /// If the request was made outside a reactor, or was deferred already (as
    /// [`Request::defer`]).
    pub fn subscribe(&self, req: &Request<'_>, topic: &str) -> Response {
        let topic = match self.topic(topic) {
            Ok(topic) => topic,
            Err(PublishError::TooManyTopics { .. }) => {
                return Response::status_page(503).with_header("Retry-After", "1");
            }
            // A name that cannot be a topic's.
            Err(_) => return Response::status_page(404),
        };
        let last_seen = req
            .header_str("last-event-id")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let max_lag = self.hub.config.max_lag as u64;
        let next = {
            let state = topic.lock();
            let mut next = match last_seen {
                None => state.next_id,
                // Newer than anything published: the ids began again (a restart).
                Some(n) if n >= state.next_id => state.first_id(),
                // Older than what is kept: what is kept.
                Some(n) => (n + 1).max(state.first_id()),
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
            next
        };
        req.subscribe_to(Subscription {
            topic,
            next,
            max_lag: self.hub.config.max_lag,
        })
    }

    /// The hub's counters.
    pub fn stats(&self) -> BroadcastStats {
        BroadcastStats {
            published: self.hub.published.load(Ordering::Relaxed),
            topics: self.topics().len() as u64,
        }
    }
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
        assert_eq!(
            hub.publish("c", &Event::new("1")),
            Err(PublishError::TooManyTopics { max: 2 })
        );
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
        let topic = hub.topic("t").expect("known");
        let state = topic.lock();
        let sent = state.event(1).expect("kept").wire(false).to_vec();
        assert_eq!(
            String::from_utf8(sent).expect("text"),
            "id: 1\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
        );
    }
}
