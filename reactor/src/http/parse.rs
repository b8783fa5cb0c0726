//! Request heads: httparse for the grammar, then the RFC 9112 framing rules on top.
//!
//! Like httparse, an incomplete head is `Status::Partial`, never an error; an error is input
//! that can never become a valid request, and each error names the one status it earns.

use std::mem::MaybeUninit;

use httparse::Header;

use crate::http::error::RequestError;
use crate::http::limits::{HEADER_SLOTS, Limits};

/// Parsing made progress, or needs more bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Status<T> {
    /// A whole head was parsed.
    Complete(T),
    /// The bytes so far are a valid prefix; read more.
    Partial,
}

/// The protocol version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Version {
    /// HTTP/1.0: connections close after each response unless the client asks otherwise.
    Http10,
    /// HTTP/1.1: connections persist unless either side says `Connection: close`.
    Http11,
}

impl Version {
    /// The version as it appears on the wire, e.g. `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// How a request's body is delimited (RFC 9112 section 6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No Content-Length and no Transfer-Encoding: the body is empty.
    Empty,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What a request's method means for the framing of its response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answering {
    /// Any method but the two below.
    Other,
    /// `HEAD`: the response carries headers only (RFC 9110 section 9.3.2).
    Head,
    /// `CONNECT`: a 2xx response starts a tunnel and carries no length (RFC 9110 section
    /// 9.3.6).
    Connect,
}

/// What the connection needs to know about a head, without borrowing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeadInfo {
    /// Bytes of the head, up to and including the empty line that ends it.
    pub len: usize,
    pub version: Version,
    pub framing: Framing,
    /// Whether the client lets the connection persist after this exchange.
    pub keep_alive: bool,
    /// `Expect: 100-continue` on HTTP/1.1.
    pub expect_continue: bool,
    /// What the method means for the response's framing.
    pub answering: Answering,
}

/// A parsed request head, borrowing the buffer it came from.
#[derive(Debug)]
pub(crate) struct Head<'h, 'b> {
    pub method: &'b str,
    pub target: &'b str,
    pub headers: &'h [Header<'b>],
    pub info: HeadInfo,
}

/// Header slots for one parse, left uninitialized: httparse fills only what it uses.
pub(crate) type Slots<'b> = [MaybeUninit<Header<'b>>; HEADER_SLOTS];

/// Fresh slots; building them costs nothing at run time.
pub(crate) fn slots<'b>() -> Slots<'b> {
    [const { MaybeUninit::uninit() }; HEADER_SLOTS]
}

/// Parses one request head from the start of `buf`, applying `limits`.
///
/// A bare LF ends a line as CRLF does: "Although the line terminator for the start-line
/// and fields is the sequence CRLF, a recipient MAY recognize a single LF as a line
/// terminator and ignore any preceding CR" (RFC 9112 section 2.2). A bare CR is refused.
/// A head that mixes the two endings is accepted too: httparse reads every line end the
/// same way, so the mix cannot make it see a different message than it reports, and
/// refusing it would cost a scan of every head. The risk it carries is a front proxy
/// that treats bare LF differently; behind such a proxy, normalize at the proxy.
pub(crate) fn parse_head<'h, 'b>(
    buf: &'b [u8],
    slots: &'h mut Slots<'b>,
    limits: Limits,
) -> Result<Status<Head<'h, 'b>>, RequestError> {
    let mut req = httparse::Request::new(&mut []);
    let parsed = req.parse_with_uninit_headers(buf, &mut slots[..limits.header_slots()]);
    match parsed {
        Ok(httparse::Status::Partial) => {
            check_line_length(buf, limits)?;
            if buf.len() >= limits.max_head {
                return Err(RequestError::HeadTooLarge);
            }
            Ok(Status::Partial)
        }
        Ok(httparse::Status::Complete(len)) => {
            if len > limits.max_request_line {
                check_line_length(buf, limits)?;
            }
            if len > limits.max_head {
                return Err(RequestError::HeadTooLarge);
            }
            let method = req
                .method
                .expect("httparse sets the method of a complete head");
            let target = req
                .path
                .expect("httparse sets the target of a complete head");
            let version = match req.version {
                Some(0) => Version::Http10,
                _ => Version::Http11,
            };
            check_target(method, target)?;
            let info = head_info(method, version, req.headers, len)?;
            Ok(Status::Complete(Head {
                method,
                target,
                headers: req.headers,
                info,
            }))
        }
        Err(e) => {
            // A limit the input crossed before its error wins, so the answer does not
            // depend on how much of the input had arrived when it was parsed.
            if let Some(limit) = limit_crossed_first(buf, limits) {
                return Err(limit);
            }
            match e {
                httparse::Error::Version => version_error(buf),
                httparse::Error::TooManyHeaders => Err(RequestError::TooManyHeaders),
                httparse::Error::Token => Err(RequestError::RequestLine),
                httparse::Error::HeaderName => Err(RequestError::HeaderName),
                httparse::Error::HeaderValue => Err(RequestError::HeaderValue),
                httparse::Error::NewLine | httparse::Error::Status => Err(RequestError::LineEnding),
            }
        }
    }
}

