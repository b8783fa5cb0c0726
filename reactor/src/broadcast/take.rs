//! A topic's copy of a broker's: events taken in the broker's order, each once, and a
//! reset told to the live subscribers wherever the copy cannot go on without a gap.

use crate::answer::reset::Reset;
use crate::answer::sse::{Event, encode};
use crate::answer::topic::{Mirror, Origin, TopicState};
use crate::broadcast::broker::{Replay, Stored};
use crate::broadcast::config::EventId;

/// What became of an event offered to a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// It is the next one: kept, and its subscribers woken.
    New,
    /// The copy has it already.
    Duplicate,
    /// Events before it are missing: the copy must fetch them first.
    Gap,
}

/// Offers `event` of `epoch` to the copy. An epoch other than the copy's means the broker
/// lost the topic: the live subscribers are told before the new epoch's first event.
pub(crate) fn take(
    state: &mut TopicState,
    epoch: u64,
    event: &Stored,
    history: usize,
    max_lag: usize,
) -> Taken {
    let mirror = state.mirror.unwrap_or_default();
    let last_n = if mirror.epoch == Some(epoch) {
        mirror.last_n
    } else {
        if mirror.epoch.is_some() {
            tell(state, Reset::Epoch, history, max_lag);
        }
        state.mirror = Some(Mirror {
            epoch: Some(epoch),
            last_n: 0,
        });
        0
    };
    if event.n <= last_n {
        return Taken::Duplicate;
    }
    if event.n > last_n + 1 {
        return Taken::Gap;
    }
    let id = EventId {
        epoch: Some(epoch),
        n: event.n,
    }
    .to_string();
    let origin = Origin::Broker { epoch, n: event.n };
    state.append(history, max_lag, origin, |_, out| {
        let mut sse = Event::new(&event.data).id(&id);
        if let Some(kind) = &event.kind {
            sse = sse.event(kind);
        }
        encode(&sse, out);
    });
    state.mirror = Some(Mirror {
        epoch: Some(epoch),
        last_n: event.n,
    });
    Taken::New
}

/// Tells the live subscribers of the copy that their stream has a gap here.
pub(crate) fn tell(state: &mut TopicState, reset: Reset, history: usize, max_lag: usize) {
    state.append(history, max_lag, Origin::Reset, |_, out| {
        out.extend_from_slice(reset.payload().as_bytes());
    });
}

/// Takes what a replay brought, in order: a gap the broker no longer keeps is told, never
/// skipped silently. Returns how many events were new to the copy.
pub(crate) fn take_replay(
    state: &mut TopicState,
    replay: &Replay,
    history: usize,
    max_lag: usize,
) -> u64 {
    let Some(epoch) = replay.epoch else {
        // The broker has nothing of the topic (never had, or lost it): what the copy
        // has stays; the next event, of a new epoch, tells the subscribers.
        state.mirror.get_or_insert_default();
        return 0;
    };
    let mut new = 0;
    for event in &replay.events {
        let mut taken = take(state, epoch, event, history, max_lag);
        if taken == Taken::Gap {
            // Not kept by the broker any more: said, then the copy goes on from here.
            tell(state, Reset::Missed, history, max_lag);
            let mirror = state.mirror.as_mut().expect("set by take");
            mirror.last_n = event.n - 1;
            taken = take(state, epoch, event, history, max_lag);
        }
        new += u64::from(taken == Taken::New);
    }
    new
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::topic::Topic;

    fn stored(n: u64) -> Stored {
        Stored {
            n,
            kind: None,
            data: format!("event {n}"),
        }
    }

    fn wire(state: &TopicState) -> Vec<String> {
        state
            .history
            .iter()
            .map(|e| String::from_utf8(e.wire(false).to_vec()).expect("text"))
            .collect()
    }

    #[test]
    fn events_are_taken_in_order_once_and_a_gap_is_asked_for() {
        let topic = Topic::new("t", 0, None);
        let mut state = topic.lock();
        assert_eq!(take(&mut state, 7, &stored(1), 10, 1 << 20), Taken::New);
        assert_eq!(
            take(&mut state, 7, &stored(1), 10, 1 << 20),
            Taken::Duplicate
        );
        assert_eq!(take(&mut state, 7, &stored(3), 10, 1 << 20), Taken::Gap);
        assert_eq!(take(&mut state, 7, &stored(2), 10, 1 << 20), Taken::New);
        assert_eq!(wire(&state)[1], "id: 7:2\ndata: event 2\n\n");
        assert_eq!(
            state.mirror,
            Some(Mirror {
                epoch: Some(7),
                last_n: 2
            })
        );
    }

    #[test]
    fn a_new_epoch_and_a_gap_the_broker_lost_are_told() {
        let topic = Topic::new("t", 0, None);
        let mut state = topic.lock();
        take(&mut state, 7, &stored(1), 10, 1 << 20);
        // The broker lost its data: epoch 9 begins again at 1.
        assert_eq!(take(&mut state, 9, &stored(1), 10, 1 << 20), Taken::New);
        // A replay whose oldest kept is past the copy's next.
        let replay = Replay {
            epoch: Some(9),
            last: 6,
            events: vec![stored(5), stored(6)],
        };
        assert_eq!(take_replay(&mut state, &replay, 10, 1 << 20), 2);
        let sent = wire(&state);
        assert_eq!(sent.len(), 6, "{sent:?}");
        assert!(
            sent[1].starts_with("event: reset\ndata: epoch:"),
            "{sent:?}"
        );
        assert_eq!(sent[2], "id: 9:1\ndata: event 1\n\n");
        assert!(
            sent[3].starts_with("event: reset\ndata: missed:"),
            "{sent:?}"
        );
        assert_eq!(sent[5], "id: 9:6\ndata: event 6\n\n");
    }
}
