//! The command layer: one file per action, each a struct of inputs that implements [`Action`]
//! and returns a typed result. The CLI, the grammar (Slack and `ebmbot say`) and the webhook
//! server turn their input into a [`Command`], say who asks with an [`access::Caller`], and run
//! it with [`Command::execute`] (or [`execute`]): the one access policy ([`access`]) first,
//! then the action. Results and errors are data; each frontend words them. Nothing here prints.

pub mod access;
pub mod cancel;
mod command;
pub mod config_check;
pub mod config_import;
pub mod dispatch;
pub mod dry_run;
pub mod health;
pub mod help;
pub mod jobs;
pub mod list;
pub mod logs;
pub mod ooo;
pub mod prune;
pub mod queue_export;
pub mod queue_import;
pub mod resolve;
pub mod run;
pub mod schedule;
pub mod status;
pub mod suppress;
pub mod time;
pub mod timers;
pub mod webhook;

use std::path::PathBuf;

pub use command::{Action, Command, Output, execute};

use crate::clock::Clock;
use crate::config::{Catalog, JobType, Settings};
use crate::queue::model::{JobId, JobState};
use crate::queue::{Queue, QueueError};

/// What every command may use. Built once by the frontend.
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub catalog: &'a Catalog,
    pub clock: &'a dyn Clock,
    /// How replies name the bot before a command: its real mention (`<@U…>`) in Slack; `None`
    /// elsewhere, where `SLACK_APP_USERNAME` names it.
    pub mention: Option<&'a str>,
}

impl Context<'_> {
    /// How replies name the bot: its mention in Slack, else `SLACK_APP_USERNAME`.
    pub fn bot_name(&self) -> &str {
        self.mention.unwrap_or(&self.settings.slack_app_username)
    }
}

