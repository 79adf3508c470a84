//! What ebmbot asks of Slack, in one place: each Web API method it calls with the bot token
//! and the scopes Slack requires for it ([`METHODS`]), each event it subscribes to and its
//! scope ([`EVENTS`]). From these come the app manifest (`ebmbot slack manifest`) and the
//! check at start of the token's scopes against what the settings need ([`Needs::missing`]).
//!
//! A call of a method missing from [`METHODS`] fails every test that makes it: the tests'
//! fake Slack grants exactly these scopes and answers `missing_scope` otherwise, as Slack does.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::config::{Catalog, Settings};

/// When ebmbot calls a method or needs a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// `SLACK_AUTO_JOIN=true`.
    AutoJoin,
    /// A support listener is configured (`[[ns.listeners]]`): it hears messages in channels.
    Listeners,
}

/// A Web API method ebmbot calls with the bot token.
#[derive(Debug, Clone, Copy)]
pub struct Method {
    pub name: &'static str,
    /// Every scope the call needs (Slack's reference, "Required scopes"); empty for none.
    pub scopes: &'static [&'static str],
    pub when: When,
}

const fn m(name: &'static str, scopes: &'static [&'static str], when: When) -> Method {
    Method { name, scopes, when }
}

/// Every Web API method ebmbot calls with the bot token (`xoxb-…`), from Slack's method
/// reference (api.slack.com/methods/<name>).
pub const METHODS: &[Method] = &[
    m("auth.test", &[], When::Always),
    m("chat.postMessage", &["chat:write"], When::Always),
    m("chat.getPermalink", &[], When::Always),
    m("reactions.add", &["reactions:write"], When::Always),
    m("files.getUploadURLExternal", &["files:write"], When::Always),
    // The upload URL `files.getUploadURLExternal` hands out: no method, no scope.
    m("files.upload_url", &[], When::Always),
    m("files.completeUploadExternal", &["files:write"], When::Always),
    m("users.info", &["users:read"], When::Always),
    m("users.list", &["users:read"], When::Always),
    // Public channels, and the private ones ebmbot is in (`#name` → id).
    m("conversations.list", &["channels:read", "groups:read"], When::Always),
    m("conversations.join", &["channels:join"], When::AutoJoin),
    // Whether a channel is public, private, a group DM or a DM (`app_mention` does not say):
    // each kind needs its own scope.
    m("conversations.info", &["channels:read", "groups:read", "im:read", "mpim:read"], When::Always),
    // The catch-up after a start or a reconnection reads what was said meanwhile in the
    // channels the bot is in.
    m("users.conversations", &["channels:read", "groups:read"], When::Always),
    m("conversations.history", &["channels:history", "groups:history"], When::Always),
    // Answers only the clicker or the slash command's user sees; the Logs button's modal.
    m("chat.postEphemeral", &["chat:write"], When::Always),
    // A slash command's `response_url`: no method, no scope.
    m("response_url", &[], When::Always),
    // A queued job's message says how it ended.
    m("chat.update", &["chat:write"], When::Always),
    m("views.open", &[], When::Always),
    m("views.publish", &[], When::Always),
];

/// The method called with the app-level token (`xapp-…`, Socket Mode), and that token's scope.
pub const APP_TOKEN_METHOD: (&str, &str) = ("apps.connections.open", "connections:write");

/// Scopes no method call needs, with why ebmbot asks for them.
pub const EXTRA_SCOPES: &[(&str, &str, When)] = &[
    (
        "chat:write.public",
        "post in public channels ebmbot has not joined (SLACK_LOGS_CHANNEL, --notify, default_channel)",
        When::Always,
    ),
    ("commands", "the /ebmbot slash command", When::Always),
];

/// The slash command ebmbot answers, and its usage hint.
pub const SLASH_COMMAND: (&str, &str) = ("/ebmbot", "help | status | <namespace> <command> …");

/// An event ebmbot subscribes to (`bot_events`), and the scope Slack requires for it
/// (api.slack.com/events/<name>).
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub name: &'static str,
    pub scope: &'static str,
    pub when: When,
}

