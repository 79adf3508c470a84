//! Moving a queue's state between databases (`ebmbot queue export` / `import`, SQLite to
//! PostgreSQL and back): what is still to do, as [`Record`]s, one JSON object a line.
//!
//! What travels: pending jobs (with their requests, start times, and the GitHub delivery
//! records that keep a redelivery from scheduling them again), suppression windows that have
//! not ended, undelivered Slack messages (a job's undelivered events, with the finished job they
//! report on; replies to commands not yet posted, with the steps already made) and received
//! Slack commands not yet handled, requests waiting for their requester's *Confirm*, and each
//! timer's state (its last fire, the latest time it
//! counts from, and whether it is paused), support listeners' out-of-office periods that have not
//! ended, and where the Slack catch-up reads each channel from. What does not: running jobs (stop the dispatchers first),
//! finished jobs whose messages are delivered (history), dispatchers, metrics.
//!
//! The format: every line is an object with `version` ([`VERSION`]) and `kind`; the first is
//! the `header`. Later state joins as new kinds; an ebmbot that meets a kind or a version it
//! does not know refuses the whole file, naming the line, rather than import part of it.

mod export;
mod import;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::model::{Args, EventKind, JobState, Origin};
use super::timers::TimerEntryKind;

pub use export::Export;
pub use import::{Imported, Invalid, validate};

/// The format version this ebmbot writes and reads.
pub const VERSION: u64 = 1;

/// The kinds of line this ebmbot knows, in the order export writes them.
pub const KINDS: [&str; 10] = [
    "header",
    "job",
    "event",
    "suppression",
    "slack_command",
    "slack_confirmation",
    "slack_reply",
    "timer",
    "out_of_office",
    "slack_channel",
];

/// One line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Header(Header),
    Job(JobRecord),
    Event(EventRecord),
    Suppression(SuppressionRecord),
    SlackCommand(SlackCommandRecord),
    SlackConfirmation(SlackConfirmationRecord),
    SlackReply(SlackReplyRecord),
    Timer(TimerRecord),
    OutOfOffice(OutOfOfficeRecord),
    SlackChannel(SlackChannelRecord),
}

/// The first line: where and when the export was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    #[serde(with = "time")]
    pub exported_at: Timestamp,
    /// `sqlite` or `postgresql`.
    pub from: String,
    /// The ebmbot that wrote it.
    pub ebmbot: String,
}

/// A job: pending, or finished with messages still to deliver. `id` is its id where it was
/// exported; an import keeps it when it is free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRecord {
    pub id: i64,
    pub namespace: String,
    pub job: String,
    pub args: Args,
    pub state: JobState,
    #[serde(with = "time")]
    pub created_at: Timestamp,
    #[serde(with = "time")]
    pub start_after: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_of: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<FinishedRecord>,
    pub requests: Vec<RequestRecord>,
    /// GitHub deliveries that scheduled it (a redelivery of one schedules nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<DeliveryRecord>,
}

/// A finished job's run and outcome columns, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishedRecord {
    #[serde(with = "time")]
    pub finished_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatcher_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgid: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<i64>,
}

/// One request merged into a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestRecord {
    #[serde(with = "time")]
    pub created_at: Timestamp,
    pub origin: Origin,
}

/// A GitHub delivery record of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRecord {
    pub delivery: String,
    pub project: String,
    pub event: String,
    #[serde(with = "time")]
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_sha256: Option<String>,
}

/// An undelivered event of a job in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    /// The job's `id` in the file.
    pub job: i64,
    pub event: EventKind,
    #[serde(with = "time")]
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Undelivered::is_untried")]
    pub delivery: Undelivered,
}

/// Where an undelivered message stands: failed attempts, when to try again, and the Slack
/// calls already made (never made twice).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Undelivered {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepRecord>,
}

impl Undelivered {
    fn is_untried(&self) -> bool {
        *self == Undelivered::default()
    }
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's `skip_serializing_if` passes a reference")]
fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A Slack call a delivery has made (or given up on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    pub step: i64,
    pub outcome: StepOutcomeWord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(with = "time")]
    pub at: Timestamp,
}

/// `done` or `failed`, as `slack_steps.outcome` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcomeWord {
    Done,
    Failed,
}

impl StepOutcomeWord {
    fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// A suppression window that has not ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionRecord {
    #[serde(rename = "type")]
    pub job_type: String,
    #[serde(with = "time")]
    pub start: Timestamp,
    #[serde(with = "time")]
    pub end: Timestamp,
}

/// One row of a timer's log that its state is read from: the latest fire (`ran`/`skipped`),
/// the row with the latest `at` (fire times after it are still to come), the latest
/// `paused`/`resumed`. A timer has one to three.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimerRecord {
    pub namespace: String,
    pub timer: String,
    pub entry: TimerEntryKind,
    #[serde(with = "time")]
    pub at: Timestamp,
    /// How many fire times a `ran`/`skipped` row stands for.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub covers: i64,
    /// The job a `ran` fire scheduled, when that job is in the file too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<i64>,
    /// Who paused or resumed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    #[serde(with = "time")]
    pub created_at: Timestamp,
}

fn one() -> i64 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's `skip_serializing_if` passes a reference")]
fn is_one(n: &i64) -> bool {
    *n == 1
}

/// A support listener's out-of-office period that has not ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutOfOfficeRecord {
    pub listener: String,
    #[serde(with = "time")]
    pub start: Timestamp,
    #[serde(with = "time")]
    pub end: Timestamp,
    pub set_by: String,
    #[serde(with = "time")]
    pub set_at: Timestamp,
}

