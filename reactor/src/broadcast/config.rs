//! What a [`Broadcast`](crate::Broadcast) is made with, what a publish returns, and why one
//! fails.

use std::fmt;
use std::time::Duration;

/// The limits of a [`Broadcast`](crate::Broadcast); every field has a default.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastConfig {
    /// Events a topic offers to subscribers that come back with `Last-Event-ID`: the
    /// newest this many, and no more than `max_lag` bytes of them. (A live subscriber
    /// that is behind keeps the events it still needs, within `max_lag`: it is cut for
    /// its lag in bytes only.) With a broker, the broker keeps exactly this many per topic.
    /// Default 1024.
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

/// An event's id in its topic: `N` on a hub of its own, `EPOCH:N` on a hub with a
/// [`Broker`](crate::Broker), where N counts the topic's events from 1 in publish order and
/// the epoch (hexadecimal) is new each time the broker lost the topic, so ids never repeat.
/// It is what subscribers see as the event's `id:`, and what they send back as
/// `Last-Event-ID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventId {
    /// The broker's epoch of the topic; `None` on a hub of its own.
    pub epoch: Option<u64>,
    /// The event's number in its topic (and epoch).
    pub n: u64,
}

impl EventId {
    /// The id `N` of a hub of its own.
    pub fn local(n: u64) -> EventId {
        EventId { epoch: None, n }
    }

    /// Reads an id as [`fmt::Display`] writes it: digits, or hexadecimal digits, a colon and
    /// digits. Surrounding spaces are ignored; digits past 2^64 - 1 read as 2^64 - 1.
    pub fn parse(text: &str) -> Option<EventId> {
        let text = text.trim();
        let (epoch, n) = match text.split_once(':') {
            Some((epoch, n)) => {
                let hex = !epoch.is_empty()
                    && epoch.len() <= 16
                    && epoch.bytes().all(|b| b.is_ascii_hexdigit());
                if !hex {
                    return None;
                }
                (u64::from_str_radix(epoch, 16).ok(), n)
            }
            None => (None, text),
        };
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(EventId {
            epoch,
            n: n.parse().unwrap_or(u64::MAX),
        })
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.epoch {
            Some(epoch) => write!(f, "{epoch:x}:{}", self.n),
            None => write!(f, "{}", self.n),
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
    /// The hub's broker did not take the event in time (unreachable, silent, or the
    /// queue to it full): it was delivered nowhere and took no id. (When the broker took
    /// it but its answer was lost, it may have been published: a retry then publishes it
    /// twice, under two ids.)
    #[non_exhaustive]
    Unavailable {
        /// What went wrong.
        reason: String,
        /// When to try again (a 503's `Retry-After`).
        retry_after: Duration,
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
            PublishError::Unavailable { reason, .. } => {
                write!(f, "not published: the broker is unavailable: {reason}")
            }
        }
    }
}

impl std::error::Error for PublishError {}

impl PublishError {
    /// For [`PublishError::TooManyTopics`] and [`PublishError::Unavailable`]: when to try
    /// again, in whole seconds, rounded up and at least 1, as a 503's `Retry-After` header
    /// gives it. `None` for the others (trying again would fail the same way).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            PublishError::TooManyTopics { retry_after, .. }
            | PublishError::Unavailable { retry_after, .. } => {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                Some(secs.max(1))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_as_they_are_written() {
        let cases = [
            ("5", Some(EventId::local(5))),
            (" 7 ", Some(EventId::local(7))),
            ("18446744073709551615", Some(EventId::local(u64::MAX))),
            ("99999999999999999999999", Some(EventId::local(u64::MAX))),
            (
                "3fa9:12",
                Some(EventId {
                    epoch: Some(0x3fa9),
                    n: 12,
                }),
            ),
            ("-1", None),
            ("+1", None),
            ("1.5", None),
            ("abc", None),
            ("", None),
            (":5", None),
            ("xyz:5", None),
            ("3fa9:", None),
            ("3fa9:-1", None),
            ("11112222333344445:1", None),
        ];
        for (text, id) in cases {
            assert_eq!(EventId::parse(text), id, "{text:?}");
            if let Some(id) = id.filter(|id| id.n != u64::MAX) {
                assert_eq!(EventId::parse(&id.to_string()), Some(id));
            }
        }
    }
}
