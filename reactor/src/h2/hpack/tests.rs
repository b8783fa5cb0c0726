//! RFC 7541's examples (appendix C), and the bounds a hostile block meets.

use super::decode::{Decoded, Decoder, Fields, HpackError, integer};
use super::encode;

/// Bytes written as hexadecimal digits, spaces ignored (as appendix C prints them).
pub(super) fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).expect("ascii"), 16).expect("hex"))
        .collect()
}

/// The fields as text, for comparisons.
pub(crate) fn listed(fields: &Fields) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(n, v)| {
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

#[test]
fn integers_of_appendix_c1() {
    let cases: [(usize, u8, &[u8]); 3] = [
        (10, 5, &[0x0a]),
        (1337, 5, &[0x1f, 0x9a, 0x0a]),
        (42, 8, &[0x2a]),
    ];
    for (value, prefix, bytes) in cases {
        let mut out = Vec::new();
        encode::integer(value, prefix, 0, &mut out);
        assert_eq!(out, bytes, "{value}");
        let mut at = 0;
        assert_eq!(integer(bytes, &mut at, prefix), Ok(value));
        assert_eq!(at, bytes.len());
    }
}

/// C.3 (plain strings) and C.4 (Huffman): three requests on one connection, the dynamic
/// table carried from each to the next.
#[test]
fn requests_of_appendix_c3_and_c4() {
    let first = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
    ];
    let second = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "www.example.com"),
        ("cache-control", "no-cache"),
    ];
    let third = [
        (":method", "GET"),
        (":scheme", "https"),
        (":path", "/index.html"),
        (":authority", "www.example.com"),
        ("custom-key", "custom-value"),
    ];
    let plain = [
        "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "8286 84be 5808 6e6f 2d63 6163 6865",
        "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    ];
    let huffman = [
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        "8286 84be 5886 a8eb 1064 9cbf",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ];
    for blocks in [plain, huffman] {
        let mut decoder = Decoder::new(4096);
        let mut fields = Fields::default();
        for (block, (want, size)) in
            blocks
                .iter()
                .zip([(&first[..], 57), (&second[..], 110), (&third[..], 164)])
        {
            assert_eq!(
                decoder.decode(&hex(block), &mut fields),
                Ok(Decoded::Complete)
            );
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            assert_eq!(listed(&fields), want);
            assert_eq!(decoder.table_size(), size);
        }
    }
}

#[test]
fn what_the_encoder_writes_decodes_back() {
    let fields = [
        (":status", "200"),
        ("content-type", "text/plain; charset=utf-8"),
        ("content-length", "13"),
        ("date", "Mon, 07 Dec 2026 20:00:00 GMT"),
        ("x-request-id", "w0-17"),
        ("set-cookie", "a=b"),
        ("accept-encoding", "gzip, deflate"),
    ];
    let mut block = Vec::new();
    encode::status(200, &mut block);
    for (name, value) in &fields[1..] {
        encode::field(name.as_bytes(), value.as_bytes(), &mut block);
    }
    let mut decoder = Decoder::new(4096);
    let mut decoded = Fields::default();
    assert_eq!(decoder.decode(&block, &mut decoded), Ok(Decoded::Complete));
    let want: Vec<(String, String)> = fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    assert_eq!(listed(&decoded), want);
    assert_eq!(decoder.table_size(), 0, "the encoder never indexes");
    // Statuses the static table lacks are literals.
    for code in [101, 201, 302, 503, 599] {
        let mut block = Vec::new();
        encode::status(code, &mut block);
        decoder.decode(&block, &mut decoded).expect("valid");
        assert_eq!(listed(&decoded), [(":status".to_owned(), code.to_string())]);
    }
}

#[test]
fn a_bomb_decodes_to_nothing_past_the_bound_and_the_table_stays_in_step() {
    // One 4,000-byte value added to the table, then named 1,000 times by one byte each:
    // 4 MB from a 5 KB block.
    let mut block = hex("40 01 78");
    encode::integer(4000, 7, 0, &mut block);
    block.extend(std::iter::repeat_n(b'v', 4000));
    block.extend(std::iter::repeat_n(0xbe, 1000)); // index 62
    let mut decoder = Decoder::new(4096);
    let mut fields = Fields::default();
    assert_eq!(decoder.decode(&block, &mut fields), Ok(Decoded::TooLarge));
    assert!(fields.len() <= 4, "{} fields kept", fields.len());
    // The next block still sees the entry: the table followed every instruction.
    assert_eq!(decoder.decode(&[0xbe], &mut fields), Ok(Decoded::Complete));
    assert_eq!(listed(&fields)[0].0, "x");
}

#[test]
fn invalid_blocks_are_errors() {
    let cases: [(&str, HpackError); 7] = [
        ("ff 80 80 80 80 80 80 80 80 80 80 01", HpackError::Overflow),
        ("82 86 ff", HpackError::Truncated),
        ("c0", HpackError::Index(64)),
        ("80", HpackError::Index(0)),
        ("ff ff ff ff ff 0f", HpackError::Overflow),
        ("82 20", HpackError::SizeUpdate), // a size update after a field
        ("3f e2 1f", HpackError::SizeUpdate), // 4,096 + 1: past our setting
    ];
    for (block, error) in cases {
        let mut decoder = Decoder::new(4096);
        assert_eq!(
            decoder.decode(&hex(block), &mut Fields::default()),
            Err(error),
            "{block}"
        );
    }
}
