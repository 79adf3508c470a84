//! Channels: `#name` → id through a paginated, cached `conversations.list`, and joining public
//! channels (all of them at start-up, in the background and paced; new ones as they are
//! created) when `SLACK_AUTO_JOIN` is on.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::api::{CallError, SlackApi};

/// How long a listing of channel names is trusted before a miss lists them again.
const REFRESH_AFTER: Duration = Duration::from_secs(60);

/// The longest wait between tries while joining.
const MAX_WAIT: Duration = Duration::from_secs(300);

/// Channel names → ids, listed on demand.
#[derive(Default)]
pub struct Channels {
    names: Mutex<Names>,
}

#[derive(Default)]
struct Names {
    ids: HashMap<String, String>,
    listed_at: Option<Instant>,
}

impl Channels {
    pub fn new() -> Channels {
        Channels::default()
    }

    /// The id of a channel given as an id (`C…`, `G…`, `D…`) or as `#name`. A name not in the
    /// cache lists the channels again (at most once a minute); `Ok(None)` if it is unknown.
    pub async fn resolve(&self, api: &SlackApi, channel: &str) -> Result<Option<String>, CallError> {
        let Some(name) = channel.strip_prefix('#') else {
            return Ok(Some(channel.to_owned()));
        };
        let fresh = {
            let names = self.names.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(id) = names.ids.get(name) {
                return Ok(Some(id.clone()));
            }
            names.listed_at.is_some_and(|at| at.elapsed() < REFRESH_AFTER)
        };
        if fresh {
            return Ok(None);
        }
        let ids = list(api, true).await?.into_iter().map(|c| (c.name, c.id)).collect::<HashMap<_, _>>();
        let found = ids.get(name).cloned();
        let mut names = self.names.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *names = Names { ids, listed_at: Some(Instant::now()) };
        Ok(found)
    }
}

/// A channel as listed.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub public: bool,
    pub member: bool,
}

/// Every unarchived channel the listing shows, following pagination.
pub async fn list(api: &SlackApi, private: bool) -> Result<Vec<Listed>, CallError> {
    list_with(api, private, None).await
}

/// [`list`]; with `patience`, a page that fails for now (`ratelimited`, a network error, a
/// 5xx) is asked for again after as long as Slack's Retry-After says, else after `patience`
/// doubling to 5 minutes, rather than ending the listing.
async fn list_with(api: &SlackApi, private: bool, patience: Option<Duration>) -> Result<Vec<Listed>, CallError> {
    let mut cursor = None;
    let mut out = Vec::new();
    let mut wait = patience.unwrap_or_default();
    loop {
        let (page, next) = match api.channels_page(cursor.clone(), private).await {
            Ok(answer) => answer,
            Err(e) if e.is_transient() && patience.is_some() => {
                let retry = e.retry_after().unwrap_or(wait);
                tracing::warn!(error = &e as &dyn std::error::Error, "listing channels paused; retrying in {retry:?}");
                tokio::time::sleep(retry).await;
                wait = (wait * 2).min(MAX_WAIT);
                continue;
            }
            Err(e) => return Err(e),
        };
        out.extend(page.into_iter().filter(|c| !c.flags.is_archived.unwrap_or(false)).map(|c| Listed {
            id: c.id.0,
            name: c.name.unwrap_or_default(),
            public: !c.flags.is_private.unwrap_or(false) && !c.flags.is_group.unwrap_or(false),
            member: c.flags.is_member.unwrap_or(false),
        }));
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Joins every public, unarchived channel the bot is not in, one every `pace`; a
/// `ratelimited` answer (to the listing or to a join) waits as long as Slack asks. Returns
/// how many it joined.
pub async fn join_all(api: &SlackApi, pace: Duration) -> Result<usize, CallError> {
    let mut joined = 0;
    for channel in list_with(api, false, Some(pace)).await?.into_iter().filter(|c| c.public && !c.member) {
        let mut wait = pace;
        loop {
            match api.join(&channel.id).await {
                Ok(()) => {
                    joined += 1;
                    tracing::info!(channel = %channel.id, name = %channel.name, "joined a public channel");
                    break;
                }
                Err(e) if e.is_transient() => {
                    let retry = e.retry_after().map_or(wait, |after| after.max(pace));
                    tracing::warn!(channel = %channel.id, error = &e as &dyn std::error::Error, "joining paused; retrying in {retry:?}");
                    tokio::time::sleep(retry).await;
                    wait = (wait * 2).min(MAX_WAIT);
                }
                Err(e) => {
                    tracing::warn!(channel = %channel.id, name = %channel.name, error = &e as &dyn std::error::Error, "could not join a channel");
                    break;
                }
            }
        }
        tokio::time::sleep(pace).await;
    }
    Ok(joined)
}

/// Joins a newly created public channel.
pub async fn join_new(api: &SlackApi, channel: &str) {
    match api.join(channel).await {
        Ok(()) => tracing::info!(channel, "joined a new public channel"),
        Err(e) => tracing::warn!(channel, error = &e as &dyn std::error::Error, "could not join a new channel"),
    }
}
