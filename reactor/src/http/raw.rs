//! What can be read off a request head the parser refused: enough for the refusal's log
//! line and its echoed request id. Nothing here is trusted: every field is taken only if
//! it is plain visible ASCII, and then only for logging (escaped there).

use crate::http::request_id::MAX_INCOMING_ID;

/// The parts of a refused head that could be read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawHead<'a> {
    pub(crate) method: Option<&'a str>,
    pub(crate) target: Option<&'a str>,
    pub(crate) request_id: Option<&'a [u8]>,
    pub(crate) user_agent: Option<&'a [u8]>,
}

/// The most of a buffer looked at: a refused head may be anything up to the head limit.
const LOOK: usize = 16 * 1024;

/// Reads the request line and the `X-Request-Id` and `User-Agent` fields of `buf`, as far
/// as they are there and well formed.
pub(crate) fn scan(buf: &[u8]) -> RawHead<'_> {
    let buf = &buf[..buf.len().min(LOOK)];
    let mut lines = buf
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let mut head = RawHead::default();
    let Some(request_line) = lines.next() else {
        return head;
    };
    let mut parts = request_line.splitn(3, |&b| b == b' ');
    head.method = parts
        .next()
        .filter(|m| !m.is_empty() && m.len() <= 32 && m.iter().all(u8::is_ascii_alphabetic))
        .and_then(|m| std::str::from_utf8(m).ok());
    head.target = parts
        .next()
        .filter(|t| !t.is_empty() && t.iter().all(u8::is_ascii_graphic))
        .and_then(|t| std::str::from_utf8(t).ok());
    for line in lines {
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"x-request-id")
            && (1..=MAX_INCOMING_ID).contains(&value.len())
            && value.iter().all(u8::is_ascii_graphic)
        {
            head.request_id.get_or_insert(value);
        } else if name.eq_ignore_ascii_case(b"user-agent") {
            head.user_agent.get_or_insert(value);
        }
    }
    head
}

fn trim(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    &value[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_refused_head_gives() {
        let head = scan(b"GET /a\"b HTTP/1.1\r\nX-Request-Id:  abc \r\nUser-Agent: curl/8\r\nBad\r\n\r\nX-Request-Id: later\r\n");
        assert_eq!(head.method, Some("GET"));
        assert_eq!(head.target, Some("/a\"b"));
        assert_eq!(head.request_id, Some(&b"abc"[..]));
        assert_eq!(head.user_agent, Some(&b"curl/8"[..]));

        // A TLS ClientHello, binary junk, an empty buffer: nothing.
        assert_eq!(
            scan(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
            RawHead::default()
        );
        assert_eq!(scan(b""), RawHead::default());
        // An id with a space or too long is not an id.
        let long = format!(
            "GET / HTTP/1.1\r\nx-request-id: {}\r\n\r\n",
            "a".repeat(129)
        );
        assert_eq!(scan(long.as_bytes()).request_id, None);
        assert_eq!(
            scan(b"GET / HTTP/1.1\r\nx-request-id: a b\r\n\r\n").request_id,
            None
        );
    }
}
