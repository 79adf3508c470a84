//! Jobs: schedule (with dedupe), claim, start in the foreground, finish, cancel, read.

use std::time::Duration;

use super::db::{Db, Row};
use super::model::{Args, DispatcherId, EventKind, Job, JobId, JobState, JobStatus, JobType, Origin, Outcome, Request};
use super::record::{JobRow, OutcomeColumns};
use super::{Queue, QueueError, Result, add, events, ms, ts};
use jiff::Timestamp;

/// A request for a job.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub namespace: String,
    pub job: String,
    pub args: Args,
    pub delay: Duration,
    pub origin: Origin,
}

impl NewJob {
    pub fn job_type(&self) -> JobType {
        JobType::new(&self.namespace, &self.job)
    }
}

/// What `schedule` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    pub id: JobId,
    /// The request joined an identical pending job.
    pub merged: bool,
    pub start_after: Timestamp,
    /// A job of this type that is running now, if any.
    pub running: Option<JobId>,
    /// The job will wait for a suppression window that ends then.
    pub suppressed_until: Option<Timestamp>,
}

/// Why a foreground job cannot start yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Busy {
    /// A job of the same type is running.
    TypeRunning(JobId),
    /// `max_running` jobs are running.
    AtCapacity,
    /// The type is suppressed until then.
    Suppressed(Timestamp),
}

/// What `cancel_id` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelById {
    /// A pending job, now cancelled.
    Cancelled(Job),
    /// A running job; its dispatcher has been asked to stop it.
    StopRequested(Job),
    /// Nothing to do: the job had already finished.
    AlreadyFinished(Job),
    /// Nothing done: the job is running and only a pending one was to be cancelled.
    Running(Job),
    NotFound,
}

/// What `cancel_pending` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    pub ids: Vec<JobId>,
    /// A job of the type that is running and was left alone.
    pub running: Option<JobId>,
}

/// Which jobs `list` returns.
#[derive(Debug, Clone)]
pub struct ListFilter {
    /// Also finished jobs (those finished at or after `since`).
    pub all: bool,
    pub since: Timestamp,
    pub limit: u32,
}

/// Reads a `jobs` row (the [`columns!`] in order) and decodes it in [`JobRow::decode`].
pub(super) fn job_from_row(row: &Row<'_, '_>) -> Result<Job> {
    JobRow {
        id: row.get(0)?,
        namespace: row.get(1)?,
        job: row.get(2)?,
        args: row.get(3)?,
        state: row.get(4)?,
        created_at: row.get(5)?,
        start_after: row.get(6)?,
        started_at: row.get(7)?,
        finished_at: row.get(8)?,
        exit_code: row.get(9)?,
        signal: row.get(10)?,
        detail: row.get(11)?,
        log_dir: row.get(12)?,
        dispatcher_id: row.get(13)?,
        pgid: row.get(14)?,
        retry_of: row.get(15)?,
        cancel_requested_by: row.get(16)?,
        cancelled_by: row.get(17)?,
        timeout_ms: row.get(18)?,
    }
    .decode()
    .map_err(|e| QueueError::Corrupt(e.to_string()))
}

pub(super) fn request_from_row(row: &Row<'_, '_>) -> Result<(i64, Request)> {
    let origin: String = row.get(3)?;
    let origin: Origin =
        serde_json::from_str(&origin).map_err(|e| QueueError::Corrupt(format!("request origin: {e}")))?;
    Ok((row.get(1)?, Request { id: row.get(0)?, created_at: ts(row.get(2)?), origin }))
}

/// Loads one job with its requests.
pub(super) fn get(tx: &Db, id: JobId) -> Result<Option<Job>> {
    let sql = concat!("SELECT ", columns!(), " FROM jobs WHERE id = ?1");
    let Some(mut job) = tx.row(sql, &[&id.0], job_from_row)? else {
        return Ok(None);
    };
    // No `ORDER BY` here: with it, SQLite (built with STAT4) re-plans the statement for every
    // new `?1`, which cost a third of a claim. The handful of rows is sorted below instead.
    job.requests = tx.rows("SELECT id, job_id, created_at, origin FROM requests WHERE job_id = ?1", &[&id.0], |r| {
        request_from_row(r).map(|(_, req)| req)
    })?;
    job.requests.sort_unstable_by_key(|r| r.id);
    Ok(Some(job))
}

