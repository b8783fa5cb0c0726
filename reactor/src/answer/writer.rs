//! The writer of a streamed response body (see `stream.rs` for what it shares with the
//! loop): [`BodyWriter`], and [`Responder::stream`], which makes one.

use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::answer::door::Door;
use crate::answer::ready::Readiness;
use crate::answer::responder::{AnswerError, Responder};
use crate::answer::stream::{End, SMALL, STREAM_BOUND, Stream};
use crate::http::parse::Version;
use crate::http::response::Response;

/// What the writer gathers before it queues a chunk: small writes make one chunk, not
/// many (`flush` queues at once).
const CHUNK: usize = 16 * 1024;

/// How the writer frames what it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// HTTP/1.1: `Transfer-Encoding: chunked`.
    Chunked,
    /// HTTP/1.0: raw bytes; closing the connection ends the body.
    UntilClose,
    /// A HEAD request: the head says what a GET would get; the body is dropped.
    Discard,
}

/// The body of a streamed response, written from any thread (see [`Responder::stream`]).
///
/// Writes are gathered into chunks of up to 16 KiB; [`flush`](Write::flush) sends what is
/// gathered at once. Once 64 KiB wait for the client, `write` blocks until it reads
/// (backpressure), and no longer than the write timeout: past it, `write` fails with
/// [`io::ErrorKind::TimedOut`] and the connection closes. When the connection has ended,
/// however it ended, `write` fails with [`io::ErrorKind::BrokenPipe`] at once (a waiting
/// `write` is woken). [`BodyWriter::finish`] ends the body; a writer dropped without it
/// (or by a panic) closes the connection without the last chunk, so the client sees the
/// body cut short, and an `Unanswered` failure is reported with the request's context.
///
/// One thread can drive many writers without blocking: [`BodyWriter::try_write`],
/// [`BodyWriter::try_flush`] and [`BodyWriter::try_finish`] fail with `WouldBlock` where
/// the others would wait, and a writer registered with a [`Readiness`]
/// ([`BodyWriter::register`]) has its token marked there once it can go on.
///
/// For a HEAD request no body is wanted ([`BodyWriter::wants_body`] is `false`): the head
/// is all the client gets, the connection goes on at once, writes fail with `BrokenPipe`
/// and `finish` succeeds.
pub struct BodyWriter {
    stream: Arc<Stream>,
    /// How the loop learns of news: at most one wake-up in flight (the stream's
    /// `notified`). A stopped reactor closed the connection: the writer learns it from
    /// the stream's `gone`.
    door: Door,
    framing: Framing,
    /// Written, not yet queued.
    local: Vec<u8>,
    finished: bool,
}

/// Whether queuing may wait for room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// Up to the write timeout (the blocking calls).
    Yes,
    /// Never: `WouldBlock` instead (the `try_` calls).
    No,
}

impl BodyWriter {
    /// Queues what is gathered and the end of the body, and wakes the loop. Waits for
    /// room like `write`.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` if the connection has ended, `TimedOut` if the client read nothing
    /// for the write timeout.
    pub fn finish(mut self) -> io::Result<()> {
        self.finished = true;
        self.queue(true, Wait::Yes)
    }

    /// [`BodyWriter::finish`] without waiting: `WouldBlock` while the queue is full (the
    /// writer is then not finished; try again once it is ready).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as `finish`.
    pub fn try_finish(&mut self) -> io::Result<()> {
        if self.finished {
            return Ok(());
        }
        self.queue(true, Wait::No)?;
        self.finished = true;
        Ok(())
    }

    /// Whether the client wants a body: `false` for a HEAD request, whose head was all
    /// it asked for. Nothing needs to be made then.
    pub fn wants_body(&self) -> bool {
        self.framing != Framing::Discard
    }

    /// Has `ready` told, with `token`, whenever this writer can go on after a
    /// `WouldBlock` (its client read what was queued) and when its stream ends (the next
    /// write then says how).
    pub fn register(&mut self, ready: &Readiness, token: u64) {
        self.stream.lock().ready = Some((ready.clone(), token));
    }

