//! One broadcast topic: its events, encoded once and shared by every subscriber, and the
//! loops to wake when one is published.
//!
//! An event is kept as the chunk that goes on the wire (`size CRLF payload CRLF`) with its
//! id and where it ends in the topic's byte count: a subscriber is only a cursor (the next
//! id, and how much of that event is sent), its lag the bytes between its cursor and the
//! topic's end, and replaying from `Last-Event-ID` a lookup by id in the history.
//!
//! What is kept agrees with both bounds a subscriber meets: an event is dropped once the
//! events after it add up to `max_lag` bytes (whoever still needs it is past its lag and
//! is cut anyway: nothing older than a replay could send is kept), or once more than
//! `history` are kept and every live subscriber is past it. So a live subscriber is cut
//! only for its lag in bytes, never because a burst of small events outran a count.

use std::collections::VecDeque;
use std::fmt;
use std::ops::{Deref, Range};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use crate::answer::reset::Reset;

/// Where a kept event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Published to this hub: its id is its position.
    Local,
    /// Taken from a broker: its id there, `EPOCH:N`.
    Broker {
        /// The broker's epoch of the topic (a new one each time the broker lost it).
        epoch: u64,
        /// Its number in the epoch: 1, 2, 3, ...
        n: u64,
    },
    /// A reset told to the live subscribers (the stream has a gap there).
    Reset,
}

/// One published event, encoded.
pub(crate) struct Encoded {
    /// Its position in the topic: 1, 2, 3, ... (its id too, unless it came from a broker).
    pub(crate) id: u64,
    /// Where it came from.
    pub(crate) origin: Origin,
    /// The chunk: `size CRLF payload CRLF`.
    pub(crate) chunk: Box<[u8]>,
    /// Where the payload (the text/event-stream lines) lies in `chunk`: what an HTTP/1.0
    /// subscriber, whose body the close ends, is sent.
    pub(crate) payload: Range<usize>,
    /// The topic's byte count once this chunk is counted: lags are differences of these.
    pub(crate) end: u64,
}

impl Encoded {
    /// What a subscriber is sent of it.
    pub(crate) fn wire(&self, chunked: bool) -> &[u8] {
        if chunked {
            &self.chunk
        } else {
            &self.chunk[self.payload.clone()]
        }
    }
}

/// How a loop with subscribers to a topic is told of new events: at most one wake-up in
/// flight (`notified`, cleared by the loop when it looks).
pub(crate) struct Listener {
    pub(crate) notified: Arc<AtomicBool>,
    pub(crate) bell: Box<dyn Fn() + Send + Sync>,
}

/// What a topic holds, behind its lock.
pub(crate) struct TopicState {
    /// The id the next event gets.
    pub(crate) next_id: u64,
    /// The events kept, oldest first, ids consecutive.
    pub(crate) history: VecDeque<Arc<Encoded>>,
    /// Bytes published on the topic, as chunks.
    pub(crate) bytes: u64,
    /// Bytes of the events kept (their chunks).
    pub(crate) kept_bytes: u64,
    /// One per loop with subscribers.
    pub(crate) listeners: Vec<Listener>,
    /// Subscribers in every loop.
    pub(crate) subscribers: usize,
    /// How many live subscribers stand at each kept event (the next id each will send,
    /// as last seen), and in the last slot at `next_id`: one slot per event kept, plus
    /// one. An event at the front with nobody at it is needed by none of them. Moving a
    /// cursor is two counter updates, on the fan-out path of every delivery.
    waiting: VecDeque<u32>,
    /// The last publish or subscription: a topic idle long enough may be forgotten.
    pub(crate) last_active: Instant,
    /// Its entry in the hub's order of topics nobody follows, if it is there.
    pub(crate) idle_key: Option<IdleKey>,
    /// For a topic whose events come from a broker: where this copy stands there.
    pub(crate) mirror: Option<Mirror>,
}

/// Where a topic copied from a broker stands: the epoch and number of the last event
/// taken. Events are taken in order, each once; a gap is fetched again or told.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mirror {
    /// The broker's epoch of the topic (`None`: the broker had no event of it yet).
    pub(crate) epoch: Option<u64>,
    /// The number of the last event taken in that epoch (0: none).
    pub(crate) last_n: u64,
}

