//! From a job's event (or a command's reply) to the Slack actions that deliver it, in order.
//! A plan is a pure function of what is stored (the job, its requests, its logs), so a
//! delivery resumed after a crash numbers its steps the same way and skips those done.

use std::path::Path;

use serde_json::Value;

use crate::commands::logs::{Part, SLACK_LIMIT, read_part};
use crate::config::{Catalog, Settings};
use crate::queue::model::{ChannelType, EventKind, Job, JobState, Origin};
use crate::queue::{Confirmation, LiveMessage, NewReply, Reply, ReplyLog, TimerEntry};

use super::format::{self, MAX_TEXT, Output};

/// Where a message goes: a channel (id or `#name`) and a thread, or top-level.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub channel: String,
    pub thread_ts: Option<String>,
}

/// One Slack action of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Post {
        to: Target,
        text: String,
    },
    /// A message with buttons under its text (a queued job's *Cancel*; a result's *Rerun* and
    /// *Logs*); without them if Slack refuses the blocks.
    Buttons {
        to: Target,
        text: String,
        buttons: Vec<Button>,
    },
    /// Output as blocks; if Slack refuses them, `explanation` and the raw output as a file.
    Blocks {
        to: Target,
        blocks: Vec<Value>,
        fallback: String,
        raw: String,
        filename: String,
        explanation: String,
    },
    /// Slack's external upload, into the channel and thread, with a comment.
    Upload {
        to: Target,
        filename: String,
        content: String,
        comment: String,
    },
    React {
        channel: String,
        ts: String,
        name: String,
    },
    /// Replaces the message `ts` in `channel` (`chat.update`): the queued job's message says
    /// how it ended, with *Rerun* and *Logs* instead of *Cancel*.
    Update {
        channel: String,
        ts: String,
        text: String,
        buttons: Vec<Button>,
    },
    /// Posts the permalink of the message `ts` in `channel` to `to` (a support listener's
    /// re-post).
    Repost {
        channel: String,
        ts: String,
        to: Target,
    },
    /// Posts `text` with `{permalink}` replaced by the permalink of the message step
    /// `of_step` posted in `from`.
    Permalink {
        of_step: usize,
        from: String,
        to: Target,
        text: String,
    },
}

impl Action {
    /// Where a "Could not notify slack" note about this action goes, if anywhere.
    pub fn target(&self) -> Option<&Target> {
        match self {
            Self::Post { to, .. }
            | Self::Buttons { to, .. }
            | Self::Blocks { to, .. }
            | Self::Upload { to, .. }
            | Self::Permalink { to, .. }
            | Self::Repost { to, .. } => Some(to),
            Self::React { .. } | Self::Update { .. } => None,
        }
    }

    /// The Web API methods this action calls (a rate limit on any of them holds it back).
    pub fn methods(&self) -> &'static [&'static str] {
        match self {
            Self::Post { .. } | Self::Buttons { .. } => &["chat.postMessage", "conversations.list"],
            Self::Blocks { .. } => &[
                "chat.postMessage",
                "conversations.list",
                "files.getUploadURLExternal",
                "files.upload_url",
                "files.completeUploadExternal",
            ],
            Self::Upload { .. } => &[
                "files.getUploadURLExternal",
                "files.upload_url",
                "files.completeUploadExternal",
                "conversations.list",
            ],
            Self::React { .. } => &["reactions.add", "conversations.list"],
            Self::Update { .. } => &["chat.update", "conversations.list"],
            Self::Permalink { .. } | Self::Repost { .. } => {
                &["chat.getPermalink", "chat.postMessage", "conversations.list"]
            }
        }
    }

    /// The start of what this action posts, for the log and the "Could not notify" note.
    pub fn summary(&self) -> String {
        let text = match self {
            Self::Post { text, .. }
            | Self::Buttons { text, .. }
            | Self::Update { text, .. }
            | Self::Permalink { text, .. } => text.as_str(),
            Self::Blocks { fallback, .. } => fallback.as_str(),
            Self::Upload { comment, .. } => comment.as_str(),
            Self::React { name, .. } => name.as_str(),
            Self::Repost { channel, ts, .. } => return format!("the link to message {ts} in {channel}"),
        };
        let start: String = text.chars().take(80).collect();
        if start.len() < text.len() { format!("{start}…") } else { start }
    }
}

/// A button: its `action_id` (one of [`crate::bot::actions`]), label and value (a job id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub action: &'static str,
    pub label: &'static str,
    pub value: String,
}

