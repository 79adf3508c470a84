//! `status`: what is running, what is scheduled, suppressions, dispatchers and undelivered
//! messages.

use serde::Serialize;

use crate::queue::model::{Dispatcher, Job, JobState, Suppression};
use crate::queue::{DeliveryStatus, Queue};

use super::{Context, Result};

#[derive(Debug, Clone, Default)]
pub struct Status;

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub running: Vec<Job>,
    pub pending: Vec<Job>,
    pub suppressions: Vec<Suppression>,
    pub dispatchers: Vec<DispatcherStatus>,
    pub delivery: DeliveryStatus,
}

#[derive(Debug, Clone, Serialize)]
pub struct DispatcherStatus {
    #[serde(flatten)]
    pub dispatcher: Dispatcher,
    pub heartbeat_age_seconds: i64,
    /// No heartbeat within [`crate::runner::HEARTBEAT_STALE`].
    pub stale: bool,
}

impl StatusReport {
    /// Nothing running, scheduled or suppressed: the original's "Nothing is happening".
    pub fn is_idle(&self) -> bool {
        self.running.is_empty() && self.pending.is_empty() && self.suppressions.is_empty()
    }
}

impl Status {
    pub fn execute(self, ctx: &Context<'_>, queue: &Queue) -> Result<StatusReport> {
        let now = ctx.clock.now();
        let dispatchers = queue
            .dispatchers()?
            .into_iter()
            .map(|d| {
                let age = (now.as_millisecond() - d.heartbeat_at.as_millisecond()) / 1000;
                let stale = age.unsigned_abs() > crate::runner::HEARTBEAT_STALE.as_secs();
                DispatcherStatus { dispatcher: d, heartbeat_age_seconds: age, stale }
            })
            .collect();
        Ok(StatusReport {
            running: queue.jobs_in(JobState::Running)?,
            pending: queue.jobs_in(JobState::Pending)?,
            suppressions: queue.suppressions(now)?,
            dispatchers,
            delivery: queue.delivery_status()?,
        })
    }
}
