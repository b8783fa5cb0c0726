//! The feed thread: holds the server's one subscription to the broker, makes it again
//! when it breaks (backoff with jitter, at most 2 s apart), and proves it alive: a feed
//! that has been quiet for [`QUIET`] is sent a probe, and one whose probe is not back
//! within [`PROBE_DEADLINE`] is wedged (Centrifugo #1189: alive, no longer fed) and is made
//! again. What it hears goes to the copier thread, through a bounded queue.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::broadcast::broker::{BrokerError, Feed, Notice};
use crate::broadcast::link::{Backoff, Link, Outage, random};

/// How long a feed may stay quiet before it is probed.
pub(crate) const QUIET: Duration = Duration::from_millis(1000);
/// How long a probe may take to come back.
pub(crate) const PROBE_DEADLINE: Duration = Duration::from_millis(1000);
/// How long one wait for the feed lasts (the thread looks at its clock between waits).
const WAIT: Duration = Duration::from_millis(100);

/// What the feed thread tells the copier.
#[derive(Debug)]
pub(crate) enum News {
    /// Subscribed (again): what was published meanwhile must be fetched.
    Up,
    /// The feed broke: subscriptions are refused until it is back.
    Down,
    /// An event was published.
    Event(Notice),
}

/// Runs until the copier is gone (the hub was dropped).
pub(crate) fn run(link: Arc<Link>, news: Sender<News>) {
    let mut backoff = Backoff::new();
    let mut outage = Outage::default();
    let mut first = true;
    while !link.closed.load(Ordering::Relaxed) {
        let feed = match link.broker.feed() {
            Ok(feed) => feed,
            Err(e) => {
                outage.failed("subscribing", &e);
                if news.send(News::Down).is_err() {
                    return;
                }
                pause(&link, backoff.next());
                continue;
            }
        };
        if !first {
            link.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        first = false;
        outage.recovered("subscribing");
        backoff.reset();
        if news.send(News::Up).is_err() {
            return;
        }
        match follow(feed, &news, &link) {
            Ok(()) => return,
            Err(e) => {
                outage.failed("the subscription", &e);
                if news.send(News::Down).is_err() {
                    return;
                }
                pause(&link, backoff.next());
            }
        }
    }
}

/// Waits `pause` before the next attempt, looking every tenth of a second whether the hub
/// is gone (then the thread ends at once rather than after the pause).
fn pause(link: &Link, pause: Duration) {
    let until = Instant::now() + pause;
    while !link.closed.load(Ordering::Relaxed) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(WAIT));
    }
}

/// Passes on what `feed` hears until it breaks (`Err`) or the copier is gone (`Ok`).
fn follow(mut feed: Box<dyn Feed>, news: &Sender<News>, link: &Link) -> Result<(), BrokerError> {
    let mut heard = Instant::now();
    let mut probe: Option<(u64, Instant)> = None;
    loop {
        match feed.next(WAIT)? {
            // Only our own probe proves our subscription is fed (another server's may
            // come through a broker we share with it and no publisher).
            Some(Notice::Probe(nonce)) if probe.is_some_and(|(sent, _)| sent == nonce) => {
                probe = None;
                heard = Instant::now();
            }
            Some(Notice::Probe(_)) => {}
            Some(notice) => {
                heard = Instant::now();
                if news.send(News::Event(notice)).is_err() {
                    return Ok(());
                }
            }
            None => {}
        }
        if link.closed.load(Ordering::Relaxed) {
            return Ok(());
        }
        match probe {
            Some((_, sent)) if sent.elapsed() >= PROBE_DEADLINE => {
                return Err(BrokerError::Unreachable(format!(
                    "a probe of the subscription did not come back within {PROBE_DEADLINE:?}"
                )));
            }
            None if heard.elapsed() >= QUIET => {
                let nonce = random();
                feed.probe(nonce)?;
                probe = Some((nonce, Instant::now()));
            }
            _ => {}
        }
    }
}