impl Button {
    pub(super) fn new(action: &'static str, label: &'static str, job: impl std::fmt::Display) -> Button {
        Button { action, label, value: job.to_string() }
    }
}

/// `action` with `buttons` under it, when it is a plain message.
fn with_buttons(action: Action, buttons: Vec<Button>) -> Action {
    match action {
        Action::Post { to, text } => Action::Buttons { to, text, buttons },
        other => other,
    }
}

/// What to deliver, loaded from the queue.
#[derive(Debug, Clone)]
pub enum Input {
    /// A reply, and the confirmation it asks for or answers.
    Reply(Reply, Option<Box<Asked>>),
    Event {
        kind: EventKind,
        job: Box<Job>,
        suppressed_until: Option<String>,
        /// The messages that said the job was queued: its end updates them in place.
        live: Vec<LiveMessage>,
    },
    /// A timer skipped fire times it missed; `when`: the latest, in `EBMBOT_TIMEZONE`.
    TimerSkipped { entry: TimerEntry, when: String },
}

/// The confirmation a reply names (its `confirm`), as it stands, and the message that asked
/// for it ("Run `ns job` now?"), when an earlier reply posted that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub confirmation: Confirmation,
    pub prompt: Option<(String, String)>,
}

impl Asked {
    /// The question with its answer, for the message that asked it; none while it waits.
    fn answered_text(&self) -> Option<String> {
        let c = &self.confirmation;
        let answer = match c.state.as_str() {
            "confirmed" => format!("Confirmed by <@{}>.", c.user),
            "cancelled" => format!("Cancelled by <@{}>.", c.user),
            "expired" => format!(
                "Not confirmed within {}; not run.",
                crate::config::duration::format(crate::bot::interactive::CONFIRM_WITHIN)
            ),
            _ => return None,
        };
        Some(format!("{} {answer}", crate::commands::schedule::question(&c.namespace, &c.job)))
    }
}

/// A request's place in Slack: where its results go, the message to react to, and whether
/// it came from a public channel.
struct Requester {
    to: Target,
    react_on: Option<(String, String)>,
    public: bool,
    slack: bool,
}

/// The thread under a job's message (or the one it is in): where a long result goes.
fn thread_of(m: &LiveMessage) -> Target {
    Target { channel: m.channel.clone(), thread_ts: Some(m.thread_ts.clone().unwrap_or_else(|| m.ts.clone())) }
}

impl Requester {
    /// Whether `m` is the message that told this requester their job was queued.
    fn answered_by(&self, m: &LiveMessage) -> bool {
        match (&m.message_ts, &self.react_on) {
            (Some(request), Some((channel, ts))) => m.channel == *channel && request == ts,
            _ => m.channel == self.to.channel && m.thread_ts == self.to.thread_ts,
        }
    }
}

fn requesters(job: &Job) -> Vec<Requester> {
    let mut out: Vec<Requester> = Vec::new();
    for request in &job.requests {
        let r = match &request.origin {
            Origin::Slack { channel, channel_type, thread_ts, message_ts, .. } => Requester {
                to: Target { channel: channel.clone(), thread_ts: thread_ts.clone() },
                react_on: message_ts.as_ref().map(|ts| (channel.clone(), ts.clone())),
                public: *channel_type == ChannelType::Channel,
                slack: true,
            },
            Origin::Terminal { notify: Some(channel), .. }
            | Origin::Github { channel: Some(channel), .. }
            | Origin::Timer { channel: Some(channel), .. } => Requester {
                to: Target { channel: channel.clone(), thread_ts: None },
                react_on: None,
                public: false,
                slack: false,
            },
            Origin::Terminal { notify: None, .. }
            | Origin::Github { channel: None, .. }
            | Origin::Timer { channel: None, .. } => continue,
        };
        if !out.iter().any(|o| o.to == r.to && o.react_on == r.react_on) {
            out.push(r);
        }
    }
    out
}

fn is_failure(state: JobState) -> bool {
    matches!(state, JobState::Failed | JobState::TimedOut | JobState::Lost)
}