/// Every event ebmbot subscribes to.
pub const EVENTS: &[Event] = &[
    Event { name: "app_mention", scope: "app_mentions:read", when: When::Always },
    Event { name: "message.im", scope: "im:history", when: When::Always },
    Event { name: "channel_created", scope: "channels:read", when: When::AutoJoin },
    // A channel's kind or name may have changed: it is looked up again (`bot::kinds`).
    Event { name: "channel_rename", scope: "channels:read", when: When::Always },
    Event { name: "channel_archive", scope: "channels:read", when: When::Always },
    Event { name: "channel_unarchive", scope: "channels:read", when: When::Always },
    Event { name: "channel_deleted", scope: "channels:read", when: When::Always },
    Event { name: "channel_shared", scope: "channels:read", when: When::Always },
    Event { name: "channel_unshared", scope: "channels:read", when: When::Always },
    Event { name: "channel_left", scope: "channels:read", when: When::Always },
    Event { name: "group_rename", scope: "groups:read", when: When::Always },
    Event { name: "group_archive", scope: "groups:read", when: When::Always },
    Event { name: "group_unarchive", scope: "groups:read", when: When::Always },
    Event { name: "group_deleted", scope: "groups:read", when: When::Always },
    Event { name: "group_left", scope: "groups:read", when: When::Always },
    Event { name: "member_joined_channel", scope: "channels:read", when: When::Always },
    Event { name: "member_left_channel", scope: "channels:read", when: When::Always },
    // A user made a guest (or deactivated) loses access at once.
    Event { name: "user_change", scope: "users:read", when: When::Always },
    Event { name: "message.channels", scope: "channels:history", when: When::Listeners },
    Event { name: "message.groups", scope: "groups:history", when: When::Listeners },
    // The Home tab is published when its user opens it (no scope).
    Event { name: "app_home_opened", scope: "", when: When::Always },
];

/// The method's row in [`METHODS`].
pub fn method(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

/// Every bot scope any setting may need (what the tests' fake Slack grants).
pub fn all_scopes() -> BTreeSet<&'static str> {
    let all = Needs { auto_join: true, listeners: true };
    all.scopes().into_iter().map(|(scope, _)| scope).collect()
}

/// What the settings make ebmbot ask of Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub auto_join: bool,
    /// The catalogue has support listeners.
    pub listeners: bool,
}

impl Needs {
    pub fn of(settings: &Settings, catalog: &Catalog) -> Needs {
        Needs { auto_join: settings.slack_auto_join, listeners: catalog.listeners().next().is_some() }
    }

    fn wants(self, when: When) -> bool {
        match when {
            When::Always => true,
            When::AutoJoin => self.auto_join,
            When::Listeners => self.listeners,
        }
    }

    /// The methods ebmbot calls with these settings.
    pub fn methods(self) -> impl Iterator<Item = &'static Method> {
        METHODS.iter().filter(move |m| self.wants(m.when))
    }

    /// The events it subscribes to.
    pub fn events(self) -> impl Iterator<Item = &'static Event> {
        EVENTS.iter().filter(move |e| self.wants(e.when))
    }

    /// Each bot scope, sorted, with what needs it (`users.info, users.list`).
    pub fn scopes(self) -> Vec<(&'static str, String)> {
        let mut by: std::collections::BTreeMap<&'static str, Vec<String>> = std::collections::BTreeMap::new();
        for method in self.methods() {
            for scope in method.scopes {
                by.entry(scope).or_default().push(method.name.to_owned());
            }
        }
        for event in self.events().filter(|e| !e.scope.is_empty()) {
            by.entry(event.scope).or_default().push(format!("{} events", event.name));
        }
        for (scope, why, when) in EXTRA_SCOPES {
            if self.wants(*when) {
                by.entry(scope).or_default().push((*why).to_owned());
            }
        }
        by.into_iter().map(|(scope, why)| (scope, why.join(", "))).collect()
    }

    /// The scopes these settings need that `granted` (auth.test's `x-oauth-scopes`) lacks.
    pub fn missing(self, granted: &BTreeSet<String>) -> Vec<&'static str> {
        self.scopes().into_iter().map(|(scope, _)| scope).filter(|s| !granted.contains(*s)).collect()
    }
}

/// `--events-api-url` that is not an https URL.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "--events-api-url `{0}` is not valid: {1}; give ebmbot's public https address, \
         such as https://ebmbot.example.com (`/slack/events` is added)"
    )]
    BadUrl(String, String),
    #[error("SLACK_APP_USERNAME `{0}` is not valid for an app's name: {1}; give 1 to 35 characters")]
    BadName(String, &'static str),
}

