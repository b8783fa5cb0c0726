//! The engine seam: what a [`Broadcast`](crate::Broadcast) needs of a broker to share its
//! topics with other servers. Redis is one engine ([`RedisBroker`](crate::RedisBroker),
//! feature `redis`); another (NATS JetStream, say) implements these three traits and no
//! loop changes.
//!
//! Every call blocks its thread (never a loop's: the hub calls them from its own threads)
//! and has a deadline of the engine's: an engine that cannot answer in time returns an
//! error, and the hub answers 503 or reconnects.

use std::fmt;
use std::time::Duration;

use crate::broadcast::config::EventId;

/// A broker: makes the connections a hub's threads use.
pub trait Broker: Send + Sync + fmt::Debug + 'static {
    /// A connection for publishing and replaying, owned by one thread. Dropped after any
    /// error (its state is then unknown) and made again.
    fn session(&self) -> Result<Box<dyn Session>, BrokerError>;

    /// The feed of every topic's new events, owned by one thread; subscribed before this
    /// returns, so that an event published after it returns is in the feed.
    fn feed(&self) -> Result<Box<dyn Feed>, BrokerError>;
}

/// An event to publish.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    /// Its topic.
    pub topic: &'a str,
    /// Its type (`event:`), if any.
    pub kind: Option<&'a str>,
    /// Its data.
    pub data: &'a str,
}

/// An event as the broker keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// Its number in its topic's epoch.
    pub n: u64,
    /// Its type, if any.
    pub kind: Option<String>,
    /// Its data.
    pub data: String,
}

/// What a broker keeps of a topic, read in one step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replay {
    /// The topic's epoch; `None` when the broker has no event of it (never had one, or
    /// lost it).
    pub epoch: Option<u64>,
    /// The number of its last event (0: none).
    pub last: u64,
    /// Kept events in order: those after the asked id when its epoch is the topic's,
    /// else every one kept.
    pub events: Vec<Stored>,
}

/// What comes through a feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// An event was published.
    Event {
        /// Its topic.
        topic: String,
        /// Its topic's epoch.
        epoch: u64,
        /// The event.
        event: Stored,
    },
    /// A probe sent by [`Feed::probe`] came back through the feed.
    Probe(u64),
}

/// A connection for publishing and replaying.
pub trait Session: Send {
    /// One cheap round trip: whether the session still works. Asked before publishing on
    /// a session idle for a while, so that a broker that restarted meanwhile is found
    /// before a publish is sent (a publish whose answer is lost may have been published,
    /// and must be refused as unknown).
    ///
    /// # Errors
    ///
    /// When the session broke; the caller drops it.
    fn check(&mut self) -> Result<(), BrokerError>;

    /// Publishes each event of `batch` in one atomic step per event (number, history trimmed
    /// to the newest `history`, notification), in order, and pushes each one's id (or why it
    /// was not published) onto `ids`.
    ///
    /// # Errors
    ///
    /// When the session broke (what was sent is unknown): `ids` then holds the results
    /// known, and the caller drops the session.
    fn publish(
        &mut self,
        batch: &[Outgoing<'_>],
        history: usize,
        ids: &mut Vec<Result<EventId, BrokerError>>,
    ) -> Result<(), BrokerError>;

    /// Reads what the broker keeps of `topic` after `since` (everything kept when `since`
    /// is `None` or of another epoch), at most `history` events, in one step.
    ///
    /// # Errors
    ///
    /// When the session broke; the caller drops it.
    fn replay(
        &mut self,
        topic: &str,
        since: Option<EventId>,
        history: usize,
    ) -> Result<Replay, BrokerError>;
}

/// The feed of every topic's new events, in the order the broker took them.
pub trait Feed: Send {
    /// The next notice, waiting at most `wait`; `Ok(None)` when none came.
    ///
    /// # Errors
    ///
    /// When the feed broke; the caller drops it, makes a new one, and fetches what it
    /// may have missed meanwhile.
    fn next(&mut self, wait: Duration) -> Result<Option<Notice>, BrokerError>;

    /// Sends a probe that comes back through this feed as [`Notice::Probe`]: a feed whose
    /// probe does not come back is wedged (alive, but no longer fed), and is made again.
    ///
    /// # Errors
    ///
    /// When the probe could not be sent.
    fn probe(&mut self, nonce: u64) -> Result<(), BrokerError>;
}

/// Why a broker call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BrokerError {
    /// The broker could not be reached, or did not answer in time.
    Unreachable(String),
    /// The broker answered with an error, or with what it should not have.
    Refused(String),
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerError::Unreachable(why) => write!(f, "broker unreachable: {why}"),
            BrokerError::Refused(why) => write!(f, "broker refused: {why}"),
        }
    }
}

impl std::error::Error for BrokerError {}
