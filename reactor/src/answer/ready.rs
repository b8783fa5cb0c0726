//! Readiness for writers driven without blocking: one thread, many streams.
//!
//! A [`BodyWriter`](crate::BodyWriter) registered with a [`Readiness`] reports a full
//! queue with `WouldBlock` instead of waiting ([`BodyWriter::try_write`](crate::BodyWriter::try_write));
//! when its connection has taken what was queued (or the stream ended), the loop marks its
//! token ready, and the thread driving the streams, waiting in [`Readiness::wait`], goes
//! on with that one. A slow client then delays only its own stream. Each writer has at
//! most one mark pending per `WouldBlock` (and one for its end): what is queued here is
//! bounded by the writers registered.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Where the loops tell one thread which of its non-blocking writers can go on.
///
/// ```
/// use std::time::Duration;
/// use warden_reactor::Readiness;
///
/// let ready = Readiness::new();
/// let mut tokens = Vec::new();
/// // Nothing registered is ready: the wait ends at its timeout, with no token.
/// assert_eq!(ready.wait(&mut tokens, Duration::from_millis(1)), 0);
/// ```
#[derive(Clone, Default)]
pub struct Readiness {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    tokens: Mutex<Vec<u64>>,
    marked: Condvar,
}

impl Readiness {
    /// A readiness set with no writer registered.
    pub fn new() -> Readiness {
        Readiness::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u64>> {
        // Nothing here panics while holding the lock; a poisoned vector is still whole.
        self.inner.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits up to `timeout` for a writer to be ready, then moves the tokens of every ready
    /// writer to `into` (a token may come twice). Returns how many it moved; 0 when the
    /// timeout passed first.
    pub fn wait(&self, into: &mut Vec<u64>, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut tokens = self.lock();
        while tokens.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                return 0;
            }
            tokens = self
                .inner
                .marked
                .wait_timeout(tokens, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let n = tokens.len();
        into.append(&mut tokens);
        n
    }

    /// Moves the tokens of the writers ready now to `into`, without waiting.
    pub fn take(&self, into: &mut Vec<u64>) -> usize {
        let mut tokens = self.lock();
        let n = tokens.len();
        into.append(&mut tokens);
        n
    }

    /// Marks `token` ready, waking the thread in [`Readiness::wait`]. The loops call it
    /// for registered writers (never waiting but for this short lock); the application
    /// may too, to wake its driving thread for news of its own (a new stream to drive).
    pub fn mark(&self, token: u64) {
        self.lock().push(token);
        self.inner.marked.notify_one();
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("ready", &self.lock().len())
            .finish()
    }
}
