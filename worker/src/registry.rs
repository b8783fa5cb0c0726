//! The counters of the running workers, and what stopped workers had counted.

use std::sync::Arc;

use warden_reactor::{Inbox, Stats};

/// The counters of the workers running now, plus what stopped workers had counted.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    current: Vec<(usize, Arc<Stats>, Inbox)>,
    pub(crate) retired_accepted: u64,
    pub(crate) retired_requests: u64,
}

impl Registry {
    /// The running workers' ids, counters and inboxes, by id.
    pub(crate) fn current(&self) -> &[(usize, Arc<Stats>, Inbox)] {
        &self.current
    }

    pub(crate) fn add(&mut self, id: usize, stats: Arc<Stats>, inbox: Inbox) {
        self.current.push((id, stats, inbox));
        self.current.sort_by_key(|(id, _, _)| *id);
    }

    pub(crate) fn retire(&mut self, id: usize, stats: &Arc<Stats>) {
        if let Some(i) = self
            .current
            .iter()
            .position(|(i, s, _)| *i == id && Arc::ptr_eq(s, stats))
        {
            let (_, stats, _) = self.current.remove(i);
            let snapshot = stats.snapshot();
            self.retired_accepted += snapshot.accepted;
            self.retired_requests += snapshot.requests;
        }
    }
}
