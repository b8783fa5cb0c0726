//! Where a subscriber starts: from its `Last-Event-ID`, the topic's kept events and, for a
//! topic copied from a broker, the epoch. What cannot be replayed is said with a
//! [`Reset`] before what follows, never skipped.

use crate::answer::reset::Reset;
use crate::answer::topic::{Mirror, Origin, TopicState};
use crate::broadcast::config::EventId;

/// Where a subscriber starts: the position of its first event, and what it is told first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Start {
    pub(crate) next: u64,
    pub(crate) reset: Option<Reset>,
}

/// Where a subscriber whose last event was `last` starts (`None`: it starts with live
/// events). A replay holds at most the newest `history` events and `max_lag` bytes.
///
/// `None` when the answer needs the broker: the id is of an epoch other than the copy's,
/// or newer than its last event (this server may be behind the broker). Once the copy has
/// been brought up to date (`settled`), the answer is always `Some`.
pub(crate) fn resolve(
    state: &TopicState,
    last: Option<EventId>,
    history: usize,
    max_lag: u64,
    settled: bool,
) -> Option<Start> {
    let from = state.replay_from(history);
    let start = match (state.mirror, last) {
        (_, None) => Start {
            next: state.next_id,
            reset: None,
        },
        (None, Some(id)) => own(state, id, from),
        (Some(mirror), Some(id)) => copied(state, mirror, id, from, settled)?,
    };
    Some(within_lag(state, start, max_lag))
}

/// On a hub of its own.
fn own(state: &TopicState, id: EventId, from: u64) -> Start {
    match id.n.checked_add(1) {
        // An id of a broker, or newer than anything published: the ids began again
        // (the server restarted) and what the client had is not here.
        _ if id.epoch.is_some() || id.n >= state.next_id => Start {
            next: from,
            reset: Some(Reset::Unknown),
        },
        Some(next) if next < from => Start {
            next: from,
            reset: Some(Reset::Gone),
        },
        next => Start {
            next: next.unwrap_or(state.next_id),
            reset: None,
        },
    }
}

/// On a topic copied from a broker.
fn copied(
    state: &TopicState,
    mirror: Mirror,
    id: EventId,
    from: u64,
    settled: bool,
) -> Option<Start> {
    // The positions of the current epoch's events (a reset may lie among them; one
    // before its first event told the live subscribers of the epoch, and is not replayed).
    let segment = state.history.iter().rev().take_while(|e| match e.origin {
        Origin::Broker { epoch, .. } => Some(epoch) == mirror.epoch,
        Origin::Reset => true,
        Origin::Local => false,
    });
    let epoch_from = segment
        .filter(|e| matches!(e.origin, Origin::Broker { .. }))
        .last()
        .map_or(state.next_id, |e| e.id)
        .max(from);
    let unknown = Start {
        next: epoch_from,
        reset: Some(Reset::Unknown),
    };
    let Some(epoch) = id.epoch else {
        return Some(unknown); // an id from a hub of its own
    };
    if Some(epoch) != mirror.epoch {
        return settled.then_some(unknown);
    }
    if id.n > mirror.last_n {
        return settled.then_some(Start {
            next: state.next_id,
            reset: Some(Reset::Ahead),
        });
    }
    if id.n == mirror.last_n {
        return Some(Start {
            next: state.next_id,
            reset: None,
        });
    }
    // The first kept event after the client's: a gap unless it is the very next one.
    let after = state
        .history
        .iter()
        .filter(|e| e.id >= epoch_from)
        .find_map(|e| match e.origin {
            Origin::Broker { n, .. } if n > id.n => Some((e.id, n)),
            _ => None,
        });
    Some(match after {
        Some((next, n)) if n == id.n + 1 => Start { next, reset: None },
        Some((next, _)) => Start {
            next,
            reset: Some(Reset::Gone),
        },
        None => Start {
            next: state.next_id,
            reset: None,
        },
    })
}

