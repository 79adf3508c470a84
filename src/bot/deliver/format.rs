//! What the Slack reporter says (docs/slack.md, "What ebmbot posts"): the texts of
//! start, success, failure and suppression messages, and a job's stdout in its report format.

use std::path::Path;

use serde_json::Value;

use crate::commands::logs::Stream;
use crate::config::{JobDef, JobType, ReportFormat, Settings, duration};
use crate::queue::model::{Job, JobId, JobState, Outcome};
use crate::runner::host_log_dir;

use super::plan::{Action, Target};

/// Longest text posted as a message (Slack's advice for `chat.postMessage`, and its limit for
/// `chat.update`); longer output is uploaded as a file with a short summary, never cut.
pub const MAX_TEXT: usize = 4_000;
/// Longest output posted as a code block; longer goes up as a file.
pub const MAX_CODE: usize = 3_990;
/// Most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Lines of stderr in a failure message (unless the namespace is restricted).
const STDERR_LINES: usize = 10;
/// At most this many characters of those lines.
const STDERR_CHARS: usize = 3_000;

/// Escapes `&`, `<` and `>` as Slack requires of message text, so that output and user text
/// show as written and can never become markup (`<!channel>`, links, mentions).
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// [`escape`], except user mentions (`<@U…>`, `<@W…>`): a reply names the bot (in its help) and
/// people by their mention, and Slack shows a mention only unescaped. Nothing else survives:
/// `<!channel>`, links and channel markup are escaped as before.
pub fn escape_keeping_mentions(text: &str) -> String {
    let escaped = escape(text);
    let mut out = String::with_capacity(escaped.len());
    let mut rest = escaped.as_str();
    while let Some(at) = rest.find("&lt;@") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "&lt;@".len()..];
        let id_len = after.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(after.len());
        let id = &after[..id_len];
        if id.len() > 1 && id.starts_with(['U', 'W']) && after[id_len..].starts_with("&gt;") {
            out.push_str(&format!("<@{id}>"));
            rest = &after[id_len + "&gt;".len()..];
        } else {
            out.push_str("&lt;@");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A job's logs, as the reporter reads them (invalid UTF-8 replaced by U+FFFD).
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub stdout: String,
    pub stderr_tail: String,
}

impl Output {
    /// Reads the logs, with the values of ebmbot's secrets masked (before the stderr tail is
    /// cut, so that no part of one is shown).
    pub fn read(job: &Job, settings: &Settings) -> Output {
        let Some(dir) = job.log_dir() else { return Output::default() };
        let read = |name: &str| {
            std::fs::read(Path::new(dir).join(name))
                .map(|b| crate::config::redact::secrets(settings, &String::from_utf8_lossy(&b)).into_owned())
                .unwrap_or_default()
        };
        let stderr = read(Stream::Stderr.file_name());
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(STDERR_LINES)..].join("\n");
        let skip = tail.chars().count().saturating_sub(STDERR_CHARS);
        Output { stdout: read(Stream::Stdout.file_name()), stderr_tail: tail.chars().skip(skip).collect() }
    }
}

pub fn started(job: &Job) -> String {
    format!("Command `{}` about to start (job {}).", job.job_type(), job.id)
}

/// A namespace's fabfile could not be fetched before a job; the job ran with the previous one.
pub fn fabfile_failed(id: JobId, job_type: &JobType, error: &str) -> String {
    format!(":warning: job {id} `{job_type}`: {}", escape(error))
}

pub fn suppressed(job: &Job, until: Option<&str>) -> String {
    match until {
        Some(until) => format!("`{}` is suppressed until {until}; job {} will run then.", job.job_type(), job.id),
        None => format!("`{}` was suppressed when job {} was queued; it runs when that ends.", job.job_type(), job.id),
    }
}

/// A timer skipped fire times it missed (`missed = "skip"`), said in the logs channel.
pub fn timer_skipped(entry: &crate::queue::TimerEntry, when: &str) -> String {
    let times = if entry.covers == 1 { "its fire time".to_owned() } else { format!("{} fire times", entry.covers) };
    format!(
        "Timer `{}/{}` skipped {times} missed while no dispatcher ran (the last {when}); `missed = \"skip\"`, so \
         it runs at its next fire time.",
        entry.namespace, entry.timer
    )
}

