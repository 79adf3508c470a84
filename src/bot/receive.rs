//! Receiving: what both transports (Socket Mode and the Events API) do with an event callback
//! before they acknowledge it — decide what it is, and store a command durably.

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use super::api::{Me, SlackApi};
use super::channels;
use super::inbox::{Received, classify};
use super::kinds::Kinds;
use super::users::Users;
use crate::clock::Clock;
use crate::config::{LiveCatalog, Settings};
use crate::queue::{Queue, QueueError, Waker};

/// What the transports share.
pub struct Shared {
    pub settings: Arc<Settings>,
    pub api: Arc<SlackApi>,
    pub me: Me,
    /// What the worker learned of channels and users; channel and user events correct it.
    pub kinds: Arc<Kinds>,
    pub users: Arc<Users>,
    /// The receiving side's own connection: stores are short and never wait for Slack.
    pub store: Mutex<Queue>,
    /// Woken when a command is stored.
    pub worker: Waker,
    pub clock: Arc<dyn Clock>,
    /// The catalogue (its support listeners decide which channel messages are kept).
    pub catalog: LiveCatalog,
    /// Notified when the catch-up should read the channels again (a Socket Mode reconnection).
    pub catch_up: Arc<tokio::sync::Notify>,
    /// Who has the Home tab open (refreshed while they may).
    pub home: super::home::Viewers,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("could not store a Slack event; Slack will send it again")]
    Store(#[from] QueueError),
    #[error("the task storing a Slack event failed")]
    Join(#[source] tokio::task::JoinError),
}

/// Handles one `event_callback` payload: a command, or a message a support listener hears
/// (a new one or an edit), is stored (once: a Slack retry, or the second event of the same
/// message, is dropped) and the worker woken; a new channel is joined in the background;
/// anything else is logged and dropped. Returns once the message is safely stored, so the
/// caller may acknowledge.
pub async fn receive(shared: &Arc<Shared>, payload: Value) -> Result<(), ReceiveError> {
    let received = match classify(&payload, &shared.me.user_id) {
        Received::Ignored(why) => support_request(shared, &payload).unwrap_or(Received::Ignored(why)),
        other => other,
    };
    match received {
        Received::Command { event_id, channel, ts } => {
            let stored = store(shared, &event_id, channel, ts, payload).await?;
            if stored {
                tracing::debug!(event_id, "stored a Slack command");
                shared.worker.poke();
            } else {
                tracing::info!(event_id, "dropped a Slack event already received (a retry, or the same message again)");
            }
        }
        Received::ChannelCreated { channel } if shared.settings.slack_auto_join => {
            let api = shared.api.clone();
            tokio::spawn(async move { channels::join_new(&api, &channel).await });
        }
        Received::ChannelCreated { channel } => {
            tracing::debug!(channel, "a channel was created; SLACK_AUTO_JOIN is off");
        }
        Received::ChannelChanged { channel } => shared.kinds.forget(&channel),
        Received::UserChanged { user } => shared.users.changed(&user),
        Received::Revoked { event } => {
            let s = shared.clone();
            let started = tokio::task::spawn_blocking(move || {
                let mut queue = s.store.lock().unwrap_or_else(PoisonError::into_inner);
                queue.pause_slack(event, s.clock.now())
            })
            .await
            .map_err(ReceiveError::Join)??;
            if started {
                tracing::error!(
                    event,
                    "Slack says the app was uninstalled or its token revoked (`{event}`): Slack delivery is paused \
                     and every message stays queued; reinstall the app and load its new SLACK_BOT_TOKEN (then SIGHUP)"
                );
            }
        }
        Received::HomeOpened { user } => {
            shared.home.opened(&user, std::time::Instant::now());
            let s = shared.clone();
            tokio::spawn(async move { super::home::publish(&s, &user).await });
        }
        Received::Ignored(why) => tracing::info!("ignored a Slack event: {why}"),
    }
    Ok(())
}

/// Stores an inbox row (a command, a click, a slash command) on the receiving side's
/// connection, off the async threads; false when it was stored already (a retry).
pub(super) async fn store(
    shared: &Arc<Shared>,
    event_id: &str,
    channel: String,
    ts: String,
    payload: Value,
) -> Result<bool, ReceiveError> {
    let (s, id) = (shared.clone(), event_id.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut queue = s.store.lock().unwrap_or_else(PoisonError::into_inner);
        queue.store_slack_event(&id, &channel, &ts, &payload.to_string(), s.clock.now())
    })
    .await
    .map_err(ReceiveError::Join)?
    .map_err(ReceiveError::Store)
}

/// A message that is no command but says a support listener's word: stored like a command,
/// under its own ts (an edit's event ts, so that an edit is not taken for its message).
fn support_request(shared: &Shared, payload: &Value) -> Option<Received> {
    let (_, catalog) = shared.catalog.current();
    catalog.listeners().next()?;
    let heard = super::support::heard(payload, &shared.me.user_id).ok()?;
    if super::support::matching(&catalog, &heard.text).is_empty() {
        return None;
    }
    let event_id = payload.get("event_id").and_then(Value::as_str)?;
    Some(Received::Command { event_id: event_id.to_owned(), channel: heard.channel, ts: heard.key_ts })
}