/// A replay is a backlog like any other: no more than `max_lag` of it, the newest events,
/// or the subscriber would be cut at once. What is left out is said.
fn within_lag(state: &TopicState, mut start: Start, max_lag: u64) -> Start {
    while start.next < state.next_id
        && state
            .start_of(start.next)
            .is_some_and(|at| state.bytes - at > max_lag)
    {
        start.next += 1;
        start.reset = start.reset.or(Some(Reset::Gone));
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::topic::Topic;

    fn own_topic(events: u64, history: usize) -> Topic {
        let topic = Topic::new("t", 0, None);
        for _ in 0..events {
            topic.publish(history, 1 << 20, |_, out| {
                out.extend_from_slice(b"data: x\n\n")
            });
        }
        topic
    }

    #[test]
    fn on_a_hub_of_its_own_what_is_gone_is_said() {
        // Ids 1..=10 published, 6..=10 kept.
        let topic = own_topic(10, 5);
        let state = topic.lock();
        let local = |n| Some(EventId::local(n));
        let cases = [
            (None, 11, None),
            (local(10), 11, None),
            (local(7), 8, None),
            (local(5), 6, None),
            (local(4), 6, Some(Reset::Gone)),
            (local(0), 6, Some(Reset::Gone)),
            (local(11), 6, Some(Reset::Unknown)),
            (local(u64::MAX), 6, Some(Reset::Unknown)),
            (
                Some(EventId {
                    epoch: Some(1),
                    n: 3,
                }),
                6,
                Some(Reset::Unknown),
            ),
        ];
        for (last, next, reset) in cases {
            let start = resolve(&state, last, 5, 1 << 20, false);
            assert_eq!(start, Some(Start { next, reset }), "{last:?}");
        }
    }

    #[test]
    fn a_replay_past_max_lag_is_cut_and_said() {
        let topic = own_topic(10, 100);
        let state = topic.lock();
        let each = state.event(1).expect("kept").chunk.len() as u64;
        let start = resolve(&state, Some(EventId::local(0)), 100, 3 * each, false);
        assert_eq!(
            start,
            Some(Start {
                next: 8,
                reset: Some(Reset::Gone)
            })
        );
    }

    /// A copy of epoch 7 holding numbers 4..=8 at positions 1..=5.
    fn copied_topic() -> Topic {
        let topic = Topic::new("t", 0, None);
        let mut state = topic.lock();
        for n in 4..=8 {
            state.append(100, 1 << 20, Origin::Broker { epoch: 7, n }, |_, out| {
                out.extend_from_slice(b"data: x\n\n")
            });
        }
        state.mirror = Some(Mirror {
            epoch: Some(7),
            last_n: 8,
        });
        drop(state);
        topic
    }

    #[test]
    fn on_a_copy_ids_are_found_by_epoch_and_number() {
        let topic = copied_topic();
        let state = topic.lock();
        let of = |epoch, n| Some(EventId { epoch, n });
        let cases = [
            (of(Some(7), 8), false, Some((6, None))),
            (of(Some(7), 5), false, Some((3, None))),
            (of(Some(7), 3), false, Some((1, None))),
            (of(Some(7), 2), false, Some((1, Some(Reset::Gone)))),
            // Newer than the copy, or another epoch: the broker is asked first.
            (of(Some(7), 9), false, None),
            (of(Some(7), 9), true, Some((6, Some(Reset::Ahead)))),
            (of(Some(9), 1), false, None),
            (of(Some(9), 1), true, Some((1, Some(Reset::Unknown)))),
            (of(None, 5), false, Some((1, Some(Reset::Unknown)))),
        ];
        for (last, settled, want) in cases {
            let start = resolve(&state, last, 100, 1 << 20, settled);
            let want = want.map(|(next, reset)| Start { next, reset });
            assert_eq!(start, want, "{last:?} settled {settled}");
        }
    }
}
