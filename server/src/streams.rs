//! The binary's streaming routes: `/stream` (chunked bodies, all written by one thread
//! without blocking), `/upload` (a body read as it arrives), and the [`Driver`] that
//! `/stream` and `/events` share: one thread, many streams, none waited for.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::sync::OnceLock;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use warden::{BodyWriter, Readiness, Request, Response};

/// The most chunks and the largest chunk `/stream` writes.
const MAX_CHUNKS: u64 = 1 << 20;
const MAX_CHUNK: usize = 1 << 20;

/// The value of `name=` in the query.
pub(crate) fn query(req: &Request<'_>, name: &str) -> Option<u64> {
    req.query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

/// `GET /stream?chunks=N&size=B`: N chunks of B bytes. Every `/stream` body of the
/// process is written by one thread without blocking: a client that does not read holds
/// at most 64 KiB of its own body and delays no other stream.
pub(crate) fn stream(req: &Request<'_>) -> Response {
    let chunks = query(req, "chunks").unwrap_or(16).min(MAX_CHUNKS);
    let size = usize::try_from(query(req, "size").unwrap_or(1024))
        .unwrap_or(MAX_CHUNK)
        .min(MAX_CHUNK);
    let (pending, responder) = req.defer();
    let head = Response::new(200).with_content_type("application/octet-stream");
    // Sending the head waits for nothing: it goes through the loop's door.
    let Ok(body) = responder.stream(head) else {
        return pending; // the client left, or the deadline passed: nobody to tell
    };
    if body.wants_body() {
        writer().add(Bulk {
            body,
            left: chunks.saturating_mul(size as u64),
            size,
            offset: 0,
        });
    } else {
        let _ = body.finish(); // HEAD: the head was all
    }
    pending
}

/// One `/stream` body being written.
struct Bulk {
    body: BodyWriter,
    /// Bytes still to write.
    left: u64,
    size: usize,
    /// Where the next byte falls in its chunk's pattern.
    offset: usize,
}

impl Bulk {
    /// Writes until the body is done (`true`) or the client has not read enough
    /// (`false`: wait until the stream is ready).
    fn pump(&mut self) -> std::io::Result<bool> {
        static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
        // Two chunks' worth of the pattern, so any offset has a whole chunk after it.
        let pattern =
            PATTERN.get_or_init(|| (0..2 * MAX_CHUNK).map(|i| b'a' + (i % 26) as u8).collect());
        while self.left > 0 {
            let in_chunk = self.size - self.offset;
            let n = usize::try_from(self.left).map_or(in_chunk, |l| l.min(in_chunk));
            let start = self.offset % 26;
            match self.body.try_write(&pattern[start..start + n]) {
                Ok(written) => {
                    self.left -= written as u64;
                    self.offset = (self.offset + written) % self.size.max(1);
                    if self.offset == 0 {
                        // A whole chunk: out it goes.
                        match self.body.try_flush() {
                            Ok(()) => {}
                            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        match self.body.try_finish() {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// The thread that writes every `/stream` body, started on first use.
fn writer() -> &'static Driver<Bulk> {
    static WRITER: OnceLock<Driver<Bulk>> = OnceLock::new();
    WRITER.get_or_init(|| {
        Driver::start("warden-stream", |bulks: &mut Streams<Bulk>, ready| {
            let mut tokens = Vec::new();
            loop {
                tokens.clear();
                ready.wait(&mut tokens, Duration::from_secs(3600));
                for &token in &tokens {
                    if token == NEW {
                        continue;
                    }
                    let Some(bulk) = bulks.get_mut(&token) else {
                        continue; // done already: a late mark
                    };
                    match bulk.pump() {
                        Ok(false) => {} // marked again when the client has read
                        // Done, or the client left: counted by the server.
                        Ok(true) | Err(_) => {
                            bulks.remove(&token);
                        }
                    }
                }
                // Kept while blocked; done at once, or the client left: dropped.
                if !bulks.take_new(ready, |_, bulk| matches!(bulk.pump(), Ok(false))) {
                    return; // the server is gone
                }
            }
        })
    })
}

/// Where a driving thread's new streams come from, and the streams it drives by token.
pub(crate) struct Streams<T> {
    new: Receiver<T>,
    by_token: HashMap<u64, T>,
    next: u64,
}

impl<T: Registered> Streams<T> {
    pub(crate) fn get_mut(&mut self, token: &u64) -> Option<&mut T> {
        self.by_token.get_mut(token)
    }

    pub(crate) fn contains(&self, token: u64) -> bool {
        self.by_token.contains_key(&token)
    }

    pub(crate) fn remove(&mut self, token: &u64) -> Option<T> {
        self.by_token.remove(token)
    }

    /// Registers every stream handed over since the last look under a token of its own,
    /// and keeps it if `start` (its first go) says so. `false` once nobody can hand over
    /// streams any more.
    pub(crate) fn take_new(
        &mut self,
        ready: &Readiness,
        mut start: impl FnMut(u64, &mut T) -> bool,
    ) -> bool {
        loop {
            match self.new.try_recv() {
                Ok(mut stream) => {
                    let token = self.next;
                    self.next += 1;
                    stream.register(ready, token);
                    if start(token, &mut stream) {
                        self.by_token.insert(token, stream);
                    }
                }
                Err(crossbeam_channel::TryRecvError::Empty) => return true,
                Err(crossbeam_channel::TryRecvError::Disconnected) => return false,
            }
        }
    }
}

/// What a driving thread can register with its [`Readiness`].
pub(crate) trait Registered {
    fn register(&mut self, ready: &Readiness, token: u64);
}

impl Registered for Bulk {
    fn register(&mut self, ready: &Readiness, token: u64) {
        self.body.register(ready, token);
    }
}

/// The token that says "new streams were handed over".
const NEW: u64 = u64::MAX;

/// A thread that drives many streams without blocking on any: handlers hand it streams,
/// and it goes on with each one when the loops mark it ready.
pub(crate) struct Driver<T> {
    tx: Sender<T>,
    ready: Readiness,
}

impl<T: Registered + Send + 'static> Driver<T> {
    /// Starts the thread `name`, running `drive` over the streams handed to it.
    pub(crate) fn start(
        name: &str,
        drive: impl FnOnce(&mut Streams<T>, &Readiness) + Send + 'static,
    ) -> Driver<T> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let ready = Readiness::new();
        let theirs = ready.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut streams = Streams {
                    new: rx,
                    by_token: HashMap::new(),
                    next: 0,
                };
                drive(&mut streams, &theirs);
            })
            .expect("a stream driver thread starts");
        Driver { tx, ready }
    }

    /// Hands `stream` to the thread.
    pub(crate) fn add(&self, stream: T) {
        if self.tx.send(stream).is_err() {
            log::error!("a stream driver thread has stopped");
            return;
        }
        self.ready.mark(NEW);
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
        // No body (or a buffered one): summed as it is.
        let mut hash = Checksum::default();
        hash.bytes(req.body());
        let length = req.body().len();
        return Response::text(format!("length={length} checksum={:016x}\n", hash.0));
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
                    // As the loop answers a buffered body: 408 for a stall, 413 past the
                    // limit, 400 for broken framing.
                    let status = match e.kind() {
                        ErrorKind::TimedOut => 408,
                        ErrorKind::InvalidInput => 413,
                        _ => 400,
                    };
                    return Response::text(format!("the body could not be read: {e}\n"))
                        .with_status(status)
                        .with_header("Connection", "close");
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
