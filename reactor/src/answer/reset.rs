//! `event: reset`: what a subscriber is told where its stream cannot go on without a gap,
//! before what follows. What cannot be replayed is said, never skipped.

use std::sync::LazyLock;

/// Why a stream has a gap. Each is sent as one event, `event: reset`, whose data starts
/// with a word a client can match on (`gone`, `unknown`, `epoch`, `missed`, `ahead`) and
/// goes on to say what follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reset {
    /// The events after the subscriber's `Last-Event-ID` are no longer kept (or would not
    /// fit in one replay): it gets the oldest kept on.
    Gone,
    /// Its `Last-Event-ID` is from a history this server does not have (the server
    /// restarted, or the broker lost its data): it gets what is kept.
    Unknown,
    /// Live: the broker lost its data, and ids begin again in a new epoch.
    Epoch,
    /// Live: this server missed events it could not fetch again from the broker.
    Missed,
    /// Its `Last-Event-ID` is newer than the broker's last event (the broker lost events
    /// it had answered for): it gets what comes next.
    Ahead,
}

impl Reset {
    const ALL: [Reset; 5] = [
        Reset::Gone,
        Reset::Unknown,
        Reset::Epoch,
        Reset::Missed,
        Reset::Ahead,
    ];

    /// The event's data: one line.
    pub(crate) fn why(self) -> &'static str {
        match self {
            Reset::Gone => {
                "gone: the events after your last id are no longer kept; the oldest kept follow"
            }
            Reset::Unknown => {
                "unknown: your last id is from a history this server no longer has; what is kept follows"
            }
            Reset::Epoch => "epoch: the broker lost its events; ids begin again in a new epoch",
            Reset::Missed => {
                "missed: this server missed events it could not fetch again; what the broker kept follows"
            }
            Reset::Ahead => {
                "ahead: your last id is newer than the broker's last event (the broker lost events); new events follow"
            }
        }
    }

    /// The event as text/event-stream lines (no id: a client's last id stays the last
    /// event it had).
    pub(crate) fn payload(self) -> String {
        format!("event: reset\ndata: {}\n\n", self.why())
    }

    /// What a subscriber is sent: as a chunk (HTTP/1.1), or as it is (HTTP/1.0).
    pub(crate) fn wire(self, chunked: bool) -> &'static [u8] {
        /// Each reset as a chunk and as it is.
        type Forms = (Box<[u8]>, Box<[u8]>);
        static WIRE: LazyLock<Vec<Forms>> = LazyLock::new(|| {
            Reset::ALL
                .iter()
                .map(|reset| {
                    let payload = reset.payload();
                    let chunk = format!("{:x}\r\n{payload}\r\n", payload.len());
                    (
                        chunk.into_bytes().into_boxed_slice(),
                        payload.into_bytes().into_boxed_slice(),
                    )
                })
                .collect()
        });
        let (chunk, plain) = &WIRE[self as usize];
        if chunked { chunk } else { plain }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reset_is_one_event_with_one_line_of_data() {
        for reset in Reset::ALL {
            let plain = std::str::from_utf8(reset.wire(false)).expect("text");
            assert!(plain.starts_with("event: reset\ndata: "), "{plain}");
            assert_eq!(plain.matches('\n').count(), 3, "{plain}");
            let chunked = std::str::from_utf8(reset.wire(true)).expect("text");
            let (size, rest) = chunked.split_once("\r\n").expect("a size line");
            assert_eq!(usize::from_str_radix(size, 16), Ok(plain.len()));
            assert_eq!(rest, format!("{plain}\r\n"));
        }
    }
}
