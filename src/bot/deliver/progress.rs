//! While a job runs, its queued messages say for how long, with the last lines of its output
//! (docs/slack.md, "Buttons and /ebmbot"). Each message is updated at most every
//! `SLACK_PROGRESS_EVERY` (10 s), all of them together within `chat.update`'s rate tier (Tier 3,
//! about 50 a minute): at most [`BUDGET`] progress updates a minute, the longest-unchanged first,
//! the newest state rendered at the time of the update (older states are never queued, so
//! nothing stale is sent). The final state is the finished event's, delivered as any message
//! and never held back, but it counts in the minute's budget, so progress waits while many
//! jobs end at once; a progress update that crossed the end puts the final state back.
//! Only the bot's own deliverer (in `bot` and `serve`) makes them, and of several bots (on
//! several hosts) only the one holding the queue's progress lease ([`LEASE`], renewed every
//! [`RENEW_EVERY`]): the budget is the whole bot's, whatever the number of processes.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::commands::logs::{Part, Stream};
use crate::queue::model::{Job, JobId, JobState};

use super::Deliverer;
use super::plan::Button;

/// Progress updates a minute, all messages together (Slack's Tier 3 is about 50; the rest is
/// left for final states and other updates).
pub const BUDGET: usize = 40;
/// How often the running jobs' messages are looked at.
pub const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How long the progress lease lasts: a bot that died is taken over by another within it.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often the lease is renewed (or, by a bot without it, asked for).
pub const RENEW_EVERY: Duration = Duration::from_secs(10);
/// Lines of output a running job's message shows.
const LINES: usize = 3;

/// What the progress updates keep between looks.
#[derive(Debug, Default)]
pub struct Progress {
    /// When each message (by ts) was last updated by this deliverer.
    last: HashMap<String, Instant>,
    /// When the progress updates of the last minute were sent.
    sent: VecDeque<Instant>,
    looked: Option<Instant>,
    /// When the progress lease was last asked for, and whether this deliverer holds it.
    claimed: Option<(Instant, bool)>,
    /// Whether a running job had a message at the last look (the deliverer then looks again
    /// within [`LOOK_EVERY`]).
    pub active: bool,
}

impl Progress {
    /// A `chat.update` was made for a job's end: it counts in the minute's budget, before any
    /// progress update (final states go first; progress waits for what is left).
    pub fn spent(&mut self) {
        self.sent.push_back(Instant::now());
    }

    /// Whether this deliverer held the progress lease when it last asked.
    pub fn held(&self) -> bool {
        self.claimed.is_some_and(|(_, held)| held)
    }
}

impl Deliverer {
    /// Updates the running jobs' messages that are due, within the budget.
    pub(super) fn progress(&mut self) {
        // While Slack refuses the token nothing is sent, progress included.
        if self.local.paused.is_some() {
            return;
        }
        let Some(progress) = self.local.progress.as_mut() else { return };
        if progress.looked.is_some_and(|at| at.elapsed() < LOOK_EVERY) {
            return;
        }
        progress.looked = Some(Instant::now());
        let messages = match self.queue.running_live_messages() {
            Ok(messages) => messages,
            Err(e) => {
                return tracing::warn!(error = &e as &dyn std::error::Error, "cannot read running jobs' messages");
            }
        };
        let every = self.settings.slack_progress_every;
        let progress = self.local.progress.as_mut().expect("checked above");
        progress.active = !messages.is_empty();
        // Forget the messages of jobs no longer running (the map would grow with every job).
        progress.last.retain(|ts, _| messages.iter().any(|(_, _, m)| m == ts));
        if messages.is_empty() || !self.holds_progress_lease() {
            return;
        }
        let progress = self.local.progress.as_mut().expect("checked above");
        progress.sent.retain(|at| at.elapsed() < Duration::from_secs(60));
        let mut due: Vec<(i64, String, String, Option<Instant>)> = messages
            .into_iter()
            .map(|(job, channel, ts)| {
                let last = progress.last.get(&ts).copied();
                (job, channel, ts, last)
            })
            .filter(|(.., last)| last.is_none_or(|at| at.elapsed() >= every))
            .collect();
        // The longest-unchanged first; never-updated ones before all.
        due.sort_by_key(|(.., last)| last.map(|at| std::cmp::Reverse(at.elapsed())));
        let room = BUDGET.saturating_sub(progress.sent.len());
        for (job, channel, ts, _) in due.into_iter().take(room) {
            self.update_running(JobId(job), &channel, &ts);
        }
    }

    /// Whether this deliverer may make progress updates: it holds the queue's progress lease,
    /// asked for (or renewed) at most every [`RENEW_EVERY`].
    fn holds_progress_lease(&mut self) -> bool {
        let Some(progress) = self.local.progress.as_ref() else { return false };
        if let Some((at, held)) = progress.claimed
            && at.elapsed() < RENEW_EVERY
        {
            return held;
        }
        let now = self.clock.now();
        let until = crate::queue::add_duration(now, LEASE);
        let held = self.queue.claim_progress(&self.owner, now, until).unwrap_or_else(|e| {
            tracing::warn!(error = &e as &dyn std::error::Error, "cannot renew the progress lease");
            false
        });
        if let Some(progress) = self.local.progress.as_mut() {
            progress.claimed = Some((Instant::now(), held));
        }
        held
    }

    fn update_running(&mut self, id: JobId, channel: &str, ts: &str) {
        let Ok(Some(job)) = self.queue.job(id) else { return };
        let Some(run) = job.status.run().filter(|_| job.state() == JobState::Running) else { return };
        let secs = self.clock.now().duration_since(run.started_at).unsigned_abs().as_secs();
        let took = crate::config::duration::format(Duration::from_secs(secs));
        let mut text = format!("Job {id}: `{}` running for {took}.", job.job_type());
        // Output is shown only of a job whose output is reported (`report_stdout`): others'
        // stdout is for `logs`, and its access rule.
        let reports = self.catalog.job(&job.namespace, &job.job).is_some_and(|d| d.report_stdout);
        let tail = if reports {
            crate::commands::logs::last_lines(&self.queue, &job, Stream::Stdout, Part::Tail(LINES))
        } else {
            String::new()
        };
        let tail = crate::config::redact::secrets(&self.settings, tail.trim_end()).into_owned();
        if !tail.is_empty() {
            text.push_str(&format!("\n```{}```", super::format::escape(&tail)));
        }
        let buttons = vec![Button::new(crate::bot::actions::CANCEL, "Cancel", id)];
        self.send_update(channel, ts, &text, &buttons);
        if let Some(progress) = self.local.progress.as_mut() {
            progress.last.insert(ts.to_owned(), Instant::now());
            progress.sent.push_back(Instant::now());
        }
        // The job may have ended while this was sent, its final update made before ours.
        if let Ok(Some(job)) = self.queue.job(id)
            && job.is_finished()
        {
            self.put_final_back(&job, channel, ts);
        }
    }

    fn put_final_back(&mut self, job: &Job, channel: &str, ts: &str) {
        self.send_update(channel, ts, &super::plan::ended(job), &super::plan::ended_buttons(job));
    }

    fn send_update(&self, channel: &str, ts: &str, text: &str, buttons: &[Button]) {
        let blocks: Result<Vec<slack_morphism::prelude::SlackBlock>, _> =
            super::format::with_buttons(text, buttons).into_iter().map(serde_json::from_value).collect();
        if let Err(e) = self.runtime.block_on(self.api.update(channel, ts, text, blocks.ok())) {
            tracing::debug!(
                error = &e as &dyn std::error::Error,
                "a progress update failed; the next one will say more"
            );
        }
    }
}
