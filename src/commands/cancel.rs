//! `cancel <ns> <job>` (pending jobs of a type) and `cancel --id N` (one job, pending or running).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::queue::model::{Job, JobId};
use crate::queue::{CancelById, Queue};

use super::{CommandError, Context, Result, resolve};

/// Cancel every pending job of a type.
#[derive(Debug, Clone)]
pub struct CancelType {
    pub namespace: String,
    pub job: String,
    /// Who asks (`terminal:alice`, a Slack user id).
    pub by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CancelledType {
    #[serde(rename = "type")]
    pub job_type: String,
    pub cancelled: Vec<JobId>,
    /// A job of the type that is running and was left alone: stop it with `cancel --id`.
    pub running: Option<JobId>,
}

impl CancelType {
    pub fn execute(self, ctx: &Context<'_>, queue: &mut Queue) -> Result<CancelledType> {
        let job = resolve::job(ctx.catalog, &self.namespace, &self.job)?;
        let c = queue.cancel_pending(&self.namespace, &self.job, &self.by, ctx.clock.now())?;
        Ok(CancelledType { job_type: job.job_type(), cancelled: c.ids, running: c.running })
    }
}

/// Cancel one job: a pending one at once; a running one by asking its dispatcher to stop it
/// (TERM, grace, KILL), then waiting up to `wait` for it to finish.
#[derive(Debug, Clone)]
pub struct CancelId {
    pub id: JobId,
    pub by: String,
    pub wait: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct CancelledJob {
    /// The job as it is now; `running` if it had not stopped within the wait.
    pub job: Job,
    /// Whether it was running when asked (and so was stopped rather than dequeued).
    pub was_running: bool,
}

impl CancelId {
    pub fn execute(self, ctx: &Context<'_>, queue: &mut Queue) -> Result<CancelledJob> {
        match queue.cancel_id(self.id, &self.by, ctx.clock.now())? {
            CancelById::NotFound if queue.was_pruned(self.id)? => Err(CommandError::Pruned(self.id)),
            CancelById::NotFound => Err(CommandError::UnknownId(self.id)),
            CancelById::AlreadyFinished(job) => Err(CommandError::AlreadyFinished { id: job.id, state: job.state() }),
            CancelById::Cancelled(job) => Ok(CancelledJob { job, was_running: false }),
            CancelById::StopRequested(job) => {
                let job = wait_until_finished(queue, job, self.wait)?;
                Ok(CancelledJob { job, was_running: true })
            }
        }
    }
}

/// Polls until the job has finished or `wait` has passed. It is another process (its
/// dispatcher) that stops the job; the queue is all we share.
fn wait_until_finished(queue: &Queue, mut job: Job, wait: Duration) -> Result<Job> {
    let deadline = Instant::now() + wait;
    let mut version = queue.data_version()?;
    while !job.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        let v = queue.data_version()?;
        if v != version {
            version = v;
            job = queue.job(job.id)?.ok_or(CommandError::UnknownId(job.id))?;
        }
    }
    Ok(job)
}