/// The app manifest: Socket Mode, or the Events API at a request URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub name: String,
    /// The Events API's request URL (`…/slack/events`); `None`: Socket Mode.
    pub request_url: Option<String>,
    pub needs: Needs,
}

impl Manifest {
    pub fn new(
        settings: &Settings,
        catalog: &Catalog,
        events_api_url: Option<&str>,
    ) -> Result<Manifest, ManifestError> {
        let name = settings.slack_app_username.trim().to_owned();
        let chars = name.chars().count();
        if chars == 0 || chars > 35 {
            return Err(ManifestError::BadName(name, if chars == 0 { "it is empty" } else { "it is too long" }));
        }
        let request_url = events_api_url.map(request_url).transpose()?;
        Ok(Manifest { name, request_url, needs: Needs::of(settings, catalog) })
    }

    /// The manifest as Slack's JSON form (what `--json` prints; Slack takes it as well).
    pub fn to_json(&self) -> Value {
        let mut events = json!({
            "bot_events": self.needs.events().map(|e| e.name).collect::<Vec<_>>(),
        });
        if let Some(url) = &self.request_url {
            events["request_url"] = json!(url);
        }
        json!({
            "display_information": {"name": self.name},
            "features": {
                "bot_user": {"display_name": self.name, "always_online": true},
                "app_home": {"home_tab_enabled": true, "messages_tab_enabled": true,
                             "messages_tab_read_only_enabled": false},
                "slash_commands": self.slash_command(),
            },
            "oauth_config": {"scopes": {"bot": self.needs.scopes().into_iter().map(|(s, _)| s).collect::<Vec<_>>()}},
            "settings": {
                "event_subscriptions": events,
                "interactivity": self.interactivity(),
                "org_deploy_enabled": false,
                "socket_mode_enabled": self.request_url.is_none(),
                "token_rotation_enabled": false,
            },
        })
    }

    /// Buttons (Cancel, Rerun, Logs): over Socket Mode, or posted to `/slack/interactive`.
    fn interactivity(&self) -> Value {
        match &self.request_url {
            Some(url) => json!({"is_enabled": true, "request_url": sibling(url, "interactive")}),
            None => json!({"is_enabled": true}),
        }
    }

    /// `/ebmbot`: over Socket Mode, or posted to `/slack/commands`.
    fn slash_command(&self) -> Value {
        let (command, hint) = SLASH_COMMAND;
        let mut c = json!({"command": command, "description": "Ask ebmbot (as a mention would)", "usage_hint": hint,
                           "should_escape": false});
        if let Some(url) = &self.request_url {
            c["url"] = json!(sibling(url, "commands"));
        }
        json!([c])
    }

    /// The manifest as YAML, each scope with a comment saying what needs it.
    pub fn to_yaml(&self) -> String {
        // Names and URLs as JSON strings: a JSON string is a YAML double-quoted scalar.
        let q = |s: &str| Value::String(s.to_owned()).to_string();
        let mut out =
            String::from("# The Slack app manifest of ebmbot (`ebmbot slack manifest`; see docs/slack.md).\n");
        match &self.request_url {
            None => out.push_str(
                "# Socket Mode: also create an app-level token with the scope `connections:write`\n\
                 # (Basic Information → App-Level Tokens): that is SLACK_APP_TOKEN.\n",
            ),
            Some(_) => out.push_str("# Events API: Slack posts events to the request URL; set SLACK_SIGNING_SECRET.\n"),
        }
        out.push_str(&format!("display_information:\n  name: {}\n", q(&self.name)));
        out.push_str(&format!(
            "features:\n  bot_user:\n    display_name: {}\n    always_online: true\n  app_home:\n    \
             home_tab_enabled: true\n    messages_tab_enabled: true\n    messages_tab_read_only_enabled: false\n",
            q(&self.name)
        ));
        let slash = self.slash_command();
        out.push_str(&format!(
            "  slash_commands:\n    - command: {}\n      description: {}\n      usage_hint: {}\n      should_escape: false\n",
            q(SLASH_COMMAND.0),
            slash[0]["description"],
            q(SLASH_COMMAND.1)
        ));
        if let Some(url) = slash[0]["url"].as_str() {
            out.push_str(&format!("      url: {}\n", q(url)));
        }
        out.push_str("oauth_config:\n  scopes:\n    bot:\n");
        for (scope, why) in self.needs.scopes() {
            out.push_str(&format!("      - {scope:<20} # {why}\n"));
        }
        out.push_str("settings:\n  event_subscriptions:\n");
        if let Some(url) = &self.request_url {
            out.push_str(&format!("    request_url: {}\n", q(url)));
        }
        out.push_str("    bot_events:\n");
        for event in self.needs.events() {
            out.push_str(&format!("      - {}\n", event.name));
        }
        out.push_str("  interactivity:\n    is_enabled: true\n");
        if let Some(url) = &self.request_url {
            out.push_str(&format!("    request_url: {}\n", q(&sibling(url, "interactive"))));
        }
        out.push_str(&format!(
            "  org_deploy_enabled: false\n  socket_mode_enabled: {}\n  token_rotation_enabled: false\n",
            self.request_url.is_none()
        ));
        out
    }
}

