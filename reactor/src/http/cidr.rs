//! Address ranges (`10.0.0.0/8`, `2001:db8::/32`): the sources trusted to send a PROXY
//! protocol header.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A range of IP addresses: an address and how many of its leading bits every address
/// in the range shares. A bare address is a range of one.
///
/// ```
/// use warden_reactor::Cidr;
///
/// let balancers: Cidr = "10.0.0.0/8".parse().expect("a range");
/// assert!(balancers.contains("10.1.2.3".parse().expect("an address")));
/// // An IPv4 peer seen through an IPv6 socket (::ffff:10.1.2.3) is the same peer.
/// assert!(balancers.contains("::ffff:10.1.2.3".parse().expect("an address")));
/// assert!(!balancers.contains("192.168.0.1".parse().expect("an address")));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a range could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrError {
    input: String,
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not an address range (ADDRESS or ADDRESS/PREFIX, e.g. 10.0.0.0/8)",
            self.input
        )
    }
}

impl std::error::Error for CidrError {}

impl Cidr {
    /// The range of `addr` and its first `prefix` bits; `None` past the address's width.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        let width = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= width).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` is in the range. An IPv4 address and its IPv6-mapped form
    /// (`::ffff:a.b.c.d`) are the same address, on either side: a range written either
    /// way matches a peer seen either way (a dual-stack socket shows IPv4 peers mapped).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            // A range written in IPv6 that covers mapped addresses (`::ffff:10.0.0.0/104`,
            // `::/0`): compared in the mapped form.
            (IpAddr::V6(net), IpAddr::V4(ip)) => {
                same_prefix(&net.octets(), &ip.to_ipv6_mapped().octets(), self.prefix)
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let error = || CidrError {
            input: s.to_owned(),
        };
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| error())?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().map_err(|_| error())?
            }
            Some(_) => return Err(error()),
            None => width,
        };
        Cidr::new(addr, prefix).ok_or_else(error)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Which listeners require the PROXY protocol, and from which sources (see
/// [`Config::proxy_protocol`](crate::Config::proxy_protocol)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyProtocol {
    /// No listener: a header is never looked for (auto-detection would let any client
    /// choose its address).
    #[default]
    Off,
    /// Every listener, from these sources.
    Every(Vec<Cidr>),
    /// The listeners (by index in bind order) with a list, each from its own sources.
    PerListener(Vec<Option<Vec<Cidr>>>),
}

impl ProxyProtocol {
    /// The sources listener `i` takes a header from, if it requires one.
    pub fn trusted(&self, i: usize) -> Option<&[Cidr]> {
        match self {
            ProxyProtocol::Off => None,
            ProxyProtocol::Every(trusted) => Some(trusted),
            ProxyProtocol::PerListener(listeners) => listeners.get(i)?.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_contain_what_they_should() {
        let cases = [
            ("10.0.0.0/8", "10.255.1.2", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("192.168.1.128/25", "192.168.1.200", true),
            ("192.168.1.128/25", "192.168.1.127", false),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("2001:db8::/32", "2001:db8:1::5", true),
            ("2001:db8::/32", "2001:db9::5", false),
            ("::/0", "::1", true),
            ("10.0.0.0/8", "::ffff:10.0.0.1", true),
            ("10.0.0.0/8", "::1", false),
            // Written mapped, matching the peer either way.
            ("::ffff:127.0.0.1/128", "127.0.0.1", true),
            ("::ffff:127.0.0.1/128", "::ffff:127.0.0.1", true),
            ("::ffff:127.0.0.1/128", "127.0.0.2", false),
            ("::ffff:10.0.0.0/104", "10.9.9.9", true),
            ("::ffff:10.0.0.0/104", "11.0.0.1", false),
            ("::/0", "192.0.2.1", true),
            ("::1", "127.0.0.1", false),
        ];
        for (range, ip, inside) in cases {
            let cidr: Cidr = range.parse().expect(range);
            assert_eq!(cidr.contains(ip.parse().expect(ip)), inside, "{range} {ip}");
        }
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "x",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "10.0.0.0/8".parse::<Cidr>().expect("a range").to_string(),
            "10.0.0.0/8"
        );
    }
}
