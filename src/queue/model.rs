//! The queue's data model. A job's [`JobStatus`] holds what exists in its state (a finished
//! job's [`Outcome`], a running job's [`Run`]); a stored row becomes one in exactly one place,
//! `record::JobRow::decode`, and frontends render the variants. `JobState` is the flat state
//! column (`as_str` / `parse`), backed by a `CHECK` constraint in the schema.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use crate::config::JobType;

mod origin;
mod timestamp;

pub use origin::{ChannelType, Origin, Request};
pub use timestamp::{rfc3339, ser_opt_ts, ser_ts};

/// A job's id: the row id of `jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A dispatcher's id: the row id of `dispatchers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DispatcherId(pub i64);

/// A job's arguments: param name → value. Sorted, so its JSON is canonical.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Args(pub BTreeMap<String, String>);

impl Args {
    /// Canonical JSON (sorted keys, no spaces): the dedupe key.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("a map of strings serializes")
    }

    pub fn from_json(text: &str) -> Result<Args, serde_json::Error> {
        serde_json::from_str(text).map(Args)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Args {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Args(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    Lost,
}

impl JobState {
    pub const ALL: [JobState; 7] =
        [Self::Pending, Self::Running, Self::Succeeded, Self::Failed, Self::TimedOut, Self::Cancelled, Self::Lost];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::Cancelled => "cancelled",
            Self::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a job that ran (or was due to run) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// The process exited with a non-zero code.
    Failed {
        exit_code: i32,
    },
    /// The process was killed by a signal nobody in ebmbot sent.
    Killed {
        signal: i32,
    },
    TimedOut {
        after: Duration,
    },
    /// Stopped on request (`by`: who asked, or "ebmbot shut down").
    Cancelled {
        by: String,
    },
    /// Its dispatcher died while it ran.
    Lost {
        detail: String,
    },
    /// It could not run at all: workspace missing, job gone from `jobs.toml`, spawn failed.
    Error {
        detail: String,
    },
}

impl Outcome {
    pub fn state(&self) -> JobState {
        match self {
            Self::Succeeded => JobState::Succeeded,
            Self::Failed { .. } | Self::Killed { .. } | Self::Error { .. } => JobState::Failed,
            Self::TimedOut { .. } => JobState::TimedOut,
            Self::Cancelled { .. } => JobState::Cancelled,
            Self::Lost { .. } => JobState::Lost,
        }
    }

    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Self::Succeeded => Some(0),
            Self::Failed { exit_code } => Some(*exit_code),
            _ => None,
        }
    }

    pub fn signal(&self) -> Option<i32> {
        match self {
            Self::Killed { signal } => Some(*signal),
            _ => None,
        }
    }

    /// The human line stored with the job and shown as `detail` in `queue list --json`
    /// ("timed out after 1h", "cancelled by U123"). Written, never read back: the outcome's own
    /// columns are.
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::Succeeded => None,
            Self::Failed { exit_code } => Some(format!("exit {exit_code}")),
            Self::Killed { signal } => Some(format!("killed by signal {signal}")),
            Self::TimedOut { after } => Some(format!("timed out after {}", crate::config::duration::format(*after))),
            Self::Cancelled { by } => Some(format!("cancelled by {by}")),
            Self::Lost { detail } | Self::Error { detail } => Some(detail.clone()),
        }
    }
}

/// A job as stored: what it is, who asked, and its [`JobStatus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub namespace: String,
    pub job: String,
    pub args: Args,
    pub created_at: Timestamp,
    /// When the job is (or was) due. Every job has one, whatever its state: it is shown for
    /// finished jobs too.
    pub start_after: Timestamp,
    pub retry_of: Option<JobId>,
    pub status: JobStatus,
    pub requests: Vec<Request>,
}

/// Where a job is in its life, holding what exists in that state (pueue's `TaskStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    /// Queued; it starts at `start_after` or later.
    Pending,
    Running {
        run: Run,
        /// Who asked to stop it, if anyone has; its dispatcher stops it.
        stop_requested_by: Option<String>,
    },
    Finished {
        /// `None`: it never started (cancelled while pending).
        run: Option<Run>,
        finished_at: Timestamp,
        outcome: Outcome,
    },
}

/// A job's run: when it started, which dispatcher owns it, and its process once spawned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub started_at: Timestamp,
    pub dispatcher: DispatcherId,
    /// `None` until the process is spawned (or when it never could be).
    pub process: Option<Process>,
}

/// A spawned job's process: where its logs are and its process group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub log_dir: String,
    pub pgid: Option<i32>,
}

