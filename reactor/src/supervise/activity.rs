//! What a reactor's handler is doing right now, readable from another thread: the
//! watchdog's window into a worker.
//!
//! The reactor is the only writer. It describes a request (connection, peer, method and
//! path) while its counter is even, then makes the counter odd as the handler starts and
//! even again when it returns. A reader that sees the same odd value before and after
//! reading the description has a consistent snapshot of a handler still running; the
//! description is never written while the counter is odd. The cost on the hot path is a
//! handful of relaxed stores per request and no allocation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering, fence};

use crate::http::request::ConnId;

/// Bytes of `METHOD path` kept for reports; longer paths are cut.
const DESC_BYTES: usize = 96;
const DESC_WORDS: usize = DESC_BYTES / 8;

/// A worker's current handler, shared with the watchdog.
#[derive(Debug, Default)]
pub struct Activity {
    /// Odd while a handler runs; bumped on entry and on exit.
    handlers: AtomicU64,
    conn: AtomicU64,
    listener: AtomicU64,
    /// Tag and port, then the address's 128 bits.
    peer: [AtomicU64; 3],
    desc_len: AtomicU64,
    desc: [AtomicU64; DESC_WORDS],
}

/// A consistent snapshot of a running handler.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InFlight {
    /// The value of the handler counter while this handler runs; it changes when the
    /// handler returns.
    pub counter: u64,
    /// The connection.
    pub conn: ConnId,
    /// The client.
    pub peer: SocketAddr,
    /// The listener the connection came from.
    pub listener: usize,
    /// The request's method.
    pub method: String,
    /// The request's path (cut at 96 bytes with the method).
    pub path: String,
}

impl Activity {
    /// Describes the request whose handler is about to run, then marks it running.
    pub(crate) fn enter(
        &self,
        conn: ConnId,
        peer: SocketAddr,
        listener: usize,
        method: &str,
        path: &str,
    ) {
        let relaxed = Ordering::Relaxed;
        if self.conn.load(relaxed) != conn.0 || self.desc_len.load(relaxed) == 0 {
            self.conn.store(conn.0, relaxed);
            self.listener.store(listener as u64, relaxed);
            for (slot, word) in self.peer.iter().zip(encode_peer(peer)) {
                slot.store(word, relaxed);
            }
        }
        // `METHOD path` laid out in a stack buffer with two copies, then stored a word at a
        // time: "GET /plaintext" is two stores. (Packing byte by byte cost five times as
        // many instructions, on every request.)
        let mut bytes = [0u8; DESC_BYTES];
        let method = &method.as_bytes()[..method.len().min(DESC_BYTES - 1)];
        bytes[..method.len()].copy_from_slice(method);
        bytes[method.len()] = b' ';
        let start = method.len() + 1;
        let path = &path.as_bytes()[..path.len().min(DESC_BYTES - start)];
        bytes[start..start + path.len()].copy_from_slice(path);
        let len = start + path.len();
        for (slot, word) in self
            .desc
            .iter()
            .zip(bytes.chunks_exact(8))
            .take(len.div_ceil(8))
        {
            let word: [u8; 8] = word.try_into().expect("chunks of eight");
            slot.store(u64::from_le_bytes(word), relaxed);
        }
        self.desc_len.store(len as u64, relaxed);
        // Release: a reader that sees the odd value sees the description written above.
        let n = self.handlers.load(relaxed);
        self.handlers.store(n + 1, Ordering::Release);
    }

    /// Marks the handler factory running (a worker being built): to the watchdog it is a
    /// handler like any other, so a factory that never returns is reported hung. Its
    /// snapshot has the connection [`ConnId::SETUP`] and no request.
    pub fn enter_setup(&self) {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        self.enter(ConnId::SETUP, unspecified, 0, "", "");
    }

    /// Marks the handler factory returned.
    pub fn exit_setup(&self) {
        self.exit();
    }

    /// Marks the handler returned.
    pub(crate) fn exit(&self) {
        let n = self.handlers.load(Ordering::Relaxed);
        self.handlers.store(n + 1, Ordering::Release);
    }

    /// Whether a handler runs on the loop now (setup included).
    pub fn is_running(&self) -> bool {
        self.counter() % 2 == 1
    }

