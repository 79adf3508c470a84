//! Who asked for a job and where to answer: a request's [`Origin`] (terminal, Slack, GitHub)
//! and the kind of Slack conversation it came from.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ser_ts;

/// Where a request came from: who to tell, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// A user at a terminal; `notify`: a Slack channel to report to as well.
    Terminal { user: String, notify: Option<String> },
    /// A Slack request. `thread_ts` is the thread replies go in (none: top level);
    /// `message_ts` the asker's message, reacted to when the job ends: none for a slash command
    /// or a button click, which have no message of their own.
    Slack {
        user: String,
        channel: String,
        channel_type: ChannelType,
        thread_ts: Option<String>,
        message_ts: Option<String>,
    },
    /// A GitHub delivery; `channel`: where the namespace reports, if anywhere.
    Github { delivery: String, project: String, channel: Option<String> },
    /// A `[[ns.timers]]` fire time (RFC 3339, UTC); `channel`: the timer's `notify`, if any.
    Timer { namespace: String, timer: String, fire_at: String, channel: Option<String> },
}

impl Origin {
    /// `EBMBOT_REQUESTED_BY`: Slack user id, `github:<delivery>` or `terminal:<user>`.
    pub fn requested_by(&self) -> String {
        match self {
            Self::Terminal { user, .. } => format!("terminal:{user}"),
            Self::Slack { user, .. } => user.clone(),
            Self::Github { delivery, .. } => format!("github:{delivery}"),
            Self::Timer { namespace, timer, .. } => format!("timer:{namespace}/{timer}"),
        }
    }

    /// The Slack channel this origin wants results in, if any.
    pub fn channel(&self) -> Option<&str> {
        match self {
            Self::Terminal { notify, .. } => notify.as_deref(),
            Self::Slack { channel, .. } => Some(channel),
            Self::Github { channel, .. } | Self::Timer { channel, .. } => channel.as_deref(),
        }
    }
}

/// The kind of Slack conversation a message came from (Slack's `channel_type`). Stored as
/// Slack's word; a kind this version does not know is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ChannelType {
    /// A public channel.
    Channel,
    /// A private channel.
    Group,
    /// A direct message with the bot.
    Im,
    /// A group direct message.
    Mpim,
    Other(String),
}

impl ChannelType {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Channel => "channel",
            Self::Group => "group",
            Self::Im => "im",
            Self::Mpim => "mpim",
            Self::Other(other) => other,
        }
    }

    /// From a channel id, when Slack leaves the type out (as `app_mention` does): `D…` a DM,
    /// `G…` a private channel, anything else a public one.
    pub fn guess(channel: &str) -> ChannelType {
        match channel.chars().next() {
            Some('D') => Self::Im,
            Some('G') => Self::Group,
            _ => Self::Channel,
        }
    }
}

impl From<&str> for ChannelType {
    fn from(s: &str) -> ChannelType {
        match s {
            "channel" => Self::Channel,
            "group" => Self::Group,
            "im" => Self::Im,
            "mpim" => Self::Mpim,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl From<String> for ChannelType {
    fn from(s: String) -> ChannelType {
        ChannelType::from(s.as_str())
    }
}

impl From<ChannelType> for String {
    fn from(t: ChannelType) -> String {
        t.as_str().to_owned()
    }
}

impl fmt::Display for ChannelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One origin that asked for a job. Every request merged into a job hears its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    pub id: i64,
    #[serde(serialize_with = "ser_ts")]
    pub created_at: Timestamp,
    pub origin: Origin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slack_origin_stores_the_channel_type_as_slack_writes_it() {
        for (word, kind) in [("im", ChannelType::Im), ("app_home", ChannelType::Other("app_home".into()))] {
            let origin = Origin::Slack {
                user: "U1".into(),
                channel: "D1".into(),
                channel_type: kind,
                thread_ts: None,
                message_ts: Some("1.1".into()),
            };
            let json = serde_json::to_string(&origin).unwrap();
            assert!(json.contains(&format!(r#""channel_type":"{word}""#)), "{json}");
            assert_eq!(serde_json::from_str::<Origin>(&json).unwrap(), origin);
        }
    }
}
