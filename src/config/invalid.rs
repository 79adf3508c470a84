//! What a `jobs.toml` breaks, as data: the checks of `validate` return these, one enum per part
//! of the file (namespace settings, a job, a param table, a Slack command, a GitHub trigger),
//! and their `Display` is the one-line message: the namespace/job/command in backticks, what is
//! wrong, and the fix. [`Invalid`] adds the line; [`super::ConfigError`] the file.

use std::fmt;

use super::SecretName;
use super::catalog::Action;
use super::cron::CronError;
use super::duration::ParseError;
use super::params::{Alphabet, ParamError, RuleError};
use super::suggest::closest;
use super::template::{Reread, RereadKind, TemplateError};

/// A rule of `jobs.toml` broken, and the line of the table it is in.
#[derive(Debug, thiserror::Error)]
#[error("{problem} (line {line}{})", column.map_or(String::new(), |c| format!(", column {c}")))]
pub struct Invalid {
    pub problem: Box<Problem>,
    pub line: usize,
    /// Where in the line, for a problem with one value (a timer's `cron`, `timezone`).
    pub column: Option<usize>,
}

/// What is wrong, naming where.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error(
        "namespace `{name}` is not a valid name; use up to 32 lowercase letters, digits and `-`, starting with a \
         letter or digit{}",
        near.as_ref().map_or(String::new(), |near| format!("; did you mean `{near}`?"))
    )]
    NamespaceName { name: String, near: Option<String> },
    #[error("namespace `{name}` is reserved for the built-in `{name}` command; rename it")]
    ReservedNamespace { name: String },
    #[error("`{namespace}`: {problem}")]
    Namespace { namespace: String, problem: NamespaceProblem },
    #[error(
        "job `{name}` in `{namespace}` is not a valid name; use up to 64 lowercase letters, digits, `_` and `-`, \
         starting with a letter or digit"
    )]
    JobName { namespace: String, name: String },
    #[error("{}", template_message(job_type, error))]
    Template { job_type: String, error: TemplateError },
    #[error("placeholder `{{{param}}}` in `{job_type}` is reserved (it is an ebmbot option); rename it")]
    ReservedParam { job_type: String, param: String },
    #[error("{0}")]
    Reread(Box<RereadError>),
    #[error("`{namespace}.jobs.{job}`: {problem}")]
    Job { namespace: String, job: String, problem: JobProblem },
    #[error("`{namespace}.jobs.{job}.params.{param}`: {problem}")]
    Param { namespace: String, job: String, param: String, problem: ParamProblem },
    #[error(
        "`{namespace}`: a slack command has an empty `command`; write the words after the namespace, such as \
         `command = \"say hello [name]\"`"
    )]
    EmptySlackCommand { namespace: String },
    #[error("`{namespace}` slack command `{command}`: {problem}")]
    Slack { namespace: String, command: String, problem: SlackProblem },
    #[error("`{namespace}` slack commands `{first}` and `{second}` match exactly the same texts; change or remove one")]
    SameTexts { namespace: String, first: String, second: String },
    #[error("`{namespace}` github trigger #{number} (`{event}`): {problem}")]
    Trigger { namespace: String, number: usize, event: String, problem: TriggerProblem },
    #[error("`{namespace}` timer `{timer}`: {problem}")]
    Timer { namespace: String, timer: String, problem: TimerProblem },
    #[error("`{namespace}` listener `{listener}`: {problem}")]
    Listener { namespace: String, listener: String, problem: ListenerProblem },
    #[error("`{namespace}` has two listeners named `{listener}`; listener names are unique, rename one")]
    ListenerTwice { namespace: String, listener: String },
    #[error(
        "listener `{listener}` is in both `{first}` and `{second}`; listener names are unique across namespaces \
         (`ebmbot ooo` names them), rename one"
    )]
    ListenerElsewhere { listener: String, first: String, second: String },
}

/// A `[[ns.timers]]` timer.
#[derive(Debug, thiserror::Error)]
pub enum TimerProblem {
    #[error("name is not valid; use up to 64 lowercase letters, digits, `_` and `-`, starting with a letter or digit")]
    Name,
    #[error("another timer of `{namespace}` has this name; give each its own")]
    Duplicate { namespace: String },
    #[error("cron `{expression}` {error}")]
    Cron { expression: String, error: CronError },
    #[error(
        "timezone `{name}` is not a time zone; write an IANA name such as `Europe/London` or `UTC`, or leave it out \
         for EBMBOT_TIMEZONE"
    )]
    Timezone { name: String },
    #[error("{0}")]
    UnknownJob(UnknownJob),
    #[error(
        "`params` must give every placeholder of `{job_type}`; add {} (such as `params = {{ {} = \"…\" }}`)",
        backticked(missing),
        missing.first().map_or("", String::as_str)
    )]
    MissingParams { job_type: String, missing: Vec<String> },
    #[error("`params` gives {} that `{job_type}` does not have; remove {}", backticked(extra), if extra.len() == 1 { "it" } else { "them" })]
    ExtraParams { job_type: String, extra: Vec<String> },
    #[error("{0}")]
    Param(ParamError),
    /// `missed`.
    #[error("{0}")]
    Missed(BadChoice),
    #[error(
        "notify `{channel}` is not a channel; write a channel id such as `C0123456789`, a name such as `#tech`, or \
         `\"none\"`{}",
        near.as_ref().map_or(String::new(), |near| format!(" (did you mean `#{near}`?)"))
    )]
    Notify { channel: String, near: Option<String> },
}

