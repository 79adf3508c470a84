//! A `jobs` row as stored, column by column, and the one place it becomes a [`Job`]; and the
//! columns an [`Outcome`] is stored in. Every backend reads its rows into a [`JobRow`] and
//! decodes them here, so that no caller ever interprets `state`, `exit_code` or `detail`.

use std::time::Duration;

use super::model::{Args, DispatcherId, Job, JobId, JobState, JobStatus, Outcome, Process, Run};
use super::ts;

/// The columns of `jobs`, raw, as every backend reads them.
#[derive(Debug, Clone, Default)]
pub(crate) struct JobRow {
    pub id: i64,
    pub namespace: String,
    pub job: String,
    pub args: String,
    pub state: String,
    pub created_at: i64,
    pub start_after: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub detail: Option<String>,
    pub log_dir: Option<String>,
    pub dispatcher_id: Option<i64>,
    pub pgid: Option<i32>,
    pub retry_of: Option<i64>,
    pub cancel_requested_by: Option<String>,
    pub cancelled_by: Option<String>,
    pub timeout_ms: Option<i64>,
}

/// Why a stored job cannot be read back: a column is unreadable or contradicts the state.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BadRow {
    #[error("job {id}: unknown state `{state}`")]
    UnknownState { id: i64, state: String },
    #[error("job {id}: bad args")]
    Args {
        id: i64,
        #[source]
        source: serde_json::Error,
    },
    /// A state (or a start) without a column that state must have.
    #[error("job {id}: {what}")]
    Missing { id: i64, what: &'static str },
    #[error("job {id}: {state} without a finish time")]
    NoFinishTime { id: i64, state: JobState },
}

impl JobRow {
    /// The one decoding of a stored job: its state and the columns of that state become a
    /// [`JobStatus`]. `Err` says what is inconsistent.
    pub(super) fn decode(self) -> Result<Job, BadRow> {
        let id = self.id;
        let missing = |what| BadRow::Missing { id, what };
        let state = JobState::parse(&self.state).ok_or(BadRow::UnknownState { id, state: self.state })?;
        let args = Args::from_json(&self.args).map_err(|source| BadRow::Args { id, source })?;
        let run = match (self.started_at, self.dispatcher_id) {
            (Some(at), Some(dispatcher)) => Some(Run {
                started_at: ts(at),
                dispatcher: DispatcherId(dispatcher),
                process: self.log_dir.map(|log_dir| Process { log_dir, pgid: self.pgid }),
            }),
            (None, _) => None,
            (Some(_), None) => return Err(missing("started without a dispatcher")),
        };
        let status = match state {
            JobState::Pending => JobStatus::Pending,
            JobState::Running => JobStatus::Running {
                run: run.ok_or_else(|| missing("running but never started"))?,
                stop_requested_by: self.cancel_requested_by,
            },
            finished => {
                let finished_at = self.finished_at.ok_or(BadRow::NoFinishTime { id, state: finished })?;
                let detail = self.detail.unwrap_or_default();
                let outcome = match finished {
                    JobState::Succeeded => Outcome::Succeeded,
                    JobState::Failed => match (self.exit_code, self.signal) {
                        (Some(exit_code), _) => Outcome::Failed { exit_code },
                        (None, Some(signal)) => Outcome::Killed { signal },
                        (None, None) => Outcome::Error { detail },
                    },
                    JobState::TimedOut => Outcome::TimedOut {
                        after: Duration::from_millis(
                            self.timeout_ms
                                .and_then(|ms| u64::try_from(ms).ok())
                                .ok_or_else(|| missing("timed out without its timeout"))?,
                        ),
                    },
                    JobState::Cancelled => {
                        Outcome::Cancelled { by: self.cancelled_by.ok_or_else(|| missing("cancelled by nobody"))? }
                    }
                    JobState::Lost | JobState::Pending | JobState::Running => Outcome::Lost { detail },
                };
                JobStatus::Finished { run, finished_at: ts(finished_at), outcome }
            }
        };
        Ok(Job {
            id: JobId(id),
            namespace: self.namespace,
            job: self.job,
            args,
            created_at: ts(self.created_at),
            start_after: ts(self.start_after),
            retry_of: self.retry_of.map(JobId),
            status,
            requests: Vec::new(),
        })
    }
}

/// The columns an [`Outcome`] is written to; `detail` is the human line also shown in
/// `queue list --json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutcomeColumns {
    pub state: &'static str,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub detail: Option<String>,
    pub cancelled_by: Option<String>,
    pub timeout_ms: Option<i64>,
}

impl From<&Outcome> for OutcomeColumns {
    fn from(outcome: &Outcome) -> Self {
        OutcomeColumns {
            state: outcome.state().as_str(),
            exit_code: outcome.exit_code(),
            signal: outcome.signal(),
            detail: outcome.detail(),
            cancelled_by: match outcome {
                Outcome::Cancelled { by } => Some(by.clone()),
                _ => None,
            },
            timeout_ms: match outcome {
                Outcome::TimedOut { after } => Some(i64::try_from(after.as_millis()).unwrap_or(i64::MAX)),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(outcome: &Outcome, started: bool) -> JobRow {
        let c = OutcomeColumns::from(outcome);
        JobRow {
            id: 7,
            namespace: "ns".into(),
            job: "j".into(),
            args: "{}".into(),
            state: c.state.into(),
            finished_at: Some(20),
            started_at: started.then_some(10),
            dispatcher_id: started.then_some(1),
            log_dir: started.then(|| "/logs/7".into()),
            exit_code: c.exit_code,
            signal: c.signal,
            detail: c.detail,
            cancelled_by: c.cancelled_by,
            timeout_ms: c.timeout_ms,
            ..JobRow::default()
        }
    }

    #[test]
    fn every_outcome_reads_back_as_written() {
        for outcome in [
            Outcome::Succeeded,
            Outcome::Failed { exit_code: 3 },
            Outcome::Killed { signal: 9 },
            Outcome::TimedOut { after: Duration::from_millis(1500) },
            Outcome::Cancelled { by: "U123".into() },
            Outcome::Lost { detail: "its dispatcher died".into() },
            Outcome::Error { detail: "workspace missing".into() },
        ] {
            let job = stored(&outcome, true).decode().unwrap();
            assert_eq!(job.status.outcome(), Some(&outcome));
            assert_eq!(job.log_dir(), Some("/logs/7"));
        }
        let never_ran = stored(&Outcome::Cancelled { by: "terminal:me".into() }, false).decode().unwrap();
        assert_eq!(never_ran.status.run(), None);
    }

    #[test]
    fn inconsistent_rows_are_refused() {
        let running = JobRow { state: "running".into(), args: "{}".into(), ..JobRow::default() };
        assert!(matches!(running.decode(), Err(BadRow::Missing { what: "running but never started", .. })));
        let timed_out = JobRow { timeout_ms: None, ..stored(&Outcome::TimedOut { after: Duration::ZERO }, true) };
        assert!(timed_out.decode().unwrap_err().to_string().contains("timeout"));
        let unknown = JobRow { state: "exploded".into(), ..JobRow::default() };
        assert!(matches!(unknown.decode(), Err(BadRow::UnknownState { .. })));
    }
}
