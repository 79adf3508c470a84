//! The Slack bot (docs/slack.md; its flow: docs/architecture.md §5). Socket Mode ([`socket`]) and the Events API ([`events_api`])
//! feed one [`receive()`]: a command is stored durably, then acknowledged. The [`worker`] handles
//! stored commands through [`text`], the one grammar and the command layer ([`reply`] words
//! the answer), in one transaction with marking them handled, and queues the reply. The [`deliver`]er posts replies and the queue's job events (results, failures,
//! start notices, tech-support re-posts, reactions) with leases, steps and retries.
//!
//! - [`api`]: slack-morphism's client pointed at `SLACK_API_URL`, errors sorted for retries.
//! - [`users`], [`channels`]: who is internal; `#name` → id; joining public channels.
//! - [`manifest`]: each Web API method and event ebmbot uses, with its scope; the app manifest.
//! - [`kinds`]: whether a channel is public, private, a group DM or a DM (`conversations.info`).
//! - [`inbox`]: what an event means (commands, ignored bots and subtypes, new channels).
//!
//! [`Bot::start`] gives the bot's work to threads of its own (SQLite calls block); [`run()`] is
//! `ebmbot bot`; [`DelivererThread`] lets `dispatch` (and `web` without the bot) deliver
//! events without the rest. `serve`, with `SLACK_BOT_TOKEN` set:
//!
//! ```text
//! let bot = Bot::start(settings.clone(), catalog.clone()).await?; // auth.test, retried until Slack answers
//! let app = web_router.merge(events_router(bot.events_state())); // 503 without SLACK_SIGNING_SECRET
//! bot.run(shutdown).await?;                                       // Socket Mode when SLACK_APP_TOKEN is set
//! ```
//!
//! (without the token: `events_router(EventsState::unavailable(Off::NoBotToken))`).
//! A running [`Bot`] delivers events itself; do not start a [`DelivererThread`] beside it.

pub mod actions;
pub mod api;
pub mod catch_up;
pub mod channels;
pub mod deliver;
pub mod events_api;
pub mod history;
pub mod home;
pub mod inbox;
pub mod interactive;
pub mod kinds;
pub mod manifest;
pub mod receive;
pub mod reply;
pub mod socket;
pub mod support;
pub mod text;
pub mod users;
pub mod worker;

mod start;

use std::sync::Arc;

pub use events_api::{EventsState, Off, events_router};
pub use receive::receive;
pub use start::{Bot, DelivererThread};

use crate::config::{LiveCatalog, Settings};
use crate::queue::QueueError;

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("the Slack bot needs {0}")]
    Missing(String),
    #[error("Slack refused {token} (`{code}`); check the token and that the app is installed")]
    BadToken { token: &'static str, code: String },
    #[error("cannot open the queue for the Slack bot")]
    Queue(#[from] QueueError),
    #[error("cannot start the Slack {what} thread")]
    Thread {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error(
        "Slack turned Socket Mode off for this app (`{reason}`); turn it on again in the app's \
         settings (Socket Mode), or use the Events API instead (docs/slack.md)"
    )]
    SocketModeOff { reason: String },
}

impl BotError {
    /// A setting to fix (exit 2) rather than a failure (exit 1).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::Missing(_) | Self::BadToken { .. } | Self::Manifest(_) | Self::SocketModeOff { .. })
    }
}

/// The tokens `ebmbot bot` needs (Socket Mode); an error naming the missing ones.
pub fn check_tokens(settings: &Settings) -> Result<(), BotError> {
    let missing: Vec<&str> = [
        ("SLACK_BOT_TOKEN", settings.slack_bot_token.is_none()),
        ("SLACK_APP_TOKEN", settings.slack_app_token.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, missing)| missing.then_some(name))
    .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(BotError::Missing(format!(
        "SLACK_BOT_TOKEN (xoxb-…) and SLACK_APP_TOKEN (xapp-…, Socket Mode); missing: {}. \
         See docs/slack.md (the Events API runs under `ebmbot web` / `serve` instead)",
        missing.join(" and ")
    )))
}

/// `ebmbot bot`: Socket Mode, the worker and the deliverer until `shutdown` resolves. The bot
/// follows `catalog`: replace it (SIGHUP) and its threads take the new one at their next turn.
pub async fn run(
    settings: Arc<Settings>,
    catalog: impl Into<LiveCatalog>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), BotError> {
    check_tokens(&settings)?;
    let mut shutdown = std::pin::pin!(shutdown);
    let bot = tokio::select! {
        bot = Bot::start(settings, catalog) => bot?,
        () = &mut shutdown => return Ok(()),
    };
    bot.run(shutdown).await
}
