//! What a received event means to the bot (docs/architecture.md §5), decided from its JSON alone
//! so that both transports share it: commands come from `app_mention`, and from `message`
//! events in DMs (`channel_type = im`) whose subtype is absent, `thread_broadcast` or
//! `file_share`. Anything from a bot or from ebmbot itself, other subtypes (edits, joins) and
//! other event types are ignored with a reason for the log.

use serde_json::Value;

use crate::queue::model::ChannelType;

/// What a received event is to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A message that may carry a command: stored, then handled by the worker.
    Command { event_id: String, channel: String, ts: String },
    /// A channel was created: joined when `SLACK_AUTO_JOIN` is on.
    ChannelCreated { channel: String },
    /// A conversation may have changed kind or name: what was learned of it is forgotten.
    ChannelChanged { channel: String },
    /// A user's profile changed (`user_change`, carrying the whole user object): who is
    /// internal is decided again at once.
    UserChanged { user: Value },
    /// The app was uninstalled or its bot token revoked (`app_uninstalled`, `tokens_revoked`
    /// naming the bot): Slack delivery pauses, as when a call answers `token_revoked`.
    Revoked { event: &'static str },
    /// A user opened the app's Home tab: it is published for them (`bot::home`).
    HomeOpened { user: String },
    /// Nothing for the bot; why, for the log.
    Ignored(String),
}

/// The fields of a command-bearing message the bot uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub user: String,
    pub text: String,
    pub channel: String,
    /// Guessed from the channel id when Slack leaves it out (as it does in `app_mention`);
    /// the worker then learns it ([`super::kinds`]).
    pub channel_type: ChannelType,
    /// Whether Slack said the channel type (`channel_type` in the event).
    pub channel_type_given: bool,
    pub ts: String,
    pub thread_ts: Option<String>,
}

impl Message {
    pub fn is_dm(&self) -> bool {
        self.channel_type == ChannelType::Im
    }

    /// Where replies go: top level unless the request was in a thread; with `in_thread`
    /// (`SLACK_REPLY_IN_THREAD`), a request made in a channel starts a thread of its own. DMs
    /// are never threaded by ebmbot.
    pub fn reply_thread(&self, in_thread: bool) -> Option<String> {
        reply_thread(self.thread_ts.as_deref(), &self.ts, in_thread && !self.is_dm())
    }

    /// The message inside an `event_callback` payload.
    pub fn from_payload(payload: &Value) -> Result<Message, NotAMessage> {
        let event = payload.get("event").ok_or(NotAMessage::NoEvent)?;
        let text_field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_owned);
        let required = |name: &'static str| text_field(name).ok_or(NotAMessage::Missing(name));
        let channel = required("channel")?;
        let given = text_field("channel_type");
        let channel_type_given = given.is_some();
        let channel_type = given.map_or_else(|| ChannelType::guess(&channel), ChannelType::from);
        Ok(Message {
            user: required("user")?,
            text: text_field("text").unwrap_or_default(),
            channel,
            channel_type,
            channel_type_given,
            ts: required("ts")?,
            thread_ts: text_field("thread_ts"),
        })
    }
}

/// Where replies to the message `ts` (in thread `thread`, if any) go: its thread; else, with
/// `start_thread`, a thread under it; else top level. A thread's parent (`thread == ts`, as
/// Slack says of a message with replies) is not in a thread.
pub fn reply_thread(thread: Option<&str>, ts: &str, start_thread: bool) -> Option<String> {
    match thread.filter(|t| *t != ts) {
        Some(thread) => Some(thread.to_owned()),
        None if start_thread => Some(ts.to_owned()),
        None => None,
    }
}

