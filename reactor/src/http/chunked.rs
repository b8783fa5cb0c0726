//! The chunked transfer coding (RFC 9112 section 7.1), decoded in place.
//!
//! ```text
//! chunked-body = *chunk last-chunk trailer-section CRLF
//! chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size   = 1*HEXDIG
//! last-chunk   = 1*("0") [ chunk-ext ] CRLF
//! ```
//!
//! Decoded data is never longer than its encoding, so the decoder writes it back into the
//! same buffer, behind the bytes it reads: a chunked body needs no second buffer, and the
//! request handed to the handler borrows it like any other body.

use crate::http::error::{ChunkError, RequestError};

/// Where decoding stands in a buffer: bytes before `read` are consumed; decoded data fills
/// `..written`. `written <= read` always holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub read: usize,
    pub written: usize,
}

/// The decoder's position in the grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size.
    Size,
    /// Whitespace after the size (BWS before `;`).
    SizeSpace,
    /// Inside chunk extensions, until CR.
    Extension,
    /// The LF ending a chunk-size line.
    SizeLf,
    /// Inside chunk data; `remaining` bytes to go.
    Data,
    /// The CR after chunk data.
    DataCr,
    /// The LF after chunk data.
    DataLf,
    /// At the start of a trailer line, or of the final empty line.
    TrailerStart,
    /// Inside a trailer field line.
    Trailer,
    /// The LF ending a trailer field line.
    TrailerLf,
    /// The LF of the final empty line.
    EndLf,
    /// The body is complete.
    Done,
}

/// Incremental, in-place decoder for one chunked body. Feeding it the same bytes split at
/// any positions gives the same result.
#[derive(Clone, Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
    /// The chunk size being read, then the data bytes left in the chunk.
    size: u64,
    /// Hex digits seen in the current size.
    digits: u32,
    /// Decoded body bytes so far.
    total: u64,
    /// Bytes of chunk-size lines, extensions and trailers so far.
    metadata: usize,
    max_body: u64,
    max_metadata: usize,
}

impl ChunkedDecoder {
    /// A decoder that refuses bodies over `max_body` bytes (413) and extensions plus
    /// trailers over `max_metadata` bytes.
    pub(crate) fn new(max_body: usize, max_metadata: usize) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            digits: 0,
            total: 0,
            metadata: 0,
            max_body: max_body as u64,
            max_metadata,
        }
    }

    /// Decodes `buf[cursor.read..]` into `buf[cursor.written..]`. Returns `true` once the
    /// body (with its trailers) is complete: the bytes from `cursor.read` on then belong to
    /// the next request. `false` means every byte was used and more are needed.
    pub(crate) fn decode(
        &mut self,
        buf: &mut [u8],
        cursor: &mut Cursor,
    ) -> Result<bool, RequestError> {
        debug_assert!(cursor.written <= cursor.read && cursor.read <= buf.len());
        loop {
            match self.state {
                State::Done => return Ok(true),
                State::Data => {
                    let available = buf.len() - cursor.read;
                    if available == 0 {
                        return Ok(false);
                    }
                    let n = usize::try_from(self.size).map_or(available, |s| s.min(available));
                    if cursor.read != cursor.written {
                        buf.copy_within(cursor.read..cursor.read + n, cursor.written);
                    }
                    cursor.read += n;
                    cursor.written += n;
                    self.size -= n as u64;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    continue;
                }
                _ => {}
            }
            let Some(&byte) = buf.get(cursor.read) else {
                return Ok(false);
            };
            cursor.read += 1;
            self.state = self.step(byte)?;
        }
    }

    /// One byte of framing: returns the next state.
    fn step(&mut self, byte: u8) -> Result<State, RequestError> {
        use State::*;
        let chunk = |e: ChunkError| RequestError::Chunk(e);
        // Extensions and trailers are unbounded in the grammar; count them against a limit.
        if matches!(
            self.state,
            SizeSpace | Extension | TrailerStart | Trailer | TrailerLf
        ) {
            self.metadata += 1;
            if self.metadata > self.max_metadata {
                return Err(chunk(ChunkError::MetadataTooLarge));
            }
        }
        Ok(match (self.state, byte) {
            (Size, b) if b.is_ascii_hexdigit() => {
                // Leading zeros are valid but no client needs more than a few.
                if self.size > u64::MAX >> 4 || self.digits >= 32 {
                    return Err(chunk(ChunkError::SizeOverflow));
                }
                self.size = self.size << 4 | u64::from(hex_value(b));
                self.digits += 1;
                Size
            }
            (Size, b'\r') if self.digits > 0 => SizeLf,
            (Size, b';') if self.digits > 0 => Extension,
            (Size, b' ' | b'\t') if self.digits > 0 => SizeSpace,
            (Size, b'\n') if self.digits > 0 => return Err(chunk(ChunkError::LineEnding)),
            (Size, _) => return Err(chunk(ChunkError::Size)),
            (SizeSpace, b' ' | b'\t') => SizeSpace,
            (SizeSpace, b';') => Extension,
            (SizeSpace, b'\r') => SizeLf,
            (SizeSpace, _) => return Err(chunk(ChunkError::Size)),
            (Extension, b'\r') => SizeLf,
            (Extension, b'\n') => return Err(chunk(ChunkError::LineEnding)),
            (Extension, b) if is_field_byte(b) => Extension,
            (Extension, _) => return Err(chunk(ChunkError::Extension)),
            (SizeLf, b'\n') if self.size == 0 => TrailerStart,
            (SizeLf, b'\n') => {
                // Checked: a size near u64::MAX after a first chunk would wrap the sum
                // below the limit (and panic in a debug build).
                match self.total.checked_add(self.size) {
                    Some(total) if total <= self.max_body => self.total = total,
                    _ => return Err(RequestError::BodyTooLarge),
                }
                Data
            }
            (SizeLf, _) => return Err(chunk(ChunkError::LineEnding)),
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => {
                self.digits = 0;
                Size
            }
            (DataCr | DataLf, _) => return Err(chunk(ChunkError::DataTerminator)),
            (TrailerStart, b'\r') => EndLf,
            // A trailer line may not start with whitespace: that would be obs-fold.
            (TrailerStart, b) if is_field_byte(b) && b != b' ' && b != b'\t' => Trailer,
            (TrailerStart | Trailer, b'\n') => return Err(chunk(ChunkError::LineEnding)),
            (TrailerStart, _) => return Err(chunk(ChunkError::Trailer)),
            (Trailer, b'\r') => TrailerLf,
            (Trailer, b) if is_field_byte(b) => Trailer,
            (Trailer, _) => return Err(chunk(ChunkError::Trailer)),
            (TrailerLf, b'\n') => TrailerStart,
            (EndLf, b'\n') => Done,
            (TrailerLf | EndLf, _) => return Err(chunk(ChunkError::LineEnding)),
            (Data | Done, _) => unreachable!("decode handles data and completion itself"),
        })
    }
}

