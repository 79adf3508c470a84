//! Buttons and the `/ebmbot` slash command (docs/slack.md, "Buttons and /ebmbot").
//!
//! Both transports hand over the payload: Socket Mode's `interactive` and `slash_commands`
//! envelopes, and the Events API's `POST /slack/interactive` and `POST /slack/commands` (signed
//! like events). It is stored in the inbox before it is acknowledged, keyed by the click's
//! `action_ts` or the command's `trigger_id` (so a retried delivery is dropped), and the worker
//! runs it through the command layer and its one access policy, as it runs a mention:
//!
//! - *Cancel* (`cancel job id N`), *Rerun* (the job's type and params again, as the clicker):
//!   what a mention would answer goes in the message's thread; a refusal (a guest, a job that
//!   has finished) only to the clicker (`chat.postEphemeral`). Each click is its own command, so
//!   a double click cancels once: the second is told the job is already being stopped.
//! - *Logs*: a modal with the last 100 lines of stdout and of stderr, opened at once with the
//!   click's `trigger_id` (it expires 3 s after the click); refused like `logs N`.
//! - `/ebmbot <text>`: the same grammar as a mention. Help, status and errors are answered only
//!   to its user; a job it schedules reports to the channel as a mention's would.
//!
//! Answers only the user sees are not kept in the outbox: they are made once, right after the
//! command's transaction commits, and a failed one is logged (the user can ask again).

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::actions;
use super::receive::{ReceiveError, Shared};
use super::reply::{self, Reply};
use super::users::UserInfo;
use super::worker::Worker;
use crate::commands::access::Caller;
use crate::commands::cancel::CancelId;
use crate::commands::logs::{Logs, Part, Stream};
use crate::commands::schedule::Schedule;
use crate::commands::{Command, CommandError, Context, Output};
use crate::queue::model::{ChannelType, JobId, JobStatus, Origin};
use crate::queue::{Confirmation, InboxOutcome, InboxRow, NewReply, QueueError};

/// How long a `confirm = true` job waits for its requester's *Confirm*.
pub const CONFIRM_WITHIN: std::time::Duration = std::time::Duration::from_secs(600);

/// Lines of each stream the Logs modal shows.
pub const MODAL_LINES: usize = 100;
/// A modal's section holds at most 3,000 characters (Slack's limit for a text object).
const SECTION_CHARS: usize = 2_900;

/// The number a clicked button carries (a job id, or a confirmation's).
fn button_value(payload: &Value) -> Option<i64> {
    payload["actions"][0]["value"].as_str().and_then(|v| v.parse().ok())
}

/// The inbox key of an interactive payload: `(event id, channel, ts)`; `None` for a payload
/// ebmbot has nothing to do with (another app's button, a modal's submission).
fn click_key(payload: &Value) -> Option<(String, String, String)> {
    if payload["type"] != "block_actions" {
        return None;
    }
    let action = &payload["actions"][0];
    let id = action["action_id"].as_str()?;
    if ![actions::CANCEL, actions::RERUN, actions::LOGS, actions::CONFIRM, actions::CONFIRM_CANCEL].contains(&id) {
        return None;
    }
    let ts = action["action_ts"].as_str()?;
    let user = payload["user"]["id"].as_str()?;
    let channel = payload["channel"]["id"].as_str().unwrap_or(user);
    Some((format!("click:{ts}:{user}"), channel.to_owned(), ts.to_owned()))
}

/// The inbox key of a slash command (its fields as a JSON object).
fn slash_key(payload: &Value) -> Option<(String, String, String)> {
    let trigger = payload["trigger_id"].as_str()?;
    let channel = payload["channel_id"].as_str()?;
    (payload["command"].as_str().is_some())
        .then(|| (format!("slash:{trigger}"), channel.to_owned(), trigger.to_owned()))
}

/// Stores a button's click or a slash command, before the transport acknowledges it.
pub async fn receive_interactive(shared: &Arc<Shared>, payload: Value) -> Result<(), ReceiveError> {
    let Some((event_id, channel, ts)) = click_key(&payload).or_else(|| slash_key(&payload)) else {
        tracing::info!(kind = ?payload["type"].as_str(), "ignored an interactive payload ebmbot did not ask for");
        return Ok(());
    };
    let stored = super::receive::store(shared, &event_id, channel, ts, payload).await?;
    if stored {
        shared.worker.poke();
    } else {
        tracing::info!(event_id, "dropped an interactive payload already received");
    }
    Ok(())
}

