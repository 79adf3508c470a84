//! `say`: a Slack-style text command, through the one grammar, to the same actions as the CLI,
//! with the reply the bot would post. `ebmbot say` and the Slack bot both come through here.

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::{Action, Namespace};
use crate::grammar::{Grammar, LogPart, LogStream, NotUnderstood, Parsed};
use crate::queue::Queue;
use crate::queue::model::{JobId, JobState, Origin};

use super::status::{Status, StatusReport};
use super::{CommandError, Context, Result, cancel, logs, resolve, schedule, shorten, suppress};

#[derive(Debug, Clone)]
pub struct Say {
    /// Cleaned text (for Slack: after `bot::text::command_text`).
    pub text: String,
    pub origin: Origin,
    /// An internal user (or the terminal): may use restricted namespaces.
    pub trusted: bool,
}

/// The bot's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub text: String,
    /// False when the text matched nothing (the reply is the general help).
    pub understood: bool,
    /// The text was understood but its values were not (bad time, missing value, …).
    pub bad_input: bool,
    /// A configured command was carried out: the bot acknowledges with a reaction.
    pub accepted: bool,
    /// The job scheduled, if one was.
    pub job: Option<JobId>,
}

impl Reply {
    fn text(text: String) -> Reply {
        Reply { text, understood: true, ..Reply::default() }
    }
}

/// Lines of a log shown in a Slack reply.
const LOG_LINES: usize = 20;

impl Say {
    pub fn execute(self, ctx: &Context<'_>, queue: &mut Queue) -> Result<Reply> {
        let grammar = Grammar::new(ctx.catalog);
        self.execute_with(&grammar, ctx, queue)
    }

    /// As [`Say::execute`], with a grammar compiled once by a long-running caller.
    pub fn execute_with(self, grammar: &Grammar, ctx: &Context<'_>, queue: &mut Queue) -> Result<Reply> {
        let parsed = grammar.parse(&self.text);
        match self.answer(parsed, ctx, queue) {
            Err(e) if e.is_bad_input() => {
                Ok(Reply { text: sentence(&e.to_string()), understood: true, bad_input: true, ..Reply::default() })
            }
            other => other,
        }
    }

    fn answer(&self, parsed: Parsed, ctx: &Context<'_>, queue: &mut Queue) -> Result<Reply> {
        let username = &ctx.settings.slack_app_username;
        match parsed {
            Parsed::Help => Ok(Reply::text(help(ctx, username))),
            Parsed::NamespaceHelp { namespace } => {
                let ns = resolve::namespace(ctx.catalog, &namespace)?;
                Ok(Reply::text(namespace_help(ns, username)))
            }
            Parsed::Status => {
                let report = Status.execute(ctx, queue)?;
                Ok(Reply::text(status_text(&report, ctx, self.trusted)))
            }
            Parsed::CancelId { id } => {
                let job = logs::find(queue, JobId(id))?;
                self.check_access(ctx, &job.namespace)?;
                let by = self.origin.requested_by();
                let r = cancel::CancelId { id: JobId(id), by, wait: Duration::ZERO }.execute(ctx, queue)?;
                Ok(Reply::text(if r.was_running {
                    format!("Stopping job {id} (`{}`); its requesters will hear when it has stopped.", r.job.job_type())
                } else {
                    format!("Cancelled job {id} (`{}`).", r.job.job_type())
                }))
            }
            Parsed::Logs { id, stream, part } => {
                let job = logs::find(queue, JobId(id))?;
                self.check_access(ctx, &job.namespace)?;
                let failed = matches!(job.state(), JobState::Failed | JobState::TimedOut | JobState::Lost);
                let stream = match stream {
                    Some(LogStream::Stdout) => logs::Stream::Stdout,
                    Some(LogStream::Stderr) => logs::Stream::Stderr,
                    None if failed => logs::Stream::Stderr,
                    None => logs::Stream::Stdout,
                };
                let part = match part {
                    Some(LogPart::Head) => logs::Part::Head(LOG_LINES),
                    Some(LogPart::All) => logs::Part::All,
                    Some(LogPart::Tail) | None => logs::Part::Tail(LOG_LINES),
                };
                let text = logs::Logs { id: JobId(id), stream, part }.execute(queue)?;
                let body = match (&text.note, text.text.trim().is_empty()) {
                    (Some(note), _) => format!("{}.", sentence(note)),
                    (None, true) => format!("The {} of job {id} is empty.", stream.file_name()),
                    (None, false) => format!("```{}```", text.text.trim_end()),
                };
                Ok(Reply::text(format!(
                    "{} of job {id} (`{}`, {}):\n{body}",
                    stream.file_name(),
                    job.job_type(),
                    job.state()
                )))
            }
            Parsed::Configured { namespace, command_index, args } => {
                self.configured(ctx, queue, &namespace, command_index, args)
            }
            Parsed::NotUnderstood { reason } => {
                let why = match reason {
                    NotUnderstood::Empty => "I didn't get a command.".to_owned(),
                    NotUnderstood::UnknownNamespace { given, suggestion: Some(s) } => {
                        format!("I don't know `{}`; did you mean `{s}`?", shorten(&given, 40))
                    }
                    NotUnderstood::UnknownNamespace { given, suggestion: None } => {
                        format!("I don't know `{}`.", shorten(&given, 40))
                    }
                    NotUnderstood::UnknownCommand { namespace } => {
                        format!("I don't know that `{namespace}` command; `{username} {namespace} help` lists them.")
                    }
                    NotUnderstood::Malformed { builtin } => format!("Usage: `{}`.", builtin.usage()),
                };
                Ok(Reply {
                    text: format!("Sorry, I didn't understand that. {why}\n\n{}", help(ctx, username)),
                    ..Reply::default()
                })
            }
        }
    }

