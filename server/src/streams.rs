//! The binary's streaming routes: `/stream` (a chunked body written by a thread of its
//! own) and `/events` (Server-Sent Events, every stream served by one ticker thread).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use warden::{Event, EventStream, Request, Response};

/// The most chunks and the largest chunk `/stream` writes.
const MAX_CHUNKS: u64 = 1 << 20;
const MAX_CHUNK: usize = 1 << 20;

/// The most events and the longest pause `/events` takes.
const MAX_EVENTS: u64 = 1 << 20;
const MAX_PAUSE_MS: u64 = 3_600_000;

/// The value of `name=` in the query.
fn query(req: &Request<'_>, name: &str) -> Option<u64> {
    req.query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// `GET /stream?chunks=N&size=B`: N chunks of B bytes, each flushed as it is written. The
/// writing thread blocks while the client does not read (backpressure), so a slow client
/// costs one parked thread and at most 64 KiB, not its whole body.
pub(crate) fn stream(req: &Request<'_>) -> Response {
    let chunks = query(req, "chunks").unwrap_or(16).min(MAX_CHUNKS);
    let size = usize::try_from(query(req, "size").unwrap_or(1024))
        .unwrap_or(MAX_CHUNK)
        .min(MAX_CHUNK);
    let (pending, responder) = req.defer();
    let spawned = std::thread::Builder::new()
        .name("warden-stream".to_owned())
        .spawn(move || {
            let head = Response::new(200).with_content_type("application/octet-stream");
            let Ok(mut body) = responder.stream(head) else {
                return; // the client left, or the deadline passed: nobody to tell
            };
            let chunk: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
            for _ in 0..chunks {
                if body.write_all(&chunk).and_then(|()| body.flush()).is_err() {
                    return; // the client left: counted as client-gone by the server
                }
            }
            let _ = body.finish();
        });
    match spawned {
        Ok(_) => pending,
        // Out of threads: the responder was dropped with the closure, which answers 500
        // and reports the failure; the placeholder stands for that answer.
        Err(e) => {
            log::warn!("/stream: cannot start its writer thread: {e}");
            pending
        }
    }
}

/// Whether a request's body streams: `POST /upload`'s does.
pub(crate) fn streams_body(req: &Request<'_>) -> bool {
    req.method() == "POST" && req.path() == "/upload"
}

/// `POST /upload`: reads the body as it arrives, on the blocking pool, and answers its
/// length and a 64-bit checksum (FNV-1a's constants over little-endian 8-byte words, then
/// the last bytes one by one: fast enough not to be what an upload waits for). The body
/// may be as large as the server's `max_streamed_body` (1 GiB by default); it never sits
/// in memory whole.
pub(crate) fn upload(req: &Request<'_>) -> Response {
    let Some(mut body) = req.body_reader() else {
        return Response::status_page(400);
    };
    req.blocking(move |_| {
        let mut buf = vec![0u8; 256 * 1024];
        let mut filled = 0;
        let mut length = 0u64;
        let mut hash = Checksum::default();
        loop {
            match std::io::Read::read(&mut body, &mut buf[filled..]) {
                Ok(0) => {
                    hash.bytes(&buf[..filled]);
                    return Response::text(format!("length={length} checksum={:016x}\n", hash.0));
                }
                Ok(n) => {
                    length += n as u64;
                    filled += n;
                    // Whole words now; a partial one waits for the next read.
                    let whole = filled / 8 * 8;
                    hash.words(&buf[..whole]);
                    buf.copy_within(whole..filled, 0);
                    filled -= whole;
                }
                Err(e) => {
                    return Response::text(format!("the body could not be read: {e}\n"))
                        .with_status(400);
                }
            }
        }
    })
}

/// The checksum of `/upload`.
struct Checksum(u64);

impl Default for Checksum {
    fn default() -> Checksum {
        Checksum(0xcbf2_9ce4_8422_2325)
    }
}

impl Checksum {
    const PRIME: u64 = 0x0100_0000_01b3;

    fn words(&mut self, bytes: &[u8]) {
        for word in bytes.chunks_exact(8) {
            let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            self.0 = (self.0 ^ w).wrapping_mul(Self::PRIME);
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.words(bytes);
        for &b in bytes.chunks_exact(8).remainder() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
    }
}

/// `GET /events?n=N&ms=M`: N events M ms apart, then the stream ends. One ticker thread
/// serves every event stream of the process, however many there are.
pub(crate) fn events(req: &Request<'_>) -> Response {
    let n = query(req, "n").unwrap_or(10).min(MAX_EVENTS);
    let every = Duration::from_millis(query(req, "ms").unwrap_or(1000).min(MAX_PAUSE_MS));
    let (pending, responder) = req.defer();
    let Ok(stream) = responder.event_stream() else {
        return pending;
    };
    let subscription = Subscription {
        stream,
        sent: 0,
        n,
        every,
    };
    if ticker().send(subscription).is_err() {
        log::error!("/events: the ticker thread has stopped");
    }
    pending
}

/// One event stream and its schedule.
struct Subscription {
    stream: EventStream,
    sent: u64,
    n: u64,
    every: Duration,
}

/// Where new event streams go: the ticker thread, started on first use.
fn ticker() -> &'static Sender<Subscription> {
    static TICKER: OnceLock<Sender<Subscription>> = OnceLock::new();
    TICKER.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("warden-events".to_owned())
            .spawn(move || tick(&rx))
            .expect("the events ticker thread starts");
        tx
    })
}