/// For input with an error somewhere: whether a limit was crossed before it, that is,
/// whether the longest prefix within the limit is still a valid start of a request.
fn limit_crossed_first(buf: &[u8], limits: Limits) -> Option<RequestError> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line_cut = start + limits.max_request_line + 1;
    if buf.len() >= line_cut
        && !buf[start..line_cut].contains(&b'\n')
        && is_valid_start(&buf[..line_cut])
    {
        return Some(RequestError::UriTooLong);
    }
    if buf.len() >= limits.max_head && is_valid_start(&buf[..limits.max_head]) {
        return Some(RequestError::HeadTooLarge);
    }
    None
}

/// Whether `prefix` could still begin a valid request (httparse needs more, or waits to
/// tell a well-formed other version from a malformed one).
fn is_valid_start(prefix: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; HEADER_SLOTS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(prefix) {
        Ok(httparse::Status::Partial) => true,
        Err(httparse::Error::Version) => request_line(prefix).0.is_none(),
        _ => false,
    }
}

/// The request line, without the empty lines a client may send before it
/// (RFC 9112 section 2.2: a server "SHOULD ignore at least one empty line").
/// `None` while its end has not arrived; the length is of the line without its CRLF,
/// or of what has arrived so far.
fn request_line(buf: &[u8]) -> (Option<&[u8]>, usize) {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    match rest.iter().position(|&b| b == b'\n') {
        Some(end) => {
            let line = &rest[..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (Some(line), line.len())
        }
        None => (None, rest.strip_suffix(b"\r").unwrap_or(rest).len()),
    }
}

/// "A server that receives a request-target longer than any URI it wishes to parse MUST
/// respond with a 414 (URI Too Long) status code" (RFC 9112 section 3).
fn check_line_length(buf: &[u8], limits: Limits) -> Result<(), RequestError> {
    let (_, len) = request_line(buf);
    if len > limits.max_request_line {
        Err(RequestError::UriTooLong)
    } else {
        Ok(())
    }
}

/// httparse knows HTTP/1.0 and HTTP/1.1 only. A well-formed other version earns 505; a
/// malformed one, 400. Which of the two can only be told once the line has ended.
fn version_error<'h, 'b>(buf: &[u8]) -> Result<Status<Head<'h, 'b>>, RequestError> {
    let line = match request_line(buf).0 {
        Some(line) => line,
        None => return Ok(Status::Partial),
    };
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or(line);
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Err(RequestError::VersionNotSupported)
        }
        _ => Err(RequestError::RequestLine),
    }
}

/// RFC 9112 section 3.2: origin-form and absolute-form for any method, authority-form only
/// for CONNECT, asterisk-form only for OPTIONS.
fn check_target(method: &str, target: &str) -> Result<(), RequestError> {
    let valid = if method == "CONNECT" {
        is_authority(target.as_bytes()) && target.contains(':')
    } else if target == "*" {
        method == "OPTIONS"
    } else {
        target.starts_with('/') || is_absolute_uri(target.as_bytes())
    };
    if valid {
        Ok(())
    } else {
        Err(RequestError::Target)
    }
}

/// `scheme "://" ...`, with scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
fn is_absolute_uri(target: &[u8]) -> bool {
    let Some(colon) = target.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &target[..colon];
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && target[colon..].starts_with(b"://")
}

/// `uri-host [ ":" port ]` as a Host value or a CONNECT target (RFC 9110 section 7.2).
/// An empty value is valid: a client "MUST send a Host header field with an empty field
/// value" when the target has no authority.
fn is_authority(value: &[u8]) -> bool {
    let (host, port) = if let Some(rest) = value.strip_prefix(b"[") {
        // IP-literal: "[" ( IPv6address / IPvFuture ) "]"
        let Some(close) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &rest[..close];
        if literal.is_empty()
            || !literal
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.' | b'v' | b'V'))
        {
            return false;
        }
        match &rest[close + 1..] {
            [] => return true,
            [b':', port @ ..] => (&b""[..], Some(port)),
            _ => return false,
        }
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (&value[..colon], Some(&value[colon + 1..])),
            None => (value, None),
        }
    };
    let host_ok = host.iter().all(|&b| REG_NAME[usize::from(b)]);
    let port_ok = port.is_none_or(|p| p.iter().all(u8::is_ascii_digit));
    host_ok && port_ok
}

