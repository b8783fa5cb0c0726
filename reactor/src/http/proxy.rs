//! The PROXY protocol (HAProxy's, versions 1 and 2): the header a load balancer sends
//! before the client's bytes, saying whose connection this really is.
//!
//! Incomplete input is `Partial`, as with the HTTP parser: the header may arrive split
//! across reads. Everything is bounded: a v1 line is at most 107 bytes ("a receiver may
//! reject an incomplete line which does not contain the CRLF sequence in the first 107
//! characters"), a v2 header at most 16 bytes plus its stated length, which must fit the
//! head limit; TLVs after the addresses are skipped whole, whatever they hold.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The v2 signature: "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A".
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// The longest v1 line, CRLF included.
const V1_MAX: usize = 107;

/// What a complete header said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProxyHeader {
    /// The client's address, for a proxied connection; `None` for v2 `LOCAL` (the
    /// balancer's own health check) or v1 `UNKNOWN`: the connection's own peer stands.
    pub(crate) source: Option<SocketAddr>,
    /// The header's length: what the HTTP parser must skip.
    pub(crate) len: usize,
}

/// Why a header is refused. The connection is closed: nothing after a bad header can be
/// trusted to be the client's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProxyError {
    /// Neither signature: the balancer was not set up to send it, or the client is not
    /// behind one.
    Missing,
    /// A v1 line that is too long, or not `PROXY TCP4|TCP6|UNKNOWN ...` with valid
    /// addresses and ports.
    BadV1,
    /// A v2 header with an unknown version or command, or addresses that do not fit.
    BadV2,
    /// A v2 header longer than the head limit.
    TooLong,
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyError::Missing => "no PROXY protocol header from a source that must send one",
            ProxyError::BadV1 => "malformed PROXY protocol v1 header",
            ProxyError::BadV2 => "malformed PROXY protocol v2 header",
            ProxyError::TooLong => "PROXY protocol v2 header longer than the head limit",
        })
    }
}

/// Parses the header at the front of `buf`: `Ok(None)` when more bytes are needed.
pub(crate) fn parse(buf: &[u8], max: usize) -> Result<Option<ProxyHeader>, ProxyError> {
    // Compare what has arrived of each signature: a prefix of one is Partial.
    let v2 = buf.len().min(12);
    if buf[..v2] == V2_SIGNATURE[..v2] {
        return if buf.len() < 16 {
            Ok(None)
        } else {
            parse_v2(buf, max)
        };
    }
    let v1 = buf.len().min(6);
    if buf[..v1] == b"PROXY "[..v1] {
        return if buf.len() < 6 {
            Ok(None)
        } else {
            parse_v1(buf)
        };
    }
    Err(ProxyError::Missing)
}

fn parse_v1(buf: &[u8]) -> Result<Option<ProxyHeader>, ProxyError> {
    let look = &buf[..buf.len().min(V1_MAX)];
    let Some(end) = look.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Err(ProxyError::BadV1)
        } else {
            Ok(None)
        };
    };
    let line = std::str::from_utf8(&buf[6..end]).map_err(|_| ProxyError::BadV1)?;
    let len = end + 2;
    let mut fields = line.split(' ');
    let source = match fields.next() {
        // "the receiver must ignore anything presented before the CRLF is found".
        Some("UNKNOWN") => None,
        Some(family @ ("TCP4" | "TCP6")) => {
            let (Some(src), Some(_dst), Some(sport), Some(_dport), None) = (
                fields.next(),
                fields.next(),
                fields.next(),
                fields.next(),
                fields.next(),
            ) else {
                return Err(ProxyError::BadV1);
            };
            let ip: IpAddr = match family {
                "TCP4" => src.parse::<Ipv4Addr>().map(IpAddr::V4),
                _ => src.parse::<Ipv6Addr>().map(IpAddr::V6),
            }
            .map_err(|_| ProxyError::BadV1)?;
            Some(SocketAddr::new(ip, port(sport)?))
        }
        _ => return Err(ProxyError::BadV1),
    };
    Ok(Some(ProxyHeader { source, len }))
}

/// A v1 port: 0 to 65535 in decimal, without a leading zero.
fn port(text: &str) -> Result<u16, ProxyError> {
    if text.is_empty() || text.len() > 5 || (text.len() > 1 && text.starts_with('0')) {
        return Err(ProxyError::BadV1);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProxyError::BadV1);
    }
    text.parse().map_err(|_| ProxyError::BadV1)
}

