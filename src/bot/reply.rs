//! The bot's answer to a command text, in Slack's words. The worker posts it; `ebmbot say`
//! prints it, so the terminal shows exactly what the bot would post.
//!
//! [`answer`] parses the text with the one grammar, runs the command through the command layer
//! (and so through its access policy) and words the result or the user's mistake here. The
//! command layer returns data and errors with data; nothing it says is posted as it is, so no
//! terminal hint (`ebmbot queue list --all`, `--force`) reaches a Slack user.

use jiff::Timestamp;
use serde::Serialize;

use crate::commands::access::{Caller, Denied};
use crate::commands::cancel::{CancelledJob, CancelledType};
use crate::commands::help::{HelpTopics, NamespaceCommands};
use crate::commands::logs::LogText;
use crate::commands::schedule::Scheduled;
use crate::commands::status::StatusReport;
use crate::commands::{Command, CommandError, Context, Output, help, shorten};
use crate::grammar::{Grammar, NotUnderstood};
use crate::queue::model::{Job, JobId};
use crate::queue::{Queue, ReplyLog};

/// The bot's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub text: String,
    /// False when the text matched nothing (the reply is the general help).
    pub understood: bool,
    /// The text was understood but its values were not (bad time, unknown id, refused, …).
    pub bad_input: bool,
    /// A configured command was carried out: the bot acknowledges with a reaction.
    pub accepted: bool,
    /// The job scheduled, if one was.
    pub job: Option<JobId>,
    /// A log to attach as a file, read when the reply is delivered (`logs N` of a long log).
    #[serde(skip)]
    pub log: Option<ReplyLog>,
    /// A `confirm = true` job asked for from Slack: not queued; the reply asks "Run … now?"
    /// and the worker keeps it for its requester's *Confirm*.
    #[serde(skip)]
    pub ask: Option<crate::commands::schedule::Schedule>,
}

impl Reply {
    fn understood(text: String) -> Reply {
        Reply { text, understood: true, ..Reply::default() }
    }
}

/// Answers `text` (already cleaned by [`super::text::command_text`]) for `caller`. The user's
/// mistakes are answered; an `Err` is ebmbot's own failure, for the caller to report.
pub fn answer(
    grammar: &Grammar,
    ctx: &Context<'_>,
    caller: &Caller,
    queue: &mut Queue,
    text: &str,
) -> Result<Reply, CommandError> {
    let command = match grammar.parse(text) {
        Ok(command) => command,
        Err(reason) => return Ok(Reply { text: not_understood(&reason, ctx, caller), ..Reply::default() }),
    };
    answer_command(ctx, caller, queue, command)
}

/// Runs `command` for `caller` and words the result, as [`answer`] does for a text (a button's
/// click and a slash command arrive as commands).
pub fn answer_command(
    ctx: &Context<'_>,
    caller: &Caller,
    queue: &mut Queue,
    mut command: Command,
) -> Result<Reply, CommandError> {
    // A `confirm = true` job asked for in Slack waits for its requester's Confirm: allowed
    // now (the policy), queued then (docs/slack.md, "Buttons and /ebmbot").
    if let Command::Schedule(schedule) = &command
        && matches!(caller.origin, crate::queue::model::Origin::Slack { .. })
        && ctx.catalog.job(&schedule.namespace, &schedule.job).is_some_and(|j| j.confirm)
    {
        let scope = crate::commands::access::Scope::Namespace(&schedule.namespace);
        return match crate::commands::access::check(ctx, caller, queue, scope) {
            Ok(_) => Ok(Reply {
                text: crate::commands::schedule::question(&schedule.namespace, &schedule.job),
                understood: true,
                ask: Some(schedule.clone()),
                ..Reply::default()
            }),
            Err(e) => Ok(Reply { bad_input: true, ..Reply::understood(error_text(&e)) }),
        };
    }
    // A reply carries at most the last megabyte of a log (issue 9, item 7).
    if let Command::Logs(logs) = &mut command {
        logs.limit = Some(crate::commands::logs::SLACK_LIMIT);
    }
    // Configured commands (they change jobs or suppressions) are acknowledged; built-ins not.
    let configured = matches!(
        command,
        Command::Schedule(_) | Command::CancelType(_) | Command::Suppress(_) | Command::Unsuppress(_)
    );
    match command.execute(ctx, caller, queue) {
        Ok(output) => {
            let job = match &output {
                Output::Scheduled(r) => Some(r.id),
                _ => None,
            };
            let log = match &output {
                Output::Logs(r) => attached_log(r),
                _ => None,
            };
            let text = match (&output, &log) {
                (Output::Logs(r), Some(_)) => log_header(r, ctx.bot_name()),
                _ => render(&output, ctx),
            };
            Ok(Reply { text, understood: true, accepted: configured, job, log, ..Reply::default() })
        }
        Err(e) if e.is_bad_input() => Ok(Reply { bad_input: true, ..Reply::understood(error_text(&e)) }),
        Err(e) => Err(e),
    }
}