/// Bytes of an RFC 3986 reg-name: unreserved, pct-encoded (`%` and hex digits) and
/// sub-delims. A table: every request's Host goes through it.
static REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        b += 1;
    }
    table
};

/// The framing and connection facts of a head, and the RFC 9112 rules that reject it.
fn head_info(
    method: &str,
    version: Version,
    headers: &[Header<'_>],
    len: usize,
) -> Result<HeadInfo, RequestError> {
    let mut content_length: Option<u64> = None;
    let mut te = TransferCodings::default();
    let mut hosts = 0u32;
    let mut close = false;
    let mut keep_alive = false;
    let mut expect_continue = false;

    for header in headers {
        let name = header.name.as_bytes();
        let value = header.value;
        // Dispatch on length first: most fields are none of these, and this costs one compare.
        match name.len() {
            4 if name.eq_ignore_ascii_case(b"host") => {
                hosts += 1;
                if !is_authority(value) {
                    return Err(RequestError::Host);
                }
            }
            6 if name.eq_ignore_ascii_case(b"expect") => {
                expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
            }
            10 if name.eq_ignore_ascii_case(b"connection") => {
                for token in list_elements(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        keep_alive = true;
                    }
                }
            }
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                // "If a message is received ... with multiple Content-Length header fields
                // having differing field-values, or with a single Content-Length header
                // field having an invalid value, then the message framing is invalid and
                // the recipient MUST treat it as an unrecoverable error" (RFC 9112 6.3).
                for element in value.split(|&b| b == b',') {
                    let n = parse_length(trim_ows(element))?;
                    match content_length {
                        Some(seen) if seen != n => return Err(RequestError::ContentLength),
                        _ => content_length = Some(n),
                    }
                }
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => te.add(value),
            _ => {}
        }
    }

    // "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request
    // message that lacks a Host header field and to any request message that contains more
    // than one Host header field line or a Host header field with an invalid field value."
    if hosts > 1 || (hosts == 0 && version == Version::Http11) {
        return Err(RequestError::Host);
    }

    let framing = if te.seen {
        // "A server MAY reject a request that contains both Content-Length and
        // Transfer-Encoding ... Regardless, the server MUST close the connection" (6.1);
        // we reject: the pair is the classic request smuggling vector.
        if content_length.is_some() {
            return Err(RequestError::ContentLengthWithTransferEncoding);
        }
        // "A server ... that receives an HTTP/1.0 message containing a Transfer-Encoding
        // header field MUST treat the message as if the framing is faulty" (6.1).
        if version == Version::Http10 {
            return Err(RequestError::TransferEncodingOnHttp10);
        }
        // "If a Transfer-Encoding header field is present in a request and the chunked
        // transfer coding is not the final encoding, ... the server MUST respond with the
        // 400 (Bad Request) status code and then close the connection" (6.3).
        if !te.last_is_chunked || te.chunked > 1 {
            return Err(RequestError::TransferEncoding);
        }
        // "A server that receives a request message with a transfer coding it does not
        // understand SHOULD respond with 501 (Not Implemented)" (7).
        if te.unknown {
            return Err(RequestError::UnknownTransferCoding);
        }
        Framing::Chunked
    } else {
        match content_length {
            None | Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
        }
    };

    let keep_alive = match version {
        Version::Http11 => !close,
        Version::Http10 => keep_alive && !close,
    };
    Ok(HeadInfo {
        len,
        version,
        framing,
        keep_alive,
        // "A server that receives a 100-continue expectation in an HTTP/1.0 request MUST
        // ignore that expectation" (RFC 9110 10.1.1).
        expect_continue: expect_continue && version == Version::Http11,
        answering: match method {
            "HEAD" => Answering::Head,
            "CONNECT" => Answering::Connect,
            _ => Answering::Other,
        },
    })
}

/// What the Transfer-Encoding fields of a request add up to; codings in several fields
/// form one list, in order.
#[derive(Default)]
struct TransferCodings {
    seen: bool,
    last_is_chunked: bool,
    chunked: u32,
    unknown: bool,
}