/// Where a click or slash command came from, and who made it.
struct Asker {
    user: String,
    channel: String,
    /// The thread a reply goes in: the clicked message's, if it is in one (or, with
    /// `SLACK_REPLY_IN_THREAD`, one under it); none for a slash command.
    thread_ts: Option<String>,
    /// The asker's own message (a mention's), reacted to when the job ends; a click or a
    /// slash command has none.
    message_ts: Option<String>,
    trigger_id: Option<String>,
    /// A slash command's `response_url`, where its answers go (checked: Slack's own host).
    response_url: Option<url::Url>,
}

impl Worker {
    /// Handles a stored click or slash command; false when the row is neither.
    pub(super) fn interactive(&mut self, row: &InboxRow, payload: &Value, now: Timestamp) -> Result<bool, QueueError> {
        let asker = if click_key(payload).is_some() {
            let message = &payload["message"];
            Asker {
                user: payload["user"]["id"].as_str().unwrap_or_default().to_owned(),
                channel: row.channel.clone(),
                thread_ts: super::inbox::reply_thread(
                    message["thread_ts"].as_str(),
                    message["ts"].as_str().unwrap_or(&row.message_ts),
                    self.settings.slack_reply_in_thread && ChannelType::guess(&row.channel) != ChannelType::Im,
                ),
                message_ts: None,
                trigger_id: payload["trigger_id"].as_str().map(str::to_owned),
                response_url: None,
            }
        } else if slash_key(payload).is_some() {
            Asker {
                user: payload["user_id"].as_str().unwrap_or_default().to_owned(),
                channel: row.channel.clone(),
                thread_ts: None,
                message_ts: None,
                trigger_id: None,
                response_url: self.api.response_url(payload["response_url"].as_str().unwrap_or_default()),
            }
        } else {
            return Ok(false);
        };
        let user = match self.runtime.block_on(self.users.get(&self.api, &asker.user)) {
            Ok(user) => user,
            Err(e) => {
                tracing::warn!(user = %asker.user, error = &e as &dyn std::error::Error, "cannot look the user up; treating them as not internal");
                UserInfo { internal: false, is_bot: false }
            }
        };
        let channel_type = self.runtime.block_on(self.kinds.kind(&self.api, &asker.channel));
        let origin = Origin::Slack {
            user: asker.user.clone(),
            channel: asker.channel.clone(),
            channel_type,
            thread_ts: asker.thread_ts.clone(),
            message_ts: asker.message_ts.clone(),
        };
        let caller = Caller::slack(origin, user.internal && !user.is_bot);
        match payload["actions"][0]["action_id"].as_str() {
            Some(actions::LOGS) => self.logs_modal(row, payload, &asker, &caller, now)?,
            Some(action @ (actions::CONFIRM | actions::CONFIRM_CANCEL)) => {
                self.answer_confirmation(row, action, payload, &asker, channel_type_of(&caller), now)?;
            }
            Some(action) => self.click(row, action, payload, &asker, &caller, now)?,
            None => self.slash(row, payload, &asker, &caller, now)?,
        }
        Ok(true)
    }

    /// *Cancel* or *Rerun*.
    fn click(
        &mut self,
        row: &InboxRow,
        action: &str,
        payload: &Value,
        asker: &Asker,
        caller: &Caller,
        now: Timestamp,
    ) -> Result<(), QueueError> {
        let Some(id) = button_value(payload).map(JobId) else {
            return self.skip(row, "a button without a job id".to_owned());
        };
        let command = match action {
            actions::CANCEL => {
                // A second click while the first one's stop is under way: said to the clicker only.
                let job = self.queue.job(id)?;
                if let Some(by) = job.as_ref().and_then(|j| match &j.status {
                    JobStatus::Running { stop_requested_by: Some(by), .. } => Some(by.clone()),
                    _ => None,
                }) {
                    let text = format!(
                        "Job {id} is already being stopped (asked by {}).",
                        super::deliver::format::requester(&by)
                    );
                    return self.tell_only(row, asker, &text, now);
                }
                Command::CancelId(CancelId { id, pending_only: false })
            }
            _ => match self.queue.job(id)? {
                Some(job) => Command::Schedule(Schedule {
                    namespace: job.namespace.clone(),
                    job: job.job.clone(),
                    args: job.args.0.clone().into_iter().collect(),
                    delay: std::time::Duration::ZERO,
                }),
                None => {
                    return self.tell_only(row, asker, &format!("Job {id} is gone (pruned); ask for it again."), now);
                }
            },
        };
        self.run_command(row, asker, caller, command, now)
    }