/// Who cancelled a job, as Slack shows it: a Slack user id (`U…`, or `W…` in an Enterprise
/// Grid organisation) becomes a mention (`<@U1>`); anyone
/// else (`terminal:alice`, "ebmbot shut down") is written as is.
pub fn requester(by: &str) -> String {
    if by.len() > 1 && by.starts_with(['U', 'W']) && by.chars().all(|c| c.is_ascii_alphanumeric()) {
        format!("<@{by}>")
    } else {
        escape(by)
    }
}

/// The first line of a failure or cancellation: "`t` failed (exit 3)", "`t` timed out after
/// 1h", "`t` lost (…)", "`t` cancelled by <@U1>".
pub fn headline(job: &Job) -> String {
    let t = job.job_type();
    let Some(outcome) = job.status.outcome() else { return format!("`{t}` {}", job.state()) };
    match outcome {
        Outcome::Succeeded => format!("`{t}` succeeded"),
        Outcome::Failed { exit_code } => format!("`{t}` failed (exit {exit_code})"),
        Outcome::Killed { signal } => format!("`{t}` failed (killed by signal {signal})"),
        Outcome::Error { detail } => format!("`{t}` failed: {}", escape(detail)),
        Outcome::Lost { detail } if detail.is_empty() => format!("`{t}` lost"),
        Outcome::Lost { detail } => format!("`{t}` lost ({})", escape(detail)),
        Outcome::TimedOut { after } => format!("`{t}` timed out after {}", duration::format(*after)),
        Outcome::Cancelled { by } => format!("`{t}` cancelled by {}", requester(by)),
    }
}

/// A failure (failed, timed out, lost) or cancellation: the outcome, where the logs are, how
/// to see them, and (failures of unrestricted namespaces) the last lines of stderr.
pub fn failure(job: &Job, settings: &Settings, restricted: bool, out: &Output) -> String {
    let mut text = headline(job);
    if let Some(dir) = job.log_dir() {
        text.push_str(&format!("\nLogs: `{}`", escape(&host_log_dir(settings, dir))));
        text.push_str(&format!("\nSee them with `@{} logs {} stderr`", settings.slack_app_username, job.id));
    }
    let failed = matches!(job.state(), JobState::Failed | JobState::TimedOut | JobState::Lost);
    if failed && !restricted && !out.stderr_tail.trim().is_empty() {
        text.push_str(&format!("\nLast lines of stderr:\n```{}```", escape(out.stderr_tail.trim_end())));
    }
    text
}

/// The messages for a job that succeeded, per `report_stdout`, `report_success`,
/// `report_format` and `suppress_empty`.
/// A succeeded job's result, posted to `to`; output too long for a message is uploaded to
/// `long_to` instead (the thread of the job's message).
pub fn success(job: &Job, def: Option<&JobDef>, out: &Output, to: &Target, long_to: &Target) -> Vec<Action> {
    let t = job.job_type();
    let (report_stdout, report_success, format, suppress_empty) = def
        .map_or((false, true, ReportFormat::Text, false), |d| {
            (d.report_stdout, d.report_success, d.report_format, d.suppress_empty)
        });
    let empty = out.stdout.trim().is_empty();
    if empty && suppress_empty {
        return Vec::new();
    }
    let post = |text: String| Action::Post { to: to.clone(), text };
    if !report_stdout {
        return if report_success { vec![post(format!("`{t}` succeeded."))] } else { Vec::new() };
    }
    if empty {
        return vec![post(format!("`{t}` succeeded; it printed nothing."))];
    }
    let stdout = out.stdout.trim_end().to_owned();
    let filename = format!("{t}-{}.txt", job.id);
    let upload = |to: &Target, content: String, comment: String| Action::Upload {
        to: to.clone(),
        filename: filename.clone(),
        content,
        comment,
    };
    let as_file = format!("Output of `{t}` (job {}), as a file:", job.id);
    let escaped = escape(&stdout);
    match format {
        ReportFormat::Text if escaped.chars().count() <= MAX_TEXT => vec![post(escaped)],
        ReportFormat::Text => vec![upload(long_to, stdout.clone(), too_long(&t, job.id.0, &stdout))],
        ReportFormat::Code if stdout.chars().count() <= MAX_CODE => vec![post(format!("```\n{escaped}\n```"))],
        ReportFormat::Code => vec![upload(long_to, stdout, as_file)],
        ReportFormat::File => vec![upload(to, stdout, as_file)],
        ReportFormat::Blocks => match blocks(&stdout) {
            Ok(blocks) => vec![Action::Blocks {
                to: to.clone(),
                blocks,
                fallback: format!("Output of `{t}`"),
                raw: stdout,
                filename,
                explanation: not_blocks(&t, job.id.0, &format!("Slack refused them (`{CODE}`)")),
            }],
            Err(why) => vec![post(not_blocks(&t, job.id.0, &why.to_string())), upload(to, stdout, as_file)],
        },
    }
}

