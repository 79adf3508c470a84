//! What `ebmbot web` and `ebmbot serve` print at start (stderr): the address, the database, the
//! config, and each part that is on, or off and why. The first line ends with the address
//! actually bound (`--bind 127.0.0.1:0` gets a free port), for people and for tests.

use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::commands::webhook::project_name;
use crate::config::{Catalog, Settings, duration};

/// The banner, one line per part.
pub fn text(settings: &Settings, catalog: &Catalog, addr: SocketAddr, with_dispatcher: bool) -> String {
    let name = if with_dispatcher { "serve" } else { "web" };
    let mut out = format!("ebmbot {name} {}: listening on http://{addr}", env!("CARGO_PKG_VERSION"));
    let mut line = |label: &str, value: String| {
        let _ = write!(out, "\n  {:<16} {value}", format!("{label}:"));
    };
    line("endpoints", format!("GET http://{addr}/healthz, /readyz, /metrics, /check/"));
    line("database", settings.db.display().to_string());
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
        line("Slack bot", slack_bot(settings));
    } else {
        line("dispatcher", "off (`ebmbot web` only serves HTTP; run `ebmbot dispatch`, or `ebmbot serve`)".to_owned());
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

/// Whether the Slack bot runs, and if not, why.
pub fn slack_bot(settings: &Settings) -> String {
    match (settings.slack_bot_token.is_some(), settings.slack_app_token.is_some()) {
        (false, false) => "off (SLACK_BOT_TOKEN and SLACK_APP_TOKEN are not set)".to_owned(),
        (true, false) => "off (SLACK_APP_TOKEN is not set)".to_owned(),
        (false, true) => "off (SLACK_BOT_TOKEN is not set)".to_owned(),
        (true, true) => "off (not yet part of `ebmbot serve`; run `ebmbot bot` beside it)".to_owned(),
    }
}