    /// Gives up on the body: the connection closes without the last chunk, and the loop
    /// reports it (as a panic with `panicked`, else as an unfinished body).
    pub(crate) fn abandon(mut self, panicked: bool) {
        self.give_up(panicked);
    }

    /// What was written still goes out (no waiting for room here), then the connection
    /// closes without the last chunk.
    fn give_up(&mut self, panicked: bool) {
        self.finished = true; // nothing left for Drop to do
        let stream = Arc::clone(&self.stream);
        let mut queue = stream.lock();
        if queue.end == End::Open {
            self.frame_into(&mut queue.data, false);
            queue.end = End::Abandoned { panicked };
            drop(queue);
            self.door.wake_once(&stream.notified, &stream.ticket);
        }
    }

    /// Whether the client is still there and wants a body: a writer with nothing to say
    /// for a while (an event stream) can stop early.
    pub fn is_open(&self) -> bool {
        self.wants_body() && !self.stream.gone.load(Ordering::SeqCst)
    }

    fn check(&self) -> io::Result<()> {
        if self.framing == Framing::Discard {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "no body is wanted: the request was HEAD, and its head is sent",
            ));
        }
        if self.stream.gone.load(Ordering::SeqCst) {
            return Err(gone());
        }
        Ok(())
    }

    /// Queues `local` (and, with `last`, the end of the body), first waiting for room as
    /// `wait` says.
    fn queue(&mut self, last: bool, wait: Wait) -> io::Result<()> {
        if self.local.is_empty() && !last {
            return Ok(());
        }
        self.queue_with(last, wait, |_| {})
    }

    /// Queues what `fill` appends to what is gathered, as one piece: nothing of it when
    /// there is no room (`WouldBlock`) or the connection has ended. An event is sent whole
    /// this way, or not at all.
    pub(crate) fn queue_whole(
        &mut self,
        wait: bool,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        self.check()?;
        let wait = if wait { Wait::Yes } else { Wait::No };
        self.queue_with(false, wait, fill)
    }

    fn queue_with(
        &mut self,
        last: bool,
        wait: Wait,
        fill: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        if self.framing == Framing::Discard {
            return Ok(()); // the stream ended with its head
        }
        let stream = Arc::clone(&self.stream);
        let mut queue = stream.lock();
        let mut deadline = None;
        while queue.end == End::Open && queue.data.len() >= STREAM_BOUND {
            if wait == Wait::No {
                queue.wants_room = true;
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "the client has not read what is queued yet",
                ));
            }
            if std::thread::current().id() == stream.ticket.loop_thread {
                // Waiting here would wait for ourselves: the loop is what sends it.
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "a streamed body past 64 KiB cannot be written on its worker's loop: \
                     write it from the blocking pool (req.stream_blocking) or a thread",
                ));
            }
            let now = Instant::now();
            let until = *deadline.get_or_insert(now + stream.ticket.patience.write());
            if now >= until {
                // The client read nothing for the write timeout: the loop closes.
                queue.end = End::TimedOut;
                drop(queue);
                self.finished = true;
                self.door.wake_once(&stream.notified, &stream.ticket);
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client read nothing for the write timeout; the connection closes",
                ));
            }
            queue = stream
                .room
                .wait_timeout(queue, until - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if queue.end != End::Open {
            return Err(gone());
        }
        fill(&mut self.local);
        self.frame_into(&mut queue.data, last);
        if last {
            queue.end = End::Finished;
        }
        drop(queue);
        self.door.wake_once(&stream.notified, &stream.ticket);
        Ok(())
    }

    /// Appends `local`, framed, to `data`; with `last`, the end of the body too.
    fn frame_into(&mut self, data: &mut Vec<u8>, last: bool) {
        match self.framing {
            Framing::Chunked => {
                if !self.local.is_empty() {
                    // A zero-size chunk would end the body: never sent for an empty write.
                    let mut size = [0u8; 18];
                    let mut cursor = &mut size[..];
                    let _ = write!(cursor, "{:x}\r\n", self.local.len());
                    let n = 18 - cursor.len();
                    data.extend_from_slice(&size[..n]);
                    data.extend_from_slice(&self.local);
                    data.extend_from_slice(b"\r\n");
                }
                if last {
                    data.extend_from_slice(b"0\r\n\r\n");
                }
            }
            Framing::UntilClose => data.extend_from_slice(&self.local),
            Framing::Discard => {}
        }
        if self.local.capacity() > CHUNK {
            self.local.clear();
            self.local.shrink_to(CHUNK);
        } else if self.local.capacity() <= SMALL {
            // Likewise: an idle event stream's writer holds no buffer.
            self.local = Vec::new();
        } else {
            self.local.clear();
        }
    }

    /// Gathers `buf` as `write` does, queuing first (waiting as `wait` says) when what is
    /// gathered fills a chunk.
    fn gather(&mut self, buf: &[u8], wait: Wait) -> io::Result<usize> {
        self.check()?;
        if self.finished {
            return Err(io::Error::other("the streamed body is finished"));
        }
        if self.local.len() >= CHUNK {
            self.queue(false, wait)?;
        }
        let n = buf.len().min(CHUNK - self.local.len());
        self.local.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// `write` without waiting: takes what fits, or fails with `WouldBlock` while the
    /// queue is full (register with a [`Readiness`] to learn when it is not).
    ///
    /// # Errors
    ///
    /// `WouldBlock`; `BrokenPipe` if the connection has ended.
    pub fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.gather(buf, Wait::No)
    }

    /// `flush` without waiting: `WouldBlock` while the queue is full.
    ///
    /// # Errors
    ///
    /// As [`BodyWriter::try_write`].
    pub fn try_flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.queue(false, Wait::No)
    }
}