/// What a subscribing request hands its loop: the topic and where to start.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) topic: Member,
    /// The position of the first event to send.
    pub(crate) next: u64,
    pub(crate) max_lag: usize,
    /// Said before the first event: the stream does not go on from where the client was.
    pub(crate) reset: Option<Reset>,
}

/// Where a topic nobody follows stands in the hub's order of candidates to forget:
/// topics that never had an event first, then by last activity (as of when the entry
/// was made; a publish since is found when the entry comes up), then the topic's serial.
pub(crate) type IdleKey = (bool, Instant, u64);

impl TopicState {
    /// The id of the oldest event kept (the next one when none is).
    pub(crate) fn first_id(&self) -> u64 {
        self.history.front().map_or(self.next_id, |e| e.id)
    }

    /// The kept event with `id`, if any.
    pub(crate) fn event(&self, id: u64) -> Option<&Arc<Encoded>> {
        let at = id.checked_sub(self.first_id())?;
        self.history.get(usize::try_from(at).ok()?)
    }

    /// The id of the oldest event a replay offers: at most the newest `history`.
    pub(crate) fn replay_from(&self, history: usize) -> u64 {
        self.first_id()
            .max(self.next_id.saturating_sub(history.max(1) as u64))
    }

    /// A subscriber's cursor moves from `from` (`None`: it is new) to `to` (`None`: it
    /// leaves). A cursor at an event no longer kept is not counted anywhere: that
    /// subscriber is past its lag and is cut.
    pub(crate) fn move_cursor(&mut self, from: Option<u64>, to: Option<u64>) {
        if from == to {
            return;
        }
        if let Some(n) = from.and_then(|id| self.waiting_at(id)) {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = to.and_then(|id| self.waiting_at(id)) {
            *n += 1;
        }
    }

    /// The count of subscribers standing at `id`, if it is kept (or is `next_id`).
    fn waiting_at(&mut self, id: u64) -> Option<&mut u32> {
        let at = id.checked_sub(self.first_id())?;
        self.waiting.get_mut(usize::try_from(at).ok()?)
    }

    /// The key this topic has in the hub's idle order now.
    pub(crate) fn idle_key_now(&self, serial: u64) -> IdleKey {
        (self.next_id > 1, self.last_active, serial)
    }

    /// The topic's byte count where the event with `id` begins (`None` once it is no
    /// longer kept).
    pub(crate) fn start_of(&self, id: u64) -> Option<u64> {
        if id == self.next_id {
            return Some(self.bytes);
        }
        let event = self.event(id)?;
        Some(event.end - event.chunk.len() as u64)
    }
}

/// What a topic tells its hub: the last subscriber left (the topic may be forgotten).
pub(crate) trait Followers: Send + Sync {
    /// `topic` has no subscriber any more.
    fn unfollowed(&self, topic: &Arc<Topic>);
}

/// One topic of a [`Broadcast`](crate::Broadcast).
pub(crate) struct Topic {
    pub(crate) name: Box<str>,
    /// Its serial in the hub: tells it from a later topic of the same name.
    pub(crate) serial: u64,
    /// The hub, told when the last subscriber leaves (the topic may then be forgotten).
    hub: Option<Weak<dyn Followers>>,
    state: Mutex<TopicState>,
}

impl Topic {
    /// A topic of `hub` (`None`: of no hub, as the one a HEAD request's head is for).
    pub(crate) fn new(name: &str, serial: u64, hub: Option<Weak<dyn Followers>>) -> Topic {
        Topic {
            name: name.into(),
            serial,
            hub,
            state: Mutex::new(TopicState {
                next_id: 1,
                history: VecDeque::new(),
                bytes: 0,
                kept_bytes: 0,
                listeners: Vec::new(),
                subscribers: 0,
                waiting: VecDeque::from([0]),
                last_active: Instant::now(),
                idle_key: None,
                mirror: None,
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, TopicState> {
        // Nothing panics while holding it (appends and pops): a poisoned state is whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a loop's listener (the loop's first subscriber to this topic).
    pub(crate) fn listen(&self, listener: Listener) {
        self.lock().listeners.push(listener);
    }

    /// Removes the listener whose flag is `notified` (the loop's last subscriber left).
    pub(crate) fn unlisten(&self, notified: &Arc<AtomicBool>) {
        self.lock()
            .listeners
            .retain(|l| !Arc::ptr_eq(&l.notified, notified));
    }

    /// Counts a subscriber in, standing at `next`: the caller holds the hub's lock, so
    /// the topic cannot be forgotten between being found and being followed.
    pub(crate) fn join(self: &Arc<Topic>, state: &mut TopicState, next: u64) -> Member {
        state.subscribers += 1;
        state.last_active = Instant::now();
        state.move_cursor(None, Some(next));
        Member {
            topic: Arc::clone(self),
            cursor: std::cell::Cell::new(next),
        }
    }
    /// Keeps the next event, whose lines `encode` appends given its position, and wakes
    /// every listening loop that is not already told. Returns its position. What is kept
    /// follows the module's rule: past `max_lag` bytes after an event, it goes; past
    /// `history` events, the oldest go once no live subscriber stands at them.
    pub(crate) fn publish(
        &self,
        history: usize,
        max_lag: usize,
        encode: impl FnOnce(u64, &mut Vec<u8>),
    ) -> u64 {
        let mut state = self.lock();
        state.append(history, max_lag, Origin::Local, encode)
    }
}

impl TopicState {
    /// [`Topic::publish`] under the lock the caller holds, for an event from `origin`.
    pub(crate) fn append(
        &mut self,
        history: usize,
        max_lag: usize,
        origin: Origin,
        encode: impl FnOnce(u64, &mut Vec<u8>),
    ) -> u64 {
        let mut payload = Vec::new();
        let state = self;
        let id = state.next_id;
        state.next_id += 1;
        encode(id, &mut payload);
        let size = format!("{:x}\r\n", payload.len());
        let mut chunk = Vec::with_capacity(size.len() + payload.len() + 2);
        chunk.extend_from_slice(size.as_bytes());
        chunk.extend_from_slice(&payload);
        chunk.extend_from_slice(b"\r\n");
        state.bytes += chunk.len() as u64;
        let event = Encoded {
            id,
            origin,
            payload: size.len()..size.len() + payload.len(),
            chunk: chunk.into_boxed_slice(),
            end: state.bytes,
        };
        state.kept_bytes += event.chunk.len() as u64;
        state.history.push_back(Arc::new(event));
        // The slot for the id after this one (who stood at this one stays counted there).
        state.waiting.push_back(0);
        while state.history.len() > 1 {
            let front = state.history.front().expect("more than one kept");
            // A subscriber at the front has more than `max_lag` bytes to send after
            // whatever it sent of it: it is cut, and a replay could not send it either.
            let unsendable = state.bytes - front.end >= max_lag as u64;
            let surplus = state.history.len() > history.max(1) && state.waiting[0] == 0;
            if !(unsendable || surplus) {
                break;
            }
            let gone = state.history.pop_front().expect("more than one kept");
            state.waiting.pop_front();
            state.kept_bytes -= gone.chunk.len() as u64;
        }
        state.last_active = Instant::now();
        for listener in &state.listeners {
            if !listener.notified.swap(true, Ordering::SeqCst) {
                (listener.bell)();
            }
        }
        id
    }
}

/// A subscriber's membership of its topic: counted in when made (under the hub's lock),
/// its cursor among the topic's, and counted out when dropped, however the subscription
/// ends (the client leaves, is cut, the loop stops, the response is never sent).
pub(crate) struct Member {
    topic: Arc<Topic>,
    /// Its cursor as the topic knows it (a `Cell`: moved while the topic, borrowed
    /// through this, is locked).
    cursor: std::cell::Cell<u64>,
}

impl Member {
    /// Tells the topic the subscriber now stands at `next` (under the topic's lock, which
    /// the caller holds as `state`).
    pub(crate) fn stand_at(&self, state: &mut TopicState, next: u64) {
        state.move_cursor(Some(self.cursor.get()), Some(next));
        self.cursor.set(next);
    }
}

impl Deref for Member {
    type Target = Arc<Topic>;

    fn deref(&self) -> &Arc<Topic> {
        &self.topic
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let last = {
            let mut state = self.topic.lock();
            state.subscribers = state.subscribers.saturating_sub(1);
            state.last_active = Instant::now();
            state.move_cursor(Some(self.cursor.get()), None);
            state.subscribers == 0
        };
        if last && let Some(hub) = self.topic.hub.as_ref().and_then(Weak::upgrade) {
            hub.unfollowed(&self.topic);
        }
    }
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("topic", &self.topic.name)
            .field("cursor", &self.cursor.get())
            .finish()
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Topic")
            .field("name", &self.name)
            .field("next_id", &state.next_id)
            .field("kept", &state.history.len())
            .field("subscribers", &state.subscribers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_count_from_one_and_the_history_keeps_the_newest() {
        let topic = Topic::new("t", 0, None);
        for i in 1..=5u64 {
            let id = topic.publish(3, 1 << 20, |id, out| {
                out.extend_from_slice(format!("data: {id}\n\n").as_bytes())
            });
            assert_eq!(id, i);
        }
        let state = topic.lock();
        assert_eq!(state.first_id(), 3);
        assert!(state.event(2).is_none(), "evicted");
        let third = state.event(3).expect("kept");
        assert_eq!(third.wire(false), b"data: 3\n\n");
        assert_eq!(third.wire(true), b"9\r\ndata: 3\n\n\r\n");
        // Byte counts add up: the end of the last is the topic's count.
        assert_eq!(state.event(5).expect("kept").end, state.bytes);
        assert_eq!(state.start_of(6), Some(state.bytes));
        assert_eq!(state.start_of(1), None);
    }

    #[test]
    fn history_is_bounded_in_bytes_and_never_outruns_a_live_subscriber() {
        let topic = Arc::new(Topic::new("t", 0, None));
        // 900-byte events under a 2 KB lag: at most what a replay could send is kept.
        for _ in 0..10 {
            topic.publish(100, 2000, |_, out| out.extend_from_slice(&[b'x'; 900]));
        }
        assert!(topic.lock().history.len() <= 3, "{:?}", topic);
        // A count of 4, a live subscriber at 11: small events past the count stay while
        // it needs them (it is far below its lag).
        let member = {
            let mut state = topic.lock();
            let next = state.next_id;
            topic.join(&mut state, next)
        };
        for _ in 0..50 {
            topic.publish(4, 1 << 20, |_, out| out.extend_from_slice(b"data: x\n\n"));
        }
        {
            let mut state = topic.lock();
            assert_eq!(state.first_id(), 11, "kept for the subscriber");
            // Once it has moved on, the next publish trims to the count.
            member.stand_at(&mut state, 61);
        }
        topic.publish(4, 1 << 20, |_, out| out.extend_from_slice(b"data: x\n\n"));
        assert_eq!(topic.lock().history.len(), 4);
        drop(member);
        assert_eq!(topic.lock().subscribers, 0);
    }

    #[test]
    fn a_publish_rings_each_listener_once_until_it_looks() {
        let topic = Topic::new("t", 0, None);
        let rung = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let notified = Arc::new(AtomicBool::new(false));
        let counter = Arc::clone(&rung);
        topic.listen(Listener {
            notified: Arc::clone(&notified),
            bell: Box::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        });
        topic.publish(10, 1 << 20, |_, out| out.extend_from_slice(b"data: a\n\n"));
        topic.publish(10, 1 << 20, |_, out| out.extend_from_slice(b"data: b\n\n"));
        assert_eq!(rung.load(Ordering::SeqCst), 1, "one wake-up in flight");
        notified.store(false, Ordering::SeqCst); // the loop looked
        topic.publish(10, 1 << 20, |_, out| out.extend_from_slice(b"data: c\n\n"));
        assert_eq!(rung.load(Ordering::SeqCst), 2);
        topic.unlisten(&notified);
        notified.store(false, Ordering::SeqCst);
        topic.publish(10, 1 << 20, |_, out| out.extend_from_slice(b"data: d\n\n"));
        assert_eq!(rung.load(Ordering::SeqCst), 2, "no listener left");
    }
}
