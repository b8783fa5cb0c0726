//! W3C Trace Context: the trace a request belongs to, from its `traceparent` header, so
//! that logs and failures join the caller's trace.
//!
//! "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01": version,
//! trace-id, parent-id, trace-flags, each lowercase hex (W3C Trace Context, 3.2). Only a
//! valid header is kept; anything else is ignored, never echoed.

/// The trace-id of a `traceparent` value, if the value is valid.
///
/// Version 00 is exactly 55 characters. "If a higher version is detected, the
/// implementation SHOULD try to parse it by trying the following: if the size of the header
/// is shorter than 55 characters, the vendor should not parse the header", and past 55
/// the next character must be `-`. Version `ff` is invalid, as are an all-zero trace-id or
/// parent-id.
pub(crate) fn trace_id(value: &[u8]) -> Option<&str> {
    if value.len() < 55 {
        return None;
    }
    let (version, rest) = value.split_at(2);
    if !is_hex(version) || version == b"ff" {
        return None;
    }
    if version == b"00" && value.len() != 55 {
        return None;
    }
    if value.len() > 55 && value[55] != b'-' {
        return None;
    }
    let (trace, parent, flags) = (&rest[1..33], &rest[34..50], &rest[51..53]);
    if rest[0] != b'-' || rest[33] != b'-' || rest[50] != b'-' {
        return None;
    }
    if !is_hex(trace) || !is_hex(parent) || !is_hex(flags) {
        return None;
    }
    if trace.iter().all(|&b| b == b'0') || parent.iter().all(|&b| b == b'0') {
        return None;
    }
    std::str::from_utf8(trace).ok()
}

/// The trace-id of a request's headers: only when exactly one `traceparent` is there (two
/// cannot both be the caller's).
pub(crate) fn of_headers<'h>(
    mut headers: impl Iterator<Item = (&'h str, &'h [u8])>,
) -> Option<&'h str> {
    let mut found = None;
    for (name, value) in &mut headers {
        if name.eq_ignore_ascii_case("traceparent") {
            if found.is_some() {
                return None;
            }
            found = Some(value);
        }
    }
    found.and_then(trace_id)
}

/// Lowercase hex only: "HEXDIGLC = DIGIT / "a" / "b" / "c" / "d" / "e" / "f"".
fn is_hex(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn valid_and_invalid_values() {
        let cases: &[(&str, Option<&str>)] = &[
            (VALID, Some("4bf92f3577b34da6a3ce929d0e0e4736")),
            // A future version may append fields after a dash.
            (
                "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds",
                Some("4bf92f3577b34da6a3ce929d0e0e4736"),
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
                None,
            ),
            (
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                None,
            ),
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                None,
            ),
            (
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                None,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                None,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
                None,
            ),
            (
                "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                None,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
                None,
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736\"00f067aa0ba902b7-01",
                None,
            ),
            ("", None),
            ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", None),
        ];
        for (value, expected) in cases {
            assert_eq!(trace_id(value.as_bytes()), *expected, "{value:?}");
        }
    }

    #[test]
    fn two_traceparents_are_none() {
        let one = [("TraceParent", VALID.as_bytes())];
        assert!(of_headers(one.iter().copied()).is_some());
        let two = [
            ("traceparent", VALID.as_bytes()),
            ("traceparent", VALID.as_bytes()),
        ];
        assert_eq!(of_headers(two.iter().copied()), None);
        assert_eq!(of_headers([("host", &b"x"[..])].iter().copied()), None);
    }
}
