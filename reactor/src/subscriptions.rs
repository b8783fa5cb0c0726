//! Which connections of this reactor follow which broadcast topics, and the one listener
//! per topic through which a publish wakes this loop.

use std::collections::HashMap;
use std::sync::Arc;

use slab::Slab;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::answer::door::{Delivery, Door};
use crate::answer::topic::{Listener, Topic};
use crate::http::request::ConnId;

/// A topic this reactor follows.
struct Followed {
    topic: Arc<Topic>,
    /// Set by a publish that woke this loop, cleared when the loop looks.
    notified: Arc<AtomicBool>,
    /// Its subscribers here: connections' slab keys, with ids to tell a reused key. A
    /// slab: a subscriber leaving is O(1), even when thousands leave at once.
    conns: Slab<(usize, ConnId)>,
}

/// This reactor's subscribers, by topic (the topic's address is the key).
#[derive(Default)]
pub(crate) struct Subscriptions {
    by_topic: HashMap<usize, Followed>,
}

fn address(topic: &Arc<Topic>) -> usize {
    Arc::as_ptr(topic) as usize
}

impl Subscriptions {
    /// The connection at `key` subscribes to `topic`; returns its place here (for
    /// [`Subscriptions::remove`]). The first subscriber here makes this loop a listener of
    /// the topic: publishes ring `door` (holding the topic weakly, so a forgotten topic is
    /// not kept alive by its listeners).
    pub(crate) fn add(&mut self, topic: &Arc<Topic>, key: usize, id: ConnId, door: &Door) -> usize {
        let followed = self.by_topic.entry(address(topic)).or_insert_with(|| {
            let notified = Arc::new(AtomicBool::new(false));
            let door = door.clone();
            let weak = Arc::downgrade(topic);
            topic.listen(Listener {
                notified: Arc::clone(&notified),
                bell: Box::new(move || {
                    if let Some(topic) = weak.upgrade() {
                        // A stopped reactor has closed its subscribers already.
                        let _ = door.deliver(Delivery::Topic(topic));
                    }
                }),
            });
            Followed {
                topic: Arc::clone(topic),
                notified,
                conns: Slab::new(),
            }
        });
        followed.conns.insert((key, id))
    }

    /// The subscriber at `place` no longer follows `topic`; the last one here stops this
    /// loop's listening.
    pub(crate) fn remove(&mut self, topic: &Arc<Topic>, place: usize) {
        let at = address(topic);
        let Some(followed) = self.by_topic.get_mut(&at) else {
            return;
        };
        // Counted out by the subscriber's own membership, when it drops.
        followed.conns.try_remove(place);
        if followed.conns.is_empty() {
            topic.unlisten(&followed.notified);
            self.by_topic.remove(&at);
        }
    }

    /// A publish woke the loop for `topic`: the subscribers to drive go into `into`. The
    /// flag is cleared first, so a publish from now on wakes the loop again.
    pub(crate) fn woken(&mut self, topic: &Arc<Topic>, into: &mut Vec<(usize, ConnId)>) {
        if let Some(followed) = self.by_topic.get(&address(topic)) {
            followed.notified.store(false, Ordering::SeqCst);
            into.extend(followed.conns.iter().map(|(_, conn)| *conn));
        }
    }
}

impl std::fmt::Debug for Subscriptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.by_topic
                    .values()
                    .map(|t| (&t.topic.name, t.conns.len())),
            )
            .finish()
    }
}
