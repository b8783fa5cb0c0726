//! One HTTP/2 connection, server side, sans I/O: what was read goes in, events for the
//! request path and frames to write come out. It holds the streams' states (RFC 9113,
//! section 5.1), assembles header blocks across CONTINUATION frames within a bound,
//! decodes them (HPACK state kept even for streams it refuses), keeps flow control both
//! ways, and cuts a connection that floods, past its stream limit, its reset budget or its
//! unread output.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use httparse::Status;

use crate::h2::error::{ErrorCode, FrameError};
use crate::h2::fields::{self, Pseudo};
use crate::h2::flood::{Budgets, Rate};
use crate::h2::flow::{Inflow, Window};
use crate::h2::frame::{self, Frame, Setting};
use crate::h2::hpack::decode::{Decoded, Decoder, Fields};
use crate::h2::write;

/// Closed streams remembered.
const REMEMBERED: usize = 128;

/// What a connection offers and bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`: more at once are refused (`REFUSED_STREAM`).
    pub max_concurrent_streams: u32,
    /// `SETTINGS_INITIAL_WINDOW_SIZE`: each stream's window we give (1 MiB).
    pub stream_window: u32,
    /// The connection's window we give (1 MiB), granted back in batches.
    pub connection_window: u32,
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`: a decoded header list past it gets 431.
    pub max_header_list_size: u32,
    /// A header block (HEADERS and its CONTINUATIONs) past this many octets, before
    /// decoding, ends the connection (CONTINUATION floods: CVE-2024-27316's class).
    pub max_header_block: usize,
    /// Frames we queue that the client has not read (PING and SETTINGS answers, resets):
    /// past this the connection is cut (a client that floods and never reads).
    pub max_unread_output: usize,
    /// The flood budgets.
    pub budgets: Budgets,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_concurrent_streams: 128,
            stream_window: 1 << 20,
            connection_window: 1 << 20,
            max_header_list_size: 16 << 10,
            max_header_block: 64 << 10,
            max_unread_output: 64 << 10,
            budgets: Budgets::default(),
        }
    }
}

/// What the connection tells the request path.
#[derive(Debug)]
pub enum Event<'a> {
    /// A request's header section opened `stream`.
    Request {
        /// The stream.
        stream: u32,
        /// Its pseudo-header fields.
        pseudo: Pseudo<'a>,
        /// All its fields, pseudo-header fields first.
        fields: &'a Fields,
        /// No body follows.
        end_stream: bool,
    },
    /// A request whose header list passed `max_header_list_size`: answer it 431.
    TooLarge {
        /// The stream.
        stream: u32,
    },
    /// Body of a request; hand back what is taken with [`Session::taken`].
    Data {
        /// The stream.
        stream: u32,
        /// The octets.
        data: &'a [u8],
        /// The body ends here.
        end_stream: bool,
    },
    /// Trailers ended the request's body.
    Trailers {
        /// The stream.
        stream: u32,
        /// Its fields.
        fields: &'a Fields,
    },
    /// The client reset the stream (or the stream broke a rule and was reset): drop its
    /// answer.
    Reset {
        /// The stream.
        stream: u32,
        /// Why.
        code: ErrorCode,
    },
    /// The client is going away; streams after `last_stream` are not its.
    GoAway {
        /// The last stream it will process.
        last_stream: u32,
        /// Why.
        code: ErrorCode,
    },
}

/// Why the connection ended: its GOAWAY is in the output; write it, then close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Closed {
    /// The code sent.
    pub code: ErrorCode,
    /// Why, for the log.
    pub why: &'static str,
}

/// Where the connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the client's preface.
    Preface,
    /// The preface came; its first frame must be SETTINGS.
    FirstSettings,
    /// Serving.
    Open,
    /// A GOAWAY was sent for an error: nothing more is read.
    Ended,
}

/// One stream while either side still sends.
#[derive(Debug)]
struct Stream {
    /// The client still sends (its END_STREAM has not come).
    remote_open: bool,
    /// What we may send on it.
    send: Window,
    /// What it may send us.
    recv: Inflow,
}

/// A header block arriving in CONTINUATION frames.
#[derive(Debug)]
struct Pending {
    stream: u32,
    end_stream: bool,
    /// Trailers of an open stream (not a new request).
    trailers: bool,
}

/// The server side of one HTTP/2 connection.
#[derive(Debug)]
pub struct Session {
    config: Config,
    phase: Phase,
    decoder: Decoder,
    fields: Fields,
    /// The header block being assembled (reused).
    block: Vec<u8>,
    pending: Option<Pending>,
    streams: HashMap<u32, Stream>,
    /// The highest stream the client opened.
    last_stream: u32,
    /// The streams closed most recently (to tell a frame on one from a frame on a number
    /// skipped); at most [`REMEMBERED`].
    closed: VecDeque<u32>,
    /// The client's settings we follow.
    peer_window: u32,
    peer_max_frame: u32,
    /// The connection's windows.
    send: Window,
    recv: Inflow,
    idle_frames: Rate,
    resets: Rate,
    out: Vec<u8>,
}

impl Session {
    /// A connection about to read the client's preface; our SETTINGS and the connection
    /// window's first grant are already in the output (the server's preface may go first).
    pub fn new(config: Config, now: Instant) -> Session {
        let mut out = Vec::with_capacity(64);
        write::settings(
            &mut out,
            &[
                (0x3, config.max_concurrent_streams),
                (0x4, config.stream_window),
                (0x6, config.max_header_list_size),
                // Nothing is pushed.
                (0x2, 0),
            ],
        );
        let grant = config.connection_window.saturating_sub(65_535);
        if grant > 0 {
            write::window_update(&mut out, 0, grant);
        }
        let mut decoder = Decoder::new(4096);
        decoder.max_list_size = config.max_header_list_size as usize;
        Session {
            config,
            phase: Phase::Preface,
            decoder,
            fields: Fields::default(),
            block: Vec::new(),
            pending: None,
            streams: HashMap::new(),
            last_stream: 0,
            closed: VecDeque::new(),
            peer_window: 65_535,
            peer_max_frame: 16_384,
            send: Window::new(65_535),
            recv: Inflow::new(config.connection_window, config.connection_window),
            idle_frames: Rate::new(now),
            resets: Rate::new(now),
            out,
        }
    }

    /// The frames to write (taken by the caller as it writes them).
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// The client's largest frame: what a DATA frame may carry.
    pub fn max_frame(&self) -> usize {
        self.peer_max_frame as usize
    }

    /// Reads the frames in `buf` at `now`, telling `on` of each event. Returns how many
    /// bytes it took (a frame not all there stays for the next call).
    ///
    /// # Errors
    ///
    /// [`Closed`]: the connection ends; its GOAWAY is in the output.
    pub fn receive(
        &mut self,
        buf: &[u8],
        now: Instant,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<usize, Closed> {
        let mut at = 0;
        if self.phase == Phase::Preface {
            match frame::preface(buf) {
                Ok(Status::Complete(n)) => {
                    at = n;
                    self.phase = Phase::FirstSettings;
                }
                Ok(Status::Partial) => return Ok(0),
                Err(_) => return Err(self.end(ErrorCode::Protocol, "not the HTTP/2 preface")),
            }
        }
        while self.phase != Phase::Ended {
            let parsed = frame::parse(&buf[at..], 16_384);
            let (frame, used) = match parsed {
                Ok(Status::Complete(found)) => found,
                Ok(Status::Partial) => break,
                Err(e) => {
                    self.fail(e, now, on)?;
                    // A stream error: the frame is skipped by its header's length.
                    at += frame::HEADER_LEN + frame_length(&buf[at..]);
                    continue;
                }
            };
            at += used;
            if let Err(e) = self.frame(frame, now, on) {
                self.fail(e, now, on)?;
            }
            if self.out.len() > self.config.max_unread_output {
                return Err(self.end(
                    ErrorCode::EnhanceYourCalm,
                    "the client does not read what it asks for",
                ));
            }
        }
        Ok(at)
    }

    /// A broken rule: a stream's is answered with RST_STREAM (and counts against the
    /// reset budget), a connection's ends it.
    fn fail(
        &mut self,
        e: FrameError,
        now: Instant,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), Closed> {
        match e {
            FrameError::Connection(code, why) => Err(self.end(code, why)),
            FrameError::Stream(stream, code, _) => {
                write::reset(&mut self.out, stream, code);
                if self.close(stream).is_some() {
                    on(Event::Reset { stream, code });
                }
                self.count_reset(now)
            }
        }
    }

    fn count_reset(&mut self, now: Instant) -> Result<(), Closed> {
        if self.resets.add(now) > self.config.budgets.resets {
            return Err(self.end(
                ErrorCode::EnhanceYourCalm,
                "too many streams reset (rapid reset)",
            ));
        }
        Ok(())
    }

    fn count_idle(&mut self, now: Instant) -> Result<(), FrameError> {
        if self.idle_frames.add(now) > self.config.budgets.idle_frames {
            return Err(FrameError::Connection(
                ErrorCode::EnhanceYourCalm,
                "a flood of frames that do no work",
            ));
        }
        Ok(())
    }

    /// Ends the connection with GOAWAY naming the last stream processed.
    fn end(&mut self, code: ErrorCode, why: &'static str) -> Closed {
        if self.phase != Phase::Ended {
            write::goaway(&mut self.out, self.last_stream, code, why.as_bytes());
            self.phase = Phase::Ended;
        }
        Closed { code, why }
    }

    /// Starts a graceful end: GOAWAY with `NO_ERROR` and the last stream opened; the
    /// streams in flight finish.
    pub fn go_away(&mut self) {
        write::goaway(&mut self.out, self.last_stream, ErrorCode::NoError, b"");
    }

    fn frame(
        &mut self,
        frame: Frame<'_>,
        now: Instant,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), FrameError> {
        let protocol = |why| FrameError::Connection(ErrorCode::Protocol, why);
        if self.phase == Phase::FirstSettings {
            // "The client connection preface ... MUST be followed by a SETTINGS frame".
            if !matches!(frame, Frame::Settings { ack: false, .. }) {
                return Err(protocol("the preface is not followed by SETTINGS"));
            }
            self.phase = Phase::Open;
        }
        if let Some(pending) = &self.pending {
            // "A receiver MUST treat the receipt of any other type of frame or a frame on
            // a different stream as a connection error of type PROTOCOL_ERROR."
            match frame {
                Frame::Continuation { stream, .. } if stream == pending.stream => {}
                _ => return Err(protocol("a header block interrupted before its end")),
            }
        }
        match frame {
            Frame::Settings { ack: true, .. } => Ok(()),
            Frame::Settings {
                ack: false,
                settings,
            } => {
                self.count_idle(now)?;
                for setting in settings {
                    self.setting(setting)?;
                }
                write::settings_ack(&mut self.out);
                Ok(())
            }
            Frame::Ping { ack, data } => {
                self.count_idle(now)?;
                if !ack {
                    write::ping_ack(&mut self.out, data);
                }
                Ok(())
            }
            Frame::Priority { .. } | Frame::Unknown { .. } => self.count_idle(now),
            Frame::GoAway {
                last_stream, code, ..
            } => {
                on(Event::GoAway { last_stream, code });
                Ok(())
            }
            Frame::WindowUpdate {
                stream: 0,
                increment,
            } => self.send.grow(i64::from(increment)).map_err(|code| {
                FrameError::Connection(code, "the connection's window past 2^31-1")
            }),
            Frame::WindowUpdate { stream, increment } => {
                self.known(stream)?;
                match self.streams.get_mut(&stream) {
                    Some(open) => open.send.grow(i64::from(increment)).map_err(|code| {
                        FrameError::Stream(stream, code, "a stream's window past 2^31-1")
                    }),
                    None => Ok(()), // closed: nothing to send on it
                }
            }
            Frame::Reset { stream, code } => {
                self.known(stream)?;
                if self.close(stream).is_some() {
                    on(Event::Reset { stream, code });
                    self.count_reset(now)
                        .map_err(|closed| FrameError::Connection(closed.code, closed.why))?;
                }
                Ok(())
            }
            Frame::Data {
                stream,
                data,
                end_stream,
                flow,
            } => self.data(stream, data, end_stream, flow, now, on),
            Frame::Headers {
                stream,
                block,
                end_stream,
                end_headers,
            } => self.headers(stream, block, end_stream, end_headers, on),
            Frame::Continuation {
                block, end_headers, ..
            } => {
                if self.pending.is_none() {
                    return Err(protocol("CONTINUATION without a header block to continue"));
                }
                if block.is_empty() && !end_headers {
                    self.count_idle(now)?;
                }
                self.gather(block)?;
                if end_headers {
                    let pending = self.pending.take().expect("checked above");
                    self.complete(pending, on)?;
                }
                Ok(())
            }
        }
    }

    /// A frame on `stream` other than HEADERS: one never opened is a PROTOCOL_ERROR.
    fn known(&self, stream: u32) -> Result<(), FrameError> {
        if stream > self.last_stream {
            return Err(FrameError::Connection(
                ErrorCode::Protocol,
                "a frame on a stream never opened",
            ));
        }
        Ok(())
    }

    fn setting(&mut self, setting: Setting) -> Result<(), FrameError> {
        match setting {
            Setting::InitialWindowSize(size) => {
                // "a SETTINGS frame can alter the initial flow-control window size for
                // all streams ... the difference between the new value and the old value".
                let delta = i64::from(size) - i64::from(self.peer_window);
                self.peer_window = size;
                for open in self.streams.values_mut() {
                    open.send.grow(delta).map_err(|code| {
                        FrameError::Connection(code, "a stream's window past 2^31-1 after SETTINGS")
                    })?;
                }
            }
            Setting::MaxFrameSize(size) => self.peer_max_frame = size,
            // Our encoder keeps no dynamic table; we push nothing; our streams are the
            // client's.
            _ => {}
        }
        Ok(())
    }

    /// Appends to the header block being assembled, within its bound.
    fn gather(&mut self, part: &[u8]) -> Result<(), FrameError> {
        if self.block.len() + part.len() > self.config.max_header_block {
            return Err(FrameError::Connection(
                ErrorCode::EnhanceYourCalm,
                "a header block past its bound",
            ));
        }
        self.block.extend_from_slice(part);
        Ok(())
    }

    fn headers(
        &mut self,
        stream: u32,
        part: &[u8],
        end_stream: bool,
        end_headers: bool,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), FrameError> {
        let trailers = match self.streams.get(&stream) {
            Some(open) if open.remote_open => {
                // "A HEADERS frame ... that does not have END_STREAM set after the first
                // one (trailers) is malformed."
                if !end_stream {
                    return Err(FrameError::Stream(
                        stream,
                        ErrorCode::Protocol,
                        "trailers without END_STREAM",
                    ));
                }
                true
            }
            Some(_) => {
                return Err(FrameError::Stream(
                    stream,
                    ErrorCode::StreamClosed,
                    "HEADERS after the request ended",
                ));
            }
            None if stream.is_multiple_of(2) => {
                return Err(FrameError::Connection(
                    ErrorCode::Protocol,
                    "a client stream with an even number",
                ));
            }
            // "An endpoint that receives any frame other than PRIORITY after receiving a
            // RST_STREAM MUST treat that as a stream error of type STREAM_CLOSED"; after
            // both ends, a connection error of the same type.
            None if self.closed.contains(&stream) => {
                return Err(FrameError::Connection(
                    ErrorCode::StreamClosed,
                    "HEADERS on a closed stream",
                ));
            }
            None if stream <= self.last_stream => {
                return Err(FrameError::Connection(
                    ErrorCode::Protocol,
                    "a stream number not above the last",
                ));
            }
            None => false,
        };
        if !trailers {
            self.last_stream = stream;
        }
        self.block.clear();
        self.gather(part)?;
        let pending = Pending {
            stream,
            end_stream,
            trailers,
        };
        if end_headers {
            self.complete(pending, on)?;
        } else {
            self.pending = Some(pending);
        }
        Ok(())
    }

    /// A whole header block: decoded (always: the HPACK state must stay the client's),
    /// then a request, trailers, a refusal or a 431.
    fn complete(
        &mut self,
        pending: Pending,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), FrameError> {
        let Pending {
            stream,
            end_stream,
            trailers,
        } = pending;
        let decoded = self
            .decoder
            .decode(&self.block, &mut self.fields)
            .map_err(|_| {
                FrameError::Connection(
                    ErrorCode::Compression,
                    "a header block that does not decode",
                )
            })?;
        if trailers {
            fields::trailers(&self.fields)
                .map_err(|why| FrameError::Stream(stream, ErrorCode::Protocol, why))?;
            if let Some(open) = self.streams.get_mut(&stream) {
                open.remote_open = false;
            }
            on(Event::Trailers {
                stream,
                fields: &self.fields,
            });
            return Ok(());
        }
        if self.streams.len() >= self.config.max_concurrent_streams as usize {
            // "Endpoints MUST NOT exceed the limit set by their peer. An endpoint that
            // receives a HEADERS frame that causes its advertised concurrent stream limit to
            // be exceeded MUST treat this as a stream error of type PROTOCOL_ERROR or
            // REFUSED_STREAM."
            return Err(FrameError::Stream(
                stream,
                ErrorCode::RefusedStream,
                "past the concurrent stream limit",
            ));
        }
        let window = self.config.stream_window;
        self.streams.insert(
            stream,
            Stream {
                remote_open: !end_stream,
                send: Window::new(self.peer_window),
                recv: Inflow::new(window, window),
            },
        );
        if decoded == Decoded::TooLarge {
            on(Event::TooLarge { stream });
            return Ok(());
        }
        let pseudo = fields::request(&self.fields)
            .map_err(|why| FrameError::Stream(stream, ErrorCode::Protocol, why))?;
        on(Event::Request {
            stream,
            pseudo,
            fields: &self.fields,
            end_stream,
        });
        Ok(())
    }

    fn data(
        &mut self,
        stream: u32,
        data: &[u8],
        end_stream: bool,
        flow: u32,
        now: Instant,
        on: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), FrameError> {
        self.recv
            .receive(flow)
            .map_err(|code| FrameError::Connection(code, "DATA past the connection's window"))?;
        // Padding is never taken by anyone: granted back at once.
        let padding = flow - data.len() as u32;
        self.release_connection(padding);
        self.known(stream)?;
        let Some(open) = self.streams.get_mut(&stream).filter(|s| s.remote_open) else {
            self.release_connection(data.len() as u32);
            return Err(FrameError::Stream(
                stream,
                ErrorCode::StreamClosed,
                "DATA after the request ended",
            ));
        };
        open.recv
            .receive(flow)
            .map_err(|code| FrameError::Stream(stream, code, "DATA past the stream's window"))?;
        if end_stream {
            open.remote_open = false;
        } else if data.is_empty() {
            self.count_idle(now)?;
        }
        on(Event::Data {
            stream,
            data,
            end_stream,
        });
        Ok(())
    }

    fn release_connection(&mut self, n: u32) {
        if let Some(grant) = self.recv.release(n) {
            write::window_update(&mut self.out, 0, grant);
        }
    }

    /// Removes `stream`, remembering it closed.
    fn close(&mut self, stream: u32) -> Option<Stream> {
        let open = self.streams.remove(&stream)?;
        if self.closed.len() == REMEMBERED {
            self.closed.pop_front();
        }
        self.closed.push_back(stream);
        Some(open)
    }

    /// The request path took `n` octets of `stream`'s body: windows are granted back in
    /// batches.
    pub fn taken(&mut self, stream: u32, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.release_connection(n);
        if let Some(open) = self.streams.get_mut(&stream).filter(|s| s.remote_open)
            && let Some(grant) = open.recv.release(n)
        {
            write::window_update(&mut self.out, stream, grant);
        }
    }

    /// What may be sent on `stream` now (its window and the connection's).
    pub fn send_window(&self, stream: u32) -> usize {
        self.streams
            .get(&stream)
            .map_or(0, |open| open.send.available().min(self.send.available()))
    }

    /// `n` octets of DATA were queued on `stream`.
    pub fn sent(&mut self, stream: u32, n: usize) {
        self.send.spend(n);
        if let Some(open) = self.streams.get_mut(&stream) {
            open.send.spend(n);
        }
    }

    /// Our answer on `stream` is complete (END_STREAM sent): the stream ends once the
    /// client's side has too (a body still coming is refused: `NO_ERROR` reset, as section
    /// 8.1 allows).
    pub fn finished(&mut self, stream: u32) {
        if let Some(open) = self.close(stream)
            && open.remote_open
        {
            write::reset(&mut self.out, stream, ErrorCode::NoError);
        }
    }

    /// We give up on `stream` (its handler failed, its client was too slow).
    pub fn reset(&mut self, stream: u32, code: ErrorCode) {
        if self.close(stream).is_some() {
            write::reset(&mut self.out, stream, code);
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
pub(crate) mod tests;

/// The payload length a frame header at the front of `buf` gives (it is there: the
/// parser read it).
fn frame_length(buf: &[u8]) -> usize {
    u32::from_be_bytes([0, buf[0], buf[1], buf[2]]) as usize
}