    /// The handler counter: odd while a handler runs. A watchdog that sees the same odd
    /// value for longer than the deadline has found a hung handler.
    pub fn counter(&self) -> u64 {
        self.handlers.load(Ordering::Acquire)
    }

    /// The running handler's request, if a handler is running.
    pub fn in_flight(&self) -> Option<InFlight> {
        let before = self.handlers.load(Ordering::Acquire);
        if before.is_multiple_of(2) {
            return None;
        }
        let snapshot = self.describe(before);
        // Keep the reads above before the check below.
        fence(Ordering::Acquire);
        (self.handlers.load(Ordering::Relaxed) == before).then_some(snapshot)
    }

    /// The last request described for `conn`, if it was the most recent one: what a
    /// client that went away was waiting for. Read on the reactor's own thread.
    pub(crate) fn last_request(&self, conn: ConnId) -> Option<(String, String)> {
        if self.conn.load(Ordering::Relaxed) != conn.0 || self.desc_len.load(Ordering::Relaxed) == 0
        {
            return None;
        }
        let InFlight { method, path, .. } = self.describe(0);
        Some((method, path))
    }

    fn describe(&self, counter: u64) -> InFlight {
        let relaxed = Ordering::Relaxed;
        let len = (self.desc_len.load(relaxed) as usize).min(DESC_BYTES);
        let mut desc = [0u8; DESC_BYTES];
        for (chunk, slot) in desc.chunks_mut(8).zip(&self.desc) {
            chunk.copy_from_slice(&slot.load(relaxed).to_le_bytes());
        }
        let text = String::from_utf8_lossy(&desc[..len]);
        let (method, path) = text.split_once(' ').unwrap_or((&text, ""));
        InFlight {
            counter,
            conn: ConnId(self.conn.load(relaxed)),
            peer: decode_peer([
                self.peer[0].load(relaxed),
                self.peer[1].load(relaxed),
                self.peer[2].load(relaxed),
            ]),
            listener: self.listener.load(relaxed) as usize,
            method: method.to_owned(),
            path: path.to_owned(),
        }
    }
}

fn encode_peer(peer: SocketAddr) -> [u64; 3] {
    let port = u64::from(peer.port());
    match peer.ip() {
        IpAddr::V4(ip) => [4 | port << 8, u64::from(u32::from(ip)), 0],
        IpAddr::V6(ip) => {
            let bits = u128::from(ip);
            [6 | port << 8, (bits >> 64) as u64, bits as u64]
        }
    }
}

fn decode_peer(words: [u64; 3]) -> SocketAddr {
    let port = (words[0] >> 8) as u16;
    let ip = if words[0] & 0xff == 6 {
        IpAddr::V6(Ipv6Addr::from(
            u128::from(words[1]) << 64 | u128::from(words[2]),
        ))
    } else {
        IpAddr::V4(Ipv4Addr::from(words[1] as u32))
    };
    SocketAddr::new(ip, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_only_while_a_handler_runs() {
        let activity = Activity::default();
        assert_eq!(activity.in_flight(), None);
        let peer: SocketAddr = "[::1]:5000".parse().expect("addr");
        activity.enter(ConnId(9), peer, 1, "POST", "/upload");
        let running = activity.in_flight().expect("running");
        assert_eq!(
            (running.conn, running.peer, running.listener),
            (ConnId(9), peer, 1)
        );
        assert_eq!(
            (running.method.as_str(), running.path.as_str()),
            ("POST", "/upload")
        );
        assert_eq!(running.counter, activity.counter());
        activity.exit();
        assert_eq!(activity.in_flight(), None);
        assert_eq!(
            activity.last_request(ConnId(9)),
            Some(("POST".into(), "/upload".into()))
        );
        assert_eq!(activity.last_request(ConnId(8)), None);
    }

    #[test]
    fn long_paths_are_cut_and_peers_round_trip() {
        let activity = Activity::default();
        let long = format!("/{}", "x".repeat(500));
        let peer: SocketAddr = "10.1.2.3:65535".parse().expect("addr");
        activity.enter(ConnId(1), peer, 0, "GET", &long);
        let running = activity.in_flight().expect("running");
        assert_eq!(running.peer, peer);
        assert_eq!(running.method.len() + 1 + running.path.len(), DESC_BYTES);
        assert!(long.starts_with(&running.path));
    }
}