/// A command's result as a Slack message.
pub fn render(output: &Output, ctx: &Context<'_>) -> String {
    let tz = &ctx.settings.timezone;
    match output {
        Output::Plan(p) => plan(p),
        Output::Scheduled(r) => scheduled(r, tz),
        Output::CancelledType(r) => cancelled_type(r),
        Output::CancelledJob(r) => cancelled_job(r),
        Output::Suppressed(r) => {
            format!("`{}` is suppressed from {} until {}.", r.job_type, when(r.start, tz), when(r.end, tz))
        }
        Output::Unsuppressed(r) => format!("Removed {} suppression window(s) of `{}`.", r.removed, r.job_type),
        Output::Status(r) => status(r, tz),
        Output::Logs(r) => logs(r, ctx.settings),
        Output::Help(r) => general_help(r, ctx.bot_name()),
        Output::NamespaceHelp(r) => namespace_help(r, ctx.bot_name(), tz),
        Output::Jobs(jobs) => jobs_list(jobs, tz),
        Output::Pruned(r) => format!(
            "Pruned {} job(s), {} delivered message(s) and {} webhook delivery record(s).",
            r.jobs, r.events, r.deliveries
        ),
        Output::Delivered(r) => sentence(&r.message("")),
        // Terminal commands (the grammar has no words for them); said plainly all the same.
        Output::Exported(r) => {
            format!("Exported {} pending job(s) and {} suppression window(s).", r.pending, r.suppressions)
        }
        Output::Imported(r) => format!("Imported {} job(s) from `{}`.", r.imported.jobs, r.file),
        Output::Timers(r) => timers(r, tz),
        Output::TimerPaused(r) => timer_paused(r, tz),
        Output::Ooo(r) => ooo(r, tz),
    }
}

/// Timers as a list: `• `ns/name` (`0 9 * * MON-FRI` Europe/London) runs `type`: next …, last …`.
fn timers(list: &[crate::commands::timers::TimerView], tz: &jiff::tz::TimeZone) -> String {
    if list.is_empty() {
        return "No timers are configured.".to_owned();
    }
    let lines: Vec<String> = list.iter().map(|t| format!("• {}", timer_line(t, tz))).collect();
    lines.join("\n")
}

/// One timer in a line, as `timers`, `status` and `<ns> help` show it.
pub fn timer_line(t: &crate::commands::timers::TimerView, tz: &jiff::tz::TimeZone) -> String {
    let next = match (&t.paused, t.next_fire) {
        (Some(p), _) => format!("paused by {} since {}", p.by, when(p.at, tz)),
        (None, Some(next)) => format!("next {}", when(next, tz)),
        (None, None) => "no further fire time".to_owned(),
    };
    let last = match &t.last_fire {
        Some(f) if f.skipped => format!(", last {} (skipped)", when(f.at, tz)),
        Some(f) => format!(", last {}{}", when(f.at, tz), f.job.map(|j| format!(" (job {j})")).unwrap_or_default()),
        None => String::new(),
    };
    format!("`{}/{}` (`{}` {}) runs `{}`: {next}{last}", t.namespace, t.name, t.cron, t.timezone, t.job_type)
}

