//! The limits a request head is parsed under.

/// The most header fields a request may carry, whatever
/// [`Config::max_headers`](crate::Config::max_headers) says: the parser keeps its header
/// slots on the stack, so the bound is fixed at compile time.
pub const HEADER_SLOTS: usize = 128;

/// The limits a request head is parsed under: the reactor's configuration, reduced to
/// what the wire format needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Largest request head in bytes (431 past it).
    pub max_head: usize,
    /// Longest request line in bytes (414 past it).
    pub max_request_line: usize,
    /// Most header fields (431 past it), at most [`HEADER_SLOTS`].
    pub max_headers: usize,
}

impl Limits {
    /// The header slots the parser may fill: `max_headers`, capped at [`HEADER_SLOTS`].
    pub(crate) fn header_slots(&self) -> usize {
        self.max_headers.clamp(1, HEADER_SLOTS)
    }
}

impl Default for Limits {
    /// The reactor's defaults: 16 KiB heads, 8 KiB request lines, 64 fields.
    fn default() -> Limits {
        Limits {
            max_head: 16 * 1024,
            max_request_line: 8 * 1024,
            max_headers: 64,
        }
    }
}
