//! Recovery: running jobs whose dispatcher is gone become `lost`, and jobs that may be run
//! again (`on_lost = "retry"`, or cancelled by a shutdown) are queued once more.

use super::db::Db;
use super::model::{Dispatcher, DispatcherId, Job, JobId, JobState, Outcome};
use super::{Queue, QueueError, Result, jobs};
use jiff::Timestamp;

/// A running job and the dispatcher that owns it (`None`: its row is gone).
#[derive(Debug, Clone)]
pub struct Owned {
    pub job: Job,
    pub owner: Option<Dispatcher>,
}

impl Queue {
    /// Every running job with its owner.
    pub fn running_with_owners(&self) -> Result<Vec<Owned>> {
        let dispatchers = self.dispatchers()?;
        Ok(self
            .jobs_in(JobState::Running)?
            .into_iter()
            .map(|job| {
                let owner = job.status.run().and_then(|r| dispatchers.iter().find(|x| x.id == r.dispatcher).cloned());
                Owned { job, owner }
            })
            .collect())
    }

    /// Marks a running job `lost` (with its `finished` event) and, when `retry`, queues it
    /// again once. Returns the lost job and the retry, if one was queued or joined.
    pub fn settle_lost(
        &mut self,
        id: JobId,
        detail: &str,
        retry: bool,
        now: Timestamp,
    ) -> Result<Option<(Job, Option<JobId>)>> {
        let announce = self.options.announce_starts;
        let tx = self.write_locked()?;
        let outcome = Outcome::Lost { detail: detail.to_owned() };
        let Some(job) = jobs::finish_in(&tx, id, JobState::Running, &outcome, now, announce)? else {
            return Ok(None);
        };
        let retried = if retry { requeue_in(&tx, &job, now)? } else { None };
        tx.commit()?;
        Ok(Some((job, retried)))
    }

    /// Queues a finished job again, once (a retry is never retried): a new pending row with
    /// `retry_of` and the same requests, or those requests joined to an identical pending row.
    pub fn requeue(&mut self, id: JobId, now: Timestamp) -> Result<Option<JobId>> {
        let tx = self.write_locked()?;
        let job = jobs::get(&tx, id)?.ok_or_else(|| QueueError::Corrupt(format!("job {id} vanished")))?;
        let retried = requeue_in(&tx, &job, now)?;
        tx.commit()?;
        Ok(retried)
    }

    /// Removes a dispatcher that is gone (after its jobs were settled).
    pub fn forget_dispatcher(&mut self, id: DispatcherId) -> Result<()> {
        self.unregister_dispatcher(id)
    }
}

fn requeue_in(tx: &Db, job: &Job, now: Timestamp) -> Result<Option<JobId>> {
    if job.retry_of.is_some() {
        return Ok(None);
    }
    let args = job.args.to_json();
    let existing: Option<i64> = tx.row(
        "SELECT id FROM jobs WHERE type = ?1 AND args = ?2 AND state = 'pending'",
        &[&job.job_type(), &args],
        |r| r.get(0),
    )?;
    let id = if let Some(id) = existing {
        JobId(id)
    } else {
        JobId(tx.insert(
            "INSERT INTO jobs (type, namespace, job, args, state, created_at, start_after, retry_of)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5, ?6)",
            &[&job.job_type(), &job.namespace, &job.job, &args, &super::ms(now), &job.id.0],
        )?)
    };
    tx.exec(
        "INSERT INTO requests (job_id, created_at, origin, channel)
         SELECT CAST(?1 AS BIGINT), created_at, origin, channel FROM requests WHERE job_id = ?2 ORDER BY id",
        &[&id.0, &job.id.0],
    )?;
    Ok(Some(id))
}