/// Visible ASCII, space, tab and obs-text: what a field line may hold.
fn is_field_byte(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A finished body and the bytes after it; `None` while incomplete.
    type Decoded = Result<Option<(Vec<u8>, Vec<u8>)>, RequestError>;

    /// Decodes `input` fed in pieces cut at `cuts`; returns the body and what follows it.
    fn decode_split(input: &[u8], cuts: &[usize]) -> Decoded {
        let mut decoder = ChunkedDecoder::new(1 << 20, 4096);
        let mut buf = Vec::new();
        let mut cursor = Cursor::default();
        let mut fed = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            buf.extend_from_slice(&input[fed..cut]);
            fed = cut;
            if decoder.decode(&mut buf, &mut cursor)? {
                return Ok(Some((
                    buf[..cursor.written].to_vec(),
                    buf[cursor.read..].to_vec(),
                )));
            }
        }
        Ok(None)
    }

    fn decode(input: &[u8]) -> Decoded {
        decode_split(input, &[])
    }

    const VALID: &[(&str, &[u8], &[u8])] = &[
        ("one chunk", b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (
            "two chunks",
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            b"hello world",
        ),
        ("upper hex", b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        ("lower hex", b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
        ("leading zeros", b"0005\r\nhello\r\n000\r\n\r\n", b"hello"),
        (
            "extension",
            b"5;name=value\r\nhello\r\n0;x\r\n\r\n",
            b"hello",
        ),
        (
            "quoted extension",
            b"5;n=\"a b\"\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            "space before extension",
            b"5 ;n\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            "trailers",
            b"5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n",
            b"hello",
        ),
        ("empty body", b"0\r\n\r\n", b""),
        (
            "binary data with CRLF inside",
            b"4\r\n\r\n\r\n\r\n0\r\n\r\n",
            b"\r\n\r\n",
        ),
    ];

    /// Each malformed form and the error it earns.
    const INVALID: &[(&str, &[u8], RequestError)] = &[
        (
            "empty size",
            b"\r\nhello\r\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::Size),
        ),
        (
            "non-hex size",
            b"g\r\nhello\r\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::Size),
        ),
        (
            "0x prefix",
            b"0x5\r\nhello\r\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::Size),
        ),
        (
            "negative",
            b"-5\r\nhello\r\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::Size),
        ),
        (
            "space inside size",
            b"5 5\r\nhello\r\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::Size),
        ),
        (
            "overflow",
            b"10000000000000000\r\n",
            RequestError::Chunk(ChunkError::SizeOverflow),
        ),
        (
            "bare LF after size",
            b"5\nhello\r\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::LineEnding),
        ),
        (
            "bare CR after size",
            b"5\rhello\r\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::LineEnding),
        ),
        (
            "bare LF in extension",
            b"5;a\nhello\r\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::LineEnding),
        ),
        (
            "control byte in extension",
            b"5;a\x01\r\nhello\r\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::Extension),
        ),
        (
            "data too long",
            b"5\r\nhello!\r\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::DataTerminator),
        ),
        (
            "missing CRLF after data",
            b"5\r\nhello0\r\n\r\n",
            RequestError::Chunk(ChunkError::DataTerminator),
        ),
        (
            "bare LF after data",
            b"5\r\nhello\n0\r\n\r\n",
            RequestError::Chunk(ChunkError::DataTerminator),
        ),
        (
            "bare LF after last chunk",
            b"0\r\n\n",
            RequestError::Chunk(ChunkError::LineEnding),
        ),
        (
            "folded trailer",
            b"0\r\nX: a\r\n b\r\n\r\n",
            RequestError::Chunk(ChunkError::Trailer),
        ),
        (
            "control byte in trailer",
            b"0\r\nX: \x00\r\n\r\n",
            RequestError::Chunk(ChunkError::Trailer),
        ),
        (
            "bare LF in trailer",
            b"0\r\nX: a\n\r\n",
            RequestError::Chunk(ChunkError::LineEnding),
        ),
        ("too large", b"100001\r\n", RequestError::BodyTooLarge),
    ];

    #[test]
    fn valid_bodies() {
        for (name, input, body) in VALID {
            let mut with_next = input.to_vec();
            with_next.extend_from_slice(b"GET / HTTP/1.1\r\n");
            let (got, rest) = decode(&with_next).expect(name).expect(name);
            assert_eq!(got, *body, "{name}");
            assert_eq!(
                rest, b"GET / HTTP/1.1\r\n",
                "{name}: what follows is left alone"
            );
        }
    }

    #[test]
    fn invalid_bodies() {
        for (name, input, want) in INVALID {
            assert_eq!(decode(input).err(), Some(*want), "{name}");
        }
    }

    #[test]
    fn every_split_gives_the_same_result() {
        for (name, input, _) in VALID {
            let whole = decode(input);
            for a in 0..input.len() {
                assert_eq!(decode_split(input, &[a]), whole, "{name} cut at {a}");
                for b in a..input.len() {
                    assert_eq!(
                        decode_split(input, &[a, b]),
                        whole,
                        "{name} cut at {a}, {b}"
                    );
                }
            }
        }
        for (name, input, _) in INVALID {
            let whole = decode(input);
            for a in 0..input.len() {
                assert_eq!(decode_split(input, &[a]), whole, "{name} cut at {a}");
            }
        }
    }

    #[test]
    fn chunk_sizes_cannot_wrap_past_max_body() {
        // 1 + (2^64 - 1) wraps to 0 in unchecked arithmetic.
        let mut decoder = ChunkedDecoder::new(1024, 1024);
        let mut body = b"1\r\na\r\nffffffffffffffff\r\n".to_vec();
        let mut cursor = Cursor::default();
        assert_eq!(
            decoder.decode(&mut body, &mut cursor),
            Err(RequestError::BodyTooLarge)
        );
        // And a sum that fits u64 but not the limit.
        let mut decoder = ChunkedDecoder::new(1024, 1024);
        let mut body = b"400\r\n".to_vec();
        body.extend_from_slice(&[b'a'; 1024]);
        body.extend_from_slice(b"\r\n1\r\n");
        assert_eq!(
            decoder.decode(&mut body, &mut Cursor::default()),
            Err(RequestError::BodyTooLarge)
        );
    }

    #[test]
    fn incomplete_is_not_an_error() {
        assert_eq!(decode(b"5\r\nhel"), Ok(None));
        assert_eq!(decode(b"5\r\nhello\r\n0\r\n"), Ok(None));
    }

    #[test]
    fn metadata_is_bounded() {
        let mut input = b"5;".to_vec();
        input.extend(std::iter::repeat_n(b'a', 5000));
        assert_eq!(
            decode(&input).err(),
            Some(RequestError::Chunk(ChunkError::MetadataTooLarge))
        );
    }
}