/// Where a blocks explanation names Slack's error code (filled in when Slack refuses them).
pub const CODE: &str = "{code}";

/// The comment of output too long for a message: what it is and how big.
fn too_long(t: &str, id: i64, stdout: &str) -> String {
    let (chars, lines) = (stdout.chars().count(), stdout.lines().count());
    format!(
        "Output of `{t}` (job {id}): {lines} line(s), {chars} characters, more than a message should hold \
         ({MAX_TEXT}); here it is as a file."
    )
}

/// A note about a message that could not be delivered: why, and the start of the message.
pub fn could_not_notify(why: &str, summary: &str, channel: &str) -> String {
    format!("Could not notify slack: {why} ({summary} in {channel})")
}

/// Why a message was given up after Slack kept failing for `max_age`.
pub fn gave_up(code: &str, max_age: &str) -> String {
    format!("Slack kept failing (`{code}`) for {max_age}, so ebmbot gave up on this message")
}

/// Why a message answered with `fatal_error` is not posted again.
pub fn fatal() -> String {
    "Slack answered `fatal_error`: the message may have been posted in part, so ebmbot does not post it again"
        .to_owned()
}

fn not_blocks(t: &str, id: i64, why: &str) -> String {
    format!(
        "`{t}` (job {id}) succeeded, but its output is not Slack blocks: {why}. \
         It should print a JSON array of at most {MAX_BLOCKS} blocks. The output is attached as a file."
    )
}

/// Why a job's stdout is not Slack blocks.
#[derive(Debug, thiserror::Error)]
pub enum NotBlocks {
    #[error("it is not JSON ({0})")]
    NotJson(#[source] serde_json::Error),
    #[error("it is JSON but not an array")]
    NotAnArray,
    #[error("it has {0} blocks; Slack takes 1 to {MAX_BLOCKS}")]
    Count(usize),
    /// Counted from 1.
    #[error("block {0} has no `type`")]
    NoType(usize),
}

/// Stdout as blocks: a JSON array of at most 50 objects with a `type`.
pub fn blocks(stdout: &str) -> Result<Vec<Value>, NotBlocks> {
    let value: Value = serde_json::from_str(stdout).map_err(NotBlocks::NotJson)?;
    let Value::Array(blocks) = value else { return Err(NotBlocks::NotAnArray) };
    if blocks.is_empty() || blocks.len() > MAX_BLOCKS {
        return Err(NotBlocks::Count(blocks.len()));
    }
    if let Some(i) = blocks.iter().position(|b| b.get("type").and_then(Value::as_str).is_none()) {
        return Err(NotBlocks::NoType(i + 1));
    }
    Ok(blocks)
}

#[cfg(test)]
pub(crate) mod tests;

/// A message's text in sections (at most 3,000 characters each, Slack's limit) with `buttons`
/// in an actions block under it (docs/slack.md shows it as Block Kit JSON).
pub fn with_buttons(text: &str, buttons: &[super::plan::Button]) -> Vec<serde_json::Value> {
    const SECTION: usize = 3_000;
    let chars: Vec<char> = text.chars().collect();
    let mut blocks: Vec<serde_json::Value> = chars
        .chunks(SECTION)
        .map(|part| serde_json::json!({"type": "section", "text": {"type": "mrkdwn", "text": part.iter().collect::<String>()}}))
        .collect();
    let elements: Vec<serde_json::Value> = buttons
        .iter()
        .map(|b| {
            serde_json::json!({"type": "button", "action_id": b.action, "value": b.value,
                               "text": {"type": "plain_text", "text": b.label}})
        })
        .collect();
    // Slack refuses an `actions` block without elements (`invalid_blocks`).
    if !elements.is_empty() {
        blocks.push(serde_json::json!({"type": "actions", "elements": elements}));
    }
    blocks
}
