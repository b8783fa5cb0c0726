//! The publisher thread: takes publishes from a bounded queue and sends them to the broker
//! in batches (one round trip for all that waited), each answered once: its id, or 503.
//! No loop ever waits for the broker: a handler hands its publish here and answers later.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::broadcast::broker::{BrokerError, Outgoing, Session};
use crate::broadcast::config::EventId;
use crate::broadcast::link::{Backoff, Link, Outage, PUBLISH_DEADLINE, Publish};

/// Publishes sent in one round trip at most.
const BATCH: usize = 256;
/// A session unused for this long is checked before a publish goes on it.
const IDLE: Duration = Duration::from_secs(1);

/// Runs until every handle of the hub is gone (the queue then disconnects).
pub(crate) fn run(link: Arc<Link>, jobs: Receiver<Publish>, history: usize) {
    let mut session: Option<Box<dyn Session>> = None;
    let mut backoff = Backoff::new();
    let mut retry_at = Instant::now();
    let mut last_used = Instant::now();
    let mut outage = Outage::default();
    let mut batch: Vec<Publish> = Vec::with_capacity(BATCH);
    let mut ids: Vec<Result<EventId, BrokerError>> = Vec::with_capacity(BATCH);
    while !link.closed.load(Ordering::Relaxed) {
        match jobs.recv_timeout(Duration::from_millis(200)) {
            Ok(first) => batch.push(first),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // What waited past its deadline is refused unsent: it takes no id.
        let (late, fresh): (Vec<Publish>, Vec<Publish>) = batch
            .drain(..)
            .partition(|job| job.queued.elapsed() >= PUBLISH_DEADLINE);
        for job in late {
            link.refuse(job.done, "the broker did not take it in time".to_owned());
        }
        batch = fresh;
        if batch.is_empty() {
            continue;
        }
        // A session idle for a while may be to a broker that restarted meanwhile: found
        // now, a new one is made, and no publish is sent into the void.
        if last_used.elapsed() >= IDLE
            && let Some(open) = session.as_mut()
            && open.check().is_err()
        {
            session = None;
            retry_at = Instant::now();
        }
        last_used = Instant::now();
        if session.is_none() {
            // Within the pause, unless the feed has reached the broker since: it is back.
            if Instant::now() < retry_at && !link.up.load(Ordering::SeqCst) {
                for job in batch.drain(..) {
                    link.refuse(job.done, "the broker is unreachable".to_owned());
                }
                continue;
            }
            match link.broker.session() {
                Ok(made) => session = Some(made),
                Err(e) => {
                    outage.failed("publishing", &e);
                    retry_at = Instant::now() + backoff.next();
                    for job in batch.drain(..) {
                        link.refuse(job.done, e.to_string());
                    }
                    continue;
                }
            }
        }
        let open = session.as_mut().expect("made above");
        let outgoing: Vec<Outgoing<'_>> = batch
            .iter()
            .map(|job| Outgoing {
                topic: &job.topic,
                kind: job.kind.as_deref(),
                data: &job.data,
            })
            .collect();
        ids.clear();
        let sent = open.publish(&outgoing, history, &mut ids);
        drop(outgoing);
        let mut results = ids.drain(..);
        for job in batch.drain(..) {
            match results.next() {
                Some(Ok(id)) => (job.done)(Ok(id)),
                Some(Err(e)) => link.refuse(job.done, e.to_string()),
                // The session broke before its answer came: it may have been published.
                None => link.refuse(
                    job.done,
                    "the broker's answer was lost (it may have been published)".to_owned(),
                ),
            }
        }
        drop(results);
        match sent {
            Ok(()) => {
                outage.recovered("publishing");
                backoff.reset();
            }
            Err(e) => {
                outage.failed("publishing", &e);
                session = None;
                retry_at = Instant::now() + backoff.next();
            }
        }
    }
}