/// A support listener (`[[ns.listeners]]`).
#[derive(Debug, thiserror::Error)]
pub enum ListenerProblem {
    #[error("the name is not valid; use up to 32 lowercase letters, digits and `-`, such as `tech-support`")]
    Name,
    #[error(
        "channel `{channel}` is not a channel; write a channel id such as `C0123456789` or a name such as \
         `#tech`{}",
        near.as_ref().map_or(String::new(), |near| format!(" (did you mean `#{near}`?)"))
    )]
    Channel { channel: String, near: Option<String> },
    #[error(
        "reaction `{reaction}` has colons; write the emoji's name without them{}",
        bare.as_ref().map_or(String::new(), |b| format!(": `{b}`"))
    )]
    ReactionColons { reaction: String, bare: Option<String> },
    #[error("reaction `{0}` is not an emoji name; write one such as `sos`")]
    Reaction(String),
    #[error("`match` is empty; list the words it listens for, such as `match = [\"{0}\"]`")]
    NoWords(String),
    #[error("`match` word `{0}` is not one word; write words without spaces, such as \"tech-support\"")]
    NotAWord(String),
}

/// A namespace's own settings.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceProblem {
    #[error(
        "default_channel `{channel}` is not a channel; write a channel id such as `C0123456789` or a name such as \
         `#tech`{}",
        near.as_ref().map_or(String::new(), |near| format!(" (did you mean `#{near}`?)"))
    )]
    Channel { channel: String, near: Option<String> },
    /// `url` with any credentials redacted.
    #[error("fabfile `{url}` {problem}; use an `https://` URL (or `http://` to localhost)")]
    Fabfile { url: String, problem: FabfileProblem },
    #[error(
        "pass_secrets names `{name}`, which is not one of ebmbot's secrets; {}",
        near.as_ref().map_or_else(
            || format!("use only {}", SecretName::ALL.map(|s| format!("`{}`", s.env_var())).join(", ")),
            |near| format!("did you mean `{near}`?")
        )
    )]
    UnknownSecret { name: String, near: Option<String> },
    #[error("github_repository is an empty list; name at least one `owner/name`")]
    NoRepositories,
    #[error(
        "github_repository `{}` is not a repository; write `owner/name` as GitHub shows it, such as \
         `octo-org/octo-repo`",
        repo.escape_debug()
    )]
    Repository { repo: String },
    #[error(
        "github_secret `{}` is not a variable name; write the name of the variable that holds the secret, in \
         capitals, such as `WEBSITE_WEBHOOK_SECRET`",
        var.escape_debug()
    )]
    SecretVarName { var: String },
    #[error(
        "github_secret `{var}` names a file variable; write the secret's own name (`{}`): ebmbot reads `{var}` by \
         itself",
        var.trim_end_matches("_FILE")
    )]
    SecretVarFile { var: String },
    #[error("github_secret `{var}` is one of ebmbot's own secrets; give the project a variable of its own")]
    OwnSecret { var: String },
}

/// Why a `fabfile` URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FabfileProblem {
    #[error("contains spaces")]
    Spaces,
    #[error("is not an http(s) URL")]
    NotHttp,
    #[error("has no host")]
    NoHost,
    #[error("uses plain http to another host")]
    PlainHttp,
}

/// A job's settings.
#[derive(Debug, thiserror::Error)]
pub enum JobProblem {
    /// `report_format`, `on_lost`.
    #[error("{0}")]
    Choice(BadChoice),
    #[error("{0}")]
    Timeout(TimeoutProblem),
}

/// `timeout`: a duration string, `"none"`, or a whole number of seconds.
#[derive(Debug, thiserror::Error)]
pub enum TimeoutProblem {
    #[error("timeout {0}, or `\"none\"`")]
    Duration(ParseError),
    #[error("timeout `{0}` is negative; write a duration such as `\"1h\"`, or `\"none\"`")]
    Negative(i64),
    /// The value as TOML writes it.
    #[error("timeout `{0}` is not a duration; write one such as `\"1h30m\"`, or `\"none\"`")]
    NotADuration(String),
    #[error("timeout is zero; write a positive duration, or `\"none\"`")]
    Zero,
}

