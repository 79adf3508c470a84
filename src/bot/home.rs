//! The App Home tab (docs/slack.md, "The Home tab"): what `status` says — running jobs, the next
//! pending ones, active suppressions, the dispatchers' heartbeats — and the failures of the last
//! day, of the namespaces the user may see (the one access policy: `status` runs for them).
//! Published with `views.publish` when they open the tab (`app_home_opened`), and again every
//! [`REFRESH`] for [`WATCH`] after, while they may still have it open. Nothing is stored: a
//! view that could not be published is published at the next refresh or opening.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::receive::Shared;
use crate::commands::access::{Caller, may_see};
use crate::commands::status::{Status, StatusReport};
use crate::commands::{Command, CommandError, Context, Output};
use crate::queue::ListFilter;
use crate::queue::model::{ChannelType, Job, JobState, Origin};

/// How often an open Home tab is refreshed.
pub const REFRESH: Duration = Duration::from_secs(30);
/// How long after its last opening a Home tab is still refreshed.
pub const WATCH: Duration = Duration::from_secs(600);
/// Jobs listed per section.
const SHOWN: usize = 10;

/// Who opened their Home tab, and when.
#[derive(Debug, Default)]
pub struct Viewers(Mutex<HashMap<String, Instant>>);

impl Viewers {
    pub fn opened(&self, user: &str, now: Instant) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).insert(user.to_owned(), now);
    }

    /// Those who opened it within [`WATCH`] before `now`; the others are forgotten.
    fn watching(&self, now: Instant) -> Vec<String> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.retain(|_, at| now.saturating_duration_since(*at) < WATCH);
        let mut users: Vec<String> = all.keys().cloned().collect();
        users.sort();
        users
    }
}

/// Refreshes the open Home tabs until the bot stops.
pub async fn run(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(REFRESH).await;
        for user in shared.home.watching(Instant::now()) {
            publish(&shared, &user).await;
        }
    }
}

/// Builds `user`'s Home tab and publishes it; a failure is logged.
pub async fn publish(shared: &Arc<Shared>, user: &str) {
    let internal = match shared.users.get(&shared.api, user).await {
        Ok(info) => info.internal && !info.is_bot,
        Err(_) => false,
    };
    let (s, u) = (shared.clone(), user.to_owned());
    let view = tokio::task::spawn_blocking(move || build(&s, &u, internal)).await;
    let view = match view {
        Ok(Ok(view)) => view,
        Ok(Err(e)) => return tracing::warn!(user, error = %crate::commands::describe(&e), "cannot build the Home tab"),
        Err(e) => return tracing::warn!(user, error = %e, "the task building the Home tab failed"),
    };
    if let Err(e) = shared.api.publish_home(user, view).await {
        tracing::warn!(user, error = &e as &dyn std::error::Error, "could not publish the Home tab");
    }
}

fn build(shared: &Shared, user: &str, internal: bool) -> Result<Value, CommandError> {
    let (_, catalog) = shared.catalog.current();
    let ctx = Context { settings: &shared.settings, catalog: &catalog, clock: &*shared.clock, mention: None };
    let origin = Origin::Slack {
        user: user.to_owned(),
        channel: user.to_owned(),
        channel_type: ChannelType::Other("app_home".into()),
        thread_ts: None,
        message_ts: None,
    };
    let caller = Caller::slack(origin, internal);
    let mut queue = shared.store.lock().unwrap_or_else(PoisonError::into_inner);
    let Output::Status(report) = Command::Status(Status).execute(&ctx, &caller, &mut queue)? else {
        return Err(CommandError::Usage("status returned something else"));
    };
    let since = ctx.clock.now() - jiff::SignedDuration::from_hours(24);
    let recent = queue.list(&ListFilter { all: true, since, limit: 500 })?;
    let failures: Vec<Job> = recent
        .into_iter()
        .filter(|j| matches!(j.state(), JobState::Failed | JobState::TimedOut | JobState::Lost))
        .filter(|j| may_see(&ctx, &caller, &j.namespace))
        .rev()
        .take(SHOWN)
        .collect();
    Ok(view(&report, &failures, &ctx))
}

/// The Home tab's view (docs/slack.md shows one as Block Kit JSON).
pub fn view(report: &StatusReport, failures: &[Job], ctx: &Context<'_>) -> Value {
    let tz = &ctx.settings.timezone;
    let now = ctx.clock.now();
    let line = |job: &Job, what: String| format!("• job {} `{}` {what}", job.id, job.job_type());
    let since = |t: jiff::Timestamp| {
        crate::config::duration::format(Duration::from_secs(now.duration_since(t).unsigned_abs().as_secs()))
    };
    let running: Vec<String> = report
        .running
        .iter()
        .take(SHOWN)
        .map(|j| line(j, j.status.run().map_or_else(String::new, |r| format!("running for {}", since(r.started_at)))))
        .collect();
    let pending: Vec<String> = report
        .pending
        .iter()
        .take(SHOWN)
        .map(|j| line(j, format!("starts {}", super::reply::when(j.start_after, tz))))
        .collect();
    let suppressed: Vec<String> = report
        .suppressions
        .iter()
        .map(|s| format!("• `{}` until {}", s.job_type, super::reply::when(s.end, tz)))
        .collect();
    let failed: Vec<String> = failures.iter().map(|j| line(j, j.state().to_string())).collect();
    let dispatchers: Vec<String> = report
        .dispatchers
        .iter()
        .map(|d| {
            let stale = if d.stale { " (stale)" } else { "" };
            format!(
                "• `{}` on `{}`: heartbeat {}s ago{stale}",
                d.dispatcher.kind, d.dispatcher.host, d.heartbeat_age_seconds
            )
        })
        .collect();
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text", "text": "ebmbot"}})];
    for (title, lines, none) in [
        ("Running", running, "Nothing is running."),
        ("Next", pending, "Nothing is queued."),
        ("Suppressed", suppressed, "No job type is suppressed."),
        ("Failed in the last day", failed, "No failures."),
        ("Dispatchers", dispatchers, "No dispatcher is running."),
    ] {
        let body = if lines.is_empty() { none.to_owned() } else { lines.join("\n") };
        let text = format!("*{title}*\n{}", super::deliver::format::escape_keeping_mentions(&body));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": super::interactive::last_chars(&text, 2_900)}}));
    }
    if !report.hidden.is_empty() {
        let text = "Some jobs of restricted namespaces are not shown.";
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}));
    }
    json!({"type": "home", "blocks": blocks})
}

#[cfg(test)]
mod viewer_tests {
    use super::*;

    #[test]
    fn a_tab_is_refreshed_for_ten_minutes_after_its_last_opening() {
        let start = Instant::now();
        let viewers = Viewers::default();
        viewers.opened("U1", start);
        viewers.opened("U2", start + Duration::from_secs(300));
        assert_eq!(viewers.watching(start + REFRESH), ["U1", "U2"]);
        assert_eq!(viewers.watching(start + Duration::from_secs(599)), ["U1", "U2"]);
        assert_eq!(viewers.watching(start + WATCH), ["U2"], "U1's ten minutes are over");
        viewers.opened("U1", start + WATCH + Duration::from_secs(1));
        assert_eq!(viewers.watching(start + WATCH + REFRESH), ["U1", "U2"], "opened again: watched again");
        assert!(viewers.watching(start + WATCH * 3).is_empty());
    }
}