    /// `/ebmbot <text>`: the grammar, then the command; answers only its user sees, but a job
    /// scheduled is acknowledged in the channel.
    fn slash(
        &mut self,
        row: &InboxRow,
        payload: &Value,
        asker: &Asker,
        caller: &Caller,
        now: Timestamp,
    ) -> Result<(), QueueError> {
        let text = payload["text"].as_str().unwrap_or_default().trim().to_owned();
        let Ok(command) = self.grammar.parse(&text) else {
            // Not understood: the help, as a mention gets it; only its user sees it.
            let ctx = Context { settings: &self.settings, catalog: &self.catalog, clock: &*self.clock, mention: None };
            let reply = reply::answer(&self.grammar, &ctx, caller, &mut self.queue, &text);
            let text = reply.map_or_else(|e| crate::commands::describe(&e), |r| r.text);
            return self.tell_only(row, asker, &text, now);
        };
        // A slash command works anywhere; a job's message and result need a conversation the
        // bot can post in. Said now, rather than running a job nobody would hear of.
        if matches!(command, Command::Schedule(_))
            && !self.runtime.block_on(self.kinds.can_post(&self.api, &asker.channel))
        {
            let text = format!(
                "I can't post in this conversation, so I won't run a job from here: invite me \
                 (`/invite <@{}>`), or ask in a channel I'm in.",
                self.bot_user_id
            );
            return self.tell_only(row, asker, &text, now);
        }
        self.run_command(row, asker, caller, command, now)
    }

    /// Runs `command` in one transaction with marking the row handled. A job scheduled is
    /// answered where the asker is, for everyone (its message); anything else only to the
    /// asker.
    fn run_command(
        &mut self,
        row: &InboxRow,
        asker: &Asker,
        caller: &Caller,
        command: Command,
        now: Timestamp,
    ) -> Result<(), QueueError> {
        let mention = format!("<@{}>", self.bot_user_id);
        let ctx =
            Context { settings: &self.settings, catalog: &self.catalog, clock: &*self.clock, mention: Some(&mention) };
        // A job scheduled gets its own message, for everyone; a cancel is said to the clicker
        // alone, since the job's message itself will say who cancelled it.
        let public = matches!(command, Command::Schedule(_));
        let reply_to = NewReply {
            channel: asker.channel.clone(),
            thread_ts: asker.thread_ts.clone(),
            message_ts: asker.message_ts.clone(),
            ..NewReply::default()
        };
        let handled = self.queue.atomically(|q| {
            if !q.finish_slack_event(row.id, &InboxOutcome::Handled, now)? {
                return Ok(None);
            }
            let reply = reply::answer_command(&ctx, caller, q, command)?;
            let everyone = public && !reply.bad_input;
            if everyone {
                // A `confirm = true` job (a Rerun, or from /ebmbot) asks its question first.
                let confirm = match &reply.ask {
                    Some(schedule) => Some(q.add_confirmation(&asked(asker, schedule, now))?),
                    None => None,
                };
                let (text, job) = (Some(reply.text.clone()), reply.job.map(|j| j.0));
                q.add_reply(Some(row.id), &NewReply { text, job, confirm, ..reply_to.clone() }, now)?;
            }
            Ok::<_, CommandError>(Some((reply, everyone)))
        });
        match handled {
            Ok(Some((_, true))) => self.deliverer.poke(),
            Ok(Some((reply, false))) => self.ephemeral(asker, &reply),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(event_id = %row.event_id, error = %crate::commands::describe(&e), "a button or slash command failed");
                let outcome = InboxOutcome::Error { id: format!("E{}", row.id) };
                self.queue.finish_slack_event(row.id, &outcome, now)?;
                self.ephemeral(
                    asker,
                    &Reply {
                        text: "Sorry, something went wrong; the details are in ebmbot's log.".into(),
                        ..Reply::default()
                    },
                );
            }
        }
        Ok(())
    }

    /// *Logs*: the last lines of the job's stdout and stderr in a modal, if the clicker may
    /// read them.
    fn logs_modal(
        &mut self,
        row: &InboxRow,
        payload: &Value,
        asker: &Asker,
        caller: &Caller,
        now: Timestamp,
    ) -> Result<(), QueueError> {
        let Some(id) = button_value(payload).map(JobId) else {
            return self.skip(row, "a button without a job id".to_owned());
        };
        let ctx = Context { settings: &self.settings, catalog: &self.catalog, clock: &*self.clock, mention: None };
        let mut parts = Vec::new();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let logs = Logs {
                id,
                stream: Some(stream),
                part: Part::Tail(MODAL_LINES),
                limit: Some(crate::commands::logs::SLACK_LIMIT),
            };
            match Command::Logs(logs).execute(&ctx, caller, &mut self.queue) {
                Ok(Output::Logs(text)) => {
                    // Secrets a job printed are masked, as in a `logs` reply.
                    let shown = text.note.map_or(text.text, |n| n.to_string());
                    parts.push((stream, crate::config::redact::secrets(&self.settings, &shown).into_owned()));
                }
                Ok(_) => {}
                Err(e) => return self.tell_only(row, asker, &reply::error_text(&e), now),
            }
        }
        self.queue.finish_slack_event(row.id, &InboxOutcome::Handled, now)?;
        let view = logs_view(id, &parts);
        let Some(trigger) = &asker.trigger_id else { return Ok(()) };
        if let Err(e) = self.runtime.block_on(self.api.open_view(trigger, view)) {
            tracing::warn!(job = id.0, error = &e as &dyn std::error::Error, "could not open the Logs modal");
        }
        Ok(())
    }

    /// Marks the row handled and answers only the asker.
    fn tell_only(&mut self, row: &InboxRow, asker: &Asker, text: &str, now: Timestamp) -> Result<(), QueueError> {
        self.queue.finish_slack_event(row.id, &InboxOutcome::Handled, now)?;
        self.ephemeral(asker, &Reply { text: text.to_owned(), ..Reply::default() });
        Ok(())
    }

    fn ephemeral(&self, asker: &Asker, reply: &Reply) {
        let text = super::deliver::format::escape_keeping_mentions(&reply.text);
        // A slash command may come from a channel the bot is not in: its response URL reaches
        // the user there.
        if let Some(url) = &asker.response_url {
            match self.runtime.block_on(self.api.respond(url, &text)) {
                Ok(()) => return,
                Err(e) => tracing::info!(
                    error = &e as &dyn std::error::Error,
                    "could not answer at the response URL; trying chat.postEphemeral"
                ),
            }
        }
        if let Err(e) = self.runtime.block_on(self.api.post_ephemeral(&asker.channel, &asker.user, &text)) {
            tracing::warn!(user = %asker.user, error = &e as &dyn std::error::Error, "could not answer a button or slash command");
        }
    }
}