fn parse_v2(buf: &[u8], max: usize) -> Result<Option<ProxyHeader>, ProxyError> {
    let version_command = buf[12];
    let family = buf[13];
    let stated = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let len = 16 + stated;
    if len > max {
        return Err(ProxyError::TooLong);
    }
    if version_command >> 4 != 2 {
        return Err(ProxyError::BadV2);
    }
    let local = match version_command & 0x0f {
        0 => true,
        1 => false,
        _ => return Err(ProxyError::BadV2),
    };
    if buf.len() < len {
        return Ok(None);
    }
    let addresses = &buf[16..len];
    // "the receiver MUST accept this connection as valid and MUST use the real
    // connection endpoints and discard the protocol block including the family" (LOCAL).
    if local {
        return Ok(Some(ProxyHeader { source: None, len }));
    }
    let source = match family >> 4 {
        // AF_INET: 4 + 4 + 2 + 2 bytes.
        1 => {
            let a = addresses.get(..12).ok_or(ProxyError::BadV2)?;
            let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            Some(SocketAddr::new(
                IpAddr::V4(ip),
                u16::from_be_bytes([a[8], a[9]]),
            ))
        }
        // AF_INET6: 16 + 16 + 2 + 2 bytes.
        2 => {
            let a = addresses.get(..36).ok_or(ProxyError::BadV2)?;
            let octets: [u8; 16] = a[..16].try_into().expect("sixteen bytes");
            let ip = Ipv6Addr::from(octets);
            Some(SocketAddr::new(
                IpAddr::V6(ip),
                u16::from_be_bytes([a[32], a[33]]),
            ))
        }
        // AF_UNSPEC, AF_UNIX: "the receiver ... MUST use the real connection endpoints".
        0 | 3 => None,
        _ => return Err(ProxyError::BadV2),
    };
    Ok(Some(ProxyHeader { source, len }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(command: u8, family: u8, body: &[u8]) -> Vec<u8> {
        let mut h = V2_SIGNATURE.to_vec();
        h.push(0x20 | command);
        h.push(family);
        h.extend_from_slice(&u16::try_from(body.len()).expect("short").to_be_bytes());
        h.extend_from_slice(body);
        h
    }

    fn addr(s: &str) -> Option<SocketAddr> {
        Some(s.parse().expect("an address"))
    }

    /// What parsing says of the source: not yet, a source (or none), or an error.
    type Parsed = Result<Option<Option<SocketAddr>>, ProxyError>;

    #[test]
    fn v1_lines() {
        let cases: &[(&[u8], Parsed)] = &[
            (
                b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET",
                Ok(Some(addr("192.0.2.1:56324"))),
            ),
            (
                b"PROXY TCP6 2001:db8::1 2001:db8::2 4000 80\r\n",
                Ok(Some(addr("[2001:db8::1]:4000"))),
            ),
            (b"PROXY UNKNOWN whatever follows\r\n", Ok(Some(None))),
            (b"PROXY UNKNOWN\r\n", Ok(Some(None))),
            (b"PROXY TCP4 192.0.2.1 198.51.100.2 56324", Ok(None)),
            (b"PROX", Ok(None)),
            (b"", Ok(None)),
            (
                b"PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n",
                Err(ProxyError::BadV1),
            ),
            (
                b"PROXY TCP4 192.0.2.1 198.51.100.2 0443 443\r\n",
                Err(ProxyError::BadV1),
            ),
            (
                b"PROXY TCP4 2001:db8::1 198.51.100.2 1 2\r\n",
                Err(ProxyError::BadV1),
            ),
            (
                b"PROXY TCP4 192.0.2.1 198.51.100.2 1\r\n",
                Err(ProxyError::BadV1),
            ),
            (
                b"PROXY TCP4 192.0.2.1 198.51.100.2 1 2 3\r\n",
                Err(ProxyError::BadV1),
            ),
            (
                b"PROXY UDP4 192.0.2.1 198.51.100.2 1 2\r\n",
                Err(ProxyError::BadV1),
            ),
            (b"GET / HTTP/1.1\r\n", Err(ProxyError::Missing)),
        ];
        for (input, expected) in cases {
            let got = parse(input, 8192).map(|h| h.map(|h| h.source));
            assert_eq!(got, *expected, "{:?}", String::from_utf8_lossy(input));
        }
        let too_long = format!("PROXY TCP4 {}\r\n", "1".repeat(120));
        assert_eq!(parse(too_long.as_bytes(), 8192), Err(ProxyError::BadV1));
        let header = parse(b"PROXY UNKNOWN\r\nGET", 8192)
            .expect("valid")
            .expect("complete");
        assert_eq!(header.len, 15);
    }

    #[test]
    fn v2_headers() {
        let mut ipv4 = vec![192, 0, 2, 1, 198, 51, 100, 2];
        ipv4.extend_from_slice(&56324u16.to_be_bytes());
        ipv4.extend_from_slice(&443u16.to_be_bytes());
        let proxied = v2(1, 0x11, &ipv4);
        let header = parse(&proxied, 8192).expect("valid").expect("complete");
        assert_eq!((header.source, header.len), (addr("192.0.2.1:56324"), 28));
        // Every split of it is Partial until the last byte.
        for cut in 0..proxied.len() {
            assert_eq!(parse(&proxied[..cut], 8192), Ok(None), "cut at {cut}");
        }
        // TLVs after the addresses are skipped with them.
        let mut with_tlvs = ipv4.clone();
        with_tlvs.extend_from_slice(&[0x04, 0x00, 0x03, b'a', b'b', b'c', 0xEE, 0xFF]);
        let header = parse(&v2(1, 0x11, &with_tlvs), 8192)
            .expect("valid")
            .expect("complete");
        assert_eq!(
            (header.source, header.len),
            (addr("192.0.2.1:56324"), 16 + 20)
        );

        let mut ipv6 = vec![0x20, 0x01, 0x0d, 0xb8];
        ipv6.extend_from_slice(&[0; 11]);
        ipv6.push(1);
        ipv6.extend_from_slice(&[0; 16]);
        ipv6.extend_from_slice(&[0x0f, 0xa0, 0, 80]);
        let header = parse(&v2(1, 0x21, &ipv6), 8192)
            .expect("valid")
            .expect("complete");
        assert_eq!(header.source, addr("[2001:db8::1]:4000"));

        // LOCAL keeps the real peer, whatever its block says.
        let local = parse(&v2(0, 0x11, &ipv4), 8192)
            .expect("valid")
            .expect("complete");
        assert_eq!(local.source, None);
        assert_eq!(
            parse(&v2(0, 0x00, &[]), 8192)
                .expect("valid")
                .map(|h| h.len),
            Some(16)
        );
        // Unix sockets and AF_UNSPEC keep it too.
        assert_eq!(
            parse(&v2(1, 0x31, &[0; 216]), 8192)
                .expect("valid")
                .and_then(|h| h.source),
            None
        );

        // Addresses that do not fit the stated length, bad versions and commands.
        assert_eq!(
            parse(&v2(1, 0x11, &ipv4[..8]), 8192),
            Err(ProxyError::BadV2)
        );
        assert_eq!(parse(&v2(1, 0x21, &ipv4), 8192), Err(ProxyError::BadV2));
        assert_eq!(parse(&v2(2, 0x11, &ipv4), 8192), Err(ProxyError::BadV2));
        let mut v3 = proxied.clone();
        v3[12] = 0x31;
        assert_eq!(parse(&v3, 8192), Err(ProxyError::BadV2));
        assert_eq!(parse(&v2(1, 0x41, &ipv4), 8192), Err(ProxyError::BadV2));
        // A length past the head limit is refused before its bytes arrive.
        let mut huge = V2_SIGNATURE.to_vec();
        huge.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert_eq!(parse(&huge, 8192), Err(ProxyError::TooLong));
    }

    #[test]
    fn no_input_panics() {
        // Every byte string of up to two bytes, and every prefix of each signature with
        // every byte after it: Partial, a header or an error, never a panic.
        for len in 0..=2usize {
            for n in 0..256usize.pow(u32::try_from(len).expect("small")) {
                let bytes: Vec<u8> = (0..len).map(|i| (n >> (8 * i)) as u8).collect();
                let _ = parse(&bytes, 8192);
            }
        }
        for signature in [&V2_SIGNATURE[..], b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"] {
            for cut in 0..=signature.len() {
                for b in 0..=255u8 {
                    let mut bytes = signature[..cut].to_vec();
                    bytes.push(b);
                    let _ = parse(&bytes, 8192);
                }
            }
        }
        for stated in [0u16, 1, 11, 12, 35, 36, 37, 8000, u16::MAX] {
            for family in [0x00, 0x11, 0x12, 0x21, 0x31, 0x41, 0xff] {
                let mut h = V2_SIGNATURE.to_vec();
                h.extend_from_slice(&[0x21, family]);
                h.extend_from_slice(&stated.to_be_bytes());
                h.extend(std::iter::repeat_n(0xAB, usize::from(stated).min(100)));
                let _ = parse(&h, 8192);
            }
        }
    }
}
