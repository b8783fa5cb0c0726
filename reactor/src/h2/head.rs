//! A response's head as an HTTP/2 header block: the same [`Response`] a handler returns
//! for HTTP/1.1, checked by the same rules, written as `:status` and lowercase fields
//! (RFC 9113, section 8.2: "field names MUST be converted to lowercase"), without the
//! connection-specific fields HTTP/2 forbids, and with `content-length` where the body's
//! length is known.

use crate::h2::hpack::encode;
use crate::http::encode::{is_token, is_valid_value};
use crate::http::error::InvalidResponse;
use crate::http::response::Response;

/// How the body after the head goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// The response's own body (its length is sent).
    Own,
    /// A HEAD request: the length a GET would get, no body.
    HeadOnly,
    /// Streamed after the head (no length; DATA frames until END_STREAM).
    Streamed,
}

/// Appends `response`'s head as a header block. `server` and `date` are added unless the
/// response has its own.
///
/// # Errors
///
/// [`InvalidResponse`] by the rules of HTTP/1.1's encoder: a status outside 200..=599, a
/// name that is no token, a value with a control byte, a wrong `content-length`,
/// `transfer-encoding`, a body on 204 or 304.
pub fn response(
    response: &Response,
    server: &str,
    date: &[u8],
    body: Body,
    out: &mut Vec<u8>,
) -> Result<(), InvalidResponse> {
    if response.is_placeholder() {
        return Err(InvalidResponse::Placeholder);
    }
    let status = response.status();
    if !(200..=599).contains(&status) {
        return Err(InvalidResponse::Status(status));
    }
    let bodiless = status == 204 || status == 304;
    let length = response.body_len();
    if bodiless && length > 0 {
        return Err(InvalidResponse::BodyNotAllowed(status));
    }
    if body == Body::Streamed && (bodiless || length > 0) {
        return Err(InvalidResponse::StreamedHead(status));
    }
    let (mut own_server, mut own_date) = (false, false);
    let start = out.len();
    encode::status(status, out);
    if let Some(content_type) = response.content_type() {
        if !is_valid_value(content_type.as_bytes()) {
            out.truncate(start);
            return Err(InvalidResponse::HeaderValue {
                name: "Content-Type".to_owned(),
            });
        }
        encode::field(b"content-type", content_type.as_bytes(), out);
    }
    let mut lower = Vec::new();
    for (name, value) in response.headers() {
        let invalid = if !is_token(name.as_bytes()) {
            Some(InvalidResponse::HeaderName(name.to_owned()))
        } else if !is_valid_value(value.as_bytes()) {
            Some(InvalidResponse::HeaderValue {
                name: name.to_owned(),
            })
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            Some(InvalidResponse::TransferEncoding)
        } else if name.eq_ignore_ascii_case("content-length")
            && (value.trim().parse::<u64>().ok() != Some(length)
                || bodiless
                || body == Body::Streamed)
            && !(body == Body::HeadOnly && value.trim().parse::<u64>().is_ok())
        {
            Some(InvalidResponse::ContentLength {
                declared: value.to_owned(),
                actual: length as usize,
            })
        } else {
            None
        };
        if let Some(invalid) = invalid {
            out.truncate(start);
            return Err(invalid);
        }
        lower.clear();
        lower.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
        match lower.as_slice() {
            // Connection-specific: "An endpoint MUST NOT generate an HTTP/2 message
            // containing connection-specific header fields." Content-Length is written
            // below, once.
            b"connection" | b"keep-alive" | b"proxy-connection" | b"upgrade"
            | b"content-length" => continue,
            b"server" => own_server = true,
            b"date" => own_date = true,
            _ => {}
        }
        encode::field(&lower, value.as_bytes(), out);
    }
    if !own_server {
        encode::field(b"server", server.as_bytes(), out);
    }
    if !own_date {
        encode::field(b"date", date, out);
    }
    if !bodiless && body != Body::Streamed {
        let declared = response
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(length);
        encode::field(
            b"content-length",
            itoa::Buffer::new().format(declared).as_bytes(),
            out,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::hpack::decode::{Decoder, Fields};
    use crate::h2::hpack::tests::listed;

    fn decoded(block: &[u8]) -> Vec<(String, String)> {
        let mut fields = Fields::default();
        Decoder::new(4096)
            .decode(block, &mut fields)
            .expect("valid");
        listed(&fields)
    }

    #[test]
    fn a_response_becomes_lowercase_fields_without_connection_ones() {
        let response = Response::text("hello")
            .with_header("X-Request-Id", "w0-1")
            .with_header("Connection", "close")
            .with_header("Cache-Control", "no-store");
        let mut block = Vec::new();
        super::response(
            &response,
            "warden",
            b"Mon, 07 Dec 2026 20:00:00 GMT",
            Body::Own,
            &mut block,
        )
        .expect("valid");
        let fields = decoded(&block);
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                ":status",
                "content-type",
                "x-request-id",
                "cache-control",
                "server",
                "date",
                "content-length"
            ]
        );
        assert_eq!(fields.last().map(|(_, v)| v.as_str()), Some("5"));
        let mut streamed = Vec::new();
        super::response(
            &Response::new(200),
            "warden",
            b"d",
            Body::Streamed,
            &mut streamed,
        )
        .expect("valid");
        assert!(
            !decoded(&streamed)
                .iter()
                .any(|(n, _)| n == "content-length")
        );
    }

    #[test]
    fn invalid_responses_are_refused_as_on_http_1_1() {
        let cases = [
            (Response::new(199), Body::Own),
            (
                Response::text("x").with_header("Transfer-Encoding", "chunked"),
                Body::Own,
            ),
            (Response::text("x").with_header("Bad Name", "1"), Body::Own),
            (Response::text("x").with_header("X", "a\r\nb"), Body::Own),
            (
                Response::text("x").with_header("Content-Length", "7"),
                Body::Own,
            ),
            (Response::text("x").with_status(204), Body::Own),
            (Response::text("x"), Body::Streamed),
        ];
        for (response, body) in cases {
            let mut block = Vec::new();
            assert!(
                super::response(&response, "w", b"d", body, &mut block).is_err(),
                "{response:?}"
            );
            assert!(block.is_empty(), "nothing is left of a refused head");
        }
    }
}
