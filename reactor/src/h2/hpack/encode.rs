//! Encoding header blocks (RFC 7541, section 6). Our encoder never adds to its dynamic
//! table: every field is a static index or a literal "without indexing", so the peer's
//! table size does not matter, a connection holds no encoder state, and what a response
//! costs to encode does not depend on what came before.

use crate::h2::hpack::huffman;
use crate::h2::hpack::table::STATIC;

/// Appends `value` as an integer with a `prefix`-bit prefix, the first byte's other bits
/// being `flags` (section 5.1).
pub fn integer(value: usize, prefix: u8, flags: u8, out: &mut Vec<u8>) {
    let mask = (1usize << prefix) - 1;
    if value < mask {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | mask as u8);
    let mut rest = value - mask;
    while rest >= 0x80 {
        out.push((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Appends a string literal: Huffman-coded when that is shorter (section 5.2).
pub fn string(text: &[u8], out: &mut Vec<u8>) {
    let coded = huffman::encoded_len(text);
    if coded < text.len() {
        integer(coded, 7, 0x80, out);
        huffman::encode(text, out);
    } else {
        integer(text.len(), 7, 0, out);
        out.extend_from_slice(text);
    }
}

/// Appends `:status`: an index for the seven the static table has, else a literal.
pub fn status(code: u16, out: &mut Vec<u8>) {
    let index = match code {
        200 => 8,
        204 => 9,
        206 => 10,
        304 => 11,
        400 => 12,
        404 => 13,
        500 => 14,
        _ => {
            // Literal without indexing, name index 8 (":status").
            integer(8, 4, 0, out);
            let mut buf = itoa::Buffer::new();
            string(buf.format(code).as_bytes(), out);
            return;
        }
    };
    integer(index, 7, 0x80, out);
}

/// Appends a field (its name lowercase already): the static table's index when it has the
/// name and value, else a literal without indexing, its name indexed when the static table
/// has it. Fields that must never be indexed by intermediaries (`set-cookie` with a
/// value, `authorization`) are marked so (section 7.1.3).
pub fn field(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    let mut name_index = 0;
    for (i, (n, v)) in STATIC.iter().enumerate() {
        if n.as_bytes() == name {
            if v.as_bytes() == value {
                integer(i + 1, 7, 0x80, out);
                return;
            }
            if name_index == 0 {
                name_index = i + 1;
            }
        }
    }
    let never = matches!(name, b"set-cookie" | b"authorization" | b"cookie");
    integer(name_index, 4, if never { 0x10 } else { 0 }, out);
    if name_index == 0 {
        string(name, out);
    }
    string(value, out);
}
