//! The running workers as the other threads see them, and what stopped workers had
//! counted.

use std::sync::Arc;

use warden_reactor::{Activity, Inbox, Stats, StatsSnapshot};

use crate::busy::Busy;

/// One running worker.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: usize,
    pub(crate) stats: Arc<Stats>,
    pub(crate) inbox: Inbox,
    pub(crate) activity: Arc<Activity>,
    pub(crate) busy: Arc<Busy>,
}

/// The workers running now, plus what stopped workers had counted.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    current: Vec<Entry>,
    /// What stopped workers had counted (none of their connections is open here).
    pub(crate) retired: StatsSnapshot,
}

impl Registry {
    /// The running workers, by id.
    pub(crate) fn current(&self) -> &[Entry] {
        &self.current
    }

    pub(crate) fn add(&mut self, entry: Entry) {
        self.current.push(entry);
        self.current.sort_by_key(|e| e.id);
    }

    pub(crate) fn retire(&mut self, id: usize, stats: &Arc<Stats>) {
        if let Some(i) = self
            .current
            .iter()
            .position(|e| e.id == id && Arc::ptr_eq(&e.stats, stats))
        {
            let entry = self.current.remove(i);
            let mut snapshot = entry.stats.snapshot();
            snapshot.active_connections = 0;
            snapshot.awaiting_answer = 0;
            self.retired.add(&snapshot);
        }
    }
}
