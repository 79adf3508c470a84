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

/// Where a request came from: who to tell, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// A user at a terminal; `notify`: a Slack channel to report to as well.
    Terminal { user: String, notify: Option<String> },
    /// A Slack message. `thread_ts` is where replies go (`event.thread_ts ?? event.ts`).
    Slack { user: String, channel: String, channel_type: ChannelType, thread_ts: Option<String>, message_ts: String },
    /// A GitHub delivery; `channel`: where the namespace reports, if anywhere.
    Github { delivery: String, project: String, channel: Option<String> },
}

impl Origin {
    /// `EBMBOT_REQUESTED_BY`: Slack user id, `github:<delivery>` or `terminal:<user>`.
    pub fn requested_by(&self) -> String {
        match self {
            Self::Terminal { user, .. } => format!("terminal:{user}"),
            Self::Slack { user, .. } => user.clone(),
            Self::Github { delivery, .. } => format!("github:{delivery}"),
        }
    }

    /// The Slack channel this origin wants results in, if any.
    pub fn channel(&self) -> Option<&str> {
        match self {
            Self::Terminal { notify, .. } => notify.as_deref(),
            Self::Slack { channel, .. } => Some(channel),
            Self::Github { channel, .. } => channel.as_deref(),
        }
    }
}

/// The kind of Slack conversation a message came from (Slack's `channel_type`). Stored as
/// Slack's word; a kind this version does not know is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ChannelType {
    /// A public channel.
    Channel,
    /// A private channel.
    Group,
    /// A direct message with the bot.
    Im,
    /// A group direct message.
    Mpim,
    Other(String),
}

impl ChannelType {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Channel => "channel",
            Self::Group => "group",
            Self::Im => "im",
            Self::Mpim => "mpim",
            Self::Other(other) => other,
        }
    }

    /// From a channel id, when Slack leaves the type out (as `app_mention` does): `D…` a DM,
    /// `G…` a private channel, anything else a public one.
    pub fn guess(channel: &str) -> ChannelType {
        match channel.chars().next() {
            Some('D') => Self::Im,
            Some('G') => Self::Group,
            _ => Self::Channel,
        }
    }
}

impl From<&str> for ChannelType {
    fn from(s: &str) -> ChannelType {
        match s {
            "channel" => Self::Channel,
            "group" => Self::Group,
            "im" => Self::Im,
            "mpim" => Self::Mpim,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl From<String> for ChannelType {
    fn from(s: String) -> ChannelType {
        ChannelType::from(s.as_str())
    }
}

impl From<ChannelType> for String {
    fn from(t: ChannelType) -> String {
        t.as_str().to_owned()
    }
}

impl fmt::Display for ChannelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One origin that asked for a job. Every request merged into a job hears its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub id: i64,
    #[serde(serialize_with = "ser_ts")]
    pub created_at: Timestamp,
    pub origin: Origin,
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
}

impl EventKind {
    pub const ALL: [EventKind; 3] = [Self::Started, Self::Finished, Self::Suppressed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Finished => "finished",
            Self::Suppressed => "suppressed",
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
}

/// RFC 3339 UTC with millisecond precision: `2026-11-27T23:47:13.123Z` (fixed width, so the
/// text sorts as the time does).
pub fn rfc3339(ts: Timestamp) -> String {
    let mut buf = [0u8; 24];
    format_rfc3339(ts, &mut buf).to_owned()
}

/// [`rfc3339`] into a buffer, without allocating: `queue list --json` formats tens of
/// thousands of these. Years outside 0000–9999 are clamped to the range.
fn format_rfc3339(ts: Timestamp, buf: &mut [u8; 24]) -> &str {
    let ms = ts.as_millisecond().clamp(-62_167_219_200_000, 253_402_300_799_999);
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let fields: [(usize, usize, i64); 7] = [
        (0, 4, year),
        (5, 2, month),
        (8, 2, day),
        (11, 2, ms_of_day / 3_600_000),
        (14, 2, ms_of_day / 60_000 % 60),
        (17, 2, ms_of_day / 1000 % 60),
        (20, 3, ms_of_day % 1000),
    ];
    *buf = *b"0000-00-00T00:00:00.000Z";
    for (at, width, mut value) in fields {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + u8::try_from(value % 10).unwrap_or(0);
            value /= 10;
        }
    }
    std::str::from_utf8(buf).unwrap_or("0000-00-00T00:00:00.000Z")
}

/// Serializes a time as [`rfc3339`] (`#[serde(serialize_with = "ser_ts")]`).
pub fn ser_ts<S: serde::Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(format_rfc3339(*ts, &mut [0; 24]))
}

/// [`ser_ts`] for an optional time (null when absent).
pub fn ser_opt_ts<S: serde::Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(ts) => s.serialize_str(format_rfc3339(*ts, &mut [0; 24])),
        None => s.serialize_none(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slack_origin_stores_the_channel_type_as_slack_writes_it() {
        for (word, kind) in [("im", ChannelType::Im), ("app_home", ChannelType::Other("app_home".into()))] {
            let origin = Origin::Slack {
                user: "U1".into(),
                channel: "D1".into(),
                channel_type: kind,
                thread_ts: None,
                message_ts: "1.1".into(),
            };
            let json = serde_json::to_string(&origin).unwrap();
            assert!(json.contains(&format!(r#""channel_type":"{word}""#)), "{json}");
            assert_eq!(serde_json::from_str::<Origin>(&json).unwrap(), origin);
        }
    }

    #[test]
    fn rfc3339_matches_jiff() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59.999Z",
            "2026-11-27T23:47:13.123Z",
            "1969-12-31T23:59:59.001Z",
            "2400-03-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
        ] {
            let ts: Timestamp = text.parse().unwrap();
            assert_eq!(rfc3339(ts), ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), "{text}");
        }
        for ms in (-62_000_000_000_000i64..250_000_000_000_000).step_by(7_777_777_777_777) {
            let ts = Timestamp::from_millisecond(ms).unwrap();
            assert_eq!(rfc3339(ts), ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        }
    }
}
