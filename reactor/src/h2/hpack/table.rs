//! HPACK's indexing tables (RFC 7541, section 2.3): the static table of appendix A and a
//! dynamic table bounded in octets, whose entries are evicted oldest first.

use std::collections::VecDeque;

/// Appendix A: index 1 to 61.
pub(crate) const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// "The size of an entry is the sum of its name's length in octets, its value's length in
/// octets, and 32."
pub(crate) fn entry_size(name: &[u8], value: &[u8]) -> usize {
    name.len() + value.len() + 32
}

/// The dynamic table: newest first, as its indexes count (62 is the newest).
#[derive(Debug)]
pub(crate) struct Dynamic {
    /// Name and value of each entry, in one allocation.
    entries: VecDeque<(Box<[u8]>, usize)>,
    size: usize,
    max: usize,
}

impl Dynamic {
    pub(crate) fn new(max: usize) -> Dynamic {
        Dynamic {
            entries: VecDeque::new(),
            size: 0,
            max,
        }
    }

    /// The entry at `index` (1-based over both tables).
    pub(crate) fn get(&self, index: usize) -> Option<(&[u8], &[u8])> {
        match index {
            0 => None,
            1..=61 => {
                let (name, value) = STATIC[index - 1];
                Some((name.as_bytes(), value.as_bytes()))
            }
            _ => {
                let (both, split) = self.entries.get(index - 62)?;
                Some(both.split_at(*split))
            }
        }
    }

    /// Adds an entry, evicting the oldest until it fits; one larger than the table empties
    /// it and is not added ("not an error").
    pub(crate) fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = entry_size(name, value);
        while self.size + size > self.max {
            let Some((both, _)) = self.entries.pop_back() else {
                break;
            };
            self.size -= both.len() + 32;
        }
        if size <= self.max {
            let mut both = Vec::with_capacity(name.len() + value.len());
            both.extend_from_slice(name);
            both.extend_from_slice(value);
            self.entries
                .push_front((both.into_boxed_slice(), name.len()));
            self.size += size;
        }
    }

    /// A new maximum size (a size update), evicting what no longer fits.
    pub(crate) fn resize(&mut self, max: usize) {
        self.max = max;
        while self.size > self.max {
            let Some((both, _)) = self.entries.pop_back() else {
                break;
            };
            self.size -= both.len() + 32;
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }
}
