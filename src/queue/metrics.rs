//! Job metrics kept in SQLite, so that every process sharing the database reports the same:
//! jobs finished by type and final state, and a run-time histogram per type. Incremented in the
//! transaction that finishes a job; never pruned. Queue depth and running jobs are counted from
//! `jobs` when read.

use super::db::Db;
use super::model::{Job, JobState};
use super::{Queue, Result};

/// Upper bounds (seconds) of the run-time histogram's buckets; the last bucket is `+Inf`.
/// Stored rows carry the bound itself, so changing this list only starts new buckets.
pub const DURATION_BUCKETS: [f64; 14] =
    [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0];

/// `le` of jobs that never started: counted by state, kept out of the run-time histogram.
const NEVER_STARTED: f64 = -1.0;

/// Counts a finished job: one upsert, in the transaction that moved it to its final state.
pub(super) fn record_finish(tx: &Db, job: &Job) -> Result<()> {
    let (le, seconds) = match (job.started_at(), job.finished_at()) {
        (Some(started), Some(finished)) => {
            #[allow(clippy::cast_precision_loss)] // milliseconds of a job's run: far below 2^52
            let seconds = (finished.as_millisecond() - started.as_millisecond()).max(0) as f64 / 1000.0;
            (DURATION_BUCKETS.into_iter().find(|b| seconds <= *b).unwrap_or(f64::INFINITY), seconds)
        }
        _ => (NEVER_STARTED, 0.0),
    };
    record(tx, &job.job_type(), job.state(), le, seconds)
}

/// Counts a job that finished without starting (cancelled while pending).
pub(super) fn record_unstarted(tx: &Db, job_type: &str, state: JobState) -> Result<()> {
    record(tx, job_type, state, NEVER_STARTED, 0.0)
}

fn record(tx: &Db, job_type: &str, state: JobState, le: f64, seconds: f64) -> Result<()> {
    tx.exec(
        "INSERT INTO metrics_jobs (type, outcome, le, count, sum_seconds) VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (type, outcome, le) DO UPDATE
         SET count = metrics_jobs.count + 1, sum_seconds = metrics_jobs.sum_seconds + excluded.sum_seconds",
        &[&job_type, &state.as_str(), &le, &seconds],
    )?;
    Ok(())
}

/// Jobs of one type that finished in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeCount {
    pub job_type: String,
    pub outcome: JobState,
    pub count: u64,
}

/// The run-time histogram of one job type.
#[derive(Debug, Clone, PartialEq)]
pub struct DurationHistogram {
    pub job_type: String,
    pub count: u64,
    pub sum_seconds: f64,
    /// (upper bound, jobs in this bucket alone: not cumulative, as `prometheus-client` takes
    /// them), ending with `+Inf`.
    pub buckets: Vec<(f64, u64)>,
}

/// What the metrics endpoint reads from the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobMetrics {
    pub outcomes: Vec<OutcomeCount>,
    pub durations: Vec<DurationHistogram>,
    /// Pending jobs (due or not).
    pub pending: u64,
    pub running: u64,
    /// Slack delivery is paused (Slack refused the bot token).
    pub slack_paused: bool,
}

impl Queue {
    /// Everything the metrics endpoint shows about jobs, read now.
    pub fn job_metrics(&self) -> Result<JobMetrics> {
        let outcomes = self
            .db
            .rows(
                "SELECT type, outcome, CAST(sum(count) AS BIGINT) FROM metrics_jobs
                 GROUP BY type, outcome ORDER BY type, outcome",
                &[],
                |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<i64>(2)?)),
            )?
            .into_iter()
            .filter_map(|(job_type, outcome, count)| {
                JobState::parse(&outcome).map(|outcome| OutcomeCount { job_type, outcome, count: count.unsigned_abs() })
            })
            .collect();

        let totals: Vec<(String, i64, f64)> = self.db.rows(
            "SELECT type, CAST(sum(count) AS BIGINT), sum(sum_seconds) FROM metrics_jobs
             WHERE le >= 0 GROUP BY type ORDER BY type",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let mut durations = Vec::with_capacity(totals.len());
        for (job_type, count, sum_seconds) in totals {
            let stored: Vec<(f64, i64)> = self.db.rows(
                "SELECT le, CAST(sum(count) AS BIGINT) FROM metrics_jobs WHERE type = ?1 AND le >= 0 GROUP BY le",
                &[&job_type],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            durations.push(DurationHistogram {
                job_type,
                count: count.unsigned_abs(),
                sum_seconds,
                buckets: per_bucket(&stored),
            });
        }
        Ok(JobMetrics {
            outcomes,
            durations,
            pending: self.count_in(JobState::Pending)?,
            running: self.count_in(JobState::Running)?,
            slack_paused: self.slack_pause()?.is_some(),
        })
    }
}

/// Counts as stored → one entry per bound of [`DURATION_BUCKETS`] and `+Inf`, zeros included.
fn per_bucket(stored: &[(f64, i64)]) -> Vec<(f64, u64)> {
    DURATION_BUCKETS
        .into_iter()
        .chain([f64::INFINITY])
        .map(|bound| {
            let n: i64 = stored.iter().filter(|(le, _)| *le == bound).map(|(_, n)| n).sum();
            (bound, n.unsigned_abs())
        })
        .collect()
}