fn insert_request(tx: &Db, job: JobId, origin: &Origin, now: Timestamp) -> Result<()> {
    let json = serde_json::to_string(origin).map_err(|e| QueueError::Corrupt(e.to_string()))?;
    tx.exec(
        "INSERT INTO requests (job_id, created_at, origin, channel) VALUES (?1, ?2, ?3, ?4)",
        &[&job.0, &ms(now), &json, &origin.channel()],
    )?;
    Ok(())
}

fn running_of_type(tx: &Db, job_type: &str) -> Result<Option<JobId>> {
    Ok(tx.row("SELECT id FROM jobs WHERE type = ?1 AND state = 'running'", &[&job_type], |r| r.get(0))?.map(JobId))
}

/// Moves a job from `from` to the outcome's final state, with its `finished` event.
pub(super) fn finish_in(
    tx: &Db,
    id: JobId,
    from: JobState,
    outcome: &Outcome,
    now: Timestamp,
    announce: bool,
) -> Result<Option<Job>> {
    let c = OutcomeColumns::from(outcome);
    let n = tx.exec(
        "UPDATE jobs SET state = ?3, finished_at = ?4, exit_code = ?5, signal = ?6, detail = ?7,
                         cancelled_by = ?8, timeout_ms = ?9
         WHERE id = ?1 AND state = ?2",
        &[
            &id.0,
            &from.as_str(),
            &c.state,
            &ms(now),
            &c.exit_code,
            &c.signal,
            &c.detail,
            &c.cancelled_by,
            &c.timeout_ms,
        ],
    )?;
    if n == 0 {
        return Ok(None);
    }
    events::insert(tx, id, EventKind::Finished, now, announce)?;
    let job = get(tx, id)?;
    if let Some(job) = &job {
        super::metrics::record_finish(tx, job)?;
    }
    Ok(job)
}

/// Schedules inside the caller's transaction (see [`Queue::schedule_with`]).
pub(super) fn schedule_in(
    tx: &Db,
    new: &NewJob,
    now: Timestamp,
    event: Option<EventKind>,
    announce: bool,
) -> Result<Scheduled> {
    let job_type = new.job_type();
    let args = new.args.to_json();
    let start_after = add(now, new.delay);
    let existing: Option<i64> =
        tx.row("SELECT id FROM jobs WHERE type = ?1 AND args = ?2 AND state = 'pending'", &[&job_type, &args], |r| {
            r.get(0)
        })?;
    let (id, merged) = if let Some(id) = existing {
        tx.exec("UPDATE jobs SET start_after = ?2 WHERE id = ?1", &[&id, &ms(start_after)])?;
        (JobId(id), true)
    } else {
        let id = tx.insert(
            "INSERT INTO jobs (type, namespace, job, args, state, created_at, start_after)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)",
            &[&job_type, &new.namespace, &new.job, &args, &ms(now), &ms(start_after)],
        )?;
        (JobId(id), false)
    };
    insert_request(tx, id, &new.origin, now)?;
    if let Some(kind) = event {
        events::insert(tx, id, kind, now, announce)?;
    }
    let running = running_of_type(tx, &job_type)?;
    let suppressed_until = super::suppress::window_end(tx, &job_type, start_after)?;
    Ok(Scheduled { id, merged, start_after, running, suppressed_until })
}

/// The claim's pick: the oldest due job whose type is neither running nor suppressed, while
/// fewer than `?3` jobs run.
macro_rules! claim_sql {
    () => {
        "SELECT j.id FROM jobs j
         WHERE j.state = 'pending' AND j.start_after <= ?2
           AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.state = 'running' AND r.type = j.type)
           AND NOT EXISTS (SELECT 1 FROM suppressions s
                           WHERE s.type = j.type AND s.start_at <= ?1 AND ?1 < s.end_at)
           AND (SELECT count(*) FROM jobs WHERE state = 'running') < ?3
         ORDER BY j.start_after, j.id"
    };
}

impl Queue {
    /// Queues a job, or joins an identical pending one (same type and args): the request is
    /// added to it and its start moves to `now + delay`.
    pub fn schedule(&mut self, new: &NewJob, now: Timestamp) -> Result<Scheduled> {
        self.schedule_with(new, now, None)
    }

