//! Request ids: the client's (or a proxy's) `X-Request-Id` when it is a sane one, else one
//! made here without allocating, unique within the process and unlikely to repeat across
//! its restarts.

use std::fmt;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest incoming `X-Request-Id` kept; a longer one is replaced by a made one.
pub const MAX_INCOMING_ID: usize = 128;

/// The id of one request, for logs, failures and the access log. Displays as the
/// incoming value, or as `PPPPPPPP-W-N`: a tag of this process, the worker, and the
/// worker's request count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestId<'a> {
    /// A valid `X-Request-Id` the request carried: 1 to 128 visible ASCII characters.
    Incoming(&'a str),
    /// Made here: the worker and its request count.
    Made {
        /// The worker that answered.
        worker: usize,
        /// Requests the worker's loop had taken before this one.
        seq: u64,
    },
}

impl<'a> RequestId<'a> {
    /// The request's id: its `X-Request-Id` if valid, else one made from `worker` and
    /// `seq`.
    pub(crate) fn of(header: Option<&'a [u8]>, worker: usize, seq: u64) -> RequestId<'a> {
        match header.filter(|v| is_valid(v)).map(std::str::from_utf8) {
            Some(Ok(id)) => RequestId::Incoming(id),
            _ => RequestId::Made { worker, seq },
        }
    }
}

impl fmt::Display for RequestId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Incoming(id) => f.write_str(id),
            RequestId::Made { worker, seq } => {
                write!(f, "{:08x}-{worker}-{seq:x}", process_tag())
            }
        }
    }
}

/// Visible ASCII only: an id goes into log lines and headers as is.
fn is_valid(value: &[u8]) -> bool {
    (1..=MAX_INCOMING_ID).contains(&value.len()) && value.iter().all(|b| (b'!'..=b'~').contains(b))
}

/// 32 bits that tell this process from the ones before it: the start time mixed with the
/// process id.
fn process_tag() -> u32 {
    static TAG: OnceLock<u32> = OnceLock::new();
    *TAG.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mixed = (nanos ^ u64::from(std::process::id()).rotate_left(32))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed >> 32) as u32
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_ids_are_kept_when_sane() {
        let cases: &[(Option<&[u8]>, bool)] = &[
            (Some(b"abc-123"), true),
            (Some(b"f81d4fae-7dec-11d0-a765-00a0c91e6bf6"), true),
            (Some(b""), false),
            (Some(b"has space"), false),
            (Some(b"line\r\nbreak"), false),
            (Some(&[b'x'; 129]), false),
            (Some(b"\xff"), false),
            (None, false),
        ];
        for (header, kept) in cases {
            let id = RequestId::of(*header, 1, 7);
            assert_eq!(matches!(id, RequestId::Incoming(_)), *kept, "{header:?}");
        }
    }

    #[test]
    fn made_ids_differ_by_worker_and_count() {
        let a = RequestId::of(None, 0, 1).to_string();
        let b = RequestId::of(None, 0, 2).to_string();
        let c = RequestId::of(None, 1, 1).to_string();
        assert!(a != b && a != c && b != c, "{a} {b} {c}");
        assert!(a.ends_with("-0-1"), "{a}");
        assert_eq!(a.len(), 8 + 4);
    }
}