/// The error of a write to a stream whose connection has ended.
fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "the client of this streamed response has gone",
    )
}

impl Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.gather(buf, Wait::Yes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.queue(false, Wait::Yes)
    }
}

impl Drop for BodyWriter {
    fn drop(&mut self) {
        if !self.finished {
            self.give_up(std::thread::panicking());
        }
    }
}

impl fmt::Debug for BodyWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyWriter")
            .field("stream", &self.stream)
            .field("framing", &self.framing)
            .field("gathered", &self.local.len())
            .finish()
    }
}

impl Responder {
    /// Sends `head` (status and headers, no body) and returns the writer of the body,
    /// sent chunked on HTTP/1.1 and delimited by the close on HTTP/1.0. See
    /// [`BodyWriter`] for backpressure and endings. While the body streams, the
    /// connection waits for it without a deadline (an event stream may be quiet for
    /// long); a client that stops reading is cut by the write timeout.
    ///
    /// ```
    /// use std::io::Write;
    /// use warden_reactor::{Request, Response};
    ///
    /// fn handler(req: &Request<'_>) -> Response {
    ///     let (pending, responder) = req.defer();
    ///     std::thread::spawn(move || -> std::io::Result<()> {
    ///         let head = Response::new(200).with_content_type("text/plain");
    ///         let Ok(mut body) = responder.stream(head) else { return Ok(()) };
    ///         for i in 0..3 {
    ///             writeln!(body, "line {i}")?;
    ///             body.flush()?; // each line goes out now
    ///         }
    ///         body.finish()
    ///     });
    ///     pending
    /// }
    /// # let _ = handler;
    /// ```
    ///
    /// # Errors
    ///
    /// The head comes back when it can no longer be sent ([`Unanswerable`](crate::Unanswerable)).
    pub fn stream(self, head: Response) -> Result<BodyWriter, AnswerError> {
        let request = self.request();
        let framing = if request.method() == "HEAD" {
            Framing::Discard
        } else if request.version() == Version::Http10 {
            Framing::UntilClose
        } else {
            Framing::Chunked
        };
        let stream = Arc::new(Stream::new(self.ticket(), framing == Framing::Discard));
        let door = self.door().clone();
        self.send_stream(head, Arc::clone(&stream))?;
        Ok(BodyWriter {
            stream,
            door,
            framing,
            local: Vec::new(),
            finished: false,
        })
    }
}