    fn configured(
        &self,
        ctx: &Context<'_>,
        queue: &mut Queue,
        namespace: &str,
        index: usize,
        mut args: std::collections::BTreeMap<String, String>,
    ) -> Result<Reply> {
        let ns = resolve::namespace(ctx.catalog, namespace)?;
        self.check_access(ctx, namespace)?;
        let cmd =
            ns.slack.get(index).ok_or_else(|| CommandError::Failed(format!("no command {index} in `{namespace}`")))?;
        let job_type = format!("{namespace}_{}", cmd.job);
        let tz = &ctx.settings.timezone;
        let mut reply = match cmd.action {
            Action::ScheduleJob => {
                let r = schedule::Schedule {
                    namespace: namespace.to_owned(),
                    job: cmd.job.clone(),
                    args: args.into_iter().collect(),
                    delay: cmd.delay,
                    origin: self.origin.clone(),
                }
                .execute(ctx, queue)?;
                let mut text = if r.merged {
                    format!(
                        "An identical `{job_type}` job is already queued (job {}); you will hear its result too.",
                        r.id
                    )
                } else if cmd.delay.is_zero() {
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
                Reply { text, job: Some(r.id), ..Reply::text(String::new()) }
            }
            Action::CancelJob => {
                let by = self.origin.requested_by();
                let r = cancel::CancelType { namespace: namespace.to_owned(), job: cmd.job.clone(), by }
                    .execute(ctx, queue)?;
                let mut text = format!("Cancelled {} pending `{job_type}` job(s).", r.cancelled.len());
                if let Some(id) = r.running {
                    text.push_str(&format!(" Job {id} is running; stop it with `cancel job id {id}`."));
                }
                Reply::text(text)
            }
            Action::ScheduleSuppression => {
                let from = args.remove("start_at");
                let until = args.remove("end_at").unwrap_or_default();
                let r = suppress::Suppress { namespace: namespace.to_owned(), job: cmd.job.clone(), from, until }
                    .execute(ctx, queue)?;
                Reply::text(format!("`{job_type}` is suppressed from {} until {}.", when(r.start, tz), when(r.end, tz)))
            }
            Action::CancelSuppression => {
                let r = suppress::Unsuppress { namespace: namespace.to_owned(), job: cmd.job.clone() }
                    .execute(ctx, queue)?;
                Reply::text(format!("Removed {} suppression window(s) of `{job_type}`.", r.removed))
            }
        };
        reply.accepted = true;
        Ok(reply)
    }

    fn check_access(&self, ctx: &Context<'_>, namespace: &str) -> Result<()> {
        let restricted = ctx.catalog.namespace(namespace).is_some_and(|ns| ns.restricted);
        if restricted && !self.trusted {
            return Err(CommandError::Forbidden(format!("Sorry, `{namespace}` is restricted to internal users.")));
        }
        Ok(())
    }
}

/// The general help.
pub fn help(ctx: &Context<'_>, username: &str) -> String {
    let mut out = format!(
        "I understand:\n\
         • `{username} help` — this message; `{username} <namespace> help` — a namespace's commands\n\
         • `{username} status` — what is running and scheduled\n\
         • `{username} logs N [stdout|stderr] [head|tail|all]` — a job's output\n\
         • `{username} cancel job id N` — cancel a queued job or stop a running one\n"
    );
    if !ctx.catalog.namespaces.is_empty() {
        out.push_str("Namespaces:\n");
        for ns in ctx.catalog.namespaces.values() {
            let desc = ns.description.as_deref().map(|d| format!(": {d}")).unwrap_or_default();
            out.push_str(&format!("• `{}`{desc}\n", ns.name));
        }
    }
    out.trim_end().to_owned()
}

fn namespace_help(ns: &Namespace, username: &str) -> String {
    let mut out = format!("Commands in `{}`", ns.name);
    if let Some(d) = &ns.description {
        out.push_str(&format!(" ({d})"));
    }
    out.push(':');
    if ns.slack.is_empty() {
        out.push_str(" none.");
    }
    for cmd in &ns.slack {
        out.push_str(&format!("\n• `{username} {}`: {}", crate::grammar::command_usage(cmd), cmd.help));
    }
    out
}

fn status_text(r: &StatusReport, ctx: &Context<'_>, trusted: bool) -> String {
    if r.is_idle() {
        return "Nothing is happening".to_owned();
    }
    let tz = &ctx.settings.timezone;
    let args = |job: &crate::queue::model::Job| {
        let hidden = !trusted && ctx.catalog.namespace(&job.namespace).is_some_and(|ns| ns.restricted);
        if hidden || job.args.0.is_empty() {
            String::new()
        } else {
            let pairs: Vec<String> = job.args.0.iter().map(|(k, v)| format!("{k}={}", shorten(v, 60))).collect();
            format!(" ({})", pairs.join(", "))
        }
    };
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
        for job in &r.pending {
            out.push_str(&format!(
                "• [{}] `{}`{}, starting after {}\n",
                job.id,
                job.job_type(),
                args(job),
                when(job.start_after, tz)
            ));
        }
    }
    if !r.suppressions.is_empty() {
        out.push_str("Suppressions:\n");
        for s in &r.suppressions {
            out.push_str(&format!("• `{}` from {} until {}\n", s.job_type, when(s.start, tz), when(s.end, tz)));
        }
    }
    out.trim_end().to_owned()
}

/// A time for people: `2026-03-01 14:05:00 UTC`, in the configured time zone.
pub fn when(ts: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    ts.to_zoned_datetime(tz.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
}

/// Capitalises an error message into a sentence for a chat reply.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