impl TransferCodings {
    fn add(&mut self, value: &[u8]) {
        self.seen = true;
        for coding in list_elements(value) {
            if coding.eq_ignore_ascii_case(b"chunked") {
                self.chunked += 1;
                self.last_is_chunked = true;
            } else {
                // warden decodes no compression codings: any other is one it doesn't
                // understand, parameters and disguises (`xchunked`, `chunked;x`) included.
                self.last_is_chunked = false;
                self.unknown = true;
            }
        }
    }
}

/// `Content-Length = 1*DIGIT`: no sign, no hex, no spaces inside, and no overflow.
fn parse_length(digits: &[u8]) -> Result<u64, RequestError> {
    if digits.is_empty() {
        return Err(RequestError::ContentLength);
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(RequestError::ContentLength);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(RequestError::ContentLength)
    })
}

/// The non-empty elements of a comma-separated list, without surrounding whitespace
/// ("A recipient MUST parse and ignore a reasonable number of empty list elements").
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Status<HeadInfo>, RequestError> {
        let limits = Limits::default();
        let mut slots = slots();
        parse_head(bytes, &mut slots, limits).map(|s| match s {
            Status::Complete(head) => Status::Complete(head.info),
            Status::Partial => Status::Partial,
        })
    }

    fn status_of(bytes: &[u8]) -> u16 {
        match parse(bytes) {
            Ok(Status::Complete(_)) => 200,
            Ok(Status::Partial) => 0,
            Err(e) => e.status(),
        }
    }

    /// Every rule of DESIGN.md's RFC 9112 list, as raw bytes and the status they earn
    /// (200: accepted; 0: incomplete, read more).
    const TABLE: &[(&str, &[u8], u16)] = &[
        ("simple get", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 200),
        ("http/1.0 without host", b"GET / HTTP/1.0\r\n\r\n", 200),
        ("bare LF line endings", b"GET / HTTP/1.1\nHost: a\n\n", 200),
        ("mixed line endings", b"GET / HTTP/1.1\r\nHost: a\n\r\n", 200),
        ("leading empty line", b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 200),
        ("options asterisk", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 200),
        ("absolute form", b"GET http://a.example/x?y HTTP/1.1\r\nHost: a\r\n\r\n", 200),
        ("connect authority", b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 200),
        ("empty host", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", 200),
        ("ipv6 host", b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 200),
        ("identical content-lengths", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 200),
        ("content-length list of equals", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 200),
        ("chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 200),
        ("chunked any case", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n", 200),
        ("partial line", b"GET / HTT", 0),
        ("partial head", b"GET / HTTP/1.1\r\nHost: a\r\n", 0),
        ("partial other version", b"GET / HTTP/2.0", 0),
        // 400 and close
        ("cl and te", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("differing content-lengths", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
        ("differing content-length list", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400),
        ("content-length plus", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400),
        ("content-length hex", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400),
        ("content-length negative", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
        ("content-length inner space", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", 400),
        ("content-length empty", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400),
        ("content-length overflow", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
        ("te last not chunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
        ("te xchunked", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 400),
        ("te chunked with parameter", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400),
        ("te chunked twice", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("te empty", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400),
        ("te on http/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("te split over fields", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        ("space before colon", b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400),
        ("tab before colon", b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n", 400),
        ("leading space on name", b"GET / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n", 400),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400),
        ("bare CR in value", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", 400),
        ("bare CR ending head", b"GET / HTTP/1.1\r\nHost: a\r\n\rX", 400),
        ("NUL in value", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n", 400),
        ("vertical tab in value", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x0bc\r\n\r\n", 400),
        ("name not a token", b"GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400),
        ("empty name", b"GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400),
        ("missing host", b"GET / HTTP/1.1\r\n\r\n", 400),
        ("duplicate host", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("duplicate host on 1.0", b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("invalid host", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        ("host with path", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
        ("host bad port", b"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400),
        ("host userinfo", b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
        ("no target", b"GET HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("two spaces", b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("lowercase version", b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),
        ("version garbage", b"GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400),
        ("version missing", b"GET /\r\nHost: a\r\n\r\n", 400),
        ("method not a token", b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("relative target", b"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("asterisk for get", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("connect origin form", b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        // 501 and 505
        ("unknown coding", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("http/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        ("http/0.9 style version", b"GET / HTTP/0.9\r\n\r\n", 505),
        ("http/1.2", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
    ];

    #[test]
    fn table() {
        for (name, bytes, want) in TABLE {
            assert_eq!(
                status_of(bytes),
                *want,
                "{name}: {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn every_split_gives_the_same_answer() {
        // A prefix is Partial, or already the final error; never a different answer.
        for (name, bytes, want) in TABLE {
            for cut in 0..bytes.len() {
                let got = status_of(&bytes[..cut]);
                assert!(
                    got == 0 || got == *want,
                    "{name}: prefix of {cut} bytes gave {got}, whole gives {want}"
                );
            }
        }
    }

    #[test]
    fn framing_and_persistence() {
        let cases: &[(&[u8], Framing, bool, bool)] = &[
            (
                b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                Framing::Empty,
                true,
                false,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                Framing::Empty,
                false,
                false,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, Close\r\n\r\n",
                Framing::Empty,
                false,
                false,
            ),
            (b"GET / HTTP/1.0\r\n\r\n", Framing::Empty, false, false),
            (
                b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                Framing::Empty,
                true,
                false,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
                Framing::Empty,
                true,
                false,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n",
                Framing::Length(12),
                true,
                false,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nExpect: 100-Continue\r\n\r\n",
                Framing::Length(12),
                true,
                true,
            ),
            (
                b"POST / HTTP/1.0\r\nContent-Length: 12\r\nExpect: 100-continue\r\n\r\n",
                Framing::Length(12),
                false,
                false,
            ),
            (
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                Framing::Chunked,
                true,
                false,
            ),
        ];
        for (bytes, framing, keep_alive, expect) in cases {
            let Ok(Status::Complete(info)) = parse(bytes) else {
                panic!("{:?} did not parse", String::from_utf8_lossy(bytes));
            };
            assert_eq!(info.framing, *framing);
            assert_eq!(info.keep_alive, *keep_alive);
            assert_eq!(info.expect_continue, *expect);
            assert_eq!(info.len, bytes.len());
        }
    }

    #[test]
    fn limits() {
        let limits = Limits::default();
        let long_target = format!(
            "GET /{} HTTP/1.1\r\nHost: a\r\n\r\n",
            "a".repeat(limits.max_request_line)
        );
        assert_eq!(status_of(long_target.as_bytes()), 414);
        // 414 as soon as the line is too long, before it ends.
        assert_eq!(
            status_of(&long_target.as_bytes()[..limits.max_request_line + 10]),
            414
        );

        let big_head = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
            "b".repeat(limits.max_head)
        );
        assert_eq!(status_of(big_head.as_bytes()), 431);
        assert_eq!(status_of(&big_head.as_bytes()[..limits.max_head + 1]), 431);

        let mut many = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 0..limits.max_headers {
            many.push_str(&format!("X-{i}: v\r\n"));
        }
        many.push_str("\r\n");
        assert_eq!(status_of(many.as_bytes()), 431);

        let mut enough = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
        for i in 1..limits.max_headers {
            enough.push_str(&format!("X-{i}: v\r\n"));
        }
        enough.push_str("\r\n");
        assert_eq!(status_of(enough.as_bytes()), 200);
    }

    #[test]
    fn the_first_problem_decides_however_much_has_arrived() {
        // Found by the connection fuzzer: an error early in a long line is a 400 whether
        // or not the rest of the line has arrived...
        let mut bad_early = b"G\x8aT /".to_vec();
        bad_early.extend(std::iter::repeat_n(b'a', 9000));
        for cut in [10, 100, 8194, bad_early.len()] {
            assert_eq!(status_of(&bad_early[..cut]), 400, "cut at {cut}");
        }
        // ...and a line already too long before its error is a 414 either way.
        let mut bad_late = b"GET /".to_vec();
        bad_late.extend(std::iter::repeat_n(b'a', 9000));
        bad_late.extend_from_slice(b"\x01 HTTP/1.1\r\n\r\n");
        for cut in [8200, 9004, bad_late.len()] {
            assert_eq!(status_of(&bad_late[..cut]), 414, "cut at {cut}");
        }
        // Likewise a head too large before its error.
        let mut big = b"GET / HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'v', 17000));
        big.extend_from_slice(b"\x00\r\n\r\n");
        for cut in [16384, 17000, big.len()] {
            assert_eq!(status_of(&big[..cut]), 431, "cut at {cut}");
        }
    }

    #[test]
    fn head_borrows_method_target_and_headers() {
        let limits = Limits::default();
        let mut slots = slots();
        let bytes = b"PUT /a?b=c HTTP/1.1\r\nHost: x\r\nX-Y:  z \r\n\r\nBODY";
        let Ok(Status::Complete(head)) = parse_head(bytes, &mut slots, limits) else {
            panic!("did not parse");
        };
        assert_eq!(head.method, "PUT");
        assert_eq!(head.target, "/a?b=c");
        assert_eq!(head.headers.len(), 2);
        assert_eq!(head.headers[1].value, b"z");
        assert_eq!(&bytes[head.info.len..], b"BODY");
    }
}
