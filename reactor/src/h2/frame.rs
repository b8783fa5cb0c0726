//! Reading HTTP/2 frames (RFC 9113, sections 4 and 6) from what was read, sans I/O: a
//! frame not wholly in the buffer is `Status::Partial`, not an error; a frame that breaks
//! a rule of its own type is a [`FrameError`] saying whether the stream or the whole
//! connection pays. Rules that need the connection's state (which streams exist, what a
//! CONTINUATION must follow) are the connection's.

use httparse::Status;

use crate::h2::error::{ErrorCode, FrameError};

/// What a client sends first (section 3.4): "the string PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
/// then a SETTINGS frame.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What came is not HTTP/2's client preface (on a plaintext port: HTTP/1.1, say).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotPreface;

impl std::fmt::Display for NotPreface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not the HTTP/2 connection preface")
    }
}

impl std::error::Error for NotPreface {}

/// Whether `buf` begins with the client preface: `Complete` with its length, `Partial`
/// while what came is a prefix of it, [`NotPreface`] as soon as a byte differs.
pub fn preface(buf: &[u8]) -> Result<Status<usize>, NotPreface> {
    let n = buf.len().min(PREFACE.len());
    if buf[..n] != PREFACE[..n] {
        return Err(NotPreface);
    }
    Ok(if n == PREFACE.len() {
        Status::Complete(n)
    } else {
        Status::Partial
    })
}

/// The length of a frame's header.
pub const HEADER_LEN: usize = 9;

/// The flags this implementation reads.
pub mod flags {
    /// DATA, HEADERS: the stream's last frame from this side.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: an acknowledgement.
    pub const ACK: u8 = 0x1;
    /// HEADERS, CONTINUATION: the header block ends in this frame.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS: a pad length byte and padding.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: a priority (stream dependency and weight) before the block.
    pub const PRIORITY: u8 = 0x20;
}

/// One setting of a SETTINGS frame (section 6.5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// `SETTINGS_HEADER_TABLE_SIZE` (0x1).
    HeaderTableSize(u32),
    /// `SETTINGS_ENABLE_PUSH` (0x2): 0 or 1.
    EnablePush(bool),
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` (0x3).
    MaxConcurrentStreams(u32),
    /// `SETTINGS_INITIAL_WINDOW_SIZE` (0x4): at most 2^31 - 1.
    InitialWindowSize(u32),
    /// `SETTINGS_MAX_FRAME_SIZE` (0x5): 2^14 to 2^24 - 1.
    MaxFrameSize(u32),
    /// `SETTINGS_MAX_HEADER_LIST_SIZE` (0x6).
    MaxHeaderListSize(u32),
    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL` (0x8, RFC 8441) and any other: "An endpoint that
    /// receives a SETTINGS frame with any unknown or unsupported identifier MUST ignore
    /// that setting."
    Other(u16, u32),
}

/// The settings of a SETTINGS frame, read one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings<'a>(&'a [u8]);

impl<'a> Iterator for Settings<'a> {
    type Item = Setting;

    fn next(&mut self) -> Option<Setting> {
        let (one, rest) = self.0.split_first_chunk::<6>()?;
        self.0 = rest;
        let id = u16::from_be_bytes([one[0], one[1]]);
        let value = u32::from_be_bytes([one[2], one[3], one[4], one[5]]);
        Some(match id {
            0x1 => Setting::HeaderTableSize(value),
            0x2 => Setting::EnablePush(value == 1),
            0x3 => Setting::MaxConcurrentStreams(value),
            0x4 => Setting::InitialWindowSize(value),
            0x5 => Setting::MaxFrameSize(value),
            0x6 => Setting::MaxHeaderListSize(value),
            other => Setting::Other(other, value),
        })
    }
}

/// A frame, its payload borrowed from the buffer (padding removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// DATA: `flow` is what it counts against flow control (padding included).
    Data {
        /// The stream.
        stream: u32,
        /// The data, padding removed.
        data: &'a [u8],
        /// The sender's last frame on the stream.
        end_stream: bool,
        /// What it counts against flow control (padding included).
        flow: u32,
    },
    /// HEADERS: the first part of a header block.
    Headers {
        /// The stream.
        stream: u32,
        /// Its part of the header block.
        block: &'a [u8],
        /// The sender's last frame on the stream.
        end_stream: bool,
        /// The header block ends here.
        end_headers: bool,
    },
    /// PRIORITY: deprecated (RFC 9113, section 5.3.2); read and ignored.
    Priority {
        /// The stream.
        stream: u32,
    },
    /// RST_STREAM.
    Reset {
        /// The stream.
        stream: u32,
        /// The error code.
        code: ErrorCode,
    },
    /// SETTINGS (or its acknowledgement, with none).
    Settings {
        /// An acknowledgement (no settings).
        ack: bool,
        /// Its settings.
        settings: Settings<'a>,
    },
    /// PING.
    Ping {
        /// An acknowledgement.
        ack: bool,
        /// The opaque data, sent back in the acknowledgement.
        data: [u8; 8],
    },
    /// GOAWAY.
    GoAway {
        /// The last stream the sender processed or may process.
        last_stream: u32,
        /// The error code.
        code: ErrorCode,
        /// Opaque debug data.
        debug: &'a [u8],
    },
    /// WINDOW_UPDATE (stream 0: the connection's window).
    WindowUpdate {
        /// The stream (0: the connection).
        stream: u32,
        /// What the window grows by.
        increment: u32,
    },
    /// CONTINUATION: more of a header block.
    Continuation {
        /// The stream.
        stream: u32,
        /// Its part of the header block.
        block: &'a [u8],
        /// The header block ends here.
        end_headers: bool,
    },
    /// A type this implementation does not know: "Implementations MUST ignore and discard
    /// frames of unknown types."
    Unknown {
        /// Its type.
        kind: u8,
        /// The stream.
        stream: u32,
    },
}

