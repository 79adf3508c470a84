//! `schedule`: queue a job (or join an identical pending one).

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::queue::model::{EventKind, JobId, Origin, ser_opt_ts, ser_ts};
use crate::queue::{NewJob, Queue};

use super::{Context, Result, resolve};

#[derive(Debug, Clone)]
pub struct Schedule {
    pub namespace: String,
    pub job: String,
    pub args: Vec<(String, String)>,
    pub delay: Duration,
    pub origin: Origin,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scheduled {
    pub id: JobId,
    #[serde(rename = "type")]
    pub job_type: String,
    pub merged: bool,
    #[serde(serialize_with = "ser_ts")]
    pub start_after: Timestamp,
    /// A job of the same type running now.
    pub running: Option<JobId>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub suppressed_until: Option<Timestamp>,
    /// Whether some dispatcher heartbeated within [`crate::runner::HEARTBEAT_STALE`].
    pub dispatcher_alive: bool,
}

impl Schedule {
    pub fn execute(self, ctx: &Context<'_>, queue: &mut Queue) -> Result<Scheduled> {
        self.execute_with(ctx, queue, None)
    }

    /// Schedules, with an event of `kind` written in the same transaction (a webhook job
    /// scheduled into a suppression window tells its channel).
    pub fn execute_with(self, ctx: &Context<'_>, queue: &mut Queue, event: Option<EventKind>) -> Result<Scheduled> {
        let job = resolve::job(ctx.catalog, &self.namespace, &self.job)?;
        let args = resolve::args(job, self.args)?;
        let now = ctx.clock.now();
        let new = NewJob { namespace: self.namespace, job: self.job, args, delay: self.delay, origin: self.origin };
        let s = queue.schedule_with(&new, now, event)?;
        Ok(Scheduled {
            id: s.id,
            job_type: new.job_type(),
            merged: s.merged,
            start_after: s.start_after,
            running: s.running,
            suppressed_until: s.suppressed_until,
            dispatcher_alive: dispatcher_alive(queue, now)?,
        })
    }
}

pub fn dispatcher_alive(queue: &Queue, now: Timestamp) -> Result<bool> {
    let cutoff = crate::queue::sub_duration(now, crate::runner::HEARTBEAT_STALE);
    Ok(queue.dispatchers()?.iter().any(|d| d.heartbeat_at >= cutoff))
}
