//! Reading jobs: one, a list (streamed), those in a state, and when a sleeping dispatcher
//! must look again.

use std::collections::HashMap;

use jiff::Timestamp;

use super::jobs::{get, job_from_row, request_from_row};
use super::model::{Job, JobId, JobState, Request};
use super::{ListFilter, Queue, QueueError, Result, ms, ts};

impl Queue {
    pub fn job(&self, id: JobId) -> Result<Option<Job>> {
        get(&self.db, id)
    }

    /// Pending and running jobs, plus (with `all`) jobs finished since `since`; at most
    /// `limit`, the newest, in id order.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<Job>> {
        let mut jobs = Vec::new();
        self.list_each(filter, |job| {
            jobs.push(job);
            Ok::<_, QueueError>(())
        })?;
        Ok(jobs)
    }

    /// [`Queue::list`], one job at a time: `queue list --json` of tens of thousands of jobs
    /// streams them. On SQLite jobs and their requests are read by two cursors walking ids
    /// upwards side by side, without holding them all; on PostgreSQL the requests are read
    /// first, then the jobs.
    pub fn list_each<E: From<QueueError>>(
        &self,
        filter: &ListFilter,
        mut f: impl FnMut(Job) -> Result<(), E>,
    ) -> Result<(), E> {
        const WHERE: &str = "(state IN ('pending', 'running') OR (?1 AND finished_at >= ?2))";
        let lowest: Option<i64> = self
            .db
            .row(
                &format!("SELECT min(id) FROM (SELECT id FROM jobs WHERE {WHERE} ORDER BY id DESC LIMIT ?3) AS newest"),
                &[&filter.all, &ms(filter.since), &i64::from(filter.limit)],
                |r| r.get(0),
            )?
            .flatten();
        let Some(lowest) = lowest else {
            return Ok(());
        };
        let jobs_sql = format!("SELECT {} FROM jobs WHERE {WHERE} AND id >= ?3 ORDER BY id", columns!());
        let requests_sql = "SELECT id, job_id, created_at, origin FROM requests WHERE job_id >= ?1 ORDER BY job_id, id";
        match &self.db {
            super::db::Db::Lite(conn) => {
                let mut requests = conn.prepare_cached(requests_sql).map_err(QueueError::from)?;
                let mut requests = requests.query([lowest]).map_err(QueueError::from)?;
                let mut pending: Option<(i64, Request)> = None;
                self.db.each(&jobs_sql, &[&filter.all, &ms(filter.since), &lowest], |row| {
                    let mut job = job_from_row(row)?;
                    // Skip the requests of jobs the filter left out, then take this job's.
                    loop {
                        if pending.is_none() {
                            match requests.next().map_err(QueueError::from)? {
                                Some(r) => pending = Some(request_from_row(&super::db::Row::Lite(r))?),
                                None => break,
                            }
                        }
                        match pending.take() {
                            Some((job_id, _)) if job_id < job.id.0 => {}
                            Some((job_id, request)) if job_id == job.id.0 => job.requests.push(request),
                            other => {
                                pending = other;
                                break;
                            }
                        }
                    }
                    f(job)
                })
            }
            super::db::Db::Pg(_) => {
                let mut by_job: HashMap<i64, Vec<Request>> = HashMap::new();
                self.db.each(requests_sql, &[&lowest], |r| {
                    let (job_id, request) = request_from_row(r)?;
                    by_job.entry(job_id).or_default().push(request);
                    Ok::<_, QueueError>(())
                })?;
                self.db.each(&jobs_sql, &[&filter.all, &ms(filter.since), &lowest], |row| {
                    let mut job = job_from_row(row)?;
                    job.requests = by_job.remove(&job.id.0).unwrap_or_default();
                    f(job)
                })
            }
        }
    }

    /// Jobs in a state, oldest first.
    pub fn jobs_in(&self, state: JobState) -> Result<Vec<Job>> {
        let sql = concat!("SELECT ", columns!(), " FROM jobs WHERE state = ?1 ORDER BY start_after, id");
        let mut jobs: Vec<Job> = self.db.rows(sql, &[&state.as_str()], job_from_row)?;
        self.attach_requests(&mut jobs)?;
        Ok(jobs)
    }

    fn attach_requests(&self, jobs: &mut [Job]) -> Result<()> {
        let (Some(first), Some(last)) = (jobs.iter().map(|j| j.id.0).min(), jobs.iter().map(|j| j.id.0).max()) else {
            return Ok(());
        };
        let index: HashMap<i64, usize> = jobs.iter().enumerate().map(|(i, j)| (j.id.0, i)).collect();
        self.db.each(
            "SELECT id, job_id, created_at, origin FROM requests WHERE job_id BETWEEN ?1 AND ?2 ORDER BY id",
            &[&first, &last],
            |row| {
                let (job_id, request) = request_from_row(row)?;
                if let Some(&i) = index.get(&job_id) {
                    jobs[i].requests.push(request);
                }
                Ok::<_, QueueError>(())
            },
        )
    }

    /// When the next pending job becomes due, or a suppression window ends: when a sleeping
    /// dispatcher must look again.
    pub fn next_wakeup(&self, now: Timestamp) -> Result<Option<Timestamp>> {
        let next: Option<i64> = self
            .db
            .row(
                "SELECT min(t) FROM (
                     SELECT min(start_after) AS t FROM jobs WHERE state = 'pending' AND start_after > ?1
                     UNION ALL
                     SELECT min(end_at) FROM suppressions WHERE end_at > ?1) AS next",
                &[&ms(now)],
                |r| r.get(0),
            )?
            .flatten();
        Ok(next.map(ts))
    }

    /// Counts jobs by state (for `status` and metrics).
    pub fn count_in(&self, state: JobState) -> Result<u64> {
        let n: i64 =
            self.db.row("SELECT count(*) FROM jobs WHERE state = ?1", &[&state.as_str()], |r| r.get(0))?.unwrap_or(0);
        Ok(n.unsigned_abs())
    }
}
