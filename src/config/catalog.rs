//! The validated job catalogue: what `jobs.toml` means once it has passed every check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use jiff::tz::TimeZone;

use super::cron::Cron;
use super::params::{ParamError, ParamRule};
use super::template::Template;
use super::{JobType, SecretName, Settings};

/// Every namespace of `jobs.toml`, validated. Built only by [`Catalog::load`].
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The file it was read from (absolute).
    pub path: PathBuf,
    pub namespaces: BTreeMap<String, Namespace>,
}

#[derive(Debug, Clone)]
pub struct Namespace {
    pub name: String,
    pub description: Option<String>,
    pub restricted: bool,
    /// `allow_reminders = true`: Slackbot reminders may run the commands of this restricted
    /// namespace (a reminder does not say who set it, and guests can set channel reminders).
    pub allow_reminders: bool,
    pub default_channel: Option<String>,
    pub fabfile: Option<String>,
    pub pass_secrets: Vec<SecretName>,
    /// `github_repository`: the only repositories (`owner/name`) whose deliveries the project
    /// takes; empty: any (a restricted project then takes none).
    pub github_repositories: Vec<String>,
    /// `github_secret`: the variable holding the project's own webhook secret, which replaces
    /// `GITHUB_WEBHOOK_SECRET` for it. Jobs never see it.
    pub github_secret: Option<String>,
    /// The job's working directory, fixed at load: `WORKSPACE_DIR/<ns>` if it exists
    /// then, else `WRITEABLE_WORKSPACE_DIR/<ns>`.
    pub workdir: PathBuf,
    /// True when `workdir` lies under `WORKSPACE_DIR` (a repo directory that must exist at run
    /// time); false for directories under `WRITEABLE_WORKSPACE_DIR`, created on demand.
    pub workdir_fixed: bool,
    pub jobs: BTreeMap<String, JobDef>,
    pub slack: Vec<SlackCommand>,
    pub github: Vec<Trigger>,
    /// `[[ns.timers]]`, in the order written; names unique in the namespace.
    pub timers: Vec<Timer>,
    /// `[[ns.listeners]]`: support listeners (docs/slack.md, "Support listeners").
    pub listeners: Vec<Listener>,
}

#[derive(Debug, Clone)]
pub struct JobDef {
    /// The job's name inside its namespace (`hello`).
    pub name: String,
    pub namespace: String,
    pub template: Template,
    pub report_stdout: bool,
    pub report_success: bool,
    pub report_format: ReportFormat,
    pub call_tech_support_on_error: bool,
    pub suppress_empty: bool,
    /// The effective timeout: the job's own, else the settings' default. `None`: no timeout.
    pub timeout: Option<Duration>,
    pub on_lost: OnLost,
    /// `confirm = true`: asked for from Slack, it waits for its requester's *Confirm*; from a
    /// terminal, `schedule`/`run` ask (or need `--yes`). Webhooks and timers queue it at once.
    pub confirm: bool,
    /// The rule of every placeholder (the default rule where `jobs.toml` gives none).
    pub params: BTreeMap<String, ParamRule>,
}

impl JobDef {
    /// Checks a value of param `name` against its rule. Every path that queues a job goes
    /// through this (with `commands::resolve::args`), and the runner again before it spawns.
    pub fn check_value(&self, name: &str, value: &str) -> Result<(), ParamError> {
        match self.params.get(name) {
            Some(rule) => rule.check(&self.job_type(), name, value),
            None => ParamRule::default().check(&self.job_type(), name, value),
        }
    }

    /// `<namespace>_<job>`, the original's naming, used in messages and log paths.
    pub fn job_type(&self) -> JobType {
        JobType::new(&self.namespace, &self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Blocks,
    Code,
    File,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 4] = [Self::Text, Self::Blocks, Self::Code, Self::File];

    /// A format by its name in `jobs.toml`: `text`, `blocks`, `code` or `file`.
    pub fn parse(text: &str) -> Option<ReportFormat> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Blocks => "blocks",
            Self::Code => "code",
            Self::File => "file",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnLost {
    Fail,
    Retry,
}

impl OnLost {
    pub const ALL: [OnLost; 2] = [Self::Fail, Self::Retry];

    /// `fail` or `retry`, by its name in `jobs.toml`.
    pub fn parse(text: &str) -> Option<OnLost> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::Retry => "retry",
        }
    }
}