/// The Logs modal (docs/slack.md shows it as Block Kit JSON).
pub fn logs_view(id: JobId, parts: &[(Stream, String)]) -> Value {
    let mut blocks = Vec::new();
    for (stream, text) in parts {
        let text = if text.trim().is_empty() { "(empty)".to_owned() } else { last_chars(text, SECTION_CHARS) };
        blocks.push(json!({"type": "header", "text": {"type": "plain_text", "text": stream.file_name()}}));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("```{}```", super::deliver::format::escape(&text))}}));
    }
    json!({
        "type": "modal",
        "title": {"type": "plain_text", "text": format!("Logs of job {id}")},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks,
    })
}

/// The end of `text`, at most `max` characters.
pub(super) fn last_chars(text: &str, max: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(max)).collect()
}

/// The confirmation a `confirm = true` request (a mention) waits in.
pub fn to_confirm(message: &super::inbox::Message, to: &NewReply, s: &Schedule, now: Timestamp) -> Confirmation {
    let asker = Asker {
        user: message.user.clone(),
        channel: message.channel.clone(),
        thread_ts: to.thread_ts.clone(),
        message_ts: Some(message.ts.clone()),
        trigger_id: None,
        response_url: None,
    };
    asked(&asker, s, now)
}

/// The confirmation a `confirm = true` request waits in.
fn asked(asker: &Asker, s: &Schedule, now: Timestamp) -> Confirmation {
    Confirmation {
        id: 0,
        created_at: now,
        user: asker.user.clone(),
        channel: asker.channel.clone(),
        thread_ts: asker.thread_ts.clone(),
        message_ts: asker.message_ts.clone().unwrap_or_default(),
        namespace: s.namespace.clone(),
        job: s.job.clone(),
        args: serde_json::to_string(&s.args).unwrap_or_else(|_| "[]".to_owned()),
        delay_ms: i64::try_from(s.delay.as_millis()).unwrap_or(i64::MAX),
        state: "pending".to_owned(),
    }
}

fn channel_type_of(caller: &Caller) -> ChannelType {
    match &caller.origin {
        Origin::Slack { channel_type, .. } => channel_type.clone(),
        _ => ChannelType::Channel,
    }
}

