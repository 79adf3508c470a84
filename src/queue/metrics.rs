//! Job metrics kept in SQLite, so that every process sharing the database reports the same:
//! jobs finished by type and final state, and a run-time histogram per type. Incremented in the
//! transaction that finishes a job; never pruned. Queue depth and running jobs are counted from
//! `jobs` when read.

use rusqlite::{Connection, OptionalExtension, params};

use super::model::{JobId, JobState};
use super::{Queue, Result};

/// Upper bounds (seconds) of the run-time histogram's buckets; the last bucket is `+Inf`.
/// Stored rows carry the bound itself, so changing this list only starts new buckets.
pub const DURATION_BUCKETS: [f64; 14] =
    [0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0];

/// Counts a finished job. Called in the transaction that moved it to its final state.
pub(super) fn record_finish(tx: &Connection, id: JobId) -> Result<()> {
    let row: Option<(String, String, Option<i64>, Option<i64>)> = tx
        .query_row("SELECT type, state, started_at, finished_at FROM jobs WHERE id = ?1", [id.0], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((job_type, state, started, finished)) = row else {
        return Ok(());
    };
    tx.prepare_cached(
        "INSERT INTO metrics_job_outcomes (type, outcome, count) VALUES (?1, ?2, 1)
         ON CONFLICT (type, outcome) DO UPDATE SET count = count + 1",
    )?
    .execute(params![job_type, state])?;
    let (Some(started), Some(finished)) = (started, finished) else {
        return Ok(());
    };
    #[allow(clippy::cast_precision_loss)] // milliseconds of a job's run: far below 2^52
    let seconds = (finished - started).max(0) as f64 / 1000.0;
    let le = DURATION_BUCKETS.into_iter().find(|b| seconds <= *b).unwrap_or(f64::INFINITY);
    tx.prepare_cached(
        "INSERT INTO metrics_job_duration_buckets (type, le, count) VALUES (?1, ?2, 1)
         ON CONFLICT (type, le) DO UPDATE SET count = count + 1",
    )?
    .execute(params![job_type, le])?;
    tx.prepare_cached(
        "INSERT INTO metrics_job_durations (type, count, sum_seconds) VALUES (?1, 1, ?2)
         ON CONFLICT (type) DO UPDATE SET count = count + 1, sum_seconds = sum_seconds + excluded.sum_seconds",
    )?
    .execute(params![job_type, seconds])?;
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
}

impl Queue {
    /// Everything the metrics endpoint shows about jobs, read now.
    pub fn job_metrics(&self) -> Result<JobMetrics> {
        let mut stmt =
            self.conn.prepare_cached("SELECT type, outcome, count FROM metrics_job_outcomes ORDER BY type, outcome")?;
        let outcomes = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?
            .filter_map(|row| match row {
                Ok((job_type, outcome, count)) => JobState::parse(&outcome)
                    .map(|outcome| Ok(OutcomeCount { job_type, outcome, count: count.unsigned_abs() })),
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;

        let mut stmt =
            self.conn.prepare_cached("SELECT type, count, sum_seconds FROM metrics_job_durations ORDER BY type")?;
        let totals: Vec<(String, i64, f64)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
        let mut stmt =
            self.conn.prepare_cached("SELECT le, count FROM metrics_job_duration_buckets WHERE type = ?1")?;
        let mut durations = Vec::with_capacity(totals.len());
        for (job_type, count, sum_seconds) in totals {
            let stored: Vec<(f64, i64)> =
                stmt.query_map([&job_type], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
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