/// A `[ns.jobs.job.params.name]` table.
#[derive(Debug, thiserror::Error)]
pub enum ParamProblem {
    #[error(
        "the `run_args_template` of `{job_type}` has no placeholder `{{{param}}}`; {}",
        near.as_ref().map_or_else(
            || format!("remove the table or add `{{{param}}}` to the template"),
            |near| format!("did you mean `{near}`?")
        )
    )]
    NoPlaceholder { job_type: String, param: String, near: Option<String> },
    /// `type`.
    #[error("{0}")]
    Type(BadChoice),
    #[error("`min` and `max` are for `type = \"int\"` only; add the type or remove them")]
    MinMaxNotInt,
    #[error("the table sets no rule; give `type`, `pattern`, `choices` or `allow_dash`, or remove it")]
    NoRule,
    #[error("{0}")]
    Rule(RuleError),
}

/// A placeholder where bash reads the value again, and a rule that does not keep that place's
/// special characters out.
#[derive(Debug, thiserror::Error)]
#[error("{}", reread_message(self))]
pub struct RereadError {
    pub namespace: String,
    pub job: String,
    pub param: String,
    pub place: Reread,
    /// The characters the param's rule lets through; `None`: it has no rule (no table).
    pub alphabet: Option<Alphabet>,
}

/// A `[[ns.slack]]` command.
#[derive(Debug, thiserror::Error)]
pub enum SlackProblem {
    #[error(
        "placeholder `[{0}]` is not a valid name; use lowercase letters, digits and `_` (at most 32, not starting \
         with a digit)"
    )]
    PlaceholderName(String),
    #[error("word `{0}` has a stray bracket; write placeholders as `[name]`, separated by spaces")]
    StrayBracket(String),
    /// `action`.
    #[error("{0}")]
    Action(BadChoice),
    #[error("{0}")]
    UnknownJob(UnknownJob),
    #[error("placeholder `[{0}]` appears twice; use it once")]
    PlaceholderTwice(String),
    #[error("{}", placeholders_message(self))]
    Placeholders {
        action: Action,
        job_type: String,
        /// Those the command must have.
        want: Vec<String>,
        missing: Vec<String>,
        extra: Vec<String>,
    },
    #[error("{0}")]
    Delay(NegativeDelay),
}

/// A `[[ns.github]]` trigger.
#[derive(Debug, thiserror::Error)]
pub enum TriggerProblem {
    #[error(
        "event `{0}` is not a github event name; write the `X-GitHub-Event` value, such as `push` or `pull_request`"
    )]
    Event(String),
    #[error("{0}")]
    UnknownJob(UnknownJob),
    #[error(
        "`params` must give exactly the placeholders of `{job_type}`; {}",
        fixes(&[("add", missing, " to `params`"), ("remove", extra, " from `params`")], |p| format!("`{p}`"))
    )]
    Params { job_type: String, missing: Vec<String>, extra: Vec<String> },
    #[error(
        "`params.{param}` = `{pointer}` is not a JSON pointer; start it with `/`, such as \
         `/pull_request/merge_commit_sha`"
    )]
    NotAPointer { param: String, pointer: String },
    #[error("`merged` applies only to `event = \"pull_request\"`; remove it")]
    MergedNotPullRequest,
    #[error("push events have no `action`; remove it, or filter with `branch`")]
    PushAction,
    #[error("`action` is empty; write the payload's action, such as `\"closed\"`, or remove it")]
    EmptyAction,
    #[error("`branch` is empty; write a branch name or remove it")]
    EmptyBranch,
    #[error("branch `{branch}` is a ref; write the branch name `{}`", branch.trim_start_matches("refs/heads/"))]
    BranchIsRef { branch: String },
    #[error("{0}")]
    Delay(NegativeDelay),
}

/// "`key` `value` is not valid; use one of …", with the nearest choice when one is close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadChoice {
    pub key: &'static str,
    pub value: String,
    pub choices: Vec<&'static str>,
}

impl fmt::Display for BadChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (key, value) = (self.key, &self.value);
        let list = backticked(&self.choices);
        match closest(value, self.choices.iter().copied()) {
            Some(near) => write!(f, "{key} `{value}` is not valid; did you mean `{near}`? (one of {list})"),
            None => write!(f, "{key} `{value}` is not valid; use one of {list}"),
        }
    }
}

