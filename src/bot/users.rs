//! Who is internal (docs/slack.md §4): from `users.info`, a user of the bot's own
//! team (or, with `SLACK_ENTERPRISE_ID`, of any workspace of that Enterprise Grid organisation)
//! who is not restricted, ultra-restricted, a bot or deleted. Answers are cached for an
//! hour; `users.list` (every page) warms the cache at start-up and never decides alone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use slack_morphism::prelude::SlackUser;

use super::api::{CallError, SlackApi};

const TTL: Duration = Duration::from_secs(3600);

/// Slackbot, the sender of reminders: handled as a user who is not internal.
pub const SLACKBOT: &str = "USLACKBOT";

/// What the bot needs to know about a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserInfo {
    pub internal: bool,
    pub is_bot: bool,
}

impl UserInfo {
    /// `enterprise`: the organisation whose other workspaces count as the bot's own.
    pub fn of(user: &SlackUser, team_id: &str, enterprise: Option<&str>) -> UserInfo {
        let flag = |f: Option<bool>| f.unwrap_or(false);
        let is_bot = flag(user.flags.is_bot);
        let same_team = user.team_id.as_ref().is_some_and(|t| t.0 == team_id);
        let same_org =
            enterprise.is_some_and(|e| user.enterprise_user.as_ref().is_some_and(|u| u.enterprise_id.0 == e));
        let internal = (same_team || same_org)
            && !flag(user.flags.is_restricted)
            && !flag(user.flags.is_ultra_restricted)
            && !is_bot
            && !flag(user.deleted);
        UserInfo { internal, is_bot }
    }
}

/// The cache of users' [`UserInfo`].
pub struct Users {
    team_id: String,
    enterprise: Option<String>,
    cache: Mutex<HashMap<String, (UserInfo, Instant)>>,
}

impl Users {
    pub fn new(team_id: &str, enterprise: Option<String>) -> Users {
        Users { team_id: team_id.to_owned(), enterprise, cache: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, id: &str) -> Option<UserInfo> {
        let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.get(id).filter(|(_, at)| at.elapsed() < TTL).map(|(info, _)| *info)
    }

    fn store(&self, user: &SlackUser) -> UserInfo {
        let info = UserInfo::of(user, &self.team_id, self.enterprise.as_deref());
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.insert(user.id.0.clone(), (info, Instant::now()));
        info
    }

    /// A user's info: from the cache when fresh, else from `users.info`.
    pub async fn get(&self, api: &SlackApi, id: &str) -> Result<UserInfo, CallError> {
        if id == SLACKBOT {
            return Ok(UserInfo { internal: false, is_bot: false });
        }
        if let Some(info) = self.cached(id) {
            return Ok(info);
        }
        let user = api.user(id).await?;
        Ok(self.store(&user))
    }

    /// A `user_change` event's user object: stored at once, so a user who became a guest (or
    /// was deactivated) loses access with their next message, not an hour later. An object
    /// that does not parse drops what was cached of its id, so the next message asks Slack.
    pub fn changed(&self, user: &serde_json::Value) {
        match serde_json::from_value::<SlackUser>(user.clone()) {
            Ok(user) => {
                let info = self.store(&user);
                tracing::info!(user = %user.id, internal = info.internal, "a user changed");
            }
            Err(e) => {
                let id = user.get("id").and_then(serde_json::Value::as_str).unwrap_or_default();
                tracing::warn!(
                    user = id,
                    error = &e as &dyn std::error::Error,
                    "a `user_change` event ebmbot cannot read; the user will be looked up again"
                );
                self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
            }
        }
    }

    /// Fills the cache from `users.list`, every page. Returns how many users it saw.
    pub async fn warm(&self, api: &SlackApi) -> Result<usize, CallError> {
        let mut cursor = None;
        let mut seen = 0;
        loop {
            let (members, next) = api.users_page(cursor).await?;
            seen += members.len();
            for user in &members {
                self.store(user);
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(seen),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(json: serde_json::Value) -> SlackUser {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn internal_means_same_team_and_no_restriction() {
        let info = |j| UserInfo::of(&user(j), "T1", None);
        assert!(info(serde_json::json!({"id": "U1", "team_id": "T1"})).internal);
        assert!(!info(serde_json::json!({"id": "U1", "team_id": "T2"})).internal, "other team");
        assert!(!info(serde_json::json!({"id": "U1", "team_id": "T1", "is_restricted": true})).internal);
        assert!(!info(serde_json::json!({"id": "U1", "team_id": "T1", "is_ultra_restricted": true})).internal);
        assert!(!info(serde_json::json!({"id": "U1", "team_id": "T1", "deleted": true})).internal);
        let bot = info(serde_json::json!({"id": "U1", "team_id": "T1", "is_bot": true}));
        assert!(!bot.internal && bot.is_bot);
        assert!(!info(serde_json::json!({"id": "U1"})).internal, "no team");
    }

    #[test]
    fn other_workspaces_of_the_organisation_count_only_when_configured() {
        // A user of another workspace of the same Enterprise Grid organisation, as users.info
        // gives it (https://docs.slack.dev/reference/objects/user-object, `enterprise_user`).
        let grid = user(serde_json::json!({"id": "W0123", "team_id": "T2", "enterprise_user": {
            "id": "W0123", "enterprise_id": "E1", "enterprise_name": "Org", "is_admin": false, "is_owner": false,
            "teams": ["T2"]}}));
        assert!(!UserInfo::of(&grid, "T1", None).internal, "not by default");
        assert!(UserInfo::of(&grid, "T1", Some("E1")).internal);
        assert!(!UserInfo::of(&grid, "T1", Some("E2")).internal, "another organisation");
        let mut guest = grid.clone();
        guest.flags.is_restricted = Some(true);
        assert!(!UserInfo::of(&guest, "T1", Some("E1")).internal, "a guest stays a guest");
    }
}
