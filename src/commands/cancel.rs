//! `cancel <ns> <job>` (pending jobs of a type) and `cancel --id N` (one job, pending or running;
//! with `--pending-only`, the original's `remove job id N`, only a pending one).

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::queue::model::{Job, JobId};
use crate::queue::{CancelById, Queue};

use super::access::{Allowed, Caller, Scope};
use super::{Action, CommandError, Context, Result, resolve};

/// Cancel every pending job of a type (in the caller's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelType {
    pub namespace: String,
    pub job: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CancelledType {
    #[serde(rename = "type")]
    pub job_type: crate::config::JobType,
    pub cancelled: Vec<JobId>,
    /// A job of the type that is running and was left alone: stop it with `cancel --id`.
    pub running: Option<JobId>,
}

impl Action for CancelType {
    type Output = CancelledType;

    fn scope(&self) -> Scope<'_> {
        Scope::Namespace(&self.namespace)
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, _: Allowed) -> Result<CancelledType> {
        let job = resolve::job(ctx.catalog, &self.namespace, &self.job)?;
        let c = queue.cancel_pending(&self.namespace, &self.job, &caller.requested_by(), ctx.clock.now())?;
        Ok(CancelledType { job_type: job.job_type(), cancelled: c.ids, running: c.running })
    }
}

/// Cancel one job: a pending one at once; a running one by asking its dispatcher to stop it
/// (TERM, grace, KILL). The request is all: a frontend that wants to show the end waits for it
/// with [`wait_until_finished`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelId {
    pub id: JobId,
    /// Only a pending job is cancelled; a running one is left alone (`remove job id N`).
    pub pending_only: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CancelledJob {
    /// The job as it is now (still `running` while its dispatcher stops it).
    pub job: Job,
    /// Whether it was running when asked (and so was stopped rather than dequeued).
    pub was_running: bool,
}

impl Action for CancelId {
    type Output = CancelledJob;

    fn scope(&self) -> Scope<'_> {
        Scope::Job(self.id)
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, _: Allowed) -> Result<CancelledJob> {
        match queue.cancel_id(self.id, &caller.requested_by(), ctx.clock.now(), self.pending_only)? {
            CancelById::NotFound if queue.was_pruned(self.id)? => Err(CommandError::Pruned(self.id)),
            CancelById::NotFound => Err(CommandError::UnknownId(self.id)),
            CancelById::AlreadyFinished(job) => Err(CommandError::AlreadyFinished { id: job.id, state: job.state() }),
            CancelById::Running(job) => Err(CommandError::StillRunning { id: job.id, job_type: job.job_type() }),
            CancelById::Cancelled(job) => Ok(CancelledJob { job, was_running: false }),
            CancelById::StopRequested(job) => Ok(CancelledJob { job, was_running: true }),
        }
    }
}

/// Waits until the job has finished or `wait` has passed, and returns it as it is then. It is
/// another process (its dispatcher) that stops the job; the queue is all we share, and it
/// wakes us at each change.
pub fn wait_until_finished(queue: &Queue, mut job: Job, wait: Duration) -> Result<Job> {
    let deadline = Instant::now() + wait;
    let waker = queue.waker();
    // It may have finished before the waker watched: look once more, then at each change.
    job = queue.job(job.id)?.ok_or(CommandError::UnknownId(job.id))?;
    while !job.is_finished() && Instant::now() < deadline {
        if waker.wait(deadline.saturating_duration_since(Instant::now())) {
            job = queue.job(job.id)?.ok_or(CommandError::UnknownId(job.id))?;
        }
    }
    Ok(job)
}