impl Worker {
    /// *Confirm* or *Cancel* on "Run `ns job` now?": only its requester may answer, once.
    fn answer_confirmation(
        &mut self,
        row: &InboxRow,
        action: &str,
        payload: &Value,
        asker: &Asker,
        channel_type: ChannelType,
        now: Timestamp,
    ) -> Result<(), QueueError> {
        let id = button_value(payload).unwrap_or(0);
        let Some(c) = self.queue.confirmation(id)? else {
            return self.tell_only(row, asker, "That request is gone; ask again.", now);
        };
        if c.user != asker.user {
            return self.tell_only(row, asker, &format!("Only <@{}>, who asked, can answer this.", c.user), now);
        }
        if c.state != "pending" {
            return self.tell_only(row, asker, &format!("This request was already {}.", c.state), now);
        }
        // The answer names the confirmation: its question then says how it was answered.
        let message_ts = Some(c.message_ts.clone()).filter(|m| !m.is_empty());
        let to = NewReply {
            channel: c.channel.clone(),
            thread_ts: c.thread_ts.clone(),
            message_ts: message_ts.clone(),
            confirm: Some(c.id),
            ..NewReply::default()
        };
        let origin = Origin::Slack {
            user: c.user.clone(),
            channel: c.channel.clone(),
            channel_type,
            thread_ts: c.thread_ts.clone(),
            message_ts,
        };
        let internal = self.runtime.block_on(self.users.get(&self.api, &c.user)).is_ok_and(|u| u.internal && !u.is_bot);
        let caller = Caller::slack(origin, internal);
        let ctx = Context { settings: &self.settings, catalog: &self.catalog, clock: &*self.clock, mention: None };
        let confirmed = action == actions::CONFIRM;
        let done = self.queue.atomically(|q| {
            let state = if confirmed { "confirmed" } else { "cancelled" };
            if !q.finish_slack_event(row.id, &InboxOutcome::Handled, now)?
                || !q.resolve_confirmation(c.id, state, now)?
            {
                return Ok(());
            }
            let (text, job) = if confirmed {
                let args: Vec<(String, String)> = serde_json::from_str(&c.args).unwrap_or_default();
                let delay = std::time::Duration::from_millis(u64::try_from(c.delay_ms).unwrap_or(0));
                let schedule = Schedule { namespace: c.namespace.clone(), job: c.job.clone(), args, delay };
                match Command::Schedule(schedule).execute(&ctx, &caller, q) {
                    Ok(output) => {
                        let job = if let Output::Scheduled(s) = &output { Some(s.id.0) } else { None };
                        (reply::render(&output, &ctx), job)
                    }
                    Err(e) if e.is_bad_input() => (reply::error_text(&e), None),
                    Err(e) => return Err(e),
                }
            } else {
                (format!("Not run: <@{}> cancelled `{} {}`.", c.user, c.namespace, c.job), None)
            };
            q.add_reply(Some(row.id), &NewReply { text: Some(text), job, ..to.clone() }, now)?;
            Ok::<_, CommandError>(())
        });
        if let Err(e) = done {
            tracing::error!(error = %crate::commands::describe(&e), "could not answer a confirmation");
            self.queue.finish_slack_event(row.id, &InboxOutcome::Error { id: format!("E{}", row.id) }, now)?;
        }
        self.deliverer.poke();
        Ok(())
    }

    /// Drops the confirmations nobody answered within [`CONFIRM_WITHIN`], saying so in their
    /// thread.
    pub(super) fn expire_confirmations(&mut self) -> Result<(), QueueError> {
        let now = self.clock.now();
        let before = now - jiff::SignedDuration::try_from(CONFIRM_WITHIN).unwrap_or_default();
        let mut expired = 0;
        for c in self.queue.stale_confirmations(before)? {
            let text = format!(
                "Not run: `{} {}` was not confirmed within {}.",
                c.namespace,
                c.job,
                crate::config::duration::format(CONFIRM_WITHIN)
            );
            let reply = NewReply {
                channel: c.channel.clone(),
                thread_ts: c.thread_ts.clone(),
                text: Some(text),
                confirm: Some(c.id),
                ..NewReply::default()
            };
            self.queue.atomically(|q| {
                if q.resolve_confirmation(c.id, "expired", now)? {
                    q.add_reply(None, &reply, now)?;
                    expired += 1;
                }
                Ok::<_, QueueError>(())
            })?;
        }
        if expired > 0 {
            self.deliverer.poke();
        }
        Ok(())
    }

    /// How long until the oldest unanswered confirmation expires.
    pub(super) fn next_expiry(&self) -> std::time::Duration {
        let Ok(Some(asked)) = self.queue.oldest_pending_confirmation() else { return std::time::Duration::MAX };
        let due = asked.as_millisecond() + i64::try_from(CONFIRM_WITHIN.as_millis()).unwrap_or(0);
        let left = due - self.clock.now().as_millisecond();
        std::time::Duration::from_millis(u64::try_from(left.max(0)).unwrap_or(0))
    }
}
