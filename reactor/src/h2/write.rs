//! Writing HTTP/2 frames (RFC 9113, section 6) into an output buffer. A DATA frame's head
//! is written alone, so its payload can go out from where it lies (one gathered write).

use crate::h2::error::ErrorCode;
use crate::h2::frame::{HEADER_LEN, flags};

/// Appends a frame header.
pub fn head(out: &mut Vec<u8>, length: usize, kind: u8, flags: u8, stream: u32) {
    debug_assert!(length < 1 << 24, "a frame is shorter than 2^24");
    let length = (length as u32).to_be_bytes();
    out.extend_from_slice(&[length[1], length[2], length[3], kind, flags]);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
}

/// Appends a SETTINGS frame with `settings` (identifier, value).
pub fn settings(out: &mut Vec<u8>, settings: &[(u16, u32)]) {
    head(out, settings.len() * 6, 0x4, 0, 0);
    for &(id, value) in settings {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Appends the acknowledgement of the peer's SETTINGS.
pub fn settings_ack(out: &mut Vec<u8>) {
    head(out, 0, 0x4, flags::ACK, 0);
}

/// Appends the answer to a PING.
pub fn ping_ack(out: &mut Vec<u8>, data: [u8; 8]) {
    head(out, 8, 0x6, flags::ACK, 0);
    out.extend_from_slice(&data);
}

/// Appends a GOAWAY naming the last stream processed.
pub fn goaway(out: &mut Vec<u8>, last_stream: u32, code: ErrorCode, debug: &[u8]) {
    head(out, 8 + debug.len(), 0x7, 0, 0);
    out.extend_from_slice(&(last_stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(&code.code().to_be_bytes());
    out.extend_from_slice(debug);
}

/// Appends a RST_STREAM.
pub fn reset(out: &mut Vec<u8>, stream: u32, code: ErrorCode) {
    head(out, 4, 0x3, 0, stream);
    out.extend_from_slice(&code.code().to_be_bytes());
}

/// Appends a WINDOW_UPDATE (stream 0: the connection's window).
pub fn window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    head(out, 4, 0x8, 0, stream);
    out.extend_from_slice(&(increment & 0x7fff_ffff).to_be_bytes());
}

/// Appends a header block as HEADERS and as many CONTINUATIONs as the peer's
/// `max_frame_size` needs.
pub fn headers(
    out: &mut Vec<u8>,
    stream: u32,
    block: &[u8],
    end_stream: bool,
    max_frame_size: usize,
) {
    let mut chunks = block.chunks(max_frame_size.max(1)).peekable();
    let first = chunks.next().unwrap_or_default();
    let last = chunks.peek().is_none();
    let mut flag = if end_stream { flags::END_STREAM } else { 0 };
    if last {
        flag |= flags::END_HEADERS;
    }
    head(out, first.len(), 0x1, flag, stream);
    out.extend_from_slice(first);
    while let Some(chunk) = chunks.next() {
        let end = if chunks.peek().is_none() {
            flags::END_HEADERS
        } else {
            0
        };
        head(out, chunk.len(), 0x9, end, stream);
        out.extend_from_slice(chunk);
    }
}

/// Appends the head of a DATA frame of `length` octets; its payload follows it, from
/// wherever it lies.
pub fn data_head(out: &mut Vec<u8>, stream: u32, length: usize, end_stream: bool) {
    head(
        out,
        length,
        0x0,
        if end_stream { flags::END_STREAM } else { 0 },
        stream,
    );
}

/// The length of a frame's header, for callers sizing their buffers.
pub const FRAME_HEADER_LEN: usize = HEADER_LEN;

#[cfg(test)]
mod tests {
    use httparse::Status;

    use super::*;
    use crate::h2::error::FrameError;
    use crate::h2::frame::{Frame, NotPreface, PREFACE, Setting, parse, preface};

    fn one(buf: &[u8]) -> Frame<'_> {
        match parse(buf, 16384) {
            Ok(Status::Complete((frame, used))) => {
                assert_eq!(used, buf.len());
                frame
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn frames_written_read_back() {
        let mut out = Vec::new();
        settings(&mut out, &[(0x3, 128), (0x4, 1 << 20), (0x99, 7)]);
        let Frame::Settings {
            ack: false,
            settings,
        } = one(&out)
        else {
            panic!("settings");
        };
        assert_eq!(
            settings.collect::<Vec<_>>(),
            [
                Setting::MaxConcurrentStreams(128),
                Setting::InitialWindowSize(1 << 20),
                Setting::Other(0x99, 7)
            ]
        );
        type Case = (fn(&mut Vec<u8>), Frame<'static>);
        let cases: [Case; 5] = [
            (
                |o| settings_ack(o),
                Frame::Settings {
                    ack: true,
                    settings: crate::h2::frame::Settings::empty(),
                },
            ),
            (
                |o| ping_ack(o, *b"12345678"),
                Frame::Ping {
                    ack: true,
                    data: *b"12345678",
                },
            ),
            (
                |o| goaway(o, 7, ErrorCode::EnhanceYourCalm, b"calm"),
                Frame::GoAway {
                    last_stream: 7,
                    code: ErrorCode::EnhanceYourCalm,
                    debug: b"calm",
                },
            ),
            (
                |o| reset(o, 3, ErrorCode::RefusedStream),
                Frame::Reset {
                    stream: 3,
                    code: ErrorCode::RefusedStream,
                },
            ),
            (
                |o| window_update(o, 0, 65535),
                Frame::WindowUpdate {
                    stream: 0,
                    increment: 65535,
                },
            ),
        ];
        for (write, want) in cases {
            let mut out = Vec::new();
            write(&mut out);
            assert_eq!(format!("{:?}", one(&out)), format!("{want:?}"));
        }
    }

    #[test]
    fn a_header_block_is_split_into_continuations() {
        let block: Vec<u8> = (0..40u8).collect();
        let mut out = Vec::new();
        headers(&mut out, 5, &block, true, 16);
        let mut at = 0;
        let mut joined = Vec::new();
        let mut kinds = Vec::new();
        while at < out.len() {
            let Ok(Status::Complete((frame, used))) = parse(&out[at..], 16384) else {
                panic!("a frame");
            };
            at += used;
            match frame {
                Frame::Headers {
                    stream: 5,
                    block,
                    end_stream: true,
                    end_headers,
                } => {
                    kinds.push(("headers", end_headers));
                    joined.extend_from_slice(block);
                }
                Frame::Continuation {
                    stream: 5,
                    block,
                    end_headers,
                } => {
                    kinds.push(("continuation", end_headers));
                    joined.extend_from_slice(block);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(joined, block);
        assert_eq!(
            kinds,
            [
                ("headers", false),
                ("continuation", false),
                ("continuation", true)
            ]
        );
    }

    #[test]
    fn partial_input_is_partial_at_every_length() {
        let mut out = Vec::new();
        data_head(&mut out, 1, 5, true);
        out.extend_from_slice(b"hello");
        for end in 0..out.len() {
            assert_eq!(parse(&out[..end], 16384), Ok(Status::Partial), "{end}");
        }
        assert_eq!(
            one(&out),
            Frame::Data {
                stream: 1,
                data: b"hello",
                end_stream: true,
                flow: 5
            }
        );
        for end in 0..PREFACE.len() {
            assert_eq!(preface(&PREFACE[..end]), Ok(Status::Partial));
        }
        assert_eq!(preface(PREFACE), Ok(Status::Complete(PREFACE.len())));
        assert_eq!(preface(b"GET / HTTP/1.1\r\n"), Err(NotPreface));
    }

    /// A frame header: length, type, flags, stream.
    fn frame(length: usize, kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        head(&mut out, length, kind, flags, stream);
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn each_broken_rule_costs_what_rfc_9113_says() {
        use ErrorCode::*;
        let conn = |code| Some(code);
        /// Accepted (`Ok(None)`), a connection error, or a stream error.
        type Cost = Result<Option<ErrorCode>, (u32, ErrorCode)>;
        let cases: Vec<(&str, Vec<u8>, Cost)> = vec![
            (
                "DATA on stream 0",
                frame(1, 0x0, 0, 0, b"x"),
                Ok(conn(Protocol)),
            ),
            (
                "padding too long",
                frame(2, 0x0, flags::PADDED, 1, &[5, b'x']),
                Ok(conn(Protocol)),
            ),
            (
                "padding ok",
                frame(3, 0x0, flags::PADDED, 1, &[1, b'x', 0]),
                Ok(None),
            ),
            (
                "HEADERS on stream 0",
                frame(0, 0x1, 0, 0, b""),
                Ok(conn(Protocol)),
            ),
            (
                "self-dependent HEADERS",
                frame(5, 0x1, flags::PRIORITY, 3, &[0, 0, 0, 3, 16]),
                Err((3, Protocol)),
            ),
            (
                "PRIORITY of 4 octets",
                frame(4, 0x2, 0, 3, &[0, 0, 0, 1]),
                Err((3, FrameSize)),
            ),
            (
                "RST_STREAM on 0",
                frame(4, 0x3, 0, 0, &[0, 0, 0, 8]),
                Ok(conn(Protocol)),
            ),
            (
                "RST_STREAM of 3 octets",
                frame(3, 0x3, 0, 1, &[0, 0, 8]),
                Ok(conn(FrameSize)),
            ),
            (
                "SETTINGS on a stream",
                frame(0, 0x4, 0, 1, b""),
                Ok(conn(Protocol)),
            ),
            (
                "SETTINGS ack with payload",
                frame(6, 0x4, flags::ACK, 0, &[0, 3, 0, 0, 0, 1]),
                Ok(conn(FrameSize)),
            ),
            (
                "SETTINGS of 5 octets",
                frame(5, 0x4, 0, 0, &[0, 3, 0, 0, 1]),
                Ok(conn(FrameSize)),
            ),
            (
                "window past 2^31-1",
                frame(6, 0x4, 0, 0, &[0, 4, 0x80, 0, 0, 0]),
                Ok(conn(FlowControl)),
            ),
            (
                "frame size below 2^14",
                frame(6, 0x4, 0, 0, &[0, 5, 0, 0, 0x3f, 0xff]),
                Ok(conn(Protocol)),
            ),
            (
                "PUSH_PROMISE",
                frame(4, 0x5, 0, 1, &[0, 0, 0, 2]),
                Ok(conn(Protocol)),
            ),
            (
                "PING of 7",
                frame(7, 0x6, 0, 0, b"1234567"),
                Ok(conn(FrameSize)),
            ),
            (
                "PING on a stream",
                frame(8, 0x6, 0, 1, b"12345678"),
                Ok(conn(Protocol)),
            ),
            (
                "GOAWAY of 7",
                frame(7, 0x7, 0, 0, b"1234567"),
                Ok(conn(FrameSize)),
            ),
            (
                "WINDOW_UPDATE of 0 on 0",
                frame(4, 0x8, 0, 0, &[0, 0, 0, 0]),
                Ok(conn(Protocol)),
            ),
            (
                "WINDOW_UPDATE of 0 on 1",
                frame(4, 0x8, 0, 1, &[0, 0, 0, 0]),
                Err((1, Protocol)),
            ),
            (
                "WINDOW_UPDATE of 5",
                frame(5, 0x8, 0, 1, &[0, 0, 0, 0, 1]),
                Ok(conn(FrameSize)),
            ),
            (
                "CONTINUATION on 0",
                frame(0, 0x9, 0, 0, b""),
                Ok(conn(Protocol)),
            ),
            ("unknown type", frame(2, 0xfa, 0xff, 9, b"zz"), Ok(None)),
            (
                "too large",
                frame(16385, 0x0, 0, 1, &[0; 16385]),
                Ok(conn(FrameSize)),
            ),
        ];
        for (what, bytes, want) in cases {
            let got = match parse(&bytes, 16384) {
                Ok(Status::Complete(_)) => Ok(None),
                Ok(Status::Partial) => panic!("{what}: partial"),
                Err(FrameError::Connection(code, _)) => Ok(Some(code)),
                Err(FrameError::Stream(stream, code, _)) => Err((stream, code)),
            };
            assert_eq!(got, want, "{what}");
        }
    }
}