/// The threads an item posts in, for keeping their order.
pub fn threads(input: &Input, settings: &Settings) -> Vec<Target> {
    let channel = |c: &Option<String>| c.iter().map(|c| Target { channel: c.clone(), thread_ts: None }).collect();
    match input {
        Input::Reply(r, _) => vec![Target { channel: r.reply.channel.clone(), thread_ts: r.reply.thread_ts.clone() }],
        Input::Event { kind: EventKind::Started | EventKind::TimerSkipped, .. } | Input::TimerSkipped { .. } => {
            channel(&settings.slack_logs_channel)
        }
        Input::Event { job, kind, live, .. } => {
            let mut keys: Vec<Target> = requesters(job).into_iter().map(|r| r.to).collect();
            if *kind == EventKind::Finished {
                // A long result goes in the thread of the job's message.
                keys.extend(live.iter().map(thread_of));
            }
            if *kind == EventKind::Finished && is_failure(job.state()) {
                keys.extend(channel(&settings.slack_tech_support_channel));
            }
            keys
        }
    }
}

/// The actions that deliver `input`, in order.
pub fn plan(input: &Input, settings: &Settings, catalog: &Catalog) -> Vec<Action> {
    match input {
        Input::Reply(r, asked) => reply(r, asked.as_deref(), settings),
        Input::Event { kind: EventKind::Started, job, .. } => match &settings.slack_logs_channel {
            Some(logs) => {
                vec![Action::Post { to: Target { channel: logs.clone(), thread_ts: None }, text: format::started(job) }]
            }
            None => Vec::new(),
        },
        Input::Event { kind: EventKind::Suppressed, job, suppressed_until, .. } => requesters(job)
            .into_iter()
            .map(|r| Action::Post { to: r.to, text: format::suppressed(job, suppressed_until.as_deref()) })
            .collect(),
        Input::Event { kind: EventKind::Finished, job, live, .. } => finished(job, live, settings, catalog),
        Input::TimerSkipped { entry, when } => match &settings.slack_logs_channel {
            Some(logs) => vec![Action::Post {
                to: Target { channel: logs.clone(), thread_ts: None },
                text: format::timer_skipped(entry, when),
            }],
            None => Vec::new(),
        },
        // Loaded as `Input::TimerSkipped`: the event names a timer entry, not a job.
        Input::Event { kind: EventKind::TimerSkipped, .. } => Vec::new(),
    }
}

fn reply(r: &Reply, asked: Option<&Asked>, settings: &Settings) -> Vec<Action> {
    let NewReply { channel, thread_ts, message_ts, text, reaction, log, repost_to, job, confirm } = &r.reply;
    let to = Target { channel: channel.clone(), thread_ts: thread_ts.clone() };
    let mut actions = Vec::new();
    // Confirm and Cancel only while the confirmation waits.
    let confirm = confirm.filter(|_| asked.is_some_and(|a| a.confirmation.state == "pending"));
    if let Some(log) = log {
        actions.push(attached_log(r.id, log, to, text.as_deref().unwrap_or_default(), settings));
    } else if let Some(text) = text.as_ref().filter(|t| !t.is_empty()) {
        let escaped = format::escape_keeping_mentions(text);
        actions.push(if escaped.chars().count() > MAX_TEXT {
            Action::Upload {
                to,
                filename: format!("reply-{}.txt", r.id),
                content: text.clone(),
                comment: "The answer is too long for a message; here it is as a file.".into(),
            }
        } else {
            let post = Action::Post { to, text: escaped };
            match (job, confirm) {
                (_, Some(id)) => with_buttons(
                    post,
                    vec![
                        Button::new(crate::bot::actions::CONFIRM, "Confirm", id),
                        Button::new(crate::bot::actions::CONFIRM_CANCEL, "Cancel", id),
                    ],
                ),
                (Some(job), None) => with_buttons(post, vec![Button::new(crate::bot::actions::CANCEL, "Cancel", job)]),
                (None, None) => post,
            }
        });
    }
    // An answer: then the question says how it was answered, without its buttons. (After the
    // post: a reply's first step is its message, which a job's end updates.)
    let answered = asked.and_then(|a| Some((a.prompt.as_ref()?, a.answered_text()?)));
    if let Some(((channel, ts), text)) = answered {
        actions.push(Action::Update { channel: channel.clone(), ts: ts.clone(), text, buttons: Vec::new() });
    }
    if let (Some(name), Some(ts)) = (reaction, message_ts) {
        actions.push(Action::React { channel: channel.clone(), ts: ts.clone(), name: name.clone() });
    }
    if let (Some(to), Some(ts)) = (repost_to, message_ts) {
        let to = Target { channel: to.clone(), thread_ts: None };
        actions.push(Action::Repost { channel: channel.clone(), ts: ts.clone(), to });
    }
    actions
}