    /// [`Queue::schedule`], plus an event of `kind` for the job in the same transaction.
    pub fn schedule_with(&mut self, new: &NewJob, now: Timestamp, event: Option<EventKind>) -> Result<Scheduled> {
        let announce = self.options.announce_starts;
        let tx = self.write_locked()?;
        let scheduled = schedule_in(&tx, new, now, event, announce)?;
        tx.commit()?;
        Ok(scheduled)
    }

    /// Claims the next due job (`start_after <= due_by`) that may start now: its type is not
    /// running or suppressed, and fewer than `max_running` jobs run. One immediate transaction,
    /// with the `started` event: no job is ever claimed twice. (On PostgreSQL the row is taken
    /// `FOR UPDATE SKIP LOCKED`, under the queue's advisory lock: see the module.)
    pub fn claim(
        &mut self,
        dispatcher: DispatcherId,
        now: Timestamp,
        due_by: Timestamp,
        max_running: u32,
    ) -> Result<Option<Job>> {
        let announce = self.options.announce_starts;
        let tx = self.write_locked()?;
        // Pick, then take: no other writer can come between the two, the transaction being
        // IMMEDIATE. (`UPDATE … RETURNING` would do it in one statement, but SQLite builds a
        // temporary table for RETURNING, which costs a third of a claim.)
        let id: Option<i64> = tx.row(
            tx.pick(concat!(claim_sql!(), " LIMIT 1"), concat!(claim_sql!(), " LIMIT 1 FOR UPDATE OF j SKIP LOCKED")),
            &[&ms(now), &ms(due_by), &i64::from(max_running)],
            |r| r.get(0),
        )?;
        let Some(id) = id else {
            return Ok(None);
        };
        // Only a registered dispatcher claims: one that another host declared lost (and
        // removed) must register again first, or its claim would look orphaned at once.
        let taken = tx.exec(
            "UPDATE jobs SET state = 'running', started_at = ?2, dispatcher_id = ?3
             WHERE id = ?1 AND state = 'pending' AND EXISTS (SELECT 1 FROM dispatchers WHERE id = ?3)",
            &[&id, &ms(now), &dispatcher.0],
        )?;
        if taken == 0 {
            return Err(QueueError::NotRegistered(dispatcher.0));
        }
        events::insert(&tx, JobId(id), EventKind::Started, now, announce)?;
        let job = get(&tx, JobId(id))?.ok_or_else(|| QueueError::Corrupt(format!("claimed job {id} vanished")))?;
        tx.commit()?;
        Ok(Some(job))
    }