/// Why a stored payload holds no message to handle.
#[derive(Debug, thiserror::Error)]
pub enum NotAMessage {
    #[error("it is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("no `event`")]
    NoEvent,
    #[error("no `{0}` in the event")]
    Missing(&'static str),
}

/// Subtypes of DM messages that carry commands.
const COMMAND_SUBTYPES: &[&str] = &["thread_broadcast", "file_share"];

/// Decides what an `event_callback` payload is. `bot_user_id` is ebmbot's own user.
pub fn classify(payload: &Value, bot_user_id: &str) -> Received {
    let ignored = |why: String| Received::Ignored(why);
    let Some(event) = payload.get("event").filter(|e| e.is_object()) else {
        return ignored("an event callback without an `event` object".into());
    };
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "app_mention" | "message" => {}
        "channel_created" => {
            return match event.pointer("/channel/id").and_then(Value::as_str) {
                Some(id) => Received::ChannelCreated { channel: id.to_owned() },
                None => ignored("a `channel_created` event without a channel id".into()),
            };
        }
        "user_change" => {
            return match event.get("user").filter(|u| u.is_object()) {
                Some(user) => Received::UserChanged { user: user.clone() },
                None => ignored("a `user_change` event without a user".into()),
            };
        }
        changed if super::kinds::CHANGE_EVENTS.contains(&changed) => return channel_changed(event, changed),
        "app_uninstalled" => return Received::Revoked { event: "app_uninstalled" },
        // https://api.slack.com/events/app_home_opened: `tab` is `home` or `messages`.
        "app_home_opened" => {
            return match (event.get("user").and_then(Value::as_str), event.get("tab").and_then(Value::as_str)) {
                (Some(user), Some("home")) => Received::HomeOpened { user: user.to_owned() },
                _ => ignored("`app_home_opened` on the Messages tab".into()),
            };
        }
        // https://api.slack.com/events/tokens_revoked: `tokens.bot` lists the bot users whose
        // tokens went; user tokens (`tokens.oauth`) are not ebmbot's.
        "tokens_revoked" => {
            let bots = event.pointer("/tokens/bot").and_then(Value::as_array);
            return if bots.is_some_and(|b| b.iter().any(|u| u.as_str() == Some(bot_user_id))) {
                Received::Revoked { event: "tokens_revoked" }
            } else {
                ignored("`tokens_revoked` for tokens other than ebmbot's bot token".into())
            };
        }
        "" => return ignored("an event without a type".into()),
        other => return ignored(format!("event type `{other}`")),
    }
    if let Some(subtype) = event.get("subtype").and_then(Value::as_str)
        && super::kinds::CHANGE_SUBTYPES.contains(&subtype)
    {
        return channel_changed(event, subtype);
    }
    if let Some(subtype) = event.get("subtype").and_then(Value::as_str)
        && !COMMAND_SUBTYPES.contains(&subtype)
    {
        return ignored(format!("`{kind}` with subtype `{subtype}`"));
    }
    if event.get("bot_id").is_some_and(|b| !b.is_null()) || event.get("bot_profile").is_some_and(|b| !b.is_null()) {
        return ignored(format!("`{kind}` from a bot"));
    }
    let Some(event_id) = payload.get("event_id").and_then(Value::as_str) else {
        return ignored(format!("`{kind}` without an `event_id`"));
    };
    let message = match Message::from_payload(payload) {
        Ok(m) => m,
        Err(why) => return ignored(format!("`{kind}` {event_id}: {}", crate::error::describe(&why))),
    };
    if message.user == bot_user_id {
        return ignored(format!("`{kind}` from ebmbot itself"));
    }
    if kind == "message" && !message.is_dm() {
        return ignored(format!("a `message` in a `{}` conversation (only DMs are commands)", message.channel_type));
    }
    Received::Command { event_id: event_id.to_owned(), channel: message.channel, ts: message.ts }
}

/// A channel event: its channel is `channel` (an id) or `channel.id`.
fn channel_changed(event: &Value, what: &str) -> Received {
    let channel = event.get("channel").and_then(|c| c.as_str().or_else(|| c.get("id").and_then(Value::as_str)));
    match channel {
        Some(channel) => Received::ChannelChanged { channel: channel.to_owned() },
        None => Received::Ignored(format!("a `{what}` event without a channel id")),
    }
}

#[cfg(test)]
mod tests;
