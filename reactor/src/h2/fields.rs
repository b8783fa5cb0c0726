//! What makes a request's fields well-formed (RFC 9113, section 8): pseudo-header fields
//! first, each once, only the request ones; names in lowercase; no connection-specific
//! field. "Malformed requests or responses that are detected MUST be treated as a stream
//! error of type PROTOCOL_ERROR."

use crate::h2::hpack::decode::Fields;

/// A request's pseudo-header fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pseudo<'a> {
    /// `:method`.
    pub method: &'a [u8],
    /// `:scheme`.
    pub scheme: &'a [u8],
    /// `:path`.
    pub path: &'a [u8],
    /// `:authority`, if sent.
    pub authority: Option<&'a [u8]>,
}

/// Checks a request's header section; `Ok` with its pseudo-header fields.
///
/// # Errors
///
/// Why the request is malformed.
pub fn request(fields: &Fields) -> Result<Pseudo<'_>, &'static str> {
    let mut pseudo = Pseudo::default();
    let (mut method, mut scheme, mut path) = (None, None, None);
    let mut regular = false;
    for (name, value) in fields.iter() {
        if let Some(which) = name.strip_prefix(b":") {
            // "All pseudo-header fields MUST appear in a field block before all regular
            // field lines."
            if regular {
                return Err("a pseudo-header field after a regular one");
            }
            let slot = match which {
                b"method" => &mut method,
                b"scheme" => &mut scheme,
                b"path" => &mut path,
                b"authority" => {
                    if pseudo.authority.replace(value).is_some() {
                        return Err("a pseudo-header field twice");
                    }
                    continue;
                }
                _ => return Err("an unknown or response pseudo-header field"),
            };
            if slot.replace(value).is_some() {
                return Err("a pseudo-header field twice");
            }
            continue;
        }
        regular = true;
        regular_field(name, value)?;
    }
    // "All HTTP/2 requests MUST include exactly one valid value for the :method, :scheme,
    // and :path pseudo-header fields, unless they are CONNECT requests". CONNECT is not
    // served here (no extended CONNECT is advertised): it is answered 405 above this layer,
    // and still needs :method and :authority.
    pseudo.method = method.ok_or("no :method")?;
    if pseudo.method == b"CONNECT" {
        if scheme.is_some() || path.is_some() || pseudo.authority.is_none() {
            return Err("a CONNECT request is :method and :authority only");
        }
        return Ok(pseudo);
    }
    pseudo.scheme = scheme.ok_or("no :scheme")?;
    pseudo.path = path.ok_or("no :path")?;
    if pseudo.path.is_empty() {
        return Err("an empty :path");
    }
    Ok(pseudo)
}

/// Checks a trailer section: regular fields only.
///
/// # Errors
///
/// Why the trailers are malformed.
pub fn trailers(fields: &Fields) -> Result<(), &'static str> {
    for (name, value) in fields.iter() {
        if name.starts_with(b":") {
            return Err("a pseudo-header field in trailers");
        }
        regular_field(name, value)?;
    }
    Ok(())
}

fn regular_field(name: &[u8], value: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("an empty field name");
    }
    // "A field name MUST NOT contain characters in the ranges 0x00-0x20, 0x41-0x5a, or
    // 0x7f-0xff (all ranges inclusive)."
    if name
        .iter()
        .any(|&b| b <= 0x20 || b.is_ascii_uppercase() || b >= 0x7f || b == b':')
    {
        return Err("a field name with an uppercase letter or a character not allowed");
    }
    // "A field value MUST NOT contain the zero value (ASCII NUL, 0x00), line feed (ASCII
    // LF, 0x0a), or carriage return (ASCII CR, 0x0d) at any position", nor begin or end
    // with whitespace.
    if value.iter().any(|&b| matches!(b, 0 | b'\n' | b'\r'))
        || value.first().is_some_and(|&b| b == b' ' || b == b'\t')
        || value.last().is_some_and(|&b| b == b' ' || b == b'\t')
    {
        return Err("a field value with a character not allowed");
    }
    // "An endpoint MUST NOT generate an HTTP/2 message containing connection-specific
    // header fields... any message containing connection-specific header fields MUST be
    // treated as malformed"; TE "MAY be present ... but it MUST NOT contain any value
    // other than trailers".
    match name {
        b"connection" | b"keep-alive" | b"proxy-connection" | b"transfer-encoding" | b"upgrade" => {
            Err("a connection-specific field")
        }
        b"te" if value != b"trailers" => Err("TE other than trailers"),
        _ => Ok(()),
    }
}
