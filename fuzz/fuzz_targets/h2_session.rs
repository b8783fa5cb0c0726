//! An HTTP/2 session fed arbitrary frames after a valid preface, in pieces of arbitrary
//! size: never panics, never queues more than its bound of unread output, and reads every
//! split of the same bytes the same way.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use warden_reactor::h2::frame::PREFACE;
use warden_reactor::h2::session::{Config, Session};
use warden_reactor::h2::write;

fn feed(bytes: &[u8], step: usize) -> (usize, Vec<String>, Option<String>) {
    let now = Instant::now();
    let config = Config::default();
    let mut session = Session::new(config, now);
    let mut events = Vec::new();
    let mut buffered = Vec::new();
    for piece in bytes.chunks(step) {
        buffered.extend_from_slice(piece);
        match session.receive(&buffered, now, &mut |event| events.push(format!("{event:?}"))) {
            Ok(used) => {
                buffered.drain(..used);
            }
            Err(closed) => return (session.output().len(), events, Some(closed.why.to_owned())),
        }
        assert!(session.output().len() <= config.max_unread_output + (64 << 10));
    }
    (session.output().len(), events, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, frames)) = data.split_first() else {
        return;
    };
    let mut bytes = PREFACE.to_vec();
    write::settings(&mut bytes, &[]);
    bytes.extend_from_slice(frames);
    let whole = feed(&bytes, bytes.len());
    let split = feed(&bytes, usize::from(step.max(1)));
    assert_eq!(whole.1, split.1, "the same events whatever the reads");
    assert_eq!(whole.2, split.2);
});
