//! Support listeners (docs/slack.md, "Support listeners"): a message in a channel that says a
//! listener's word gets the listener's reaction, and its permalink is re-posted to the
//! listener's channel, once per (listener, channel, message) — also when it is a message edited
//! into a match. While the listener is out of office, the message's thread is told so. In a DM
//! the bot says it cannot call the listener from there.
//!
//! [`heard`] reads the message from an event (a new message or an edit) and says why not when
//! no listener should look at it; the receiver stores the events whose text matches, and the
//! worker ([`handle`]) decides and queues the replies in the transaction that marks the event
//! handled. A message addressed to the bot that the grammar understands is a command, not a
//! support request, even when it names a listener (`@ebmbot ooo tech-support off`).

use serde_json::Value;

use super::users::SLACKBOT;
use crate::config::{Catalog, Listener, Settings};
use crate::queue::model::ChannelType;
use crate::queue::{InboxOutcome, InboxRow, NewReply, Queue, QueueError};

/// Subtypes of messages that listeners hear besides plain ones (edits are read inside
/// `message_changed`).
const HEARD_SUBTYPES: &[&str] = &["thread_broadcast", "file_share"];

/// A message, new or edited, that a listener may answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard {
    pub channel: String,
    pub channel_type: ChannelType,
    /// The message's own ts (an edit's original message).
    pub ts: String,
    pub thread_ts: Option<String>,
    pub user: String,
    pub text: String,
    /// The key the inbox stores it under: the message's ts, or an edit's own event ts.
    pub key_ts: String,
}

impl Heard {
    /// Where the out-of-office reply goes: the message's thread.
    fn thread(&self) -> String {
        self.thread_ts.clone().unwrap_or_else(|| self.ts.clone())
    }
}

/// The message of an `event_callback` payload as listeners see it; why not, for the log.
pub fn heard(payload: &Value, bot_user_id: &str) -> Result<Heard, String> {
    let event = payload.get("event").filter(|e| e.is_object()).ok_or("no `event` object")?;
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "message" && kind != "app_mention" {
        return Err(format!("event type `{kind}`"));
    }
    let field = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
    let outer_subtype = field(event, "subtype");
    let (message, key_ts) = match outer_subtype.as_deref() {
        Some("message_changed") => {
            let inner = event.get("message").filter(|m| m.is_object()).ok_or("an edit without its `message`")?;
            (inner, field(event, "ts").or_else(|| field(event, "event_ts")).ok_or("an edit without a `ts`")?)
        }
        _ => (event, field(event, "ts").ok_or("a message without a `ts`")?),
    };
    if let Some(subtype) = field(message, "subtype").filter(|s| !HEARD_SUBTYPES.contains(&s.as_str())) {
        return Err(format!("a message with subtype `{subtype}`"));
    }
    if [message, event].iter().any(|m| m.get("bot_id").is_some_and(|b| !b.is_null())) {
        return Err("a message from a bot".to_owned());
    }
    let user = field(message, "user").ok_or("a message without a `user`")?;
    if user == bot_user_id || user == SLACKBOT {
        return Err("a message from ebmbot or Slackbot (a reminder)".to_owned());
    }
    let channel = field(event, "channel").ok_or("a message without a `channel`")?;
    let channel_type = field(event, "channel_type").map_or_else(|| ChannelType::guess(&channel), |t| t.as_str().into());
    Ok(Heard {
        ts: field(message, "ts").ok_or("a message without a `ts`")?,
        thread_ts: field(message, "thread_ts"),
        text: field(message, "text").unwrap_or_default(),
        user,
        channel,
        channel_type,
        key_ts,
    })
}

/// The listeners whose words `text` says.
pub fn matching<'c>(catalog: &'c Catalog, text: &str) -> Vec<&'c Listener> {
    catalog.listeners().filter(|l| l.matches(text)).collect()
}

/// Whether listeners re-post from this kind of conversation (else the DM answer).
fn reposts_from(kind: &ChannelType) -> bool {
    matches!(kind, ChannelType::Channel | ChannelType::Group)
}

/// "Sorry, I can't call tech-support from this conversation."
pub fn cannot_call(listener: &Listener) -> String {
    format!("Sorry, I can't call {} from this conversation.", listener.name)
}