/// A reply's log, read now (at most [`SLACK_LIMIT`] of it, secrets masked) and uploaded with the
/// reply's text as its comment; if the log is gone, the text says so.
fn attached_log(id: i64, log: &ReplyLog, to: Target, text: &str, settings: &Settings) -> Action {
    let part = Part::from_stored(&log.part).unwrap_or(Part::All);
    match read_part(Path::new(&log.path), part, Some(SLACK_LIMIT)) {
        Ok((content, _)) => Action::Upload {
            to,
            filename: format!("log-{id}.txt"),
            content: crate::config::redact::secrets(settings, &content).into_owned(),
            comment: text.to_owned(),
        },
        Err(_) => Action::Post { to, text: format::escape(&format!("{text}\n(The log is gone: it was removed.)")) },
    }
}

/// The buttons of an ended job's message: *Rerun* and *Logs*.
pub(super) fn ended_buttons(job: &Job) -> Vec<Button> {
    vec![
        Button::new(crate::bot::actions::RERUN, "Rerun", job.id),
        Button::new(crate::bot::actions::LOGS, "Logs", job.id),
    ]
}

/// A finished job's line for its queued message: "Job 12: `t_slow` succeeded in 2m 3s."
pub(super) fn ended(job: &Job) -> String {
    let took = match (job.status.run(), job.finished_at()) {
        (Some(run), Some(end)) => {
            let secs = end.duration_since(run.started_at).unsigned_abs().as_secs();
            format!(" in {}", crate::config::duration::format(std::time::Duration::from_secs(secs)))
        }
        _ => String::new(),
    };
    format!("Job {}: {}{took}.", job.id, format::headline(job))
}

fn finished(job: &Job, live: &[LiveMessage], settings: &Settings, catalog: &Catalog) -> Vec<Action> {
    let def = catalog.job(&job.namespace, &job.job);
    let restricted = catalog.namespace(&job.namespace).is_some_and(|ns| ns.restricted);
    let out = Output::read(job, settings);
    let reaction = match job.state() {
        JobState::Succeeded => "white_check_mark",
        JobState::Cancelled => "no_entry_sign",
        _ => "x",
    };
    let failure_text = (job.state() != JobState::Succeeded).then(|| format::failure(job, settings, restricted, &out));
    let mut actions = Vec::new();
    let mut public_post = None;
    let requesters = requesters(job);
    for r in &requesters {
        let buttons = ended_buttons(job);
        // The message that said it was queued says how it ended, and carries the buttons.
        let queued_message = live.iter().find(|m| r.slack && r.answered_by(m));
        let updated = queued_message.map(|m| Action::Update {
            channel: m.channel.clone(),
            ts: m.ts.clone(),
            text: ended(job),
            buttons: buttons.clone(),
        });
        let has_update = updated.is_some();
        actions.extend(updated);
        let first = actions.len();
        // A result too long for a message goes in the thread of the job's message.
        let long_to = queued_message.map_or_else(|| r.to.clone(), thread_of);
        match &failure_text {
            Some(text) => actions.push(Action::Post { to: r.to.clone(), text: text.clone() }),
            None => actions.extend(format::success(job, def, &out, &r.to, &long_to)),
        }
        if r.slack && !has_update && actions.len() > first {
            actions[first] = with_buttons(actions[first].clone(), buttons);
        }
        if r.public && public_post.is_none() && actions.len() > first {
            public_post = Some((first, r.to.channel.clone()));
        }
        if let Some((channel, ts)) = &r.react_on {
            actions.push(Action::React { channel: channel.clone(), ts: ts.clone(), name: reaction.into() });
        }
    }
    let tech_support = def.is_none_or(|d| d.call_tech_support_on_error);
    if let (Some(support), Some(text), true) = (&settings.slack_tech_support_channel, &failure_text, tech_support)
        && is_failure(job.state())
    {
        let to = Target { channel: support.clone(), thread_ts: None };
        if let Some((of_step, from)) = public_post {
            let text = format!("`{}` (job {}) failed: {{permalink}}", job.job_type(), job.id);
            actions.push(Action::Permalink { of_step, from, to, text });
        } else if requesters.iter().any(|r| !r.slack) {
            actions.push(Action::Post { to, text: text.clone() });
        }
    }
    actions
}

#[cfg(test)]
mod tests;