fn timer_paused(r: &crate::commands::timers::TimerPaused, tz: &jiff::tz::TimeZone) -> String {
    let name = format!("`{}/{}`", r.namespace, r.name);
    match (r.paused, r.changed) {
        (true, true) => format!("Timer {name} is paused: it fires nothing until `timers resume {}`.", r.name),
        (true, false) => format!("Timer {name} was paused already."),
        (false, changed) => {
            let next = r.next_fire.map(|t| format!("; next fire {}", when(t, tz))).unwrap_or_default();
            if changed {
                format!("Timer {name} is resumed{next}.")
            } else {
                format!("Timer {name} was not paused{next}.")
            }
        }
    }
}

/// `ooo`: what changed, then the periods set.
fn ooo(r: &crate::commands::ooo::OooReport, tz: &jiff::tz::TimeZone) -> String {
    let mut out = Vec::new();
    if let Some(p) = &r.set {
        out.push(format!(
            "`{}` is out of office from {} until {}: a message that calls it meanwhile is told so in its thread, \
             and passed on as usual.",
            p.listener,
            when(p.start, tz),
            when(p.end, tz)
        ));
    }
    match &r.ended {
        Some((listener, true)) => out.push(format!("`{listener}` is back: its out of office has ended.")),
        Some((listener, false)) => out.push(format!("`{listener}` was not out of office.")),
        None => {}
    }
    if r.set.is_none() && r.ended.is_none() {
        if r.listeners.is_empty() {
            out.push("No support listener has out of office (`out_of_office = true` in jobs.toml).".to_owned());
        } else if r.periods.is_empty() {
            let names = r.listeners.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ");
            out.push(format!("Nobody is out of office ({names}). Set it with `ooo <listener> until <date>`."));
        } else {
            out.push("Out of office:".to_owned());
        }
        for p in &r.periods {
            out.push(format!(
                "• `{}`: from {} until {} (set by {})",
                p.listener,
                when(p.start, tz),
                when(p.end, tz),
                p.set_by
            ));
        }
    }
    out.join("\n")
}

/// [`answer`], unless the Slack user (`user`: their id, and the inbox row being handled) has
/// `EBMBOT_SLACK_MAX_PENDING` requests waiting already: then a refusal, and nothing is done.
pub fn answer_within_limit(
    grammar: &Grammar,
    ctx: &Context<'_>,
    caller: &Caller,
    queue: &mut Queue,
    text: &str,
    user: (&str, i64),
) -> Result<Reply, CommandError> {
    let waiting = queue.slack_user_pending(user.0, user.1)?;
    if waiting >= ctx.settings.slack_max_pending {
        return Ok(too_many_pending(waiting));
    }
    answer(grammar, ctx, caller, queue, text)
}

/// The refusal of a user with too many requests waiting.
fn too_many_pending(waiting: u64) -> Reply {
    Reply::understood(format!(
        "Sorry, you have {waiting} requests waiting (commands, replies and scheduled jobs); wait until some \
         are done, or cancel some, then ask again."
    ))
}

/// A log too long for a message goes as a file, read when the reply is delivered.
fn attached_log(r: &LogText) -> Option<ReplyLog> {
    let path = r.path.as_ref()?;
    if r.note.is_some() || r.text.len() <= LOG_INLINE {
        return None;
    }
    Some(ReplyLog { path: path.display().to_string(), part: r.part.to_stored() })
}

/// Longest log text shown in the message itself.
const LOG_INLINE: usize = 3_900;

