//! Reading jobs: one, a list (streamed), those in a state, and when a sleeping dispatcher
//! must look again.

use std::collections::HashMap;

use jiff::Timestamp;
use rusqlite::params;

use super::jobs::{get, job_from_row, request_from_row};
use super::model::{Job, JobId, JobState};
use super::{ListFilter, Queue, QueueError, Result, ms, row, ts};

impl Queue {
    pub fn job(&self, id: JobId) -> Result<Option<Job>> {
        get(&self.conn, id)
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

    /// [`Queue::list`], one job at a time, without holding them all: `queue list --json` of
    /// tens of thousands of jobs streams them. Jobs and their requests are read by two cursors
    /// walking ids upwards side by side.
    pub fn list_each<E: From<QueueError>>(
        &self,
        filter: &ListFilter,
        mut f: impl FnMut(Job) -> Result<(), E>,
    ) -> Result<(), E> {
        const WHERE: &str = "(state IN ('pending', 'running') OR (?1 AND finished_at >= ?2))";
        let lowest: Option<i64> = row(
            &self.conn,
            &format!("SELECT min(id) FROM (SELECT id FROM jobs WHERE {WHERE} ORDER BY id DESC LIMIT ?3)"),
            params![filter.all, ms(filter.since), filter.limit],
            |r| r.get(0),
        )
        .map_err(QueueError::from)?;
        let Some(lowest) = lowest else {
            return Ok(());
        };
        let sql = format!("SELECT {} FROM jobs WHERE {WHERE} AND id >= ?3 ORDER BY id", columns!());
        let mut jobs = self.conn.prepare_cached(&sql).map_err(QueueError::from)?;
        let jobs =
            jobs.query_map(params![filter.all, ms(filter.since), lowest], job_from_row).map_err(QueueError::from)?;
        let mut requests = self
            .conn
            .prepare_cached(
                "SELECT id, job_id, created_at, origin FROM requests WHERE job_id >= ?1 ORDER BY job_id, id",
            )
            .map_err(QueueError::from)?;
        let mut requests = requests.query_map([lowest], request_from_row).map_err(QueueError::from)?.peekable();
        for job in jobs {
            let mut job = job.map_err(QueueError::from)?;
            // Skip the requests of jobs the filter left out, then take this job's.
            while let Some(Ok((job_id, _))) = requests.peek() {
                if *job_id > job.id.0 {
                    break;
                }
                let (job_id, request) = requests.next().expect("peeked").map_err(QueueError::from)?;
                if job_id == job.id.0 {
                    job.requests.push(request);
                }
            }
            if let Some(Err(_)) = requests.peek() {
                requests.next().expect("peeked").map_err(QueueError::from)?;
            }
            f(job)?;
        }
        Ok(())
    }

    /// Jobs in a state, oldest first.
    pub fn jobs_in(&self, state: JobState) -> Result<Vec<Job>> {
        let sql = concat!("SELECT ", columns!(), " FROM jobs WHERE state = ?1 ORDER BY start_after, id");
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut jobs: Vec<Job> = stmt.query_map([state.as_str()], job_from_row)?.collect::<Result<_, _>>()?;
        self.attach_requests(&mut jobs)?;
        Ok(jobs)
    }

    fn attach_requests(&self, jobs: &mut [Job]) -> Result<()> {
        let (Some(first), Some(last)) = (jobs.iter().map(|j| j.id.0).min(), jobs.iter().map(|j| j.id.0).max()) else {
            return Ok(());
        };
        let index: HashMap<i64, usize> = jobs.iter().enumerate().map(|(i, j)| (j.id.0, i)).collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, job_id, created_at, origin FROM requests WHERE job_id BETWEEN ?1 AND ?2 ORDER BY id",
        )?;
        for row in stmt.query_map([first, last], request_from_row)? {
            let (job_id, request) = row?;
            if let Some(&i) = index.get(&job_id) {
                jobs[i].requests.push(request);
            }
        }
        Ok(())
    }

    /// When the next pending job becomes due, or a suppression window ends: when a sleeping
    /// dispatcher must look again.
    pub fn next_wakeup(&self, now: Timestamp) -> Result<Option<Timestamp>> {
        let next: Option<i64> = row(
            &self.conn,
            "SELECT min(t) FROM (
                 SELECT min(start_after) AS t FROM jobs WHERE state = 'pending' AND start_after > ?1
                 UNION ALL
                 SELECT min(end_at) FROM suppressions WHERE end_at > ?1)",
            [ms(now)],
            |r| r.get(0),
        )?;
        Ok(next.map(ts))
    }

    /// Counts jobs by state (for `status` and metrics).
    pub fn count_in(&self, state: JobState) -> Result<u64> {
        let n: i64 = row(&self.conn, "SELECT count(*) FROM jobs WHERE state = ?1", [state.as_str()], |r| r.get(0))?;
        Ok(n.unsigned_abs())
    }
}