impl JobStatus {
    /// The state stored in the `state` column.
    pub fn state(&self) -> JobState {
        match self {
            Self::Pending => JobState::Pending,
            Self::Running { .. } => JobState::Running,
            Self::Finished { outcome, .. } => outcome.state(),
        }
    }

    pub fn run(&self) -> Option<&Run> {
        match self {
            Self::Pending => None,
            Self::Running { run, .. } => Some(run),
            Self::Finished { run, .. } => run.as_ref(),
        }
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        match self {
            Self::Finished { outcome, .. } => Some(outcome),
            Self::Pending | Self::Running { .. } => None,
        }
    }
}

impl Job {
    /// `<namespace>_<job>`.
    pub fn job_type(&self) -> JobType {
        JobType::new(&self.namespace, &self.job)
    }

    pub fn state(&self) -> JobState {
        self.status.state()
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.status, JobStatus::Finished { .. })
    }

    pub fn started_at(&self) -> Option<Timestamp> {
        self.status.run().map(|r| r.started_at)
    }

    pub fn finished_at(&self) -> Option<Timestamp> {
        match &self.status {
            JobStatus::Finished { finished_at, .. } => Some(*finished_at),
            JobStatus::Pending | JobStatus::Running { .. } => None,
        }
    }

    pub fn process(&self) -> Option<&Process> {
        self.status.run().and_then(|r| r.process.as_ref())
    }

    /// Where its logs are, once its process was spawned.
    pub fn log_dir(&self) -> Option<&str> {
        self.process().map(|p| p.log_dir.as_str())
    }
}

/// What a reporter must act on. Inserted in the same transaction as the state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The job was claimed and is about to start.
    Started,
    /// The job reached a final state (the job row has the outcome).
    Finished,
    /// A webhook job was queued into a suppression window.
    Suppressed,
    /// A timer skipped fire times it missed (`missed = "skip"`): the event's `job_id` is the
    /// `timer_log` row of the skip, not a job.
    TimerSkipped,
}

impl EventKind {
    pub const ALL: [EventKind; 4] = [Self::Started, Self::Finished, Self::Suppressed, Self::TimerSkipped];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Finished => "finished",
            Self::Suppressed => "suppressed",
            Self::TimerSkipped => "timer_skipped",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub job_id: JobId,
    pub kind: EventKind,
    pub created_at: Timestamp,
}

/// A suppression window: while `start <= now < end` no job of `job_type` starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub job_type: String,
    #[serde(serialize_with = "ser_ts")]
    pub start: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub end: Timestamp,
}

/// A registered dispatcher (docs/architecture.md §2, "lost").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dispatcher {
    pub id: DispatcherId,
    pub kind: String,
    pub host: String,
    pub boot_id: String,
    pub pid: i64,
    pub pid_start: i64,
    #[serde(serialize_with = "ser_ts")]
    pub started_at: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub heartbeat_at: Timestamp,
    /// Until when its jobs are its own without a renewal (`None`: registered by an ebmbot
    /// before leases, judged only on its own host).
    #[serde(serialize_with = "ser_opt_ts")]
    pub lease_until: Option<Timestamp>,
}

/// The JSON form of a job (`queue list --json`): every field, null where empty; `origin` is
/// the first request's, `requests` lists every request merged into the job.
impl Serialize for Job {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            id: JobId,
            #[serde(rename = "type")]
            job_type: JobType,
            namespace: &'a str,
            job: &'a str,
            args: &'a Args,
            state: JobState,
            #[serde(serialize_with = "ser_ts")]
            created_at: Timestamp,
            #[serde(serialize_with = "ser_ts")]
            start_after: Timestamp,
            #[serde(serialize_with = "ser_opt_ts")]
            started_at: Option<Timestamp>,
            #[serde(serialize_with = "ser_opt_ts")]
            finished_at: Option<Timestamp>,
            exit_code: Option<i32>,
            signal: Option<i32>,
            detail: Option<String>,
            log_dir: Option<&'a str>,
            retry_of: Option<JobId>,
            origin: Option<&'a Origin>,
            requests: &'a [Request],
        }
        let outcome = self.status.outcome();
        View {
            id: self.id,
            job_type: self.job_type(),
            namespace: &self.namespace,
            job: &self.job,
            args: &self.args,
            state: self.state(),
            created_at: self.created_at,
            start_after: self.start_after,
            started_at: self.started_at(),
            finished_at: self.finished_at(),
            exit_code: outcome.and_then(Outcome::exit_code),
            signal: outcome.and_then(Outcome::signal),
            detail: outcome.and_then(Outcome::detail),
            log_dir: self.log_dir(),
            retry_of: self.retry_of,
            origin: self.requests.first().map(|r| &r.origin),
            requests: &self.requests,
        }
        .serialize(s)
    }
}