/// "tech-support is out of office until …; your message has been passed on"
pub fn out_of_office(listener: &Listener, until: &str) -> String {
    format!("{} is out of office until {until}; your message has been passed on", listener.name)
}

/// Queues what `listeners` do about `heard` (inside the caller's transaction): in a channel,
/// for each listener that has not re-posted it yet and whose channel (`homes`: each listener's
/// channel as an id, in order) it is not in, the reaction, the out-of-office reply while one
/// holds, and the re-post; elsewhere the answer that it cannot be called from there (not for
/// an edit). Returns how many listeners acted.
pub fn handle(
    q: &mut Queue,
    settings: &Settings,
    heard: &Heard,
    listeners: &[(&Listener, String)],
    inbox_id: i64,
    now: jiff::Timestamp,
) -> Result<usize, QueueError> {
    let mut acted = 0;
    let away = q.out_of_office(now)?;
    for (listener, home) in listeners {
        if !reposts_from(&heard.channel_type) {
            if heard.key_ts == heard.ts {
                let reply = NewReply {
                    channel: heard.channel.clone(),
                    thread_ts: heard.thread_ts.clone(),
                    text: Some(cannot_call(listener)),
                    ..NewReply::default()
                };
                q.add_reply(Some(inbox_id), &reply, now)?;
                acted += 1;
            }
            continue;
        }
        if *home == heard.channel || !q.record_repost(&listener.name, &heard.channel, &heard.ts, now)? {
            continue;
        }
        let until = away
            .iter()
            .find(|p| listener.out_of_office && p.listener == listener.name && p.holds(now))
            .map(|p| super::reply::when(p.end, &settings.timezone));
        let reply = NewReply {
            channel: heard.channel.clone(),
            thread_ts: Some(heard.thread()),
            message_ts: Some(heard.ts.clone()),
            text: until.map(|until| out_of_office(listener, &until)),
            reaction: Some(listener.reaction.clone()),
            log: None,
            repost_to: Some(listener.channel.clone()),
            job: None,
            confirm: None,
        };
        q.add_reply(Some(inbox_id), &reply, now)?;
        acted += 1;
    }
    Ok(acted)
}

impl super::worker::Worker {
    /// Handles a stored message as a support request when it says a listener's word (and is
    /// not in that listener's own channel); false when it is none, for the command path.
    pub(super) fn support_request(
        &mut self,
        row: &InboxRow,
        payload: &Value,
        now: jiff::Timestamp,
    ) -> Result<bool, QueueError> {
        let Ok(heard) = heard(payload, &self.bot_user_id) else { return Ok(false) };
        // A command the bot understands is run, even when it names a listener (`ooo tech-support off`).
        let is_dm = heard.channel_type == ChannelType::Im;
        if heard.key_ts == heard.ts
            && super::text::command_text(&heard.text, &self.bot_user_id, is_dm)
                .is_some_and(|command| self.grammar.parse(&command).is_ok())
        {
            return Ok(false);
        }
        let mut listeners = Vec::new();
        for listener in matching(&self.catalog, &heard.text) {
            let home = match self.runtime.block_on(self.channels.resolve(&self.api, &listener.channel)) {
                Ok(id) => id.unwrap_or_else(|| listener.channel.clone()),
                Err(e) => {
                    tracing::warn!(listener = %listener.name, error = &e as &dyn std::error::Error, "cannot look the listener's channel up; taking the message as being elsewhere");
                    listener.channel.clone()
                }
            };
            if home != heard.channel {
                listeners.push((listener, home));
            }
        }
        if listeners.is_empty() {
            return Ok(false);
        }
        let (id, settings) = (row.id, self.settings.clone());
        let acted = self.queue.atomically(|q| {
            if !q.finish_slack_event(id, &InboxOutcome::Handled, now)? {
                return Ok::<_, QueueError>(None);
            }
            handle(q, &settings, &heard, &listeners, id, now).map(Some)
        })?;
        let names: Vec<&str> = listeners.iter().map(|(l, _)| l.name.as_str()).collect();
        if let Some(acted) = acted {
            tracing::info!(
                event_id = %row.event_id, channel = %heard.channel, ts = %heard.ts, listeners = ?names, acted,
                "handled a support request"
            );
        } else {
            tracing::debug!(event_id = %row.event_id, "already handled by another ebmbot process");
        }
        self.deliverer.poke();
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
