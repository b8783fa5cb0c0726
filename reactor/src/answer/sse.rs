//! Server-Sent Events over a streamed response: [`Event`] and [`EventStream`], and
//! [`Responder::event_stream`], which starts one.

use std::io::{self, Write};
use std::time::Duration;

use crate::answer::responder::{AnswerError, Responder};
use crate::answer::writer::BodyWriter;
use crate::http::response::Response;

impl Responder {
    /// Starts a Server-Sent Events stream: `200`, `text/event-stream`, no caching, no
    /// buffering by a proxy in front.
    ///
    /// # Errors
    ///
    /// As [`Responder::stream`].
    pub fn event_stream(self) -> Result<EventStream, AnswerError> {
        Ok(EventStream {
            body: self.stream(event_stream_head())?,
        })
    }
}

/// One Server-Sent Event: `data` (split into one `data:` line per line), and optionally
/// an `id`, an `event` type and a `retry` delay for reconnecting clients.
#[derive(Clone, Copy, Debug, Default)]
pub struct Event<'a> {
    pub(crate) data: &'a str,
    id: Option<&'a str>,
    pub(crate) event: Option<&'a str>,
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

    /// The same event with `id` as its id.
    pub(crate) fn with_id<'i>(&self, id: &'i str) -> Event<'i>
    where
        'a: 'i,
    {
        Event {
            id: Some(id),
            ..*self
        }
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
    /// Sends `event`, waiting for room like [`BodyWriter`]'s `write`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if the id or the type holds a line break (it would end the field
    /// early); `BrokenPipe` once the client has gone; `TimedOut` if the client read
    /// nothing for the write timeout.
    pub fn send(&mut self, event: &Event<'_>) -> io::Result<()> {
        check(event)?;
        self.body.queue_whole(true, |out| encode(event, out))
    }

    /// Sends `event` without waiting: whole, or not at all with `WouldBlock` while the
    /// client has not read what is queued (register with a
    /// [`Readiness`](crate::Readiness) to learn when it has).
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as [`EventStream::send`].
    pub fn try_send(&mut self, event: &Event<'_>) -> io::Result<()> {
        check(event)?;
        self.body.queue_whole(false, |out| encode(event, out))
    }

    /// Has `ready` told, with `token`, when this stream can take more after a
    /// `WouldBlock`, and when it ends (see [`BodyWriter::register`]).
    pub fn register(&mut self, ready: &crate::Readiness, token: u64) {
        self.body.register(ready, token);
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
        self.body.queue_whole(true, |out| {
            for line in lines(text) {
                out.extend_from_slice(b": ");
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        })
    }

    /// Whether the client is still there.
    pub fn is_open(&self) -> bool {
        self.body.is_open()
    }

    /// [`EventStream::finish`] without waiting: `WouldBlock` while the client has not
    /// read what is queued.
    ///
    /// # Errors
    ///
    /// `WouldBlock`, or as `finish`.
    pub fn try_finish(&mut self) -> io::Result<()> {
        self.body.try_finish()
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

/// The head of every event stream (an `EventStream`'s and a broadcast subscription's):
/// `200`, `text/event-stream`, no caching, and `X-Accel-Buffering: no`, without which nginx
/// in front, with its defaults, would hold every event until the stream ends.
pub(crate) fn event_stream_head() -> Response {
    Response::new(200)
        .with_content_type("text/event-stream")
        .with_header("Cache-Control", "no-cache")
        .with_header("X-Accel-Buffering", "no")
}

/// Refuses an event whose id or type would end its field early.
pub(crate) fn check(event: &Event<'_>) -> io::Result<()> {
    let breaks = |s: &str| s.contains(['\r', '\n']);
    if event.id.is_some_and(breaks) || event.event.is_some_and(breaks) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an event's id and type cannot hold line breaks",
        ));
    }
    Ok(())
}

/// Appends `event` in the text/event-stream format.
pub(crate) fn encode(event: &Event<'_>, out: &mut Vec<u8>) {
    if let Some(id) = event.id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(id.as_bytes());
        out.push(b'\n');
    }
    if let Some(kind) = event.event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.push(b'\n');
    }
    if let Some(retry) = event.retry {
        let _ = writeln!(out, "retry: {}", retry.as_millis());
    }
    // "The data field ... a line break (CRLF, LF or CR) ends it": each line of the data
    // is a data line of its own, and the client joins them with LF.
    for line in lines(event.data) {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
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
