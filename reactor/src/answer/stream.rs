//! Streamed response bodies: written from any thread through [`std::io::Write`], sent by
//! the loop as the client reads.
//!
//! [`Responder::stream`] sends the head and hands back a [`BodyWriter`]. The writer and the
//! connection share a small queue: the writer frames what it is given (chunks on HTTP/1.1,
//! raw bytes on HTTP/1.0, where the close ends the body) and appends it; the loop takes it
//! whenever the connection has written everything before it. Once the queue holds
//! [`STREAM_BOUND`] bytes the writer blocks until the loop takes them, that is, until the
//! client reads: memory stays bounded whatever the writer's pace. The queue's end says how
//! the stream ended:
//!
//! ```text
//! Open ──finish()──────────────────▶ Finished   (the last chunk is queued)
//!   ├───writer dropped (or panicked)▶ Abandoned  (the loop closes without the last chunk)
//!   └───the connection closed───────▶ Gone       (writes fail with BrokenPipe)
//! ```
//!
//! Waking the loop costs a message through the reactor's door only when the queue goes
//! from "seen" to "has news": at most one wake-up per stream is ever in flight.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::answer::defer::{AnswerError, Door, Responder, Ticket};
use crate::http::parse::Version;
use crate::http::response::Response;

/// Bytes a stream may queue for its connection before its writer blocks.
pub const STREAM_BOUND: usize = 64 * 1024;

/// Buffers this small are freed once drained rather than kept: what an event stream
/// writes is this small, and an idle stream then holds none (a bulk stream's buffers are
/// larger, and kept).
const SMALL: usize = 4 * 1024;

/// What the writer gathers before it queues a chunk: small writes make one chunk, not
/// many (`flush` queues at once).
const CHUNK: usize = 16 * 1024;

/// How a stream ended, or that it has not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The writer may write more.
    Open,
    /// The writer finished: the last chunk is queued.
    Finished,
    /// The writer was dropped before finishing; `panicked`: its thread was panicking.
    Abandoned { panicked: bool },
    /// The connection is gone.
    Gone,
}

/// What the writer and the loop share.
struct Queue {
    data: Vec<u8>,
    end: End,
}

/// One streamed response, shared by its writer and its connection.
pub(crate) struct Stream {
    pub(crate) ticket: Arc<Ticket>,
    door: Door,
    queue: Mutex<Queue>,
    /// The writer waits here for room.
    room: Condvar,
    /// A wake-up is on its way to the loop: no other is sent until the loop has looked.
    notified: AtomicBool,
    /// The connection is gone: read by every write, without the lock.
    gone: AtomicBool,
}

impl Stream {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A writer that panicked while holding the lock left the queue consistent (every
        // change is one assignment or one append).
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The loop takes what is queued, appending it to `out`, and learns how the stream
    /// stands. Wakes a writer waiting for room.
    pub(crate) fn take(&self, out: &mut Vec<u8>) -> End {
        // Cleared before looking: whatever is queued after this look wakes the loop again.
        self.notified.store(false, Ordering::SeqCst);
        let mut queue = self.lock();
        out.extend_from_slice(&queue.data);
        queue.data.clear();
        if queue.data.capacity() > 2 * STREAM_BOUND {
            queue.data.shrink_to(STREAM_BOUND);
        } else if queue.data.capacity() <= SMALL {
            // An event stream's few bytes: freed, so an idle stream holds no buffer.
            queue.data = Vec::new();
        }
        let end = queue.end;
        drop(queue);
        self.room.notify_all();
        end
    }

    /// The connection closed. `true` if the writer had not finished: its client left
    /// (or its worker stopped) in the middle of the stream.
    pub(crate) fn close(&self) -> bool {
        self.gone.store(true, Ordering::SeqCst);
        let mut queue = self.lock();
        let open = queue.end == End::Open;
        if open {
            queue.end = End::Gone;
        }
        queue.data = Vec::new();
        drop(queue);
        self.room.notify_all();
        open
    }

    /// Tells the loop there is news, unless it was told already and has not looked.
    fn wake(self: &Arc<Stream>) {
        // A stopped reactor closed the connection: the writer learns it from `gone`.
        self.door.wake_once(&self.notified, &self.ticket);
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let queue = self.lock();
        f.debug_struct("Stream")
            .field("conn", &self.ticket.conn())
            .field("queued", &queue.data.len())
            .field("end", &queue.end)
            .finish()
    }
}

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
/// gathered at once. Once 64 KiB wait for the client, `write` blocks until it reads:
/// backpressure. When the client has gone, `write` fails with
/// [`io::ErrorKind::BrokenPipe`] (counted as client-gone). [`BodyWriter::finish`] ends
/// the body; a writer dropped without it (or by a panic) closes the connection without
/// the last chunk, so the client sees the body cut short, and an `Unanswered` failure is
/// reported with the request's context.
pub struct BodyWriter {
    stream: Arc<Stream>,
    framing: Framing,
    /// Written, not yet queued.
    local: Vec<u8>,
    finished: bool,
}

impl BodyWriter {
    /// Queues what is gathered and the end of the body, and wakes the loop. Waits for
    /// room like `write`.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` if the client has gone.
    pub fn finish(mut self) -> io::Result<()> {
        self.finished = true;
        self.queue(true)
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
            stream.wake();
        }
    }

