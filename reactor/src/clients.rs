//! The per-client connection limit (nginx's `limit_conn`): how many connections each
//! address holds, across every worker of a server.
//!
//! One table for the server, in shards so that workers rarely meet on a lock; it is
//! touched when a connection's client is known (at the accept, or after its PROXY
//! protocol header) and when it leaves, never per request. An address is in the table
//! only while it holds a connection: memory is bounded by the open connections.

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
        self.shard(ip).get(&ip).copied().unwrap_or(0)
    }

    /// Counts a connection from `ip`; `false` when that puts it past the limit (it is
    /// counted all the same, and uncounted when it closes).
    pub(crate) fn arrive(&self, ip: IpAddr) -> bool {
        let mut shard = self.shard(ip);
        let n = shard.entry(ip).or_insert(0);
        *n += 1;
        *n <= self.max
    }

    /// A connection from `ip` left.
    pub(crate) fn leave(&self, ip: IpAddr) {
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
    fn counts_come_and_go_and_free_their_memory() {
        let limit = ClientLimit::new(2);
        let (a, b): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().expect("ip"), "::1".parse().expect("ip"));
        assert!(limit.arrive(a) && limit.arrive(a));
        assert!(!limit.arrive(a), "the third is past the limit");
        assert!(limit.arrive(b));
        assert_eq!((limit.count(a), limit.count(b)), (3, 1));
        for _ in 0..3 {
            limit.leave(a);
        }
        limit.leave(b);
        let held: usize = limit
            .counts
            .iter()
            .map(|s| s.lock().expect("lock").len())
            .sum();
        assert_eq!(held, 0, "no address left in the table");
        assert!(limit.arrive(a));
    }
}
