//! Connection timeouts: one intrusive FIFO list per kind of timeout.
//!
//! Every timeout of one kind has the same duration, so arming always appends at the tail
//! and the list stays sorted by deadline: arming, disarming and finding the next deadline
//! are O(1), nothing is allocated, and an idle connection costs nothing per loop turn. The
//! links live in the connections themselves (the [`Nodes`] trait); the lists only hold the
//! ends.

use std::time::Duration;

use crate::answer::ticket::Deadline;

/// Marks the end of a list.
const NIL: u32 = u32::MAX;

/// The kinds of timeout a connection can wait under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerKind {
    /// A request head is awaited: absolute from its first byte, never extended.
    Header = 0,
    /// Between requests on a keep-alive connection.
    Idle = 1,
    /// A body is arriving: extended by each progress.
    Body = 2,
    /// Output waits for the client to read: extended by each progress.
    Write = 3,
    /// After the final response, draining input before the close.
    Linger = 4,
    /// A deferred answer is awaited: absolute from the dispatch (the handler deadline).
    Deferred = 5,
    /// A blocking-pool job's answer is awaited: absolute from the moment it was queued.
    Blocking = 6,
    /// A streamed response waits for its writer: no deadline (an event stream may be
    /// quiet for long); a client that stops reading meets the write deadline instead.
    Stream = 7,
    /// A broadcast subscriber has nothing to send: at the keep-alive interval a comment
    /// goes out, so that proxies keep the stream.
    Subscribed = 8,
}

pub(crate) const KINDS: usize = 9;

impl TimerKind {
    /// The timeout a deferred answer held to `deadline` waits under.
    pub(crate) fn awaiting(deadline: Deadline) -> TimerKind {
        match deadline {
            Deadline::Handler => TimerKind::Deferred,
            Deadline::Blocking => TimerKind::Blocking,
        }
    }

    const ALL: [TimerKind; KINDS] = [
        TimerKind::Header,
        TimerKind::Idle,
        TimerKind::Body,
        TimerKind::Write,
        TimerKind::Linger,
        TimerKind::Deferred,
        TimerKind::Blocking,
        TimerKind::Stream,
        TimerKind::Subscribed,
    ];
}

/// A node's place in one list; stored in each connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Link {
    prev: u32,
    next: u32,
    kind: Option<TimerKind>,
    deadline: u64,
}

impl Default for Link {
    fn default() -> Link {
        Link {
            prev: NIL,
            next: NIL,
            kind: None,
            deadline: 0,
        }
    }
}

impl Link {
    /// The kind of timeout this node is armed with, if any.
    pub(crate) fn kind(&self) -> Option<TimerKind> {
        self.kind
    }
}

/// Where the links are: implemented by the connection slab.
pub(crate) trait Nodes {
    fn link(&self, key: u32) -> &Link;
    fn link_mut(&mut self, key: u32) -> &mut Link;
}

#[derive(Clone, Copy, Debug)]
struct List {
    head: u32,
    tail: u32,
}

/// The lists, and each kind's duration in milliseconds.
#[derive(Debug)]
pub(crate) struct Timers {
    lists: [List; KINDS],
    durations: [u64; KINDS],
}

