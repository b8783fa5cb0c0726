//! An HTTP/2 request's fields as the request path reads them: the method and target from
//! the pseudo-header fields, the regular fields as headers, `host` from `:authority` when
//! no `host` field came (RFC 9113, section 8.3.1: ":authority ... MUST NOT be omitted"
//! for https and http, and clients use it in place of Host), and the `cookie` crumbs
//! joined (section 8.2.3: "these MUST be concatenated into a single octet string using
//! the two-octet delimiter of 0x3b, 0x20 (the ASCII string "; ") before being passed into
//! a non-HTTP/2 context").

use crate::h2::fields::Pseudo;
use crate::h2::hpack::decode::Fields;

/// The method and target of an HTTP/2 request, borrowed from its fields.
#[derive(Debug)]
pub struct Head<'a> {
    /// `:method`.
    pub method: &'a str,
    /// `:path` (origin form, with its query).
    pub target: &'a str,
}

/// Fills `headers` (cleared first) from `fields` in the form the request path reads
/// (httparse's, borrowed from the fields; the cookie crumbs joined into `cookies`), and
/// returns the method and target.
///
/// # Errors
///
/// Why the request cannot be read: a method or path that is not text, a field name that
/// is not text (the session checked names are lowercase tokens; this is their UTF-8).
pub fn head<'a>(
    pseudo: &Pseudo<'a>,
    fields: &'a Fields,
    cookies: &'a mut Vec<u8>,
    headers: &mut Vec<httparse::Header<'a>>,
) -> Result<Head<'a>, &'static str> {
    headers.clear();
    let method = std::str::from_utf8(pseudo.method).map_err(|_| "a :method that is not text")?;
    let target = std::str::from_utf8(pseudo.path).map_err(|_| "a :path that is not text")?;
    let mut host = false;
    let mut crumbs = 0;
    cookies.clear();
    for (name, value) in fields.iter() {
        if name.starts_with(b":") {
            continue;
        }
        if name == b"cookie" {
            if crumbs > 0 {
                cookies.extend_from_slice(b"; ");
            }
            cookies.extend_from_slice(value);
            crumbs += 1;
            continue;
        }
        host |= name == b"host";
        let name = std::str::from_utf8(name).map_err(|_| "a field name that is not text")?;
        headers.push(httparse::Header { name, value });
    }
    if !host && let Some(authority) = pseudo.authority {
        headers.push(httparse::Header {
            name: "host",
            value: authority,
        });
    }
    if crumbs > 0 {
        headers.push(httparse::Header {
            name: "cookie",
            value: cookies.as_slice(),
        });
    }
    Ok(Head { method, target })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::fields;
    use crate::h2::hpack::decode::Decoder;
    use crate::h2::hpack::encode;

    #[test]
    fn a_request_reads_as_on_http_1_1() {
        let mut block = Vec::new();
        for (name, value) in [
            (":method", "POST"),
            (":scheme", "https"),
            (":path", "/polls/7?x=1"),
            (":authority", "example.com"),
            ("cookie", "a=1"),
            ("content-type", "text/plain"),
            ("cookie", "b=2"),
        ] {
            encode::field(name.as_bytes(), value.as_bytes(), &mut block);
        }
        let mut decoded = Fields::default();
        Decoder::new(4096)
            .decode(&block, &mut decoded)
            .expect("valid");
        let pseudo = fields::request(&decoded).expect("well-formed");
        let (mut cookies, mut headers) = (Vec::new(), Vec::new());
        let head = super::head(&pseudo, &decoded, &mut cookies, &mut headers).expect("readable");
        assert_eq!((head.method, head.target), ("POST", "/polls/7?x=1"));
        let seen: Vec<(&str, &[u8])> = headers.iter().map(|h| (h.name, h.value)).collect();
        assert_eq!(
            seen,
            [
                ("content-type", &b"text/plain"[..]),
                ("host", b"example.com"),
                ("cookie", b"a=1; b=2"),
            ]
        );
    }
}