/// A stream waiting for its next event: ordered by when it is due (the earliest first in
/// the max-heap), then by arrival.
struct Due {
    at: Instant,
    seq: u64,
    sub: Subscription,
}

impl PartialEq for Due {
    fn eq(&self, other: &Due) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Due) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Due) -> std::cmp::Ordering {
        (Reverse(self.at), Reverse(self.seq)).cmp(&(Reverse(other.at), Reverse(other.seq)))
    }
}

/// Sends each stream's events when they are due: the streams themselves live in a heap
/// ordered by due time, nothing else per stream.
fn tick(new: &Receiver<Subscription>) {
    let mut due: BinaryHeap<Due> = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let wait = due
            .peek()
            .map(|d| d.at.saturating_duration_since(Instant::now()));
        let received = match wait {
            Some(wait) => new.recv_timeout(wait).map_err(|e| e.is_disconnected()),
            None => new.recv().map_err(|_| true),
        };
        match received {
            Ok(sub) => {
                // The first event goes at once.
                due.push(Due {
                    at: Instant::now(),
                    seq,
                    sub,
                });
                seq += 1;
            }
            Err(true) => return, // the server is gone
            Err(false) => {}
        }
        let now = Instant::now();
        while due.peek().is_some_and(|d| d.at <= now) {
            let Due { at, seq, mut sub } = due.pop().expect("peeked");
            if sub.sent == sub.n {
                let _ = sub.stream.finish();
                continue;
            }
            let data = format!("event {} of {}", sub.sent + 1, sub.n);
            let id_text = (sub.sent + 1).to_string();
            if sub.stream.send(&Event::new(&data).id(&id_text)).is_err() {
                continue; // the client left
            }
            sub.sent += 1;
            let at = if sub.sent == sub.n {
                now
            } else {
                at + sub.every
            };
            due.push(Due { at, seq, sub });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_does_not_depend_on_how_the_body_is_split() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 256) as u8).collect();
        let mut whole = Checksum::default();
        whole.bytes(&data);
        // As upload() sees it: reads of any size, whole words hashed as they complete.
        let mut split = Checksum::default();
        let mut pending = Vec::new();
        for piece in data.chunks(13) {
            pending.extend_from_slice(piece);
            let whole_words = pending.len() / 8 * 8;
            split.words(&pending[..whole_words]);
            pending.drain(..whole_words);
        }
        split.bytes(&pending);
        assert_eq!(whole.0, split.0);
    }
}