/// A channel the Slack bot is in, and the last message the catch-up read there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackChannelRecord {
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ts: Option<String>,
    #[serde(with = "time")]
    pub read_at: Timestamp,
}

/// A received Slack command: not handled yet, or answered by a reply in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackCommandRecord {
    pub event_id: String,
    pub channel: String,
    pub message_ts: String,
    #[serde(with = "time")]
    pub received_at: Timestamp,
    /// The event as Slack sent it (JSON text).
    pub payload: String,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_time")]
    pub handled_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// A reply to a Slack command not yet posted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackReplyRecord {
    /// The `event_id` of the command it answers, when that is in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(with = "time")]
    pub created_at: Timestamp,
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_part: Option<String>,
    /// A support listener's channel, where the request's permalink is re-posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repost_to: Option<String>,
    /// The job it says was queued (its *Cancel* button; its end updates the message): an id
    /// in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<i64>,
    /// The confirmation it asks for (*Confirm* / *Cancel*): an id in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<i64>,
    #[serde(default, skip_serializing_if = "Undelivered::is_untried")]
    pub delivery: Undelivered,
}

impl From<crate::queue::Confirmation> for SlackConfirmationRecord {
    fn from(c: crate::queue::Confirmation) -> Self {
        let crate::queue::Confirmation {
            id,
            created_at,
            user,
            channel,
            thread_ts,
            message_ts,
            namespace,
            job,
            args,
            delay_ms,
            ..
        } = c;
        SlackConfirmationRecord { id, created_at, user, channel, thread_ts, message_ts, namespace, job, args, delay_ms }
    }
}

impl From<SlackConfirmationRecord> for crate::queue::Confirmation {
    fn from(c: SlackConfirmationRecord) -> Self {
        let SlackConfirmationRecord {
            id,
            created_at,
            user,
            channel,
            thread_ts,
            message_ts,
            namespace,
            job,
            args,
            delay_ms,
        } = c;
        let state = "pending".to_owned();
        crate::queue::Confirmation {
            id,
            created_at,
            user,
            channel,
            thread_ts,
            message_ts,
            namespace,
            job,
            args,
            delay_ms,
            state,
        }
    }
}

/// A `confirm = true` job asked for in Slack, waiting for its requester's *Confirm*.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfirmationRecord {
    /// Its id in the exporting queue (replies in the file name it).
    pub id: i64,
    #[serde(with = "time")]
    pub created_at: Timestamp,
    pub user: String,
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
    pub message_ts: String,
    pub namespace: String,
    pub job: String,
    /// The params, as `[[name, value], …]` JSON.
    pub args: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ms: i64,
}

/// Why a line cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("this is not an ebmbot queue export: its first line must be the `header` ({0})")]
    NoHeader(String),
    #[error(
        "export format version {found}; this ebmbot reads version {VERSION} (a newer ebmbot wrote it: import it with that one)"
    )]
    Version { found: String },
    #[error("unknown kind `{0}` (a newer ebmbot wrote it: import it with that one)")]
    UnknownKind(String),
    #[error("{0}")]
    Invalid(String),
}

impl Record {
    /// The line for this record: `{"version":1,"kind":…,…}`, without the newline.
    pub fn to_line(&self) -> String {
        // `version`, then `kind` (serde writes the tag first), then the record's fields in order.
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{{\"version\":{VERSION},{}", json.strip_prefix('{').unwrap_or(&json))
    }

    /// Reads one line (`first`: the file's first line, which must be the header).
    pub fn from_line(text: &str, first: bool) -> Result<Record, LineError> {
        let mut value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| LineError::Invalid(format!("not a JSON object: {e}")))?;
        let Some(fields) = value.as_object_mut() else {
            return Err(LineError::Invalid("not a JSON object".into()));
        };
        let kind = fields.get("kind").and_then(|k| k.as_str()).map(str::to_owned);
        if first && kind.as_deref() != Some("header") {
            return Err(LineError::NoHeader(kind.map_or_else(|| "no `kind`".to_owned(), |k| format!("found `{k}`"))));
        }
        match fields.remove("version") {
            Some(v) if v.as_u64() == Some(VERSION) => {}
            Some(v) => return Err(LineError::Version { found: v.to_string() }),
            None => return Err(LineError::Invalid("no `version`".into())),
        }
        match kind {
            None => return Err(LineError::Invalid("no `kind`".into())),
            Some(k) if !KINDS.contains(&k.as_str()) => return Err(LineError::UnknownKind(k)),
            Some(_) => {}
        }
        let record: Record = serde_json::from_value(value).map_err(|e| LineError::Invalid(e.to_string()))?;
        if !first && matches!(record, Record::Header(_)) {
            return Err(LineError::Invalid("a second `header`".into()));
        }
        Ok(record)
    }
}

/// Times as RFC 3339 with milliseconds (`2026-12-02T15:04:05.123Z`), as stored.
mod time {
    use jiff::Timestamp;

    pub(super) fn serialize<S: serde::Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        crate::queue::model::ser_ts(ts, s)
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        let ts: Timestamp = text.parse().map_err(|e| serde::de::Error::custom(format!("bad time `{text}`: {e}")))?;
        // Stored in milliseconds: a finer time would not come back out the same.
        Ok(crate::queue::ts(ts.as_millisecond()))
    }
}

mod opt_time {
    use jiff::Timestamp;

    #[allow(clippy::ref_option, reason = "serde's `with` passes a reference to the field")]
    pub(super) fn serialize<S: serde::Serializer>(ts: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        crate::queue::model::ser_opt_ts(ts, s)
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wrap(#[serde(with = "super::time")] Timestamp);
        Ok(<Option<Wrap> as serde::Deserialize>::deserialize(d)?.map(|w| w.0))
    }
}
