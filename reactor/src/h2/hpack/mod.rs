//! HPACK (RFC 7541): header compression for HTTP/2, sans I/O. The decoder keeps the
//! peer's dynamic table, bounded by our `SETTINGS_HEADER_TABLE_SIZE` (4 KiB), and bounds
//! what a block may decode to (an HPACK bomb decodes to nothing past the bound); the
//! encoder keeps no state.
//!
//! `huffman` (the string code), `table` (static and dynamic), `decode`, `encode`.

pub mod decode;
pub mod encode;
pub mod huffman;
mod table;

#[cfg(test)]
pub(crate) mod tests;
