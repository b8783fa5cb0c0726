//! The copier thread: the one writer of a hub's copies of the broker's topics. It takes
//! the feed's events in order (a gap is fetched from the broker), fetches what was
//! published while the feed was down, and completes the subscriptions a loop could not
//! answer from its copy alone (a topic not copied yet, an id it does not know).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use crossbeam_channel::{Receiver, select};

use crate::answer::topic::Topic;
use crate::broadcast::broker::{Notice, Replay, Session};
use crate::broadcast::config::{EventId, PublishError};
use crate::broadcast::feed::News;
use crate::broadcast::hub::Hub;
use crate::broadcast::link::{Join, Link, Outage};
use crate::broadcast::resume::resolve;
use crate::broadcast::take::{Taken, take, take_replay};
use crate::http::response::Response;

/// How often a back-fill that failed is tried again, and the thread looks whether its hub
/// is gone.
const TICK: Duration = Duration::from_millis(200);

struct Copier {
    hub: Weak<Hub>,
    link: Arc<Link>,
    session: Option<Box<dyn Session>>,
    outage: Outage,
    /// The feed is subscribed.
    feed_up: bool,
    /// Some copy may lack events the broker has (the feed was down, or a fetch failed).
    stale: bool,
}

/// Runs until every handle of the hub is gone.
pub(crate) fn run(hub: Weak<Hub>, link: Arc<Link>, news: Receiver<News>, joins: Receiver<Join>) {
    let mut copier = Copier {
        hub,
        link,
        session: None,
        outage: Outage::default(),
        feed_up: false,
        stale: true,
    };
    while !copier.link.closed.load(Ordering::Relaxed) {
        select! {
            recv(news) -> news => match news {
                Ok(News::Up) => {
                    copier.feed_up = true;
                    copier.stale = true;
                    copier.backfill();
                }
                Ok(News::Down) => {
                    copier.feed_up = false;
                    copier.link.up.store(false, Ordering::SeqCst);
                }
                Ok(News::Event(notice)) => copier.notice(notice),
                Err(_) => return,
            },
            recv(joins) -> join => match join {
                Ok(join) => copier.join(join),
                Err(_) => return,
            },
            default(TICK) => {
                if copier.feed_up && copier.stale {
                    copier.backfill();
                }
            }
        }
    }
}

impl Copier {
    /// A session to the broker, made if need be.
    fn session(&mut self) -> Option<&mut Box<dyn Session>> {
        if self.session.is_none() {
            match self.link.broker.session() {
                Ok(session) => self.session = Some(session),
                Err(e) => {
                    self.outage.failed("fetching", &e);
                    return None;
                }
            }
        }
        self.session.as_mut()
    }

    /// What the broker keeps of `topic` after `since`; `None` when it cannot be had now.
    fn replay(&mut self, topic: &str, since: Option<EventId>, history: usize) -> Option<Replay> {
        let result = self.session()?.replay(topic, since, history);
        match result {
            Ok(replay) => {
                self.outage.recovered("fetching");
                Some(replay)
            }
            Err(e) => {
                self.outage.failed("fetching", &e);
                self.session = None;
                None
            }
        }
    }

    /// Brings every copy up to date with the broker; once all are, subscriptions are
    /// served again.
    fn backfill(&mut self) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let copies: Vec<Arc<Topic>> = hub.topics().by_name.values().map(Arc::clone).collect();
        for topic in copies {
            let since = since(&topic);
            let Some(replay) = self.replay(&topic.name, since, hub.config.history) else {
                self.stale = true;
                self.link.up.store(false, Ordering::SeqCst);
                return;
            };
            let mut state = topic.lock();
            let new = take_replay(&mut state, &replay, hub.config.history, hub.config.max_lag);
            self.link.backfilled.fetch_add(new, Ordering::Relaxed);
        }
        self.stale = false;
        self.link.up.store(true, Ordering::SeqCst);
    }

    /// An event from the feed: taken by the topic's copy, if this server has one.
    fn notice(&mut self, notice: Notice) {
        let Notice::Event {
            topic,
            epoch,
            event,
        } = notice
        else {
            return;
        };
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let (found, topics) = hub.find(&topic);
        drop(topics);
        let Some(copy) = found else {
            return; // nobody here follows it: a subscriber will fetch what is kept
        };
        let (history, max_lag) = (hub.config.history, hub.config.max_lag);
        let taken = take(&mut copy.lock(), epoch, &event, history, max_lag);
        if taken != Taken::Gap {
            return;
        }
        // Events before it did not come through the feed: fetched, or the copies are
        // stale until the broker can be asked.
        let since = since(&copy);
        let Some(replay) = self.replay(&topic, since, history) else {
            self.stale = true;
            self.link.up.store(false, Ordering::SeqCst);
            return;
        };
        let mut state = copy.lock();
        let new = take_replay(&mut state, &replay, history, max_lag);
        self.link.backfilled.fetch_add(new, Ordering::Relaxed);
    }

    /// A subscription whose loop could not answer it from its copy: the topic is fetched
    /// (copied if new), then the subscription goes to the loop, or 503.
    fn join(&mut self, join: Join) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        if !join.responder.is_wanted() {
            return; // the client left, or its deadline passed
        }
        let unavailable = || Response::status_page(503).with_header("Retry-After", "1");
        if !self.feed_up {
            let _ = join.responder.send(unavailable());
            return;
        }
        let known = hub.find(&join.topic).0;
        let since = known.as_ref().and_then(since);
        let (history, max_lag) = (hub.config.history, hub.config.max_lag);
        let Some(replay) = self.replay(&join.topic, since, history) else {
            let _ = join.responder.send(unavailable());
            return;
        };
        let (topic, mut topics) = match hub.topic(&join.topic) {
            Ok(found) => found,
            Err(e @ PublishError::TooManyTopics { .. }) => {
                let secs = e.retry_after_secs().unwrap_or(1).to_string();
                let _ = join
                    .responder
                    .send(Response::status_page(503).with_header("Retry-After", secs));
                return;
            }
            Err(_) => {
                let _ = join.responder.send(Response::status_page(404));
                return;
            }
        };
        let mut state = topic.lock();
        let copied = state.mirror.is_some();
        let new = take_replay(&mut state, &replay, history, max_lag);
        if copied {
            self.link.backfilled.fetch_add(new, Ordering::Relaxed);
        }
        state.mirror.get_or_insert_default();
        let start = resolve(&state, join.last, history, max_lag as u64, true)
            .expect("a copy brought up to date resolves every id");
        let subscription = hub.join(&topic, &mut topics, &mut state, start);
        drop(state);
        drop(topics);
        // A client that left meanwhile: the subscription is dropped, and counted out.
        let _ = join.responder.subscribe(subscription);
    }
}

/// Where `topic`'s copy stands at the broker: what to fetch after.
fn since(topic: &Arc<Topic>) -> Option<EventId> {
    let mirror = topic.lock().mirror?;
    Some(EventId {
        epoch: Some(mirror.epoch?),
        n: mirror.last_n,
    })
}