/// The message that comes with a log sent as a file.
fn log_header(r: &LogText, username: &str) -> String {
    let (id, stream) = (r.id, r.stream.file_name());
    let what = match (r.cut_from, r.part) {
        (Some(total), crate::commands::logs::Part::Head(_)) => {
            format!("its first megabyte of {total} bytes, as a file; `ebmbot logs {id}` on the server shows all of it")
        }
        (Some(total), _) => format!(
            "its last megabyte of {total} bytes, as a file; {username} `logs {id} {stream} head` shows its start, \
             and `ebmbot logs {id}` on the server all of it"
        ),
        (None, _) => "as a file".to_owned(),
    };
    format!("{stream} of job {id} (`{}`, {}): {what}.", r.job.job_type(), r.job.state())
}

/// The user's mistake, in the bot's words: what was wrong, without the terminal's hints.
pub fn error_text(e: &CommandError) -> String {
    match e {
        CommandError::Denied(Denied::Restricted { namespace }) => {
            format!("Sorry, `{namespace}` is restricted to internal users.")
        }
        CommandError::Denied(Denied::Reminder { namespace }) => format!(
            "Sorry, `{namespace}` is restricted to internal users, and a reminder does not say who set it; \
             `allow_reminders = true` on `{namespace}` in jobs.toml lets reminders run its commands."
        ),
        CommandError::Denied(denied @ Denied::TrustedOnly { .. }) => format!("Sorry, {denied}."),
        CommandError::UnknownId(id) => format!("No job has id {id}."),
        // Never from Slack (a confirm job waits for its Confirm button there); `ebmbot say`.
        CommandError::NeedsConfirmation { job_type } => {
            format!("`{job_type}` asks for confirmation: ask for it in Slack, where it gets a Confirm button.")
        }
        CommandError::StillRunning { id, job_type } => format!(
            "Job {id} (`{job_type}`) is running, so it was not removed: `remove job id` only removes queued jobs. \
             `cancel job id {id}` stops it."
        ),
        // The rest name nothing of the terminal: their own words, as a sentence.
        CommandError::UnknownNamespace { .. }
        | CommandError::UnknownJob { .. }
        | CommandError::MissingParams { .. }
        | CommandError::UnknownParam { .. }
        | CommandError::RepeatedParam { .. }
        | CommandError::NotAParam { .. }
        | CommandError::MissingValue { .. }
        | CommandError::NulInValue { .. }
        | CommandError::CommandTooLong { .. }
        | CommandError::BadParam(_)
        | CommandError::BadTime(_)
        | CommandError::BadValue { .. }
        | CommandError::EmptyWindow { .. }
        | CommandError::Pruned(_)
        | CommandError::AlreadyFinished { .. }
        | CommandError::Suppressed { .. }
        | CommandError::UnknownListener { .. }
        | CommandError::NoOutOfOffice { .. }
        | CommandError::Usage(_)
        | CommandError::Queue(_)
        | CommandError::Io { .. }
        | CommandError::Config(_)
        | CommandError::Settings(_)
        | CommandError::Import(_)
        | CommandError::BadImport { .. }
        | CommandError::Panicked(_)
        | CommandError::UnknownTimer { .. }
        | CommandError::AmbiguousTimer { .. } => sentence(&e.to_string()),
        CommandError::EndInPast { text, end } => {
            format!("The end time `{text}` is in the past ({end}); give a later time.")
        }
    }
}

fn scheduled(r: &Scheduled, tz: &jiff::tz::TimeZone) -> String {
    let job_type = &r.job_type;
    let mut text = if r.merged {
        format!("An identical `{job_type}` job is already queued (job {}); you will hear its result too.", r.id)
    } else if r.delay.is_zero() {
        format!("Job {} (`{job_type}`) is queued.", r.id)
    } else {
        format!("Job {} (`{job_type}`) is queued to start at {}.", r.id, when(r.start_after, tz))
    };
    if let Some(until) = r.suppressed_until {
        text.push_str(&format!(" `{job_type}` is suppressed until {}; it will run then.", when(until, tz)));
    }
    if r.running.is_some() {
        text.push_str(" A job of this type is already running; your request is queued behind it.");
    }
    text
}

