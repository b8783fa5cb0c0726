//! The per-client connection limit (nginx's `limit_conn`): how many connections each
//! address holds, across every worker of a server.
//!
//! One table for the server, in shards so that workers rarely meet on a lock; it is
//! touched when a connection's client is known (by the acceptor, before any thread spends
//! anything on it, or after its PROXY protocol header) and when it leaves, never per
//! request. An address is in the table only while it holds a connection: memory is
//! bounded by the open connections.
//!
//! A connection's place is a [`ClientSlot`]: taken once by [`ClientLimit::admit`], it
//! travels with the socket (to the handshake pool, to a worker, between workers) and is
//! given back when it is dropped, whichever way the connection ends.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

const SHARDS: usize = 64;

/// How many connections one address may hold at once, and the count of each, shared by
/// every reactor given a clone.
#[derive(Clone)]
pub struct ClientLimit {
    max: u32,
    counts: Arc<[Mutex<HashMap<IpAddr, u32>>; SHARDS]>,
}

impl ClientLimit {
    /// At most `max` connections per address (at least one).
    pub fn new(max: u32) -> ClientLimit {
        ClientLimit {
            max: max.max(1),
            counts: Arc::new(std::array::from_fn(|_| Mutex::new(HashMap::new()))),
        }
    }

    /// The limit.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Connections `ip` holds now.
    pub fn count(&self, ip: IpAddr) -> u32 {
        let ip = ip.to_canonical();
        self.shard(ip).get(&ip).copied().unwrap_or(0)
    }

    /// Takes a place for a connection from `ip`: `None` when the address holds `max`
    /// already (nothing is counted then). An IPv4 client seen through an IPv6 socket
    /// (`::ffff:a.b.c.d`) is the same client as `a.b.c.d`.
    pub fn admit(&self, ip: IpAddr) -> Option<ClientSlot> {
        let ip = ip.to_canonical();
        let mut shard = self.shard(ip);
        let n = shard.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        drop(shard);
        Some(ClientSlot {
            limit: self.clone(),
            ip,
        })
    }

    /// A connection from `ip` left.
    fn leave(&self, ip: IpAddr) {
        let mut shard = self.shard(ip);
        if let Some(n) = shard.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                shard.remove(&ip);
            }
        }
    }

    fn shard(&self, ip: IpAddr) -> std::sync::MutexGuard<'_, HashMap<IpAddr, u32>> {
        let spread = match ip {
            IpAddr::V4(v4) => u32::from(v4).wrapping_mul(0x9E37_79B9),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                ((bits ^ (bits >> 64)) as u32).wrapping_mul(0x9E37_79B9)
            }
        };
        let i = (spread >> 26) as usize % SHARDS;
        // A panic while counting leaves a count, not a broken map.
        self.counts[i].lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One connection's place in its client's count, given back when dropped: exactly once,
/// whether the connection closes, moves to another worker, leaves for the application
/// (an upgrade) or is lost with a thread that panicked.
pub struct ClientSlot {
    limit: ClientLimit,
    ip: IpAddr,
}

impl ClientSlot {
    /// The address counted.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.limit.leave(self.ip);
    }
}

impl fmt::Debug for ClientSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientSlot").field(&self.ip).finish()
    }
}

impl PartialEq for ClientLimit {
    fn eq(&self, other: &ClientLimit) -> bool {
        self.max == other.max && Arc::ptr_eq(&self.counts, &other.counts)
    }
}

impl Eq for ClientLimit {}

impl fmt::Debug for ClientLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientLimit")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_come_and_go_and_free_their_memory() {
        let limit = ClientLimit::new(2);
        let (a, b): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().expect("ip"), "::1".parse().expect("ip"));
        let first = limit.admit(a).expect("within");
        let second = limit.admit(a).expect("within");
        assert!(limit.admit(a).is_none(), "the third is past the limit");
        // The same client through an IPv6 socket.
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        assert!(
            limit.admit(mapped).is_none(),
            "a mapped address is the same client"
        );
        let other = limit.admit(b).expect("another address has its own count");
        assert_eq!(
            (limit.count(a), limit.count(b)),
            (2, 1),
            "refusals count nothing"
        );
        drop((first, second, other));
        let held: usize = limit
            .counts
            .iter()
            .map(|s| s.lock().expect("lock").len())
            .sum();
        assert_eq!(held, 0, "no address left in the table");
        assert!(limit.admit(a).is_some());
    }
}
