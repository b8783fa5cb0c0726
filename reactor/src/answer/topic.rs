//! One broadcast topic: its events, encoded once and shared by every subscriber, and the
//! loops to wake when one is published.
//!
//! An event is kept as the chunk that goes on the wire (`size CRLF payload CRLF`) with its
//! id and where it ends in the topic's byte count: a subscriber is only a cursor (the next
//! id, and how much of that event is sent), its lag the bytes between its cursor and the
//! topic's end, and replaying from `Last-Event-ID` a lookup by id in the history.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// One published event, encoded.
pub(crate) struct Encoded {
    /// Its id in the topic: 1, 2, 3, ...
    pub(crate) id: u64,
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
    /// One per loop with subscribers.
    pub(crate) listeners: Vec<Listener>,
    /// Subscribers in every loop.
    pub(crate) subscribers: usize,
    /// The last publish or subscription: a topic idle long enough may be forgotten.
    pub(crate) last_active: Instant,
}

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

/// One topic of a [`Broadcast`](crate::Broadcast).
pub(crate) struct Topic {
    pub(crate) name: Box<str>,
    state: Mutex<TopicState>,
}

impl Topic {
    pub(crate) fn new(name: &str) -> Topic {
        Topic {
            name: name.into(),
            state: Mutex::new(TopicState {
                next_id: 1,
                history: VecDeque::new(),
                bytes: 0,
                listeners: Vec::new(),
                subscribers: 0,
                last_active: Instant::now(),
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

    /// Counts a subscriber in (`true`) or out.
    pub(crate) fn count(&self, joined: bool) {
        let mut state = self.lock();
        if joined {
            state.subscribers += 1;
        } else {
            state.subscribers = state.subscribers.saturating_sub(1);
        }
        state.last_active = Instant::now();
    }

    /// Keeps the next event, whose lines `encode` appends given its id, at most `history`
    /// kept, and wakes every listening loop that is not already told. Returns its id.
    pub(crate) fn publish(&self, history: usize, encode: impl FnOnce(u64, &mut Vec<u8>)) -> u64 {
        let mut payload = Vec::new();
        let mut state = self.lock();
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
            payload: size.len()..size.len() + payload.len(),
            chunk: chunk.into_boxed_slice(),
            end: state.bytes,
        };
        state.history.push_back(Arc::new(event));
        while state.history.len() > history.max(1) {
            state.history.pop_front();
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
        let topic = Topic::new("t");
        for i in 1..=5u64 {
            let id = topic.publish(3, |id, out| {
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
    fn a_publish_rings_each_listener_once_until_it_looks() {
        let topic = Topic::new("t");
        let rung = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let notified = Arc::new(AtomicBool::new(false));
        let counter = Arc::clone(&rung);
        topic.listen(Listener {
            notified: Arc::clone(&notified),
            bell: Box::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            }),
        });
        topic.publish(10, |_, out| out.extend_from_slice(b"data: a\n\n"));
        topic.publish(10, |_, out| out.extend_from_slice(b"data: b\n\n"));
        assert_eq!(rung.load(Ordering::SeqCst), 1, "one wake-up in flight");
        notified.store(false, Ordering::SeqCst); // the loop looked
        topic.publish(10, |_, out| out.extend_from_slice(b"data: c\n\n"));
        assert_eq!(rung.load(Ordering::SeqCst), 2);
        topic.unlisten(&notified);
        notified.store(false, Ordering::SeqCst);
        topic.publish(10, |_, out| out.extend_from_slice(b"data: d\n\n"));
        assert_eq!(rung.load(Ordering::SeqCst), 2, "no listener left");
    }
}