fn cancelled_type(r: &CancelledType) -> String {
    let mut text = format!("Cancelled {} pending `{}` job(s).", r.cancelled.len(), r.job_type);
    if let Some(id) = r.running {
        text.push_str(&format!(" Job {id} is running; stop it with `cancel job id {id}`."));
    }
    text
}

fn cancelled_job(r: &CancelledJob) -> String {
    let (id, job_type) = (r.job.id, r.job.job_type());
    if r.was_running {
        format!("Stopping job {id} (`{job_type}`); its requesters will hear when it has stopped.")
    } else {
        format!("Cancelled job {id} (`{job_type}`).")
    }
}

fn logs(r: &LogText, settings: &crate::config::Settings) -> String {
    let (id, stream) = (r.id, r.stream.file_name());
    let body = match (&r.note, r.text.trim().is_empty()) {
        (Some(note), _) => format!("{}.", sentence(&note.to_string())),
        (None, true) => format!("The {stream} of job {id} is empty."),
        (None, false) => format!("```{}```", crate::config::redact::secrets(settings, r.text.trim_end())),
    };
    format!("{stream} of job {id} (`{}`, {}):\n{body}", r.job.job_type(), r.job.state())
}

/// The general help: the built-ins and the namespaces.
/// `username` is how the bot is named: a mention in Slack (outside the code spans, where Slack
/// would not render it).
fn general_help(topics: &HelpTopics, username: &str) -> String {
    let mut out = format!(
        "I understand:\n\
         • {username} `help` — this message; {username} `<namespace> help` — a namespace's commands\n\
         • {username} `status` — what is running and scheduled\n\
         • {username} `logs N [stdout|stderr] [head|tail|all]` — a job's output\n\
         • {username} `cancel job id N` — cancel a queued job or stop a running one; \
           {username} `remove job id N` — remove a queued job only\n\
         • {username} `dry run <command>` — what a command would run and where it would report, without running it\n"
    );
    if !topics.namespaces.is_empty() {
        out.push_str("Namespaces:\n");
        for ns in &topics.namespaces {
            let desc = ns.description.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            let lock = if ns.restricted { " :lock:" } else { "" };
            out.push_str(&format!("• `{}`{lock}{desc}\n", ns.name));
        }
        if topics.namespaces.iter().any(|ns| ns.restricted) {
            out.push_str(":lock: for internal users only\n");
        }
    }
    if !topics.listeners.is_empty() {
        out.push_str("Support: a message in a channel I am in that says\n");
        for l in &topics.listeners {
            let words = l.words.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(" or ");
            out.push_str(&format!("• {words} gets :{}: and is passed on to {}\n", l.reaction, l.channel));
        }
    }
    out.trim_end().to_owned()
}

fn namespace_help(r: &NamespaceCommands, username: &str, tz: &jiff::tz::TimeZone) -> String {
    let mut out = format!("Commands in `{}`", r.namespace.name);
    if r.namespace.restricted {
        out.push_str(" :lock:");
    }
    if let Some(d) = &r.namespace.description {
        out.push_str(&format!(" ({d})"));
    }
    out.push(':');
    if r.hidden {
        out.push_str(" they are for internal users, and not listed.");
    } else if r.commands.is_empty() {
        out.push_str(" none.");
    }
    for cmd in &r.commands {
        out.push_str(&format!("\n• {username} `{}`: {}", cmd.usage, cmd.help));
        if !cmd.rules.is_empty() {
            out.push_str(&format!(" ({})", cmd.rules.join("; ")));
        }
    }
    if !r.timers.is_empty() {
        out.push_str("\nTimers:");
        for t in &r.timers {
            out.push_str(&format!("\n• {}", timer_line(t, tz)));
        }
    }
    out
}

