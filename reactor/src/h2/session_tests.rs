//! A connection driven by a scripted client: requests, bodies and windows, and each
//! attack of RFC 9113's section 10.5 cut as it should be.

use std::time::Instant;

use httparse::Status;

use super::*;
use crate::h2::frame::{PREFACE, flags};
use crate::h2::hpack::encode;

/// What a session did, in a form a test compares.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Request(u32, String, bool),
    TooLarge(u32),
    Data(u32, Vec<u8>, bool),
    Trailers(u32),
    Reset(u32, ErrorCode),
    GoAway(u32),
}

/// The client's side: the bytes it sends.
pub(crate) struct Client {
    pub(crate) bytes: Vec<u8>,
}

impl Client {
    /// The preface and an empty SETTINGS.
    pub(crate) fn new() -> Client {
        let mut bytes = PREFACE.to_vec();
        write::settings(&mut bytes, &[]);
        Client { bytes }
    }

    pub(crate) fn get(&mut self, stream: u32, path: &str, end_stream: bool) -> &mut Client {
        let mut block = Vec::new();
        for (name, value) in [
            (":method", "GET"),
            (":scheme", "https"),
            (":path", path),
            (":authority", "a"),
        ] {
            encode::field(name.as_bytes(), value.as_bytes(), &mut block);
        }
        write::headers(&mut self.bytes, stream, &block, end_stream, 16_384);
        self
    }

    pub(crate) fn raw(
        &mut self,
        length: usize,
        kind: u8,
        flag: u8,
        stream: u32,
        payload: &[u8],
    ) -> &mut Client {
        write::head(&mut self.bytes, length, kind, flag, stream);
        self.bytes.extend_from_slice(payload);
        self
    }
}

/// Feeds `bytes` to a new session (in pieces of `step`), returning what it saw, the
/// frames it wrote after its own preface, and how it ended.
fn run(config: Config, bytes: &[u8], step: usize) -> (Vec<Seen>, Vec<String>, Option<Closed>) {
    let now = Instant::now();
    let mut session = Session::new(config, now);
    session.output().clear();
    let mut seen = Vec::new();
    let mut closed = None;
    let mut buffered = Vec::new();
    for piece in bytes.chunks(step.max(1)) {
        buffered.extend_from_slice(piece);
        let result = session.receive(&buffered, now, &mut |event| {
            seen.push(match event {
                Event::Request {
                    stream,
                    pseudo,
                    end_stream,
                    ..
                } => Seen::Request(
                    stream,
                    String::from_utf8_lossy(pseudo.path).into_owned(),
                    end_stream,
                ),
                Event::TooLarge { stream } => Seen::TooLarge(stream),
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => Seen::Data(stream, data.to_vec(), end_stream),
                Event::Trailers { stream, .. } => Seen::Trailers(stream),
                Event::Reset { stream, code } => Seen::Reset(stream, code),
                Event::GoAway { last_stream, .. } => Seen::GoAway(last_stream),
            })
        });
        match result {
            Ok(used) => {
                buffered.drain(..used);
            }
            Err(end) => {
                closed = Some(end);
                break;
            }
        }
    }
    (seen, written(session.output()), closed)
}

/// The frames in `out`, named.
pub(crate) fn written(out: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = 0;
    while let Ok(Status::Complete((frame, used))) = frame::parse(&out[at..], 1 << 20) {
        at += used;
        names.push(match frame {
            Frame::Settings { ack: true, .. } => "SETTINGS ack".to_owned(),
            Frame::Ping { ack: true, .. } => "PING ack".to_owned(),
            Frame::Reset { stream, code } => format!("RST_STREAM {stream} {}", code.name()),
            Frame::GoAway {
                last_stream, code, ..
            } => format!("GOAWAY {last_stream} {}", code.name()),
            Frame::WindowUpdate { stream, increment } => {
                format!("WINDOW_UPDATE {stream} {increment}")
            }
            other => format!("{other:?}"),
        });
    }
    names
}

#[test]
fn requests_arrive_whole_whatever_the_reads() {
    let mut client = Client::new();
    client.get(1, "/a", true).get(3, "/b", false);
    write::data_head(&mut client.bytes, 3, 5, true);
    client.bytes.extend_from_slice(b"hello");
    let want = vec![
        Seen::Request(1, "/a".into(), true),
        Seen::Request(3, "/b".into(), false),
        Seen::Data(3, b"hello".to_vec(), true),
    ];
    for step in [1, 2, 7, 1000] {
        let (seen, out, closed) = run(Config::default(), &client.bytes, step);
        assert_eq!(seen, want, "reads of {step}");
        assert_eq!(out, ["SETTINGS ack"]);
        assert_eq!(closed, None);
    }
}