impl Timers {
    /// Durations in the order of [`TimerKind`]'s variants.
    pub(crate) fn new(durations: [Duration; KINDS]) -> Timers {
        Timers {
            lists: [List {
                head: NIL,
                tail: NIL,
            }; KINDS],
            durations: durations.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// Arms `key` with `kind`, due `kind`'s duration after `now` (milliseconds). Re-arming
    /// with the same kind pushes the deadline back.
    pub(crate) fn arm<N: Nodes>(&mut self, nodes: &mut N, key: u32, kind: TimerKind, now: u64) {
        self.disarm(nodes, key);
        let list = &mut self.lists[kind as usize];
        let tail = list.tail;
        *nodes.link_mut(key) = Link {
            prev: tail,
            next: NIL,
            kind: Some(kind),
            deadline: now.saturating_add(self.durations[kind as usize]),
        };
        if tail == NIL {
            list.head = key;
        } else {
            nodes.link_mut(tail).next = key;
        }
        list.tail = key;
    }

    /// Removes `key` from whatever list it is on; a no-op when it is on none.
    pub(crate) fn disarm<N: Nodes>(&mut self, nodes: &mut N, key: u32) {
        let link = *nodes.link(key);
        let Some(kind) = link.kind else { return };
        let list = &mut self.lists[kind as usize];
        if link.prev == NIL {
            list.head = link.next;
        } else {
            nodes.link_mut(link.prev).next = link.next;
        }
        if link.next == NIL {
            list.tail = link.prev;
        } else {
            nodes.link_mut(link.next).prev = link.prev;
        }
        *nodes.link_mut(key) = Link::default();
    }

    /// The earliest deadline of any armed node.
    pub(crate) fn next_deadline<N: Nodes>(&self, nodes: &N) -> Option<u64> {
        self.lists
            .iter()
            .filter(|l| l.head != NIL)
            .map(|l| nodes.link(l.head).deadline)
            .min()
    }

    /// Disarms and returns one node whose deadline is at or before `now`.
    pub(crate) fn pop_expired<N: Nodes>(
        &mut self,
        nodes: &mut N,
        now: u64,
    ) -> Option<(u32, TimerKind)> {
        for kind in TimerKind::ALL {
            let head = self.lists[kind as usize].head;
            if head != NIL && nodes.link(head).deadline <= now {
                self.disarm(nodes, head);
                return Some((head, kind));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Nodes for Vec<Link> {
        fn link(&self, key: u32) -> &Link {
            &self[key as usize]
        }
        fn link_mut(&mut self, key: u32) -> &mut Link {
            &mut self[key as usize]
        }
    }

    fn timers() -> Timers {
        let ms = Duration::from_millis;
        Timers::new([
            ms(100),
            ms(50),
            ms(300),
            ms(400),
            ms(500),
            ms(600),
            ms(700),
            ms(800),
            ms(900),
        ])
    }

    fn drain(t: &mut Timers, nodes: &mut Vec<Link>, now: u64) -> Vec<(u32, TimerKind)> {
        std::iter::from_fn(|| t.pop_expired(nodes, now)).collect()
    }

    #[test]
    fn expire_in_deadline_order_per_kind() {
        let mut nodes = vec![Link::default(); 4];
        let mut t = timers();
        t.arm(&mut nodes, 0, TimerKind::Header, 0);
        t.arm(&mut nodes, 1, TimerKind::Header, 10);
        t.arm(&mut nodes, 2, TimerKind::Idle, 10);
        assert_eq!(t.next_deadline(&nodes), Some(60));
        assert_eq!(drain(&mut t, &mut nodes, 99), [(2, TimerKind::Idle)]);
        assert_eq!(drain(&mut t, &mut nodes, 100), [(0, TimerKind::Header)]);
        assert_eq!(t.next_deadline(&nodes), Some(110));
        assert_eq!(drain(&mut t, &mut nodes, 1000), [(1, TimerKind::Header)]);
        assert_eq!(t.next_deadline(&nodes), None);
    }

    #[test]
    fn rearm_moves_and_disarm_unlinks_anywhere() {
        let mut nodes = vec![Link::default(); 4];
        let mut t = timers();
        for key in 0..4 {
            t.arm(&mut nodes, key, TimerKind::Idle, 0);
        }
        t.disarm(&mut nodes, 1); // middle
        t.disarm(&mut nodes, 3); // tail
        t.arm(&mut nodes, 0, TimerKind::Idle, 20); // head moves to the back
        assert_eq!(nodes[0].kind(), Some(TimerKind::Idle));
        assert_eq!(nodes[1].kind(), None);
        assert_eq!(drain(&mut t, &mut nodes, 50), [(2, TimerKind::Idle)]);
        assert_eq!(drain(&mut t, &mut nodes, 70), [(0, TimerKind::Idle)]);
        t.disarm(&mut nodes, 0); // not armed: no-op
        assert_eq!(t.next_deadline(&nodes), None);
        // Switching kinds leaves the old list.
        t.arm(&mut nodes, 2, TimerKind::Body, 0);
        t.arm(&mut nodes, 2, TimerKind::Write, 0);
        assert_eq!(drain(&mut t, &mut nodes, 350), []);
        assert_eq!(drain(&mut t, &mut nodes, 400), [(2, TimerKind::Write)]);
    }
}
