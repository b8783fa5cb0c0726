//! What a connection sends on its streams' behalf, fairly: each stream's body waits in
//! its own bounded queue, and DATA frames are cut round-robin from the streams whose
//! windows are open, a frame's worth each turn. A stream whose client keeps its window
//! shut holds only its own bounded bytes, never another stream's turn; once it has waited
//! past the write timeout, the caller resets it.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::h2::session::Session;
use crate::h2::write;

/// One stream's body waiting to go.
#[derive(Debug, Default)]
struct Queue {
    bytes: VecDeque<u8>,
    /// The body ends after these bytes.
    end: bool,
    /// Since when it has bytes and no window to send them in.
    blocked_since: Option<Instant>,
}

/// Every stream's waiting body, and the order their turns come in.
#[derive(Debug)]
pub struct Outbox {
    queues: HashMap<u32, Queue>,
    /// Streams with something to send, in turn order.
    turns: VecDeque<u32>,
    /// Bytes one stream may have waiting.
    per_stream: usize,
}

impl Outbox {
    /// An empty outbox whose streams may each hold `per_stream` bytes.
    pub fn new(per_stream: usize) -> Outbox {
        Outbox {
            queues: HashMap::new(),
            turns: VecDeque::new(),
            per_stream,
        }
    }

    /// Queues what fits of `data` on `stream` (and its end, once all of it fit); returns
    /// how much fit. What did not fit is offered again once the stream has room.
    pub fn push(&mut self, stream: u32, data: &[u8], end: bool) -> usize {
        let queue = self.queues.entry(stream).or_default();
        let room = self.per_stream.saturating_sub(queue.bytes.len());
        let taken = data.len().min(room);
        queue.bytes.extend(&data[..taken]);
        queue.end |= end && taken == data.len();
        if !self.turns.contains(&stream) {
            self.turns.push_back(stream);
        }
        taken
    }

    /// Room `stream` has for more body.
    pub fn room(&self, stream: u32) -> usize {
        self.per_stream
            .saturating_sub(self.queues.get(&stream).map_or(0, |q| q.bytes.len()))
    }

    /// Forgets `stream` (reset, by either side).
    pub fn forget(&mut self, stream: u32) {
        self.queues.remove(&stream);
        self.turns.retain(|&s| s != stream);
    }

    /// Writes DATA frames into `out`, at most `budget` bytes of payload (what the socket
    /// is expected to take), one frame per stream per turn, as the windows allow. Streams
    /// whose body ended are finished in `session`. Returns the payload bytes written.
    pub fn drain(
        &mut self,
        session: &mut Session,
        out: &mut Vec<u8>,
        budget: usize,
        now: Instant,
    ) -> usize {
        let mut written = 0;
        let mut idle_turns = 0;
        while written < budget && idle_turns < self.turns.len() {
            let Some(stream) = self.turns.pop_front() else {
                break;
            };
            let Some(queue) = self.queues.get_mut(&stream) else {
                continue;
            };
            let window = session.send_window(stream);
            let size = queue
                .bytes
                .len()
                .min(window)
                .min(session.max_frame())
                .min(budget - written);
            let last = queue.end && size == queue.bytes.len();
            if size == 0 && !last {
                // Nothing it may send now: its turn passes, and its wait is timed.
                queue.blocked_since.get_or_insert(now);
                self.turns.push_back(stream);
                idle_turns += 1;
                continue;
            }
            idle_turns = 0;
            queue.blocked_since = None;
            write::data_head(out, stream, size, last);
            let (front, back) = queue.bytes.as_slices();
            let from_front = size.min(front.len());
            out.extend_from_slice(&front[..from_front]);
            out.extend_from_slice(&back[..size - from_front]);
            queue.bytes.drain(..size);
            session.sent(stream, size);
            written += size;
            if last {
                self.queues.remove(&stream);
                session.finished(stream);
            } else if !queue.bytes.is_empty() || queue.end {
                self.turns.push_back(stream);
            }
        }
        written
    }

    /// Streams that have waited for their client's window longer than `timeout`.
    pub fn stalled(&self, now: Instant, timeout: Duration) -> Vec<u32> {
        self.queues
            .iter()
            .filter(|(_, q)| {
                q.blocked_since
                    .is_some_and(|t| now.duration_since(t) >= timeout)
            })
            .map(|(&stream, _)| stream)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::session::Config;
    use crate::h2::session::tests::{Client, written};

    /// A session with requests open on streams 1 and 3, the client's windows of `window`.
    fn session(window: u32) -> Session {
        let now = Instant::now();
        let mut session = Session::new(Config::default(), now);
        let mut client = Client::new();
        // SETTINGS_INITIAL_WINDOW_SIZE for the streams; the connection's grows by update.
        client.raw(
            6,
            0x4,
            0,
            0,
            &[
                0,
                4,
                (window >> 24) as u8,
                (window >> 16) as u8,
                (window >> 8) as u8,
                window as u8,
            ],
        );
        client.raw(4, 0x8, 0, 0, &(1u32 << 20).to_be_bytes());
        client.get(1, "/a", true).get(3, "/b", true);
        session
            .receive(&client.bytes, now, &mut |_| {})
            .expect("open");
        session.output().clear();
        session
    }

    #[test]
    fn a_stream_with_a_shut_window_never_holds_back_another() {
        let now = Instant::now();
        let mut session = session(0);
        let mut outbox = Outbox::new(1 << 16);
        assert_eq!(outbox.push(1, &[b'a'; 100], true), 100);
        // Stream 3's client opens its window; stream 1's never does.
        let mut update = Client::new();
        update.bytes.clear();
        update.raw(4, 0x8, 0, 3, &1000u32.to_be_bytes());
        session
            .receive(&update.bytes, now, &mut |_| {})
            .expect("update");
        assert_eq!(outbox.push(3, &[b'b'; 100], true), 100);
        let mut out = Vec::new();
        assert_eq!(outbox.drain(&mut session, &mut out, 1 << 16, now), 100);
        let frames = written(&out);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert!(frames[0].contains("stream: 3"), "{frames:?}");
        assert_eq!(outbox.stalled(now, Duration::ZERO), [1]);
        assert!(outbox.stalled(now, Duration::from_secs(1)).is_empty());
    }

    #[test]
    fn streams_take_turns_a_frame_at_a_time_within_their_bounds() {
        let now = Instant::now();
        let mut session = session(1 << 20);
        let mut outbox = Outbox::new(40_000);
        assert_eq!(
            outbox.push(1, &[b'a'; 50_000], true),
            40_000,
            "bounded per stream"
        );
        assert_eq!(outbox.room(1), 0);
        assert_eq!(outbox.push(3, &[b'b'; 20_000], true), 20_000);
        let mut out = Vec::new();
        assert_eq!(outbox.drain(&mut session, &mut out, 1 << 20, now), 60_000);
        let order: Vec<char> = written(&out)
            .iter()
            .map(|f| if f.contains("stream: 1") { 'a' } else { 'b' })
            .collect();
        assert_eq!(order, ['a', 'b', 'a', 'b', 'a'], "16 KiB frames in turn");
        // Stream 1's end did not fit with its bytes: it is not ended.
        assert_eq!(session.send_window(1), (1 << 20) - 40_000);
        assert_eq!(session.send_window(3), 0, "stream 3 finished");
    }
}