#[test]
fn windows_are_kept_and_granted_back_in_batches() {
    let now = Instant::now();
    let config = Config {
        stream_window: 100,
        connection_window: 65_535,
        ..Config::default()
    };
    let mut session = Session::new(config, now);
    let mut client = Client::new();
    client.get(1, "/upload", false);
    write::data_head(&mut client.bytes, 1, 60, false);
    client.bytes.extend_from_slice(&[b'x'; 60]);
    let used = session
        .receive(&client.bytes, now, &mut |_| {})
        .expect("open");
    assert_eq!(used, client.bytes.len());
    session.output().clear();
    session.taken(1, 60);
    assert_eq!(
        written(session.output()),
        ["WINDOW_UPDATE 1 60"],
        "the stream's half is due"
    );
    // Past the stream's window (100 granted, 60 used then granted back: 41 + 60 > 100).
    let mut more = Vec::new();
    write::data_head(&mut more, 1, 100, false);
    more.extend_from_slice(&[b'x'; 100]);
    write::data_head(&mut more, 1, 41, false);
    more.extend_from_slice(&[b'x'; 41]);
    session.output().clear();
    session
        .receive(&more, now, &mut |_| {})
        .expect("a stream error only");
    assert_eq!(
        written(session.output()),
        ["RST_STREAM 1 FLOW_CONTROL_ERROR"]
    );
    // What we may send follows the client's windows.
    assert_eq!(session.send_window(1), 0, "a reset stream has none");
}

#[test]
fn streams_past_the_limit_are_refused_and_the_table_stays_in_step() {
    let config = Config {
        max_concurrent_streams: 2,
        ..Config::default()
    };
    let mut client = Client::new();
    // Two streams open; the third adds `:authority: z` to the dynamic table and is refused.
    client.get(1, "/a", false).get(3, "/b", false);
    let mut block = Vec::new();
    block.extend_from_slice(&[0x82, 0x87, 0x84]); // GET https /
    block.extend_from_slice(&[0x41, 0x01, b'z']); // :authority z, indexed
    write::headers(&mut client.bytes, 5, &block, true, 16_384);
    // Stream 7 names the entry stream 5 added: decodes only if 5's block was decoded.
    write::headers(
        &mut client.bytes,
        7,
        &[0x82, 0x87, 0x84, 0xbe],
        true,
        16_384,
    );
    let (seen, out, closed) = run(config, &client.bytes, 1000);
    assert_eq!(closed, None);
    assert_eq!(
        out,
        [
            "SETTINGS ack",
            "RST_STREAM 5 REFUSED_STREAM",
            "RST_STREAM 7 REFUSED_STREAM"
        ]
    );
    assert_eq!(seen.len(), 2);
}

#[test]
fn a_header_list_past_its_bound_is_answered_431_and_not_kept() {
    let config = Config {
        max_header_list_size: 200,
        ..Config::default()
    };
    let mut client = Client::new();
    let mut block = vec![0x82, 0x87, 0x84];
    encode::field(b"x-big", &[b'v'; 300], &mut block);
    write::headers(&mut client.bytes, 1, &block, true, 16_384);
    let (seen, _, closed) = run(config, &client.bytes, 1000);
    assert_eq!((seen, closed), (vec![Seen::TooLarge(1)], None));
}

#[test]
fn attacks_are_cut_with_enhance_your_calm() {
    let mut rapid_reset = Client::new();
    for i in 0..300u32 {
        let stream = 2 * i + 1;
        rapid_reset
            .get(stream, "/", true)
            .raw(4, 0x3, 0, stream, &[0, 0, 0, 8]);
    }
    let mut pings = Client::new();
    for _ in 0..1100 {
        pings.raw(8, 0x6, 0, 0, b"12345678");
    }
    let mut settings = Client::new();
    for _ in 0..1100 {
        settings.raw(0, 0x4, 0, 0, b"");
    }
    let mut priority = Client::new();
    for _ in 0..1100 {
        priority.raw(5, 0x2, 0, 3, &[0, 0, 0, 1, 16]);
    }
    let mut empty_data = Client::new();
    empty_data.get(1, "/", false);
    for _ in 0..1100 {
        empty_data.raw(0, 0x0, 0, 1, b"");
    }
    let mut continuation = Client::new();
    continuation.raw(3, 0x1, 0, 1, &[0x82, 0x87, 0x84]);
    for _ in 0..100 {
        continuation.raw(1000, 0x9, 0, 1, &[b'a'; 1000]);
    }
    let mut empty_continuation = Client::new();
    empty_continuation.raw(3, 0x1, 0, 1, &[0x82, 0x87, 0x84]);
    for _ in 0..1100 {
        empty_continuation.raw(0, 0x9, 0, 1, b"");
    }
    for (name, client) in [
        ("rapid reset", rapid_reset),
        ("PING flood", pings),
        ("SETTINGS flood", settings),
        ("PRIORITY flood", priority),
        ("empty DATA flood", empty_data),
        ("CONTINUATION flood", continuation),
        ("empty CONTINUATION flood", empty_continuation),
    ] {
        let (_, out, closed) = run(Config::default(), &client.bytes, 1 << 16);
        let closed = closed.unwrap_or_else(|| panic!("{name}: not cut"));
        assert_eq!(
            closed.code,
            ErrorCode::EnhanceYourCalm,
            "{name}: {}",
            closed.why
        );
        assert!(
            out.last().is_some_and(|f| f.ends_with("ENHANCE_YOUR_CALM")),
            "{name}: {out:?}"
        );
    }
}

