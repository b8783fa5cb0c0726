//! A hub's topics behind its lock: found, made within `max_topics`, forgotten when idle,
//! and joined by subscribers.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::answer::topic::{Followers, IdleKey, Member, Subscription, Topic};
use crate::broadcast::config::{BroadcastConfig, PublishError};
use crate::broadcast::link::Link;
use crate::broadcast::resume::Start;

/// What every handle of a [`Broadcast`](crate::Broadcast) shares.
pub(crate) struct Hub {
    pub(crate) config: BroadcastConfig,
    topics: Mutex<Topics>,
    /// Events published through this hub.
    pub(crate) published: AtomicU64,
    /// The broker its topics are shared through, if any.
    pub(crate) link: Option<Arc<Link>>,
}

/// The topics of a hub, behind its lock.
#[derive(Default)]
pub(crate) struct Topics {
    pub(crate) by_name: HashMap<Box<str>, Arc<Topic>>,
    /// The topics nobody follows, in the order they are forgotten when room is needed:
    /// first those that never had an event, then the longest idle. A publish since an
    /// entry was made is found when the entry comes up (it is then put back in its
    /// place), so publishing never takes the hub's lock; joining and leaving do.
    pub(crate) idle: BTreeMap<IdleKey, Box<str>>,
    /// The next topic's serial.
    serial: u64,
}

impl Followers for Hub {
    /// The last subscriber of `topic` left: it goes into the idle order (if it is still
    /// this hub's and still unfollowed: someone may have joined meanwhile).
    fn unfollowed(&self, topic: &Arc<Topic>) {
        let mut topics = self.topics();
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

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(link) = &self.link {
            link.closed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl Hub {
    pub(crate) fn new(config: BroadcastConfig, link: Option<Arc<Link>>) -> Hub {
        Hub {
            config,
            topics: Mutex::new(Topics::default()),
            published: AtomicU64::new(0),
            link,
        }
    }

    pub(crate) fn topics(&self) -> MutexGuard<'_, Topics> {
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The topic `name` if it is known, with the hub's lock still held.
    pub(crate) fn find(&self, name: &str) -> (Option<Arc<Topic>>, MutexGuard<'_, Topics>) {
        let topics = self.topics();
        (topics.by_name.get(name).map(Arc::clone), topics)
    }

    /// The topic `name`, made if new and there is room, with the hub's lock still held
    /// (so a subscriber can be counted in before the topic could be forgotten).
    pub(crate) fn topic(
        self: &Arc<Hub>,
        name: &str,
    ) -> Result<(Arc<Topic>, MutexGuard<'_, Topics>), PublishError> {
        if name.is_empty() || name.len() > 256 {
            return Err(PublishError::Invalid(
                "a topic's name is 1 to 256 bytes long",
            ));
        }
        let mut topics = self.topics();
        if let Some(topic) = topics.by_name.get(name) {
            return Ok((Arc::clone(topic), topics));
        }
        if topics.by_name.len() >= self.config.max_topics {
            self.make_room(&mut topics)?;
        }
        topics.serial += 1;
        let hub: Weak<dyn Followers> = Arc::downgrade(self) as Weak<Hub>;
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
        let idle_for = self.config.topic_idle;
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
                    max: self.config.max_topics,
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
            max: self.config.max_topics,
            retry_after: idle_for,
        })
    }

    /// Counts a subscriber of `topic` in at `start` (found with the topic's lock held
    /// through `state`), under the hub's lock (`topics`): the topic cannot be forgotten
    /// between being found here and being followed by the loop.
    pub(crate) fn join(
        &self,
        topic: &Arc<Topic>,
        topics: &mut Topics,
        state: &mut crate::answer::topic::TopicState,
        start: Start,
    ) -> Subscription {
        if let Some(key) = state.idle_key.take() {
            topics.idle.remove(&key);
        }
        let member: Member = topic.join(state, start.next);
        Subscription {
            topic: member,
            next: start.next,
            max_lag: self.config.max_lag,
            reset: start.reset,
        }
    }
}
