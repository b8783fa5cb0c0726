//! Response encoding: validation, then one append per piece into the connection's output.

use crate::http::date::DATE_LEN;
use crate::http::error::InvalidResponse;
use crate::http::parse::Answering;
use crate::http::response::Response;
use crate::http::status::status_line;

/// The interim response sent before reading a body the client holds back
/// (`Expect: 100-continue`).
pub(crate) const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What the encoder needs to know about the request being answered.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exchange {
    /// What the request's method means for the response's framing.
    pub answering: Answering,
    /// The connection closes after this response (announced with `Connection: close`).
    pub close: bool,
    /// The request was HTTP/1.0 and asked to keep the connection: say `keep-alive`.
    pub http10_keep_alive: bool,
}

/// Per-reactor pieces of every response, formatted once (the date once a second).
#[derive(Debug)]
pub(crate) struct Preamble {
    /// `Server: <name>\r\n`.
    server_line: Vec<u8>,
    /// `HTTP/1.1 200 OK\r\nServer: <name>\r\nDate: <date>\r\n`: the start of most
    /// responses, in one copy.
    ok_head: Vec<u8>,
}

impl Preamble {
    /// Fails if `server_name` could not be sent as a header value.
    pub(crate) fn new(server_name: &str) -> Result<Preamble, InvalidResponse> {
        if !is_valid_value(server_name.as_bytes()) {
            return Err(InvalidResponse::HeaderValue {
                name: "Server".to_owned(),
            });
        }
        let mut server_line = b"Server: ".to_vec();
        server_line.extend_from_slice(server_name.as_bytes());
        server_line.extend_from_slice(b"\r\n");
        let mut ok_head = b"HTTP/1.1 200 OK\r\n".to_vec();
        ok_head.extend_from_slice(&server_line);
        ok_head.extend_from_slice(b"Date: ");
        ok_head.extend_from_slice(&[b' '; DATE_LEN]);
        ok_head.extend_from_slice(b"\r\n");
        Ok(Preamble {
            server_line,
            ok_head,
        })
    }

    /// Puts the current date into the cached head.
    pub(crate) fn set_date(&mut self, date: &[u8; DATE_LEN]) {
        let end = self.ok_head.len() - 2;
        self.ok_head[end - DATE_LEN..end].copy_from_slice(date);
    }
}

/// How a response's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Length {
    /// The response's own body, with `Content-Length`.
    Body,
    /// A body streamed after the head in chunks (`Transfer-Encoding: chunked`).
    Chunked,
    /// A body streamed after the head and ended by closing the connection (HTTP/1.0).
    UntilClose,
    /// No body: `101 Switching Protocols`, after which the connection speaks another
    /// protocol.
    Switch,
}

/// Appends `response` to `out`. Nothing is appended when the response is invalid.
/// Returns whether the connection must close after it: the exchange said so, or the
/// handler set `Connection: close`.
// Its own function, specialized for `Length::Body` by inlining `encode_with` (whose other
// modes fold away): the encoder every ordinary response takes stays as lean as before
// streaming existed.
pub(crate) fn encode(
    response: &Response,
    exchange: Exchange,
    preamble: &Preamble,
    date: &[u8; DATE_LEN],
    out: &mut Vec<u8>,
) -> Result<bool, InvalidResponse> {
    encode_with(response, exchange, Length::Body, preamble, date, out)
}

