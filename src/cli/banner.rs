//! What `ebmbot web` and `ebmbot serve` print at start (stderr): the address, the database, the
//! config, and each part that is on, or off and why. The first line ends with the address
//! actually bound (`--bind 127.0.0.1:0` gets a free port), for people and for tests.

use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::commands::webhook::project_name;
use crate::config::{Catalog, Settings, duration};
use crate::queue::ChannelsHeard;

/// The banner, one line per part.
/// `heard`: the channels the bot was in when it last listed them (support listeners hear only
/// those).
pub(super) fn text(
    settings: &Settings,
    catalog: &Catalog,
    addr: SocketAddr,
    with_dispatcher: bool,
    heard: Option<ChannelsHeard>,
) -> String {
    let name = if with_dispatcher { "serve" } else { "web" };
    let mut out = format!("ebmbot {name} {}: listening on http://{addr}", env!("CARGO_PKG_VERSION"));
    let mut line = |label: &str, value: String| {
        let _ = write!(out, "\n  {:<16} {value}", format!("{label}:"));
    };
    line("endpoints", format!("GET http://{addr}/healthz, /readyz, /metrics, /check/"));
    line("database", settings.db.to_string());
    let jobs: usize = catalog.namespaces.values().map(|ns| ns.jobs.len()).sum();
    line("config", format!("{} ({} namespace(s), {jobs} job(s))", catalog.path.display(), catalog.namespaces.len()));
    line("GitHub webhooks", github(settings, catalog, addr));
    if with_dispatcher {
        line(
            "dispatcher",
            format!(
                "on: at most {} job(s) at once; logs in {}; on SIGTERM running jobs get {} (EBMBOT_SHUTDOWN_GRACE)",
                settings.max_jobs,
                settings.logs_dir.display(),
                duration::format(settings.shutdown_grace)
            ),
        );
    } else {
        line("dispatcher", "off (`ebmbot web` only serves HTTP; run `ebmbot dispatch`, or `ebmbot serve`)".to_owned());
    }
    line("Slack bot", slack_bot(settings, with_dispatcher));
    let listeners: Vec<&str> = catalog.listeners().map(|l| l.name.as_str()).collect();
    if !listeners.is_empty() {
        let heard = match heard.filter(|h| h.listed_at.is_some()) {
            Some(h) => format!("{} at the last count", h.channels),
            None => "not counted yet".to_owned(),
        };
        line(
            "support",
            format!(
                "{} listener(s) ({}) hear only the channels ebmbot is in: {heard}; invite ebmbot to a channel, or set \
                 SLACK_AUTO_JOIN=true",
                listeners.len(),
                listeners.join(", ")
            ),
        );
    }
    out
}

fn github(settings: &Settings, catalog: &Catalog, addr: SocketAddr) -> String {
    if settings.github_webhook_secret.is_none() {
        return "off (GITHUB_WEBHOOK_SECRET is not set)".to_owned();
    }
    let projects: Vec<&str> = catalog.namespaces.values().filter_map(project_name).collect();
    if projects.is_empty() {
        return "on, but no namespace has `[[ns.github]]` triggers or a `deploy` job, so every project is unknown"
            .to_owned();
    }
    format!("on: POST http://{addr}/github/<project>/ for {}", projects.join(", "))
}

/// Whether the Slack bot runs (and how), and if not, why. `socket`: whether this process may
/// run Socket Mode (`serve` may, `web` may not).
pub(super) fn slack_bot(settings: &Settings, socket: bool) -> String {
    if settings.slack_bot_token.is_none() {
        return "off (SLACK_BOT_TOKEN is not set)".to_owned();
    }
    let socket_mode = match (socket, settings.slack_app_token.is_some()) {
        (true, true) => "Socket Mode on",
        (true, false) => "Socket Mode off (SLACK_APP_TOKEN is not set)",
        (false, _) => "Socket Mode off (it runs in `ebmbot bot` and `ebmbot serve`)",
    };
    let events_api = if settings.slack_signing_secret.is_some() {
        "Events API on (POST /slack/events)"
    } else {
        "Events API off (SLACK_SIGNING_SECRET is not set)"
    };
    format!("on once auth.test answers: {socket_mode}; {events_api}; delivering results")
}