    /// Whether the client is still there: a writer with nothing to say for a while (an
    /// event stream) can stop early.
    pub fn is_open(&self) -> bool {
        !self.stream.gone.load(Ordering::SeqCst)
    }

    fn check(&self) -> io::Result<()> {
        if self.stream.gone.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client of this streamed response has gone",
            ));
        }
        Ok(())
    }

    /// Queues `local` (and, with `last`, the end of the body), waiting for room first.
    fn queue(&mut self, last: bool) -> io::Result<()> {
        if self.local.is_empty() && !last {
            return Ok(());
        }
        let stream = Arc::clone(&self.stream);
        let mut queue = stream.lock();
        while queue.end == End::Open && queue.data.len() >= STREAM_BOUND {
            if std::thread::current().id() == stream.ticket.loop_thread {
                // Waiting here would wait for ourselves: the loop is what sends it.
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "a streamed body past 64 KiB cannot be written on its worker's loop: \
                     write it from the blocking pool (req.stream_blocking) or a thread",
                ));
            }
            queue = stream.room.wait(queue).unwrap_or_else(|p| p.into_inner());
        }
        if queue.end != End::Open {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client of this streamed response has gone",
            ));
        }
        self.frame_into(&mut queue.data, last);
        if last {
            queue.end = End::Finished;
        }
        drop(queue);
        stream.wake();
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
}

impl Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        if self.finished {
            return Err(io::Error::other("the streamed body is finished"));
        }
        if self.local.len() >= CHUNK {
            self.queue(false)?;
        }
        let n = buf.len().min(CHUNK - self.local.len());
        self.local.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.queue(false)
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
        let stream = Arc::new(Stream {
            ticket: self.ticket(),
            door: self.door().clone(),
            queue: Mutex::new(Queue {
                data: Vec::new(),
                end: End::Open,
            }),
            room: Condvar::new(),
            // The delivery of the head is the first wake-up.
            notified: AtomicBool::new(true),
            gone: AtomicBool::new(false),
        });
        self.send_stream(head, Arc::clone(&stream))?;
        Ok(BodyWriter {
            stream,
            framing,
            local: Vec::new(),
            finished: false,
        })
    }

    /// Starts a Server-Sent Events stream: `200`, `text/event-stream`, no caching.
    ///
    /// # Errors
    ///
    /// As [`Responder::stream`].
    pub fn event_stream(self) -> Result<EventStream, AnswerError> {
        let head = Response::new(200)
            .with_content_type("text/event-stream")
            .with_header("Cache-Control", "no-cache");
        Ok(EventStream {
            body: self.stream(head)?,
        })
    }
}

/// One Server-Sent Event: `data` (split into one `data:` line per line), and optionally
/// an `id`, an `event` type and a `retry` delay for reconnecting clients.
#[derive(Clone, Copy, Debug, Default)]
pub struct Event<'a> {
    data: &'a str,
    id: Option<&'a str>,
    event: Option<&'a str>,
    retry: Option<Duration>,
}

