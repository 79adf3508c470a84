//! The catch-up's Slack side (see [`super::catch_up`]): list the channels the bot is in, read
//! each one's history from the last message read there (at most `SLACK_CATCH_UP` back), and
//! hand every message to [`receive`] as if Slack had sent it, marked as caught up. A channel
//! read for the first time is read from then on: its past is not ebmbot's to run. Runs at
//! start, after each Socket Mode reconnection (Slack's `hello`), and hourly.

use std::sync::{Arc, PoisonError};

use serde_json::{Value, json};

use super::api::{CallError, SlackApi};
use super::catch_up::CATCH_UP;
use super::receive::{ReceiveError, Shared, receive};
use crate::queue::{QueueError, sub_duration, ts_order};

/// Why a catch-up stopped.
#[derive(Debug, thiserror::Error)]
pub enum CatchUpError {
    #[error("reading Slack failed")]
    Slack(#[from] CallError),
    #[error("storing what was read failed")]
    Receive(#[from] ReceiveError),
    #[error("the queue failed")]
    Queue(#[from] QueueError),
    #[error("the task storing what was read failed")]
    Join(#[source] tokio::task::JoinError),
}

/// What one catch-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaughtUp {
    pub channels: usize,
    pub messages: usize,
}

/// Runs `f` on the receiving side's queue connection, off the async threads.
async fn with_queue<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&mut crate::queue::Queue) -> Result<T, QueueError> + Send + 'static,
) -> Result<T, CatchUpError> {
    let s = shared.clone();
    tokio::task::spawn_blocking(move || {
        let mut queue = s.store.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut queue)
    })
    .await
    .map_err(CatchUpError::Join)?
    .map_err(CatchUpError::from)
}

/// A channel the bot is in.
struct Member {
    id: String,
    public: bool,
}

/// The public and private channels the bot is in, following pagination.
async fn member_channels(api: &SlackApi) -> Result<Vec<Member>, CallError> {
    let (mut out, mut cursor) = (Vec::new(), None);
    loop {
        let (page, next) = api.member_channels_page(cursor).await?;
        out.extend(page.into_iter().map(|(id, private)| Member { id, public: !private }));
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Reads every channel the bot is in from where it last read, and receives what it finds.
pub async fn catch_up(shared: &Arc<Shared>) -> Result<CaughtUp, CatchUpError> {
    let now = shared.clock.now();
    let member = member_channels(&shared.api).await?;
    let ids: Vec<String> = member.iter().map(|c| c.id.clone()).collect();
    let marks = with_queue(shared, move |q| {
        q.set_slack_channels(&ids, now)?;
        q.slack_channels()
    })
    .await?;
    let floor = slack_ts(sub_duration(now, shared.settings.slack_catch_up));
    let mut done = CaughtUp { channels: member.len(), messages: 0 };
    for channel in &member {
        let mark = marks.iter().find(|(id, _)| *id == channel.id).and_then(|(_, ts)| ts.clone());
        let Some(mark) = mark else {
            // A channel never read: what was said there before ebmbot was in it (or before
            // this database existed) is not ebmbot's to run; it reads from now on.
            let (id, from) = (channel.id.clone(), slack_ts(now));
            with_queue(shared, move |q| q.set_channel_read(&id, &from, now)).await?;
            continue;
        };
        let oldest = if ts_order(&mark) > ts_order(&floor) { mark } else { floor.clone() };
        done.messages += read_channel(shared, channel, &oldest).await?;
    }
    Ok(done)
}

/// A time as a Slack ts (`1700000000.000000`).
fn slack_ts(at: jiff::Timestamp) -> String {
    format!("{}.000000", at.as_second().max(0))
}

/// One channel's messages after `oldest`, received oldest first; then the mark moves to the
/// newest.
async fn read_channel(shared: &Arc<Shared>, channel: &Member, oldest: &str) -> Result<usize, CatchUpError> {
    let mut messages: Vec<Value> = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = shared.api.history(&channel.id, oldest, cursor).await?;
        messages.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    messages.sort_by_key(|m| ts_order(m.get("ts").and_then(Value::as_str).unwrap_or("0")));
    let Some(newest) = messages.last().and_then(|m| m.get("ts")).and_then(Value::as_str).map(str::to_owned) else {
        return Ok(0);
    };
    let kind = if channel.public { "channel" } else { "group" };
    let count = messages.len();
    for message in messages.into_iter().filter(|m| from_a_person(m, &shared.me.user_id)) {
        receive(shared, as_event(shared, &channel.id, kind, message)).await?;
    }
    let (id, now) = (channel.id.clone(), shared.clock.now());
    with_queue(shared, move |q| q.set_channel_read(&id, &newest, now)).await?;
    tracing::debug!(channel = %channel.id, messages = count, "caught up with a channel");
    Ok(count)
}

/// Whether a message of the history was written by a person: not by ebmbot (its help names it
/// by its mention), not by another bot, and not a join, topic change or other subtype.
fn from_a_person(message: &Value, me: &str) -> bool {
    message.get("bot_id").is_none()
        && message.get("subtype").is_none()
        && message.get("user").and_then(Value::as_str).is_some_and(|u| u != me)
}

/// A message of `conversations.history` as the event Slack would have sent for it: an
/// `app_mention` when it mentions the bot, else a `message`, in an `event_callback` whose event
/// id names the channel and ts (so a message read twice is one event), marked as caught up.
fn as_event(shared: &Shared, channel: &str, kind: &str, mut message: Value) -> Value {
    let ts = message.get("ts").and_then(Value::as_str).unwrap_or_default().to_owned();
    let text = message.get("text").and_then(Value::as_str).unwrap_or_default();
    let bot = &shared.me.user_id;
    let mentions = text.contains(&format!("<@{bot}>")) || text.contains(&format!("<@{bot}|"));
    if let Some(event) = message.as_object_mut() {
        event.insert("type".into(), json!(if mentions { "app_mention" } else { "message" }));
        event.insert("channel".into(), json!(channel));
        event.insert("channel_type".into(), json!(kind));
        event.insert("event_ts".into(), json!(ts));
    }
    json!({"type": "event_callback", "event_id": format!("catch-up:{channel}:{ts}"), "event": message, CATCH_UP: true})
}

/// Catches up now, and again each time `wake` is notified (a Socket Mode reconnection) or an
/// hour has passed, until the task is aborted. A failure is logged and tried again at the next
/// wake or in a minute.
pub async fn run(shared: Arc<Shared>, wake: Arc<tokio::sync::Notify>) {
    loop {
        let again = match catch_up(&shared).await {
            Ok(done) => {
                tracing::info!(
                    channels = done.channels,
                    messages = done.messages,
                    "caught up with the channels ebmbot is in (messages read since the last time)"
                );
                AGAIN
            }
            Err(e) => {
                tracing::warn!(error = %crate::error::describe(&e), "could not catch up with the channels; trying again");
                RETRY
            }
        };
        let _ = tokio::time::timeout(again, wake.notified()).await;
    }
}

/// How often the channels are read with nothing to prompt it (a lost event is found within).
const AGAIN: std::time::Duration = std::time::Duration::from_secs(3600);
/// How soon a failed catch-up is tried again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(60);
