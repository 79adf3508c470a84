//! `schedule`: queue a job (or join an identical pending one).

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::queue::model::{JobId, ser_opt_ts, ser_ts};
use crate::queue::{NewJob, Queue};

use super::access::{Allowed, Caller, Scope};
use super::{Action, Context, Result, resolve};

/// What a `confirm = true` job asks before it is queued, in Slack and on a terminal alike.
pub fn question(namespace: &str, job: &str) -> String {
    format!("Run `{namespace} {job}` now?")
}

/// Queue a job for the caller (its origin hears the result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub namespace: String,
    pub job: String,
    pub args: Vec<(String, String)>,
    pub delay: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scheduled {
    pub id: JobId,
    #[serde(rename = "type")]
    pub job_type: crate::config::JobType,
    pub merged: bool,
    #[serde(serialize_with = "ser_ts")]
    pub start_after: Timestamp,
    /// A job of the same type running now.
    pub running: Option<JobId>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub suppressed_until: Option<Timestamp>,
    /// Whether some dispatcher heartbeated within [`crate::runner::HEARTBEAT_STALE`].
    pub dispatcher_alive: bool,
    /// The delay asked for.
    #[serde(skip)]
    pub delay: Duration,
}

impl Action for Schedule {
    type Output = Scheduled;

    fn scope(&self) -> Scope<'_> {
        Scope::Namespace(&self.namespace)
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, _: Allowed) -> Result<Scheduled> {
        let job = resolve::job(ctx.catalog, &self.namespace, &self.job)?;
        let args = resolve::args(job, self.args)?;
        let now = ctx.clock.now();
        let origin = caller.origin.clone();
        let delay = self.delay;
        let new = NewJob { namespace: self.namespace, job: self.job, args, delay, origin };
        let s = queue.schedule(&new, now)?;
        Ok(Scheduled {
            id: s.id,
            job_type: new.job_type(),
            merged: s.merged,
            start_after: s.start_after,
            running: s.running,
            suppressed_until: s.suppressed_until,
            dispatcher_alive: dispatcher_alive(queue, now)?,
            delay,
        })
    }
}

pub fn dispatcher_alive(queue: &Queue, now: Timestamp) -> Result<bool> {
    let cutoff = crate::queue::sub_duration(now, crate::runner::HEARTBEAT_STALE);
    Ok(queue.dispatchers()?.iter().any(|d| d.heartbeat_at >= cutoff))
}