/// Errors of the command layer. [`CommandError::is_bad_input`] tells the user's mistakes (exit 2)
/// from ebmbot's own failures (exit 1). Each variant carries the data a frontend needs to word
/// it; the messages here name no frontend (the CLI adds its hints, such as `ebmbot jobs`, and
/// the bot words its own replies).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("unknown namespace `{name}`{}", did_you_mean(suggestion.as_deref()))]
    UnknownNamespace { name: String, suggestion: Option<String> },
    #[error("unknown job `{namespace}_{name}`{}", did_you_mean(suggestion.as_deref()))]
    UnknownJob { namespace: String, name: String, suggestion: Option<String> },
    #[error("`{job_type}` needs {}", names(missing))]
    MissingParams { job_type: JobType, missing: Vec<String> },
    #[error("`{job_type}` has no param `{name}`{}", expected_params(expected))]
    UnknownParam { job_type: JobType, name: String, expected: Vec<String> },
    #[error("param `--{name}` is given twice; give it once")]
    RepeatedParam { name: String },
    #[error("`{arg}` is not a param; write params as `--name value` or `--name=value`")]
    NotAParam { arg: String },
    /// A `confirm = true` job asked for where nobody can answer the question.
    #[error(
        "`{job_type}` asks for confirmation (`confirm = true` in jobs.toml); add --yes to run it without a terminal"
    )]
    NeedsConfirmation { job_type: String },
    #[error("param `--{name}` has no value; write `--{name} VALUE`")]
    MissingValue { name: String },
    #[error("the value of `{name}` contains a NUL byte, which a command line cannot carry; remove it")]
    NulInValue { name: String },
    #[error(transparent)]
    BadParam(#[from] crate::config::ParamError),
    #[error("the command for `{job_type}` would be {size} bytes, over the 120 KiB limit; pass less text")]
    CommandTooLong { job_type: JobType, size: usize },
    #[error(transparent)]
    BadTime(#[from] time::TimeError),
    #[error("{what} `{text}` is not valid: {reason}")]
    BadValue { what: &'static str, text: String, reason: String },
    /// A suppression that would end before now.
    #[error("--until `{text}` is not valid: it is in the past ({end}); give a later time")]
    EndInPast { text: String, end: String },
    #[error("the suppression window is empty or backwards: it must start before it ends ({start} → {end})")]
    EmptyWindow { start: String, end: String },
    #[error("unknown timer `{name}`{}", did_you_mean(suggestion.as_deref()))]
    UnknownTimer { name: String, suggestion: Option<String> },
    #[error("more than one namespace has a timer `{name}`; name one of {}", candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))]
    AmbiguousTimer { name: String, candidates: Vec<String> },
    #[error("unknown listener `{name}`{}", did_you_mean(suggestion.as_deref()))]
    UnknownListener { name: String, suggestion: Option<String> },
    #[error("listener `{listener}` has no out of office; set `out_of_office = true` on it in jobs.toml")]
    NoOutOfOffice { listener: String },
    #[error("no job has id {0}")]
    UnknownId(JobId),
    #[error("job {0} was deleted by retention; its record and logs are gone")]
    Pruned(JobId),
    #[error("job {id} has already finished ({state}); there is nothing to cancel")]
    AlreadyFinished { id: JobId, state: JobState },
    /// Only a pending job was to be cancelled (`remove job id N`, `cancel --pending-only`).
    #[error("job {id} (`{job_type}`) is running, so it was not removed")]
    StillRunning { id: JobId, job_type: JobType },
    #[error("`{job_type}` is suppressed until {until}")]
    Suppressed { job_type: JobType, until: String },
    /// The access policy refused the command.
    #[error("{0}")]
    Denied(access::Denied),
    /// A command given the wrong shape of arguments.
    #[error("{0}")]
    Usage(&'static str),
    /// A `queue import` file that cannot be imported (`line` 0: the file as a whole).
    #[error("`{file}`{}: {reason}", if *line == 0 { String::new() } else { format!(" line {line}") })]
    BadImport { file: String, line: usize, reason: String },
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("{what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Settings(#[from] crate::config::SettingsError),
    #[error(transparent)]
    Import(#[from] crate::config::import::ImportError),
    /// One of ebmbot's own threads panicked (the panic message is in the log).
    #[error("the {0} thread panicked")]
    Panicked(&'static str),
}

impl CommandError {
    /// The user's mistake (exit 2), as opposed to a failure of ebmbot or its surroundings (exit 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::Queue(QueueError::TimezoneMismatch { .. }) => true,
            Self::Queue(_) | Self::Io { .. } | Self::Panicked(_) => false,
            Self::Config(e) => !matches!(e, crate::config::ConfigError::Read { .. }),
            Self::Settings(e) => !matches!(e, crate::config::SettingsError::Cwd(_)),
            _ => true,
        }
    }

    /// A short machine name for `--json` errors.
    pub fn kind(&self) -> &'static str {
        if self.is_bad_input() { "bad_input" } else { "failure" }
    }
}

fn did_you_mean(s: Option<&str>) -> String {
    s.map(|s| format!("; did you mean `{s}`?")).unwrap_or_default()
}

fn names(list: &[String]) -> String {
    let quoted: Vec<String> = list.iter().map(|n| format!("`{n}`")).collect();
    format!("param{} {}", if list.len() == 1 { "" } else { "s" }, quoted.join(", "))
}

fn expected_params(expected: &[String]) -> String {
    if expected.is_empty() { "; it takes no params".to_owned() } else { format!("; it takes {}", names(expected)) }
}

pub type Result<T, E = CommandError> = std::result::Result<T, E>;

/// Opens the queue as `settings` say: `EBMBOT_DB`, `EBMBOT_SYNC`, and whether job starts are
/// announced in a Slack logs channel (so need delivering).
pub fn open_queue(settings: &Settings) -> Result<Queue, QueueError> {
    let options = crate::queue::Options {
        sync_full: settings.sync == crate::config::SyncMode::Full,
        announce_starts: settings.slack_logs_channel.is_some() && settings.slack_bot_token.is_some(),
        wake_poll: Some(settings.wake_poll),
    };
    Queue::open(&settings.db, options)
}

pub use crate::error::describe;

/// At most `max` characters of `text`, with `…` when cut (user text in replies, tables, logs).
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shorten_counts_characters_not_bytes() {
        assert_eq!(super::shorten("héllo", 5), "héllo");
        assert_eq!(super::shorten("héllo wörld", 5), "héllo…");
        assert_eq!(super::shorten("", 0), "");
    }
}