/// A `job_type` that names no job of the namespace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownJob {
    #[error("job_type `{name}` is a full job type; write `{job}`, the job's name inside `{namespace}`")]
    FullType { namespace: String, name: String, job: String },
    #[error("unknown job `{name}`: `{namespace}` has no jobs; add `[{namespace}.jobs.{name}]`")]
    NoJobs { namespace: String, name: String },
    #[error("unknown job `{name}`; did you mean `{near}`?")]
    Near { name: String, near: String },
    #[error("unknown job `{name}`; use one of {}", backticked(jobs))]
    OneOf { name: String, jobs: Vec<String> },
}

/// `delay_seconds` below zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("delay_seconds `{0}` is negative; write 0 or more seconds")]
pub struct NegativeDelay(pub i64);

fn backticked<S: AsRef<str>>(names: &[S]) -> String {
    names.iter().map(|n| format!("`{}`", n.as_ref())).collect::<Vec<_>>().join(", ")
}

/// "add `a`, `b` and remove `c`": each non-empty list after its verb, then `suffix`.
fn fixes(parts: &[(&str, &Vec<String>, &str)], show: impl Fn(&str) -> String) -> String {
    parts
        .iter()
        .filter(|(_, list, _)| !list.is_empty())
        .map(|(verb, list, suffix)| {
            format!("{verb} {}{suffix}", list.iter().map(|p| show(p)).collect::<Vec<_>>().join(", "))
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// A template error, naming the job type (the loader's half of [`TemplateError`]).
fn template_message(job_type: &str, err: &TemplateError) -> String {
    match err {
        TemplateError::StrayBrace { brace, at } => format!(
            "unmatched `{brace}` at byte {at} of the `run_args_template` of `{job_type}`; \
             write `{brace}{brace}` for a literal brace"
        ),
        TemplateError::BadName { name } => format!(
            "placeholder `{{{name}}}` in `{job_type}` is not a valid name; use lowercase letters, \
             digits and `_` (at most 32, not starting with a digit), or write `{{{{` and `}}}}` \
             for literal braces"
        ),
        TemplateError::InsideQuotes { name } => format!(
            "placeholder `{{{name}}}` in `{job_type}` is inside quotes; remove them, ebmbot \
             quotes values"
        ),
        TemplateError::AfterDollar { name } => format!(
            "placeholder `{{{name}}}` in `{job_type}` follows `$`, which would make bash \
             reinterpret the value; put a space between them"
        ),
        TemplateError::AfterBackslash { name } => format!(
            "placeholder `{{{name}}}` in `{job_type}` follows `\\`, which would take the value's \
             opening quote; remove the backslash"
        ),
    }
}

fn reread_message(e: &RereadError) -> String {
    let RereadError { namespace, job, param, place, alphabet } = e;
    let kind = place.kind;
    let attack = match kind {
        RereadKind::Arithmetic | RereadKind::Name | RereadKind::Expansion => "a[$(cmd)]",
        RereadKind::Shell => "$(cmd)",
        RereadKind::Fab => "a,b=c",
    };
    let head = format!(
        "placeholder `{{{param}}}` in `{namespace}_{job}` stands in {}, {} (a value such as `{attack}` would {})",
        place.what,
        place.why(),
        if kind == RereadKind::Fab { "pass extra arguments" } else { "run code" }
    );
    if kind == RereadKind::Expansion {
        return format!("{head}; no rule makes it safe there: {}", kind.fix().trim_start_matches("nothing: "));
    }
    match alphabet {
        None => format!(
            "{head}; move it out of there, or type it: add `[{namespace}.jobs.{job}.params.{param}]` with {}",
            kind.fix()
        ),
        Some(alphabet) => format!(
            "{head}, and its rule lets through {}; narrow `[{namespace}.jobs.{job}.params.{param}]`, for example \
             with {}",
            alphabet.outside(kind.safe()),
            kind.fix()
        ),
    }
}

fn placeholders_message(problem: &SlackProblem) -> String {
    let SlackProblem::Placeholders { action, job_type, want, missing, extra } = problem else {
        return String::new();
    };
    let needs = match action {
        Action::ScheduleJob if want.is_empty() => format!("`{job_type}` takes no placeholders"),
        Action::ScheduleJob => format!(
            "its placeholders must be those of `{job_type}` ({})",
            want.iter().map(|p| format!("`{{{p}}}`")).collect::<Vec<_>>().join(", ")
        ),
        Action::ScheduleSuppression => {
            "`schedule_suppression` commands take exactly `[start_at]` and `[end_at]`".to_owned()
        }
        Action::CancelJob | Action::CancelSuppression => format!("`{}` commands take no placeholders", action.as_str()),
    };
    let fixes = fixes(&[("add", missing, ""), ("remove", extra, "")], |p| format!("`[{p}]`"));
    format!("{needs}; {fixes}")
}