#[test]
fn a_client_that_never_reads_is_cut_when_its_answers_pile_up() {
    let config = Config {
        max_unread_output: 1000,
        ..Config::default()
    };
    let mut client = Client::new();
    for _ in 0..100 {
        client.raw(8, 0x6, 0, 0, b"12345678");
    }
    let (_, _, closed) = run(config, &client.bytes, 1 << 16);
    assert_eq!(closed.map(|c| c.code), Some(ErrorCode::EnhanceYourCalm));
}

#[test]
fn protocol_errors_end_the_connection_naming_the_last_stream() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not a preface",
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            "GOAWAY 0 PROTOCOL_ERROR",
        ),
        (
            "PING before SETTINGS",
            {
                let mut b = PREFACE.to_vec();
                write::head(&mut b, 8, 0x6, 0, 0);
                b.extend_from_slice(b"12345678");
                b
            },
            "GOAWAY 0 PROTOCOL_ERROR",
        ),
        (
            "a lower stream",
            {
                let mut c = Client::new();
                c.get(5, "/", true).get(3, "/", true);
                c.bytes
            },
            "GOAWAY 5 PROTOCOL_ERROR",
        ),
        (
            "an even stream",
            {
                let mut c = Client::new();
                c.get(2, "/", true);
                c.bytes
            },
            "GOAWAY 0 PROTOCOL_ERROR",
        ),
        (
            "an interrupted block",
            {
                let mut c = Client::new();
                c.raw(3, 0x1, 0, 1, &[0x82, 0x87, 0x84])
                    .raw(8, 0x6, 0, 0, b"12345678");
                c.bytes
            },
            "GOAWAY 1 PROTOCOL_ERROR",
        ),
        (
            "DATA on an idle stream",
            {
                let mut c = Client::new();
                c.raw(1, 0x0, 0, 9, b"x");
                c.bytes
            },
            "GOAWAY 0 PROTOCOL_ERROR",
        ),
        (
            "a block that does not decode",
            {
                let mut c = Client::new();
                c.raw(1, 0x1, flags::END_HEADERS, 1, &[0xc0]);
                c.bytes
            },
            "GOAWAY 1 COMPRESSION_ERROR",
        ),
    ];
    for (name, bytes, last) in cases {
        let (_, out, closed) = run(Config::default(), &bytes, 1000);
        assert!(closed.is_some(), "{name}");
        assert_eq!(
            out.last().map(String::as_str),
            Some(last),
            "{name}: {out:?}"
        );
    }
}

#[test]
fn malformed_requests_reset_their_stream_only() {
    let mut client = Client::new();
    let mut upper = vec![0x82, 0x87, 0x84];
    encode::field(b"X-Upper", b"1", &mut upper);
    write::headers(&mut client.bytes, 1, &upper, true, 16_384);
    let mut connection = vec![0x82, 0x87, 0x84];
    encode::field(b"connection", b"close", &mut connection);
    write::headers(&mut client.bytes, 3, &connection, true, 16_384);
    write::headers(&mut client.bytes, 5, &[0x82, 0x87], true, 16_384); // no :path
    client.get(7, "/fine", true);
    let (seen, out, closed) = run(Config::default(), &client.bytes, 1000);
    assert_eq!(closed, None);
    assert_eq!(
        out,
        [
            "SETTINGS ack",
            "RST_STREAM 1 PROTOCOL_ERROR",
            "RST_STREAM 3 PROTOCOL_ERROR",
            "RST_STREAM 5 PROTOCOL_ERROR"
        ]
    );
    assert_eq!(seen.last(), Some(&Seen::Request(7, "/fine".into(), true)));
}
