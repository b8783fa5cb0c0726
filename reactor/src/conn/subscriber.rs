//! A connection subscribed to a broadcast topic: a cursor into the topic's events, which
//! are written straight from the topic's shared copies (one `writev` for several).

use std::io::{self, IoSlice};
use std::sync::Arc;

use crate::answer::reset::Reset;
use crate::answer::topic::Subscription;
use crate::answer::topic::{Encoded, Member};
use crate::observe::stats::Stats;
use crate::transport::Transport;

/// Events written per `writev`.
const BATCH: usize = 16;

/// The comment an idle subscription gets at each keep-alive interval, as a chunk.
pub(super) const KEEPALIVE_CHUNKED: &[u8] = b"3\r\n:\n\n\r\n";
/// The same comment for an HTTP/1.0 subscriber, whose body the close ends.
pub(super) const KEEPALIVE_PLAIN: &[u8] = b":\n\n";

/// Where a subscriber stands in its topic. Every idle subscriber holds one: 48 bytes.
#[derive(Debug)]
pub(crate) struct Subscriber {
    /// Its membership of the topic: counted out when dropped.
    pub(super) topic: Member,
    /// The id of the next event to send.
    next: u64,
    /// Bytes of that event already sent (an event is far below 4 GiB).
    sent: u32,
    /// Its place among the loop's subscribers to the topic.
    pub(super) place: u32,
    /// Bytes it may fall behind (saturated at 4 GiB).
    max_lag: u32,
    /// Events go as chunks (HTTP/1.1), or as they are (HTTP/1.0: the close ends them).
    pub(super) chunked: bool,
    /// Said before the first event (`sent` counts its bytes until it is all sent): the
    /// stream does not go on from where the client was.
    reset: Option<Reset>,
}

/// What writing a subscriber's events came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    /// Every event is sent; `wrote` says whether any byte went now.
    Idle { wrote: bool },
    /// The socket is full with events still to send.
    Blocked { wrote: bool },
    /// It is more than `max_lag` behind (or behind what the topic keeps): cut it.
    Lagged,
}

impl Subscriber {
    pub(super) fn new(subscription: Subscription, chunked: bool, place: usize) -> Subscriber {
        Subscriber {
            topic: subscription.topic,
            next: subscription.next,
            sent: 0,
            place: u32::try_from(place).expect("fewer than 2^32 subscribers in one loop"),
            max_lag: u32::try_from(subscription.max_lag).unwrap_or(u32::MAX),
            chunked,
            reset: subscription.reset,
        }
    }

    /// Writes the events from the cursor on, until all are sent or the socket is full.
    pub(super) fn pump<T: Transport>(
        &mut self,
        io: &mut T,
        stats: &Stats,
        unread_response: &mut bool,
    ) -> io::Result<Flow> {
        let mut wrote = false;
        while let Some(reset) = self.reset {
            let wire = &reset.wire(self.chunked)[self.sent as usize..];
            match io.write(wire) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    wrote = true;
                    stats.wrote_bytes(n);
                    *unread_response = true;
                    if n == wire.len() {
                        self.reset = None;
                        self.sent = 0;
                    } else {
                        // A reset is a few hundred bytes.
                        self.sent += n as u32;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(Flow::Blocked { wrote });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        loop {
            let mut batch: [Option<Arc<Encoded>>; BATCH] = Default::default();
            let count = {
                let mut state = self.topic.lock();
                // Where it stands, for what the topic keeps.
                self.topic.stand_at(&mut state, self.next);
                // Behind what the topic keeps, or more than its bound behind its end.
                let Some(start) = state.start_of(self.next) else {
                    return Ok(Flow::Lagged);
                };
                let behind = state.bytes - start - u64::from(self.sent);
                if behind > u64::from(self.max_lag) {
                    return Ok(Flow::Lagged);
                }
                let mut count = 0;
                while count < BATCH {
                    let Some(event) = state.event(self.next + count as u64) else {
                        break;
                    };
                    batch[count] = Some(Arc::clone(event));
                    count += 1;
                }
                count
            };
            if count == 0 {
                // TLS records the socket had no room for are part of what is sent.
                if !io.flush_pending()? {
                    return Ok(Flow::Blocked { wrote });
                }
                return Ok(Flow::Idle { wrote });
            }
            let mut slices = [IoSlice::new(&[]); BATCH];
            for (i, event) in batch[..count].iter().enumerate() {
                let wire = event.as_ref().expect("filled above").wire(self.chunked);
                let sent = self.sent as usize;
                slices[i] = IoSlice::new(if i == 0 { &wire[sent..] } else { wire });
            }
            match io.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(mut n) => {
                    wrote = true;
                    stats.wrote_bytes(n);
                    *unread_response = true;
                    for event in batch[..count].iter().flatten() {
                        let left = event.wire(self.chunked).len() - self.sent as usize;
                        if n < left {
                            // Less than the event's length, which is far below 4 GiB.
                            self.sent += n as u32;
                            break;
                        }
                        n -= left;
                        self.next += 1;
                        self.sent = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(Flow::Blocked { wrote });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}
