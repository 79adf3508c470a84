//! What kind of conversation a channel is — public, private, group DM or DM — from
//! `conversations.info` (`is_im`, `is_mpim`, `is_private`), because `app_mention` events carry
//! no `channel_type` and private channels and group DMs have `C…` ids too.
//!
//! Answers are cached with their name (for `<#C123|>` links) and trusted for an hour of the
//! injected clock; the channel events Slack sends about a conversation ([`CHANGE_EVENTS`]) drop
//! its entry at once, so the next message looks it up again. A channel whose kind cannot be
//! learned (`channel_not_found`, `missing_scope`, Slack down) is taken as private and not cached:
//! nothing from it is re-posted elsewhere, and the next message asks again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use slack_morphism::prelude::SlackChannelFlags;

use super::api::SlackApi;
use crate::clock::Clock;
use crate::queue::model::ChannelType;

/// How long a learned kind is trusted without an event about the channel.
pub const TTL: Duration = Duration::from_secs(3600);

/// Events about a conversation after which its kind (or name) may have changed: renames,
/// (un)archiving, deletion, sharing, the bot leaving or being invited. Their channel id is
/// `channel` (a string) or `channel.id`.
pub const CHANGE_EVENTS: &[&str] = &[
    "channel_rename",
    "channel_archive",
    "channel_unarchive",
    "channel_deleted",
    "channel_shared",
    "channel_unshared",
    "channel_left",
    "group_rename",
    "group_archive",
    "group_unarchive",
    "group_deleted",
    "group_left",
    "group_open",
    "group_close",
    "member_joined_channel",
    "member_left_channel",
];

/// `message` subtypes that say a channel changed kind (sent with `message.channels` /
/// `message.groups` subscriptions).
pub const CHANGE_SUBTYPES: &[&str] = &["channel_convert_to_private", "channel_convert_to_public"];

/// A conversation as learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    pub kind: ChannelType,
    pub name: Option<String>,
}

/// The kind of a conversation from `conversations.info`'s flags. A group DM is also private
/// (Slack sets `is_private` on it), so `is_mpim` is asked first.
pub fn kind_of(flags: &SlackChannelFlags) -> ChannelType {
    let flag = |f: Option<bool>| f.unwrap_or(false);
    if flag(flags.is_im) {
        ChannelType::Im
    } else if flag(flags.is_mpim) {
        ChannelType::Mpim
    } else if flag(flags.is_private) || flag(flags.is_group) {
        ChannelType::Group
    } else {
        ChannelType::Channel
    }
}

/// The cache of conversations' kinds and names.
pub struct Kinds {
    cache: Mutex<HashMap<String, (Known, Timestamp)>>,
    clock: Arc<dyn Clock>,
}

impl Kinds {
    pub fn new(clock: Arc<dyn Clock>) -> Kinds {
        Kinds { cache: Mutex::new(HashMap::new()), clock }
    }

    fn cached(&self, channel: &str) -> Option<Known> {
        let now = self.clock.now();
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let (known, at) = cache.get(channel)?;
        let age = now.duration_since(*at);
        (age >= jiff::SignedDuration::ZERO && age.unsigned_abs() < TTL).then(|| known.clone())
    }

    /// What `channel` is: from the cache when fresh, else from `conversations.info`; `None`
    /// when Slack does not say (the caller takes the channel as private).
    pub async fn learn(&self, api: &SlackApi, channel: &str) -> Option<Known> {
        if let Some(known) = self.cached(channel) {
            return Some(known);
        }
        match self.look_up(api, channel).await {
            Ok(known) => Some(known),
            Err(e) => {
                tracing::warn!(
                    channel,
                    error = &e as &dyn std::error::Error,
                    "cannot learn what kind of conversation this is; treating it as private"
                );
                None
            }
        }
    }

    /// Whether the bot can post in `channel`: false only when Slack says it cannot see it
    /// (`channel_not_found`: a private channel or someone else's DM the bot is not in); any
    /// other failure is taken as yes, and the message's delivery retries.
    pub async fn can_post(&self, api: &SlackApi, channel: &str) -> bool {
        if self.cached(channel).is_some() {
            return true;
        }
        match self.look_up(api, channel).await {
            Ok(_) => true,
            Err(e) => e.code() != "channel_not_found",
        }
    }

    /// Asks `conversations.info` and keeps the answer.
    async fn look_up(&self, api: &SlackApi, channel: &str) -> Result<Known, super::api::CallError> {
        let info = api.conversation(channel).await?;
        let known = Known { kind: kind_of(&info.flags), name: info.name.filter(|n| !n.is_empty()) };
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.insert(channel.to_owned(), (known.clone(), self.clock.now()));
        Ok(known)
    }

    /// The kind of `channel`: a `D…` id is a DM; anything else as [`Kinds::learn`] says,
    /// private when it cannot be learned.
    pub async fn kind(&self, api: &SlackApi, channel: &str) -> ChannelType {
        if channel.starts_with('D') {
            return ChannelType::Im;
        }
        self.learn(api, channel).await.map_or(ChannelType::Group, |known| known.kind)
    }

    /// Forgets what was learned of `channel` (an event said it changed).
    pub fn forget(&self, channel: &str) {
        let removed = self.cache.lock().unwrap_or_else(PoisonError::into_inner).remove(channel).is_some();
        if removed {
            tracing::debug!(channel, "a channel changed; its kind will be looked up again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(json: serde_json::Value) -> SlackChannelFlags {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_flags_of_conversations_info_give_the_kind() {
        // Shapes from https://docs.slack.dev/reference/objects/conversation-object
        let public =
            flags(serde_json::json!({"is_channel": true, "is_private": false, "is_mpim": false, "is_im": false}));
        assert_eq!(kind_of(&public), ChannelType::Channel);
        let private = flags(serde_json::json!({"is_channel": true, "is_private": true, "is_mpim": false}));
        assert_eq!(kind_of(&private), ChannelType::Group, "a private channel with a C… id");
        let mpim = flags(serde_json::json!({"is_group": true, "is_private": true, "is_mpim": true}));
        assert_eq!(kind_of(&mpim), ChannelType::Mpim);
        assert_eq!(kind_of(&flags(serde_json::json!({"is_im": true}))), ChannelType::Im);
        assert_eq!(kind_of(&flags(serde_json::json!({"is_group": true}))), ChannelType::Group, "a legacy group");
    }
}
