//! Entry points for warden's micro-benchmarks (`benches/` at the top of the workspace).
//! Not part of the API: hidden, and free to change.

use crate::config::Config;
use crate::http::chunked::{ChunkedDecoder, Cursor};
use crate::http::encode::{self, Exchange, Preamble};
use crate::http::parse::{self, Status};
use crate::http::response::Response;

/// Parses every complete request head in `buf`, one after the other, as a connection
/// does with a pipelined batch; returns how many there were.
pub fn parse_heads(buf: &[u8], config: &Config) -> usize {
    let mut at = 0;
    let mut count = 0;
    while at < buf.len() {
        let mut slots = parse::slots();
        match parse::parse_head(&buf[at..], &mut slots, config.limits()) {
            Ok(Status::Complete(head)) => {
                at += head.info.len;
                count += 1;
            }
            _ => break,
        }
    }
    count
}

/// Decodes a chunked body in place; returns the decoded length.
pub fn decode_chunked(buf: &mut [u8]) -> usize {
    let mut decoder = ChunkedDecoder::new(usize::MAX >> 1, usize::MAX >> 1);
    let mut cursor = Cursor::default();
    match decoder.decode(buf, &mut cursor) {
        Ok(true) => cursor.written,
        _ => 0,
    }
}

/// A reusable encoder, with the per-reactor pieces made once.
#[derive(Debug)]
pub struct Encoder {
    preamble: Preamble,
}

impl Default for Encoder {
    fn default() -> Encoder {
        let mut preamble = Preamble::new("warden").expect("a valid name");
        preamble.set_date(b"Sun, 06 Nov 1994 08:49:37 GMT");
        Encoder { preamble }
    }
}

impl Encoder {
    /// Appends `response` to `out` as a keep-alive response.
    pub fn encode(&self, response: &Response, out: &mut Vec<u8>) {
        let exchange = Exchange {
            answering: crate::http::parse::Answering::Other,
            close: false,
            http10_keep_alive: false,
        };
        let _ = encode::encode(
            response,
            exchange,
            &self.preamble,
            b"Sun, 06 Nov 1994 08:49:37 GMT",
            out,
        );
    }
}