/// The Events API request URL's sibling endpoint: `…/slack/events` → `…/slack/<name>`.
fn sibling(events_url: &str, name: &str) -> String {
    format!("{}/{name}", events_url.trim_end_matches("/events"))
}

/// `https://host[/path]` → the request URL, `/slack/events` added unless it ends so.
fn request_url(given: &str) -> Result<String, ManifestError> {
    let bad = |why: &str| ManifestError::BadUrl(given.to_owned(), why.to_owned());
    let url = url::Url::parse(given).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "https" {
        return Err(bad("Slack sends events only to https URLs"));
    }
    if url.host_str().is_none_or(str::is_empty) || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it needs a host, and no query or fragment"));
    }
    let base = url.as_str().trim_end_matches('/');
    Ok(if base.ends_with("/slack/events") { base.to_owned() } else { format!("{base}/slack/events") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_the_code_calls_has_its_row() {
        // Every call through `done` or `observed` in src/bot/ names its method as a literal.
        let mut called = BTreeSet::new();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/bot");
        let mut stack = vec![std::path::PathBuf::from(dir)];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for call in [".done(\"", ".observed(\""] {
                    for part in text.split(call).skip(1) {
                        called.insert(part.split('"').next().unwrap().to_owned());
                    }
                }
            }
        }
        assert!(called.contains("chat.postMessage"), "the scan found the calls: {called:?}");
        let unknown: Vec<_> = called.iter().filter(|m| method(m).is_none()).collect();
        assert!(unknown.is_empty(), "methods called without a row in manifest::METHODS: {unknown:?}");
        let unused: Vec<_> = METHODS.iter().filter(|m| !called.contains(m.name)).map(|m| m.name).collect();
        assert!(unused.is_empty(), "rows of manifest::METHODS no code calls: {unused:?}");
    }

    #[test]
    fn the_urls_slack_takes() {
        assert_eq!(request_url("https://bot.example.com").unwrap(), "https://bot.example.com/slack/events");
        assert_eq!(request_url("https://bot.example.com/ebm/").unwrap(), "https://bot.example.com/ebm/slack/events");
        assert_eq!(request_url("https://x.example/slack/events").unwrap(), "https://x.example/slack/events");
        for bad in ["http://bot.example.com", "bot.example.com", "https://x.example/?a=b", ""] {
            assert!(request_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_join_adds_its_scope_and_event() {
        let off = Needs { auto_join: false, listeners: false }.scopes();
        let on = Needs { auto_join: true, listeners: false }.scopes();
        assert!(!off.iter().any(|(s, _)| *s == "channels:join") && on.iter().any(|(s, _)| *s == "channels:join"));
        assert!(off.iter().any(|(s, _)| *s == "chat:write.public"));
        let events = |auto_join, listeners| Needs { auto_join, listeners }.events().map(|e| e.name).collect::<Vec<_>>();
        assert_eq!(events(false, false)[..2], ["app_mention", "message.im"]);
        assert!(!events(false, false).contains(&"channel_created") && events(true, false).contains(&"channel_created"));
        assert!(!events(false, false).contains(&"message.channels"));
        assert!(events(false, true).contains(&"message.channels") && events(false, true).contains(&"message.groups"));
    }
}
