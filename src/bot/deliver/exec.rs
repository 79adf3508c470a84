//! Making one [`Action`] happen in Slack: channel names resolved to ids, blocks that Slack
//! refuses replaced by an explanation and a file, permalinks looked up.

use std::collections::HashMap;

use slack_morphism::prelude::SlackBlock;

use super::plan::{Action, Target};
use crate::bot::api::{CallError, SlackApi};
use crate::bot::channels::Channels;

/// Error codes that mean the target channel or thread is the problem, not the message: a
/// "Could not notify slack" note then goes to `SLACK_LOGS_CHANNEL` instead.
pub const TARGET_ERRORS: &[&str] = &[
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "channel_is_archived",
    "restricted_action",
    "thread_not_found",
    "cannot_reply_to_message",
];

/// Whether Slack's refusal of a message with blocks is about the blocks (`invalid_blocks`,
/// `invalid_blocks_format`, `msg_blocks_too_long`, `msg_too_long`, …: any refusal but those
/// of the target, the token and `fatal_error`), so that the output goes as a file instead.
/// https://api.slack.com/methods/chat.postMessage#errors
fn refuses_blocks(e: &CallError) -> bool {
    matches!(e, CallError::Api { .. })
        && !e.is_auth()
        && !TARGET_ERRORS.contains(&e.code())
        && e.code() != "fatal_error"
}

/// The Slack side of a delivery.
pub struct Slack<'a> {
    pub api: &'a SlackApi,
    pub channels: &'a Channels,
}

impl Slack<'_> {
    async fn channel(&self, channel: &str) -> Result<String, CallError> {
        self.channels
            .resolve(self.api, channel)
            .await?
            .ok_or(CallError::Api { method: "conversations.list", code: "channel_not_found".into() })
    }

    pub async fn post(&self, to: &Target, text: &str) -> Result<String, CallError> {
        let channel = self.channel(&to.channel).await?;
        self.api.post(&channel, to.thread_ts.as_deref(), text, None).await
    }

    async fn upload(&self, to: &Target, filename: &str, content: &str, comment: &str) -> Result<String, CallError> {
        let channel = self.channel(&to.channel).await?;
        self.api.upload(&channel, to.thread_ts.as_deref(), filename, content.as_bytes(), comment).await
    }

    /// Does `action`; returns what a later step may need (a message ts).
    pub async fn run(&self, action: &Action, results: &HashMap<usize, String>) -> Result<Option<String>, CallError> {
        match action {
            Action::Post { to, text } => self.post(to, text).await.map(Some),
            Action::Buttons { to, text, buttons } => {
                let channel = self.channel(&to.channel).await?;
                let blocks: Result<Vec<SlackBlock>, _> =
                    super::format::with_buttons(text, buttons).into_iter().map(serde_json::from_value).collect();
                let posted = match blocks {
                    Ok(blocks) => self.api.post(&channel, to.thread_ts.as_deref(), text, Some(blocks)).await,
                    Err(_) => Err(CallError::Api { method: "chat.postMessage", code: "invalid_blocks".into() }),
                };
                match posted {
                    Err(e @ CallError::Api { .. }) if refuses_blocks(&e) => {
                        tracing::warn!(code = e.code(), "Slack refused a message's buttons; posting it without them");
                        self.post(to, text).await.map(Some)
                    }
                    other => other.map(Some),
                }
            }
            Action::Upload { to, filename, content, comment } => {
                self.upload(to, filename, content, comment).await.map(Some)
            }
            Action::Update { channel, ts, text, buttons } => {
                let channel = self.channel(channel).await?;
                let blocks: Result<Vec<SlackBlock>, _> =
                    super::format::with_buttons(text, buttons).into_iter().map(serde_json::from_value).collect();
                match self.api.update(&channel, ts, text, blocks.ok()).await {
                    // The message is gone (deleted by someone): the result is posted all the same.
                    Err(CallError::Api { code, .. })
                        if code == "message_not_found" || code == "cant_update_message" =>
                    {
                        Ok(None)
                    }
                    other => other.map(|()| None),
                }
            }
            Action::React { channel, ts, name } => {
                let channel = self.channel(channel).await?;
                self.api.react(&channel, ts, name).await.map(|()| None)
            }
            Action::Blocks { to, blocks, fallback, raw, filename, explanation } => {
                let channel = self.channel(&to.channel).await?;
                let typed: Result<Vec<SlackBlock>, _> = blocks.iter().cloned().map(serde_json::from_value).collect();
                let posted = match typed {
                    Ok(typed) => self.api.post(&channel, to.thread_ts.as_deref(), fallback, Some(typed)).await,
                    Err(_) => Err(CallError::Api { method: "chat.postMessage", code: "invalid_blocks".into() }),
                };
                match posted {
                    Err(e @ CallError::Api { .. }) if refuses_blocks(&e) => {
                        let code = e.code();
                        tracing::warn!(code, "Slack refused a job's blocks; posting them as a file");
                        let ts = self.post(to, &explanation.replace(super::format::CODE, code)).await?;
                        self.upload(to, filename, raw, fallback).await?;
                        Ok(Some(ts))
                    }
                    other => other.map(Some),
                }
            }
            Action::Repost { channel, ts, to } => {
                let from = self.channel(channel).await?;
                let link = self.api.permalink(&from, ts).await?;
                self.post(to, &link).await.map(Some)
            }
            Action::Permalink { of_step, from, to, text } => {
                let Some(ts) = results.get(of_step) else {
                    tracing::warn!(step = of_step, "no message to link to for tech support; skipping the re-post");
                    return Ok(None);
                };
                let from = self.channel(from).await?;
                let link = self.api.permalink(&from, ts).await?;
                let channel = self.channel(&to.channel).await?;
                let text = text.replace("{permalink}", &link);
                self.api.post_link(&channel, to.thread_ts.as_deref(), &text).await.map(Some)
            }
        }
    }
}