    /// Inserts a job already running, owned by `dispatcher` (`ebmbot run`), if its type is
    /// free, the cap allows, and (unless `force`) it is not suppressed. Never merges.
    pub fn start_now(
        &mut self,
        new: &NewJob,
        dispatcher: DispatcherId,
        now: Timestamp,
        max_running: u32,
        force: bool,
    ) -> Result<Result<Job, Busy>> {
        let job_type = new.job_type();
        let announce = self.options.announce_starts;
        let tx = self.write_locked()?;
        if tx.row("SELECT id FROM dispatchers WHERE id = ?1", &[&dispatcher.0], |r| r.get::<i64>(0))?.is_none() {
            return Err(QueueError::NotRegistered(dispatcher.0));
        }
        if let Some(running) = running_of_type(&tx, &job_type)? {
            return Ok(Err(Busy::TypeRunning(running)));
        }
        if !force && let Some(end) = super::suppress::window_end(&tx, &job_type, now)? {
            return Ok(Err(Busy::Suppressed(end)));
        }
        let running: i64 = tx.row("SELECT count(*) FROM jobs WHERE state = 'running'", &[], |r| r.get(0))?.unwrap_or(0);
        if running >= i64::from(max_running) {
            return Ok(Err(Busy::AtCapacity));
        }
        let id = JobId(tx.insert(
            "INSERT INTO jobs (type, namespace, job, args, state, created_at, start_after, started_at, dispatcher_id)
             VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?5, ?5, ?6)",
            &[&job_type, &new.namespace, &new.job, &new.args.to_json(), &ms(now), &dispatcher.0],
        )?);
        insert_request(&tx, id, &new.origin, now)?;
        events::insert(&tx, id, EventKind::Started, now, announce)?;
        let job = get(&tx, id)?.ok_or_else(|| QueueError::Corrupt(format!("inserted job {id} vanished")))?;
        tx.commit()?;
        Ok(Ok(job))
    }

    /// Records where a claimed job's logs are and its process group.
    pub fn set_process(&mut self, id: JobId, log_dir: &str, pgid: Option<i32>) -> Result<()> {
        let tx = self.write()?;
        tx.exec("UPDATE jobs SET log_dir = ?2, pgid = ?3 WHERE id = ?1", &[&id.0, &log_dir, &pgid])?;
        tx.commit()?;
        Ok(())
    }

    /// Records the outcome of a running job, with its `finished` event. Returns the job as it
    /// now is; `None` if it was not running.
    pub fn finish(&mut self, id: JobId, outcome: &Outcome, now: Timestamp) -> Result<Option<Job>> {
        let announce = self.options.announce_starts;
        let tx = self.write()?;
        let job = finish_in(&tx, id, JobState::Running, outcome, now, announce)?;
        tx.commit()?;
        Ok(job)
    }

    /// Cancels every pending job of a type. A running one is left alone and named.
    pub fn cancel_pending(&mut self, namespace: &str, job: &str, by: &str, now: Timestamp) -> Result<Cancelled> {
        let job_type = JobType::new(namespace, job);
        let announce = self.options.announce_starts;
        let c = OutcomeColumns::from(&Outcome::Cancelled { by: by.to_owned() });
        let tx = self.write()?;
        let ids: Vec<JobId> = tx.rows(
            "UPDATE jobs SET state = ?2, finished_at = ?3, detail = ?4, cancelled_by = ?5
             WHERE type = ?1 AND state = 'pending' RETURNING id",
            &[&job_type, &c.state, &ms(now), &c.detail, &c.cancelled_by],
            |r| r.get(0).map(JobId),
        )?;
        for id in &ids {
            events::insert(&tx, *id, EventKind::Finished, now, announce)?;
            super::metrics::record_unstarted(&tx, &job_type, JobState::Cancelled)?;
        }
        let running = running_of_type(&tx, &job_type)?;
        tx.commit()?;
        Ok(Cancelled { ids, running })
    }

    /// Cancels a pending job, or asks the dispatcher that owns a running one to stop it (unless
    /// `pending_only`: then a running job is left alone).
    pub fn cancel_id(&mut self, id: JobId, by: &str, now: Timestamp, pending_only: bool) -> Result<CancelById> {
        let announce = self.options.announce_starts;
        let tx = self.write()?;
        let Some(job) = get(&tx, id)? else {
            return Ok(CancelById::NotFound);
        };
        match job.status {
            JobStatus::Pending => {
                let outcome = Outcome::Cancelled { by: by.to_owned() };
                let job = finish_in(&tx, id, JobState::Pending, &outcome, now, announce)?;
                tx.commit()?;
                Ok(job.map_or(CancelById::NotFound, CancelById::Cancelled))
            }
            JobStatus::Running { .. } if pending_only => Ok(CancelById::Running(job)),
            JobStatus::Running { .. } => {
                tx.exec(
                    "UPDATE jobs SET cancel_requested_by = coalesce(cancel_requested_by, ?2) WHERE id = ?1",
                    &[&id.0, &by],
                )?;
                let job = get(&tx, id)?.unwrap_or(job);
                tx.commit()?;
                Ok(CancelById::StopRequested(job))
            }
            JobStatus::Finished { .. } => Ok(CancelById::AlreadyFinished(job)),
        }
    }

    /// Running jobs of `dispatcher` that someone asked to stop: (id, who asked).
    pub fn stop_requests(&self, dispatcher: DispatcherId) -> Result<Vec<(JobId, String)>> {
        self.db.rows(
            "SELECT id, cancel_requested_by FROM jobs
             WHERE dispatcher_id = ?1 AND state = 'running' AND cancel_requested_by IS NOT NULL",
            &[&dispatcher.0],
            |r| Ok((JobId(r.get(0)?), r.get(1)?)),
        )
    }
}