fn not_understood(reason: &NotUnderstood, ctx: &Context<'_>, caller: &Caller) -> String {
    let username = ctx.bot_name();
    let why = match reason {
        NotUnderstood::Empty => "I didn't get a command.".to_owned(),
        NotUnderstood::UnknownNamespace { given, suggestion: Some(s) } => {
            format!("I don't know `{}`; did you mean `{s}`?", shorten(given, 40))
        }
        NotUnderstood::UnknownNamespace { given, suggestion: None } => {
            format!("I don't know `{}`.", shorten(given, 40))
        }
        NotUnderstood::UnknownCommand { namespace } => {
            format!("I don't know that `{namespace}` command; {username} `{namespace} help` lists them.")
        }
        NotUnderstood::Malformed { builtin } => format!("Usage: `{}`.", builtin.usage()),
    };
    format!("Sorry, I didn't understand that. {why}\n\n{}", general_help(&help::topics(ctx, caller), username))
}

/// Args of a job as `(k=v, …)`; nothing when there are none (or the caller may not see them:
/// the command layer left them out).
fn args(job: &Job) -> String {
    if job.args.0.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = job.args.0.iter().map(|(k, v)| format!("{k}={}", shorten(v, 60))).collect();
    format!(" ({})", pairs.join(", "))
}

fn status(r: &StatusReport, tz: &jiff::tz::TimeZone) -> String {
    let timers = if r.timers.is_empty() { String::new() } else { format!("\nTimers:\n{}", timers(&r.timers, tz)) };
    if r.is_idle() {
        return format!("Nothing is happening{timers}");
    }
    let mut out = String::new();
    if !r.running.is_empty() {
        out.push_str("Running jobs:\n");
        for job in &r.running {
            let since = job.started_at().map(|t| format!(", started {}", when(t, tz))).unwrap_or_default();
            out.push_str(&format!("• [{}] `{}`{}{since}\n", job.id, job.job_type(), args(job)));
        }
    }
    if !r.pending.is_empty() {
        out.push_str("Scheduled jobs:\n");
        out.push_str(&jobs_list(&r.pending, tz));
        out.push('\n');
    }
    if !r.suppressions.is_empty() {
        out.push_str("Suppressions:\n");
        for s in &r.suppressions {
            out.push_str(&format!("• `{}` from {} until {}\n", s.job_type, when(s.start, tz), when(s.end, tz)));
        }
    }
    let h = r.hidden;
    if !h.is_empty() {
        out.push_str(&format!(
            "And in restricted namespaces, not shown: {} running, {} scheduled, {} suppression(s).\n",
            h.running, h.pending, h.suppressions
        ));
    }
    format!("{}{timers}", out.trim_end())
}

/// Jobs as they wait: `• [id] `type` (args), starting after T`.
fn jobs_list(jobs: &[Job], tz: &jiff::tz::TimeZone) -> String {
    let lines: Vec<String> = jobs
        .iter()
        .map(|job| {
            format!("• [{}] `{}`{}, starting after {}", job.id, job.job_type(), args(job), when(job.start_after, tz))
        })
        .collect();
    lines.join("\n")
}

/// A time for people: `2026-03-01 14:05:00 UTC`, in the configured time zone.
pub fn when(ts: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    ts.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
}

/// Capitalises a message into a sentence for a chat reply.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A dry run, in Slack's words: the facts as a list, the command in a code block.
fn plan(p: &crate::commands::dry_run::Plan) -> String {
    let mut text = String::new();
    for (label, value) in p.lines() {
        if label == "command" {
            text.push_str(&format!("Command:\n```{value}```"));
        } else {
            text.push_str(&format!("• {label}: {value}\n"));
        }
    }
    text
}