/// [`encode`], with the body delimited as `length` says: the head of a streamed response
/// has no `Content-Length` (and must not set one); its body follows. Inlined into each
/// caller, so a constant `length` folds the other modes' branches away.
#[inline(always)]
pub(crate) fn encode_with(
    response: &Response,
    exchange: Exchange,
    length: Length,
    preamble: &Preamble,
    date: &[u8; DATE_LEN],
    out: &mut Vec<u8>,
) -> Result<bool, InvalidResponse> {
    if response.is_placeholder() {
        return Err(InvalidResponse::Placeholder);
    }
    let status = response.status();
    let allowed = match length {
        Length::Switch => status == 101,
        _ => (200..=599).contains(&status),
    };
    if !allowed {
        return Err(InvalidResponse::Status(status));
    }
    // 204 and 304 have no content, and so no length either (RFC 9110 8.6, 15.4.5). "A
    // server MUST NOT send any Transfer-Encoding or Content-Length header fields in a 2xx
    // (Successful) response to CONNECT" (RFC 9110 9.3.6): after it the connection is a
    // tunnel, which warden does not run, so it closes after the response.
    let tunnel = exchange.answering == Answering::Connect && (200..300).contains(&status);
    let bodiless = status == 204 || status == 304 || status == 101 || tunnel;
    let body_len = response.body_len();
    let body = response.body();
    if bodiless && body_len > 0 {
        return Err(InvalidResponse::BodyNotAllowed(status));
    }
    let head_only = exchange.answering == Answering::Head;

    // Validate every header before appending anything.
    let mut own_server = false;
    let mut own_date = false;
    let mut close = exchange.close || tunnel || length == Length::UntilClose;
    if matches!(length, Length::Chunked | Length::UntilClose) && (bodiless || body_len > 0) {
        return Err(InvalidResponse::StreamedHead(status));
    }
    if length == Length::Switch && response.header("upgrade").is_none() {
        return Err(InvalidResponse::NoUpgrade);
    }
    let mut declared_length: Option<u64> = None;
    if let Some(content_type) = response.content_type()
        && !is_valid_value(content_type.as_bytes())
    {
        return Err(InvalidResponse::HeaderValue {
            name: "Content-Type".to_owned(),
        });
    }
    for (name, value) in response.headers() {
        if !is_token(name.as_bytes()) {
            return Err(InvalidResponse::HeaderName(name.to_owned()));
        }
        if !is_valid_value(value.as_bytes()) {
            return Err(InvalidResponse::HeaderValue {
                name: name.to_owned(),
            });
        }
        match name.len() {
            4 if name.eq_ignore_ascii_case("date") => own_date = true,
            6 if name.eq_ignore_ascii_case("server") => own_server = true,
            10 if name.eq_ignore_ascii_case("connection") => {
                close |= value
                    .split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("close"));
            }
            14 if name.eq_ignore_ascii_case("content-length") => {
                let declared: Option<u64> = value.trim().parse().ok();
                // A HEAD response may declare the length of the body a GET would get.
                let fits = declared == Some(body_len)
                    || (head_only && body.is_empty() && declared.is_some());
                if !fits || bodiless || declared_length.is_some() || length != Length::Body {
                    return Err(InvalidResponse::ContentLength {
                        declared: value.to_owned(),
                        actual: body_len as usize,
                    });
                }
                declared_length = declared;
            }
            17 if name.eq_ignore_ascii_case("transfer-encoding") => {
                return Err(InvalidResponse::TransferEncoding);
            }
            _ => {}
        }
    }

    if status == 200 && !own_server && !own_date {
        out.extend_from_slice(&preamble.ok_head);
    } else {
        out.extend_from_slice(status_line(status).as_ref());
        if !own_server {
            out.extend_from_slice(&preamble.server_line);
        }
        if !own_date {
            out.extend_from_slice(b"Date: ");
            out.extend_from_slice(date);
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some(content_type) = response.content_type() {
        out.extend_from_slice(b"Content-Type: ");
        out.extend_from_slice(content_type.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in response.headers() {
        // Connection and Content-Length are warden's to write, once.
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if length == Length::Switch {
        // "A server that sends a 101 (Switching Protocols) response MUST send an Upgrade
        // header field" (the handler's), and Upgrade is a connection option.
        out.extend_from_slice(b"Connection: upgrade\r\n\r\n");
        return Ok(false);
    }
    if length == Length::Chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else if length == Length::UntilClose {
        // Delimited by the close, announced below.
    } else if !bodiless {
        out.extend_from_slice(b"Content-Length: ");
        let length = declared_length.unwrap_or(body_len);
        out.extend_from_slice(itoa::Buffer::new().format(length).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if exchange.http10_keep_alive {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(body);
    }
    Ok(close)
}

/// `token = 1*tchar` (RFC 9110 section 5.6.2).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// A field value holds visible characters, spaces, tabs and obs-text; never CR, LF, NUL or
/// another control byte ("a recipient of CR, LF, or NUL within a field value MUST either
/// reject the message or replace each of those characters with SP", RFC 9110 5.5: a sender
/// has no such leeway).
pub(crate) fn is_valid_value(v: &[u8]) -> bool {
    v.iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &[u8; DATE_LEN] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    fn keep() -> Exchange {
        Exchange {
            answering: Answering::Other,
            close: false,
            http10_keep_alive: false,
        }
    }

    fn render(response: &Response, exchange: Exchange) -> Result<(String, bool), InvalidResponse> {
        let mut preamble = Preamble::new("warden").expect("valid name");
        preamble.set_date(DATE);
        let mut out = Vec::new();
        let close = encode(response, exchange, &preamble, DATE, &mut out)?;
        Ok((String::from_utf8(out).expect("ascii"), close))
    }

    #[test]
    fn encodes_the_techempower_plaintext_response() {
        let (wire, close) = render(&Response::text("Hello, World!"), keep()).expect("valid");
        assert_eq!(
            wire,
            "HTTP/1.1 200 OK\r\nServer: warden\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!"
        );
        assert!(!close);
    }

    #[test]
    fn table() {
        let head = Exchange {
            answering: Answering::Head,
            ..keep()
        };
        let close = Exchange {
            close: true,
            ..keep()
        };
        let http10 = Exchange {
            http10_keep_alive: true,
            ..keep()
        };
        let connect = Exchange {
            answering: Answering::Connect,
            ..keep()
        };
        /// (name, response, exchange, fragments that must appear, fragments that must not,
        /// whether the connection closes)
        type Case = (
            &'static str,
            Response,
            Exchange,
            Vec<&'static str>,
            Vec<&'static str>,
            bool,
        );
        let cases: Vec<Case> = vec![
            (
                "head keeps length, drops body",
                Response::text("abc"),
                head,
                vec!["Content-Length: 3\r\n\r\n"],
                vec!["abc"],
                false,
            ),
            (
                "head may declare a length",
                Response::new(200).with_header("Content-Length", "99"),
                head,
                vec!["Content-Length: 99\r\n"],
                vec![],
                false,
            ),
            (
                "close announced",
                Response::text("x"),
                close,
                vec!["Connection: close\r\n"],
                vec![],
                true,
            ),
            (
                "http/1.0 keep-alive announced",
                Response::text("x"),
                http10,
                vec!["Connection: keep-alive\r\n"],
                vec![],
                false,
            ),
            (
                "handler closes",
                Response::text("x").with_header("Connection", "close"),
                keep(),
                vec!["Connection: close\r\n"],
                vec!["Connection: close\r\nConnection"],
                true,
            ),
            (
                "2xx to CONNECT has no length and ends the connection",
                Response::new(200),
                connect,
                vec!["200 OK", "Connection: close\r\n"],
                vec!["Content-Length"],
                true,
            ),
            (
                "an error to CONNECT is an ordinary response",
                Response::status_page(403),
                connect,
                vec!["Content-Length: 14\r\n"],
                vec!["Connection: close"],
                false,
            ),
            (
                "204 has no length",
                Response::new(204),
                keep(),
                vec!["204 No Content"],
                vec!["Content-Length"],
                false,
            ),
            (
                "304 has no length",
                Response::new(304),
                keep(),
                vec!["304 Not Modified"],
                vec!["Content-Length"],
                false,
            ),
            (
                "own server replaces ours",
                Response::text("x").with_header("Server", "mine"),
                keep(),
                vec!["Server: mine\r\n"],
                vec!["Server: warden"],
                false,
            ),
            (
                "own date replaces ours",
                Response::text("x").with_header("Date", "today"),
                keep(),
                vec!["Date: today\r\n"],
                vec!["1994"],
                false,
            ),
            (
                "matching length kept once",
                Response::text("abc").with_header("content-length", "3"),
                keep(),
                vec!["Content-Length: 3\r\n"],
                vec!["content-length"],
                false,
            ),
            (
                "unregistered status",
                Response::new(599),
                keep(),
                vec!["HTTP/1.1 599 \r\n", "Content-Length: 0"],
                vec![],
                false,
            ),
            (
                "custom headers in order",
                Response::new(200)
                    .with_header("X-A", "1")
                    .with_header("X-B", "\tv\x7f".replace('\x7f', "")),
                keep(),
                vec!["X-A: 1\r\nX-B: \tv\r\n"],
                vec![],
                false,
            ),
            (
                "obs-text value",
                Response::new(200).with_header("X-A", "caf\u{e9}"),
                keep(),
                vec!["X-A: caf\u{e9}\r\n"],
                vec![],
                false,
            ),
        ];
        for (name, response, exchange, present, absent, closes) in cases {
            let (wire, close) =
                render(&response, exchange).unwrap_or_else(|e| panic!("{name}: {e}"));
            for p in present {
                assert!(wire.contains(p), "{name}: {p:?} missing from {wire:?}");
            }
            for a in absent {
                assert!(!wire.contains(a), "{name}: {a:?} present in {wire:?}");
            }
            assert_eq!(close, closes, "{name}");
            assert!(wire.contains("\r\n\r\n"), "{name}: head is terminated");
        }
    }

    #[test]
    fn a_body_on_a_2xx_to_connect_is_refused() {
        let connect = Exchange {
            answering: Answering::Connect,
            ..keep()
        };
        assert_eq!(
            render(&Response::text("tunnel?"), connect).map(|_| ()),
            Err(InvalidResponse::BodyNotAllowed(200))
        );
    }

    #[test]
    fn invalid_responses_are_refused_and_write_nothing() {
        let cases: Vec<(&str, Response)> = vec![
            ("status 99", Response::new(99)),
            ("status 100", Response::new(100)),
            ("status 600", Response::new(600)),
            (
                "CRLF in value",
                Response::text("x").with_header("X-A", "a\r\nSet-Cookie: evil"),
            ),
            (
                "LF in value",
                Response::text("x").with_header("X-A", "a\nb"),
            ),
            (
                "CR in value",
                Response::text("x").with_header("X-A", "a\rb"),
            ),
            (
                "NUL in value",
                Response::text("x").with_header("X-A", "a\0b"),
            ),
            (
                "DEL in value",
                Response::text("x").with_header("X-A", "a\x7fb"),
            ),
            (
                "CR in content type",
                Response::text("x").with_content_type("text/plain\r\nX: y"),
            ),
            ("space in name", Response::text("x").with_header("X A", "b")),
            ("colon in name", Response::text("x").with_header("X:A", "b")),
            ("empty name", Response::text("x").with_header("", "b")),
            (
                "CRLF in name",
                Response::text("x").with_header("X\r\nA", "b"),
            ),
            (
                "wrong length",
                Response::text("abc").with_header("Content-Length", "4"),
            ),
            (
                "bad length",
                Response::text("abc").with_header("Content-Length", "x"),
            ),
            (
                "two lengths",
                Response::text("abc")
                    .with_header("Content-Length", "3")
                    .with_header("Content-Length", "3"),
            ),
            (
                "transfer-encoding",
                Response::text("abc").with_header("Transfer-Encoding", "chunked"),
            ),
            ("204 with body", Response::new(204).with_body(&b"x"[..])),
        ];
        let mut preamble = Preamble::new("warden").expect("valid name");
        preamble.set_date(DATE);
        for (name, response) in cases {
            let mut out = b"kept".to_vec();
            let result = encode(&response, keep(), &preamble, DATE, &mut out);
            assert!(result.is_err(), "{name} was accepted");
            assert_eq!(out, b"kept", "{name} appended bytes");
            assert!(!result.unwrap_err().to_string().is_empty());
        }
    }

    #[test]
    fn server_name_is_validated() {
        assert!(Preamble::new("warden/1.0").is_ok());
        assert!(Preamble::new("a\r\nb").is_err());
    }
}
