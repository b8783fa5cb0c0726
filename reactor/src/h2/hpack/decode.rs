//! Decoding header blocks (RFC 7541, sections 5 and 6) into a reused buffer, with the
//! decoded list bounded: past the bound the block is still decoded (the dynamic table must
//! stay the peer's), but its fields are dropped and the block is reported too large.

use std::fmt;

use crate::h2::hpack::huffman::{self, HuffmanError};
use crate::h2::hpack::table::{Dynamic, entry_size};

/// Why a header block cannot be decoded: a connection error (`COMPRESSION_ERROR`), since
/// the dynamic table can no longer be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HpackError {
    /// The block ends inside a representation.
    Truncated,
    /// An integer past 2^28 (no field, index or size of ours is that large).
    Overflow,
    /// An index to no entry.
    Index(usize),
    /// A Huffman-coded string that is invalid.
    Huffman(HuffmanError),
    /// A dynamic table size update past the limit we set, or not at the block's start.
    SizeUpdate,
}

impl fmt::Display for HpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HpackError::Truncated => write!(f, "a header block ends inside a field"),
            HpackError::Overflow => write!(f, "an integer of a header block is too large"),
            HpackError::Index(i) => write!(f, "a header block names index {i}, which is no entry"),
            HpackError::Huffman(HuffmanError::Eos) => write!(f, "a Huffman string holds EOS"),
            HpackError::Huffman(HuffmanError::Padding) => {
                write!(f, "a Huffman string is padded wrongly")
            }
            HpackError::SizeUpdate => write!(f, "a dynamic table size update is not allowed there"),
        }
    }
}

impl std::error::Error for HpackError {}

/// The fields of one decoded block: names and values in one buffer, kept between blocks
/// (no allocation per request once grown).
#[derive(Debug, Default)]
pub struct Fields {
    buf: Vec<u8>,
    /// Per field: where its name starts, where its value starts, where it ends.
    spans: Vec<(u32, u32, u32)>,
}

impl Fields {
    /// Empties it, keeping its memory.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.spans.clear();
    }

    /// The fields in order, as (name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.spans.iter().map(|&(name, value, end)| {
            let (name, value, end) = (name as usize, value as usize, end as usize);
            (&self.buf[name..value], &self.buf[value..end])
        })
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn push(&mut self, name: &[u8], value: &[u8]) {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(name);
        let mid = self.buf.len() as u32;
        self.buf.extend_from_slice(value);
        self.spans.push((start, mid, self.buf.len() as u32));
    }
}

/// What became of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Every field is in the `Fields`.
    Complete,
    /// The list passed `max_list_size` (counted as HTTP/2's `SETTINGS_MAX_HEADER_LIST_SIZE`
    /// counts it: name, value and 32 per field) or `max_fields`: what the `Fields` hold is
    /// cut short; the stream is refused (431), the connection goes on.
    TooLarge,
}

/// One direction's decoder: its dynamic table and the limits of a block.
#[derive(Debug)]
pub struct Decoder {
    table: Dynamic,
    /// The largest table the peer may ask for: our `SETTINGS_HEADER_TABLE_SIZE`.
    max_table: usize,
    /// The bound of a decoded list, in octets as HTTP/2 counts them.
    pub max_list_size: usize,
    /// The bound of a decoded list, in fields.
    pub max_fields: usize,
    /// Scratch for one string (Huffman decoding); kept between blocks.
    scratch: Vec<u8>,
    name: Vec<u8>,
}

/// No integer of a block of ours goes past this: larger is an attack or a mistake.
const MAX_INTEGER: usize = 1 << 28;

/// Reads an integer with an `prefix`-bit prefix from `block` at `at` (section 5.1).
pub fn integer(block: &[u8], at: &mut usize, prefix: u8) -> Result<usize, HpackError> {
    let mask = ((1u16 << prefix) - 1) as u8;
    let first = *block.get(*at).ok_or(HpackError::Truncated)? & mask;
    *at += 1;
    if first < mask {
        return Ok(usize::from(first));
    }
    let mut value = usize::from(mask);
    let mut shift = 0;
    loop {
        // Zero-valued continuation bytes add nothing but length: past four, the value
        // would pass 2^28 if anything followed.
        if shift > 21 {
            return Err(HpackError::Overflow);
        }
        let byte = *block.get(*at).ok_or(HpackError::Truncated)?;
        *at += 1;
        value += usize::from(byte & 0x7f) << shift;
        if value > MAX_INTEGER {
            return Err(HpackError::Overflow);
        }
        if byte & 0x80 == 0 {
            return Ok(value);
        }
        shift += 7;
    }
}