/// One `[[ns.slack]]` entry: the words after the namespace, compiled into a pattern.
#[derive(Debug, Clone)]
pub struct SlackCommand {
    pub namespace: String,
    /// The `command` text as written, with runs of spaces collapsed (`say hello [name]`).
    pub text: String,
    pub pattern: Vec<PatternWord>,
    pub help: String,
    pub action: Action,
    /// The job of this namespace that the action applies to.
    pub job: String,
    pub delay: Duration,
}

impl SlackCommand {
    /// The placeholders of the pattern, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.pattern.iter().filter_map(|w| match w {
            PatternWord::Param(p) => Some(p.as_str()),
            PatternWord::Literal(_) => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternWord {
    /// Matched case-insensitively; stored lowercase.
    Literal(String),
    /// `[name]`: one word, or the rest of the text when it is the last word.
    Param(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ScheduleJob,
    CancelJob,
    ScheduleSuppression,
    CancelSuppression,
}

impl Action {
    pub const ALL: [Action; 4] =
        [Self::ScheduleJob, Self::CancelJob, Self::ScheduleSuppression, Self::CancelSuppression];

    /// An action by its name in `jobs.toml`: `schedule_job`, `cancel_job`, …
    pub fn parse(text: &str) -> Option<Action> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScheduleJob => "schedule_job",
            Self::CancelJob => "cancel_job",
            Self::ScheduleSuppression => "schedule_suppression",
            Self::CancelSuppression => "cancel_suppression",
        }
    }
}

/// One `[[ns.github]]` webhook trigger.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub namespace: String,
    pub event: String,
    pub action: Option<String>,
    pub merged: Option<bool>,
    pub branch: Option<String>,
    pub job: String,
    pub delay: Duration,
    /// Param name → JSON pointer into the payload.
    pub params: BTreeMap<String, String>,
}

/// One `[[ns.timers]]` recurring job (docs/timers.md).
#[derive(Debug, Clone)]
pub struct Timer {
    pub namespace: String,
    /// Unique in the namespace; with it, the timer's key in the queue.
    pub name: String,
    /// The job of this namespace it schedules.
    pub job: String,
    pub cron: Cron,
    /// Its own `timezone`, else `EBMBOT_TIMEZONE`.
    pub timezone: TimeZone,
    /// A value for every placeholder of the job, each checked against its rule at load.
    pub params: BTreeMap<String, String>,
    /// Where its jobs report: `notify`, else the namespace's `default_channel`; `None` for
    /// `"none"` (the logs channel only).
    pub notify: Option<String>,
    pub missed: Missed,
}

impl Timer {
    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: jiff::Timestamp) -> Option<jiff::Timestamp> {
        self.cron.next_after(after, &self.timezone)
    }

    /// The time zone's name (`Europe/London`; `UTC`).
    pub fn timezone_name(&self) -> &str {
        self.timezone.iana_name().unwrap_or("UTC")
    }
}

/// What a timer does with fire times that passed, more than the grace late, while no
/// dispatcher ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// Run once for all of them.
    Once,
    /// Run none of them, and say so in the logs channel.
    Skip,
}

impl Missed {
    pub const ALL: [Missed; 2] = [Self::Once, Self::Skip];

    pub fn parse(text: &str) -> Option<Missed> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Once => "once",
            Self::Skip => "skip",
        }
    }
}

/// One `[[ns.listeners]]` entry: messages in channels that say one of `words` get `reaction`
/// and are re-posted (as a permalink) to `channel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub namespace: String,
    /// Unique across namespaces: `ebmbot ooo <name>` names it.
    pub name: String,
    /// Lowercase; matched as whole words (hyphens are word characters), case-insensitively,
    /// not inside a URL path.
    pub words: Vec<String>,
    /// Where requests are re-posted: an id or `#name`.
    pub channel: String,
    /// A reaction name, without colons.
    pub reaction: String,
    /// Whether `ebmbot ooo` applies to it.
    pub out_of_office: bool,
}

impl Listener {
    /// Whether `text` (a message's text as Slack sends it) calls this listener.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
        self.words.iter().any(|word| {
            let word: Vec<char> = word.chars().collect();
            contains_word(&text, &word)
        })
    }
}