impl<'a> Event<'a> {
    /// An event carrying `data`.
    pub fn new(data: &'a str) -> Event<'a> {
        Event {
            data,
            ..Event::default()
        }
    }

    /// Its id: a reconnecting client sends the last one back as `Last-Event-ID`.
    pub fn id(mut self, id: &'a str) -> Event<'a> {
        self.id = Some(id);
        self
    }

    /// Its type (`event:`), for `addEventListener(type, ...)`.
    pub fn event(mut self, event: &'a str) -> Event<'a> {
        self.event = Some(event);
        self
    }

    /// How long a client waits before reconnecting (`retry:`).
    pub fn retry(mut self, retry: Duration) -> Event<'a> {
        self.retry = Some(retry);
        self
    }
}

/// A Server-Sent Events stream (see [`Responder::event_stream`]): each event is sent as
/// soon as it is written.
///
/// ```
/// use warden_reactor::{Event, Request, Response};
///
/// fn handler(req: &Request<'_>) -> Response {
///     let (pending, responder) = req.defer();
///     std::thread::spawn(move || -> std::io::Result<()> {
///         let Ok(mut events) = responder.event_stream() else { return Ok(()) };
///         events.send(&Event::new("hello\nworld").id("1").event("greeting"))?;
///         events.comment("still here")?; // a keep-alive
///         events.finish()
///     });
///     pending
/// }
/// # let _ = handler;
/// ```
#[derive(Debug)]
pub struct EventStream {
    body: BodyWriter,
}

impl EventStream {
    /// Sends `event`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the id or the type holds a line break (it would end the field
    /// early); `BrokenPipe` once the client has gone.
    pub fn send(&mut self, event: &Event<'_>) -> io::Result<()> {
        let breaks = |s: &str| s.contains(['\r', '\n']);
        if event.id.is_some_and(breaks) || event.event.is_some_and(breaks) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an event's id and type cannot hold line breaks",
            ));
        }
        if let Some(id) = event.id {
            writeln!(self.body, "id: {id}")?;
        }
        if let Some(kind) = event.event {
            writeln!(self.body, "event: {kind}")?;
        }
        if let Some(retry) = event.retry {
            writeln!(self.body, "retry: {}", retry.as_millis())?;
        }
        // "The data field ... a line break (CRLF, LF or CR) ends it": each line of the
        // data is a data line of its own, and the client joins them with LF.
        for line in lines(event.data) {
            self.body.write_all(b"data: ")?;
            self.body.write_all(line.as_bytes())?;
            self.body.write_all(b"\n")?;
        }
        self.body.write_all(b"\n")?;
        self.body.flush()
    }

    /// Sends `data` as an event with no id or type.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` once the client has gone.
    pub fn data(&mut self, data: &str) -> io::Result<()> {
        self.send(&Event::new(data))
    }

    /// Sends a comment line, which clients ignore: a keep-alive that also finds out
    /// whether the client is still there.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` once the client has gone.
    pub fn comment(&mut self, text: &str) -> io::Result<()> {
        for line in lines(text) {
            writeln!(self.body, ": {line}")?;
        }
        self.body.flush()
    }

    /// Whether the client is still there.
    pub fn is_open(&self) -> bool {
        self.body.is_open()
    }

    /// Ends the stream.
    ///
    /// # Errors
    ///
    /// `BrokenPipe` if the client has gone.
    pub fn finish(self) -> io::Result<()> {
        self.body.finish()
    }
}

/// The lines of `text`, split at CRLF, LF or CR; an empty text is one empty line.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
            None => {
                rest = None;
                Some(s)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_at_every_kind_of_break() {
        for (text, want) in [
            ("", vec![""]),
            ("one", vec!["one"]),
            ("a\nb", vec!["a", "b"]),
            ("a\r\nb\rc", vec!["a", "b", "c"]),
            ("a\n", vec!["a", ""]),
            ("\n\n", vec!["", "", ""]),
        ] {
            assert_eq!(lines(text).collect::<Vec<_>>(), want, "{text:?}");
        }
    }
}