impl Decoder {
    /// A decoder whose peer may use a table of up to `max_table` octets (4096 unless we
    /// say otherwise in our SETTINGS).
    pub fn new(max_table: usize) -> Decoder {
        Decoder {
            table: Dynamic::new(max_table),
            max_table,
            max_list_size: 16 << 10,
            max_fields: 128,
            scratch: Vec::new(),
            name: Vec::new(),
        }
    }

    /// The dynamic table's size now, in octets.
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// Decodes a whole block (HEADERS and its CONTINUATIONs, joined) into `fields`.
    ///
    /// # Errors
    ///
    /// [`HpackError`]: the block is invalid, and the connection cannot go on.
    pub fn decode(&mut self, block: &[u8], fields: &mut Fields) -> Result<Decoded, HpackError> {
        fields.clear();
        let mut at = 0;
        let mut listed = 0usize;
        let mut too_large = false;
        let mut fields_seen = false;
        while at < block.len() {
            let first = block[at];
            if first & 0x80 != 0 {
                // Indexed field.
                let index = integer(block, &mut at, 7)?;
                let (name, value) = self.table.get(index).ok_or(HpackError::Index(index))?;
                listed += entry_size(name, value);
                too_large |= listed > self.max_list_size || fields.len() >= self.max_fields;
                if !too_large {
                    fields.push(name, value);
                }
                fields_seen = true;
                continue;
            }
            if first & 0xe0 == 0x20 {
                // "This dynamic table size update MUST occur at the beginning of the first
                // header block following the change to the dynamic table size."
                if fields_seen {
                    return Err(HpackError::SizeUpdate);
                }
                let max = integer(block, &mut at, 5)?;
                if max > self.max_table {
                    return Err(HpackError::SizeUpdate);
                }
                self.table.resize(max);
                continue;
            }
            // A literal: with incremental indexing (01), without (0000) or never indexed
            // (0001).
            let (prefix, index_it) = if first & 0xc0 == 0x40 {
                (6, true)
            } else {
                (4, false)
            };
            let name_index = integer(block, &mut at, prefix)?;
            self.name.clear();
            if name_index == 0 {
                let mut name = std::mem::take(&mut self.name);
                self.string(block, &mut at, &mut name)?;
                self.name = name;
            } else {
                let (name, _) = self
                    .table
                    .get(name_index)
                    .ok_or(HpackError::Index(name_index))?;
                self.name.extend_from_slice(name);
            }
            let mut value = std::mem::take(&mut self.scratch);
            value.clear();
            let read = self.string(block, &mut at, &mut value);
            if let Err(e) = read {
                self.scratch = value;
                return Err(e);
            }
            listed += entry_size(&self.name, &value);
            too_large |= listed > self.max_list_size || fields.len() >= self.max_fields;
            if !too_large {
                fields.push(&self.name, &value);
            }
            if index_it {
                self.table.insert(&self.name, &value);
            }
            self.scratch = value;
            fields_seen = true;
        }
        Ok(if too_large {
            Decoded::TooLarge
        } else {
            Decoded::Complete
        })
    }

    /// Reads a string literal (section 5.2) into `out`.
    fn string(
        &mut self,
        block: &[u8],
        at: &mut usize,
        out: &mut Vec<u8>,
    ) -> Result<(), HpackError> {
        let huffman = *block.get(*at).ok_or(HpackError::Truncated)? & 0x80 != 0;
        let length = integer(block, at, 7)?;
        let end = at.checked_add(length).ok_or(HpackError::Truncated)?;
        let bytes = block.get(*at..end).ok_or(HpackError::Truncated)?;
        *at = end;
        if huffman {
            huffman::decode(bytes, out).map_err(HpackError::Huffman)
        } else {
            out.extend_from_slice(bytes);
            Ok(())
        }
    }
}