/// Word characters for listeners: letters, digits, `_` and `-`.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// `word` in `text` with no word character around it, and no `/` before it (a URL path).
fn contains_word(text: &[char], word: &[char]) -> bool {
    if word.is_empty() || word.len() > text.len() {
        return false;
    }
    (0..=text.len() - word.len()).any(|at| {
        text[at..at + word.len()] == *word
            && (at == 0 || !(is_word_char(text[at - 1]) || text[at - 1] == '/'))
            && text.get(at + word.len()).is_none_or(|&c| !is_word_char(c))
    })
}

impl Catalog {
    /// Every support listener, in namespace order.
    pub fn listeners(&self) -> impl Iterator<Item = &Listener> {
        self.namespaces.values().flat_map(|ns| ns.listeners.iter())
    }

    /// A listener by name.
    pub fn listener(&self, name: &str) -> Option<&Listener> {
        self.listeners().find(|l| l.name == name)
    }

    /// Reads and validates `path`. Every error names the file and what to fix.
    pub fn load(path: &Path, settings: &Settings) -> Result<Catalog, super::ConfigError> {
        super::load::load(path, settings)
    }

    /// Parses and validates TOML text as if it were read from `path` (used by tests).
    pub fn from_str(text: &str, path: &Path, settings: &Settings) -> Result<Catalog, super::ConfigError> {
        super::load::parse(text, path, settings)
    }

    /// A catalogue with no namespaces (commands that only read the queue use it when
    /// `jobs.toml` cannot be loaded).
    pub fn empty(path: &Path) -> Catalog {
        Catalog { path: path.to_owned(), namespaces: BTreeMap::new() }
    }

    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.get(name)
    }

    pub fn job(&self, namespace: &str, job: &str) -> Option<&JobDef> {
        self.namespaces.get(namespace)?.jobs.get(job)
    }

    /// Every timer, in namespace order, then as written.
    pub fn timers(&self) -> impl Iterator<Item = &Timer> {
        self.namespaces.values().flat_map(|ns| ns.timers.iter())
    }

    /// Every job, in namespace then job order.
    pub fn jobs(&self) -> impl Iterator<Item = &JobDef> {
        self.namespaces.values().flat_map(|ns| ns.jobs.values())
    }
}

/// The catalogue of a long-running process, re-read on SIGHUP. One per process: the
/// dispatcher, the Slack bot's threads and the web server share it. Each keeps the version it
/// last read and picks up a newer one at its next turn ([`LiveCatalog::newer_than`]), or reads
/// the current one per request ([`LiveCatalog::current`]).
#[derive(Debug, Clone)]
pub struct LiveCatalog(Arc<RwLock<(u64, Arc<Catalog>)>>);

impl From<Catalog> for LiveCatalog {
    fn from(catalog: Catalog) -> LiveCatalog {
        LiveCatalog::new(catalog)
    }
}

impl LiveCatalog {
    pub fn new(catalog: Catalog) -> LiveCatalog {
        LiveCatalog(Arc::new(RwLock::new((0, Arc::new(catalog)))))
    }

    /// Re-reads `jobs.toml` (`settings.config`): the one reload, whatever asked for it. An
    /// invalid file changes nothing and says why; readers see a valid one at their next turn.
    pub fn reload(&self, settings: &Settings) -> Result<(), super::ConfigError> {
        let catalog = Catalog::load(&settings.config, settings)?;
        self.replace(catalog);
        Ok(())
    }

    /// Replaces the catalogue; readers see it at their next turn.
    pub fn replace(&self, catalog: Catalog) {
        let mut current = self.0.write().unwrap_or_else(PoisonError::into_inner);
        *current = (current.0 + 1, Arc::new(catalog));
    }

    /// The catalogue now, and its version.
    pub fn current(&self) -> (u64, Arc<Catalog>) {
        let current = self.0.read().unwrap_or_else(PoisonError::into_inner);
        (current.0, Arc::clone(&current.1))
    }

    /// The catalogue and its version, if newer than `seen`.
    pub fn newer_than(&self, seen: u64) -> Option<(u64, Arc<Catalog>)> {
        let current = self.0.read().unwrap_or_else(PoisonError::into_inner);
        (current.0 > seen).then(|| (current.0, Arc::clone(&current.1)))
    }
}