impl Settings<'_> {
    /// No setting (as a SETTINGS acknowledgement carries).
    pub fn empty() -> Settings<'static> {
        Settings(&[])
    }

    /// Whether every setting's value is allowed (section 6.5.2).
    fn check(self) -> Result<(), FrameError> {
        for setting in self {
            match setting {
                Setting::InitialWindowSize(v) if v > (1 << 31) - 1 => {
                    return Err(FrameError::Connection(
                        ErrorCode::FlowControl,
                        "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
                    ));
                }
                Setting::MaxFrameSize(v) if !((1 << 14)..1 << 24).contains(&v) => {
                    return Err(FrameError::Connection(
                        ErrorCode::Protocol,
                        "SETTINGS_MAX_FRAME_SIZE outside 2^14 to 2^24-1",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn connection(code: ErrorCode, why: &'static str) -> FrameError {
    FrameError::Connection(code, why)
}

/// Reads the frame at the front of `buf`, if it is all there: `Complete` with the frame
/// and the bytes it took. `max_frame_size` is our `SETTINGS_MAX_FRAME_SIZE`.
///
/// # Errors
///
/// [`FrameError`]: a frame larger than our maximum, or one breaking its type's rules.
pub fn parse(buf: &[u8], max_frame_size: u32) -> Result<Status<(Frame<'_>, usize)>, FrameError> {
    let Some(head) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(Status::Partial);
    };
    let length = u32::from_be_bytes([0, head[0], head[1], head[2]]);
    let (kind, flags) = (head[3], head[4]);
    // "The semantics of this bit are undefined, and the bit MUST remain unset (0x00) when
    // sending and MUST be ignored when receiving."
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    if length > max_frame_size {
        // "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame exceeds the
        // size defined in SETTINGS_MAX_FRAME_SIZE".
        return Err(connection(
            ErrorCode::FrameSize,
            "a frame larger than SETTINGS_MAX_FRAME_SIZE",
        ));
    }
    let end = HEADER_LEN + length as usize;
    let Some(payload) = buf.get(HEADER_LEN..end) else {
        return Ok(Status::Partial);
    };
    let frame = match kind {
        0x0 => {
            if stream == 0 {
                return Err(connection(ErrorCode::Protocol, "DATA on stream 0"));
            }
            Frame::Data {
                stream,
                data: unpad(payload, flags)?,
                end_stream: flags & flags::END_STREAM != 0,
                flow: length,
            }
        }
        0x1 => {
            if stream == 0 {
                return Err(connection(ErrorCode::Protocol, "HEADERS on stream 0"));
            }
            let mut block = unpad(payload, flags)?;
            if flags & flags::PRIORITY != 0 {
                let Some((priority, rest)) = block.split_first_chunk::<5>() else {
                    return Err(connection(
                        ErrorCode::FrameSize,
                        "HEADERS too short for its priority",
                    ));
                };
                if depends_on(priority) == stream {
                    // "A stream cannot depend on itself. An endpoint MUST treat this as a
                    // stream error of type PROTOCOL_ERROR."
                    return Err(FrameError::Stream(
                        stream,
                        ErrorCode::Protocol,
                        "a stream depends on itself",
                    ));
                }
                block = rest;
            }
            Frame::Headers {
                stream,
                block,
                end_stream: flags & flags::END_STREAM != 0,
                end_headers: flags & flags::END_HEADERS != 0,
            }
        }
        0x2 => {
            if stream == 0 {
                return Err(connection(ErrorCode::Protocol, "PRIORITY on stream 0"));
            }
            let Some(priority) = payload.first_chunk::<5>().filter(|_| length == 5) else {
                return Err(FrameError::Stream(
                    stream,
                    ErrorCode::FrameSize,
                    "PRIORITY is 5 octets",
                ));
            };
            if depends_on(priority) == stream {
                return Err(FrameError::Stream(
                    stream,
                    ErrorCode::Protocol,
                    "a stream depends on itself",
                ));
            }
            Frame::Priority { stream }
        }
        0x3 => {
            if stream == 0 {
                return Err(connection(ErrorCode::Protocol, "RST_STREAM on stream 0"));
            }
            let code = word(payload, 4, "RST_STREAM is 4 octets")?;
            Frame::Reset {
                stream,
                code: ErrorCode::from_code(code),
            }
        }
        0x4 => {
            if stream != 0 {
                return Err(connection(ErrorCode::Protocol, "SETTINGS on a stream"));
            }
            let ack = flags & flags::ACK != 0;
            if ack && length != 0 {
                return Err(connection(
                    ErrorCode::FrameSize,
                    "a SETTINGS acknowledgement with a payload",
                ));
            }
            if !length.is_multiple_of(6) {
                return Err(connection(
                    ErrorCode::FrameSize,
                    "SETTINGS not a multiple of 6 octets",
                ));
            }
            let settings = Settings(payload);
            settings.check()?;
            Frame::Settings { ack, settings }
        }
        0x5 => {
            // "A client cannot push. Thus, servers MUST treat the receipt of a PUSH_PROMISE
            // frame as a connection error of type PROTOCOL_ERROR."
            return Err(connection(
                ErrorCode::Protocol,
                "PUSH_PROMISE from a client",
            ));
        }
        0x6 => {
            if stream != 0 {
                return Err(connection(ErrorCode::Protocol, "PING on a stream"));
            }
            let Some(data) = payload.first_chunk::<8>().filter(|_| length == 8) else {
                return Err(connection(ErrorCode::FrameSize, "PING is 8 octets"));
            };
            Frame::Ping {
                ack: flags & flags::ACK != 0,
                data: *data,
            }
        }
        0x7 => {
            if stream != 0 {
                return Err(connection(ErrorCode::Protocol, "GOAWAY on a stream"));
            }
            let Some((fixed, debug)) = payload.split_first_chunk::<8>() else {
                return Err(connection(
                    ErrorCode::FrameSize,
                    "GOAWAY shorter than 8 octets",
                ));
            };
            Frame::GoAway {
                last_stream: u32::from_be_bytes([fixed[0], fixed[1], fixed[2], fixed[3]])
                    & 0x7fff_ffff,
                code: ErrorCode::from_code(u32::from_be_bytes([
                    fixed[4], fixed[5], fixed[6], fixed[7],
                ])),
                debug,
            }
        }
        0x8 => {
            let increment = word(payload, 4, "WINDOW_UPDATE is 4 octets")? & 0x7fff_ffff;
            if increment == 0 {
                // "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a
                // flow-control window increment of 0 as a stream error of type
                // PROTOCOL_ERROR; errors on the connection flow-control window MUST be
                // treated as a connection error."
                return Err(if stream == 0 {
                    connection(ErrorCode::Protocol, "WINDOW_UPDATE of 0 on the connection")
                } else {
                    FrameError::Stream(stream, ErrorCode::Protocol, "WINDOW_UPDATE of 0")
                });
            }
            Frame::WindowUpdate { stream, increment }
        }
        0x9 => {
            if stream == 0 {
                return Err(connection(ErrorCode::Protocol, "CONTINUATION on stream 0"));
            }
            Frame::Continuation {
                stream,
                block: payload,
                end_headers: flags & flags::END_HEADERS != 0,
            }
        }
        kind => Frame::Unknown { kind, stream },
    };
    Ok(Status::Complete((frame, end)))
}

/// The stream a priority block names (the exclusive bit cleared).
fn depends_on(priority: &[u8; 5]) -> u32 {
    u32::from_be_bytes([priority[0], priority[1], priority[2], priority[3]]) & 0x7fff_ffff
}

/// A payload of exactly `len` (4) octets, as a number; else a connection FRAME_SIZE_ERROR.
fn word(payload: &[u8], len: usize, why: &'static str) -> Result<u32, FrameError> {
    match payload.first_chunk::<4>() {
        Some(bytes) if payload.len() == len => Ok(u32::from_be_bytes(*bytes)),
        _ => Err(connection(ErrorCode::FrameSize, why)),
    }
}

/// The payload of a DATA or HEADERS frame without its padding.
fn unpad(payload: &[u8], flags: u8) -> Result<&[u8], FrameError> {
    if flags & flags::PADDED == 0 {
        return Ok(payload);
    }
    let Some((&pad, rest)) = payload.split_first() else {
        return Err(connection(
            ErrorCode::FrameSize,
            "a padded frame without its pad length",
        ));
    };
    // "If the length of the padding is the length of the frame payload or greater, the
    // recipient MUST treat this as a connection error of type PROTOCOL_ERROR."
    let keep = rest.len().checked_sub(usize::from(pad)).ok_or(connection(
        ErrorCode::Protocol,
        "padding as long as the frame or longer",
    ))?;
    Ok(&rest[..keep])
}
