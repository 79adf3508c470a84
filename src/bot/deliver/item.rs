//! Delivering one item: its plan's actions in order, each recorded as a step once Slack accepts
//! it, and what a failure means for the item (docs/slack.md, "When Slack fails"):
//!
//! - a refused token (`invalid_auth`, `token_revoked`, `missing_scope`, …) pauses all delivery;
//! - a transient failure releases the item until its backoff (or the method's Retry-After)
//!   has passed; past `SLACK_DELIVERY_MAX_AGE` (paused time left out) the step is given up;
//! - `fatal_error` may have partly happened: given up at once, never repeated;
//! - any other refusal gets two more tries, each after a wait, then is given up.
//!
//! A step given up gets one "Could not notify slack" note. Nothing here sleeps: an item that
//! must wait is released with the time it is due, and the deliverer goes on with others.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jiff::Timestamp;

use super::exec::{Slack, TARGET_ERRORS};
use super::lease::{LEASE, RENEW_BELOW};
use super::plan::{Action, Input, Target};
use super::{Deliverer, backoff, format, plan, retry_wait};
use crate::bot::api::CallError;
use crate::queue::{Attempt, Delivery, QueueError, SlackPause, StepOutcome, add_duration};

/// After a failure: go on with the item's next step, or stop (the item was released).
enum Next {
    Step,
    Stop,
}

/// Failures of the current step so far (they start again at each step that succeeds).
#[derive(Clone, Copy)]
struct Tries {
    attempts: u32,
    refusals: u32,
}

impl Deliverer {
    /// Runs the actions of `d` not yet done; marks it delivered when none is left.
    pub(super) fn deliver(&mut self, d: &Delivery, input: &Input) -> Result<(), QueueError> {
        let actions = plan::plan(input, &self.settings, &self.catalog);
        let steps = self.queue.delivery_steps(d.item)?;
        let done: HashSet<u32> = steps.iter().map(|s| s.step).collect();
        let mut results: HashMap<usize, String> =
            steps.into_iter().filter_map(|s| Some((s.step as usize, s.result?))).collect();
        let mut tries = Tries { attempts: d.attempts, refusals: d.refusals };
        let mut lease_until = add_duration(self.clock.now(), LEASE);
        for (i, action) in actions.iter().enumerate() {
            let step = u32::try_from(i).unwrap_or(u32::MAX);
            if done.contains(&step) {
                continue;
            }
            let now = self.clock.now();
            if let Some(until) = self.local.holds.until(action.methods(), now) {
                let error = format!("ratelimited: {}", action.summary());
                return self.queue.retry_delivery(d.item, until, &error, Attempt::NotCounted);
            }
            if lease_until.as_millisecond() - now.as_millisecond() < millis(RENEW_BELOW) {
                lease_until = add_duration(now, LEASE);
                if !self.queue.renew_delivery(d.item, &self.owner, lease_until)? {
                    tracing::warn!(item = ?d.item, "another process took this delivery over; leaving it to it");
                    return Ok(());
                }
            }
            let slack = Slack { api: &self.api, channels: &self.channels };
            let result = self.runtime.block_on(slack.run(action, &results));
            if matches!(action, super::plan::Action::Update { .. }) {
                // A final state counts in the minute's `chat.update` budget: progress yields.
                if let Some(progress) = self.local.progress.as_mut() {
                    progress.spent();
                }
            }
            let now = self.clock.now();
            lease_until = add_duration(now, LEASE);
            match result {
                Ok(result) => {
                    self.queue.record_step(
                        d.item,
                        step,
                        StepOutcome::Done,
                        result.as_deref(),
                        None,
                        now,
                        lease_until,
                    )?;
                    results.extend(result.map(|r| (i, r)));
                    tries = Tries { attempts: 0, refusals: 0 };
                    self.resumed(now)?;
                }
                Err(e) => match self.failed(d, step, action, &e, tries, now)? {
                    Next::Step => tries = Tries { attempts: 0, refusals: 0 },
                    Next::Stop => return Ok(()),
                },
            }
        }
        self.queue.delivered(d.item, self.clock.now())
    }

    fn failed(
        &mut self,
        d: &Delivery,
        step: u32,
        action: &Action,
        e: &CallError,
        tries: Tries,
        now: Timestamp,
    ) -> Result<Next, QueueError> {
        let base = self.settings.slack_retry_base;
        let error = format!("{}: {}", e.code(), action.summary());
        if e.is_auth() {
            self.pause(e.code(), now)?;
            self.queue.retry_delivery(d.item, now, &error, Attempt::NotCounted)?;
            return Ok(Next::Stop);
        }
        if let Some(after) = e.retry_after() {
            self.local.holds.hold(e.method(), add_duration(now, after.max(base)));
        }
        if e.is_transient() {
            if self.too_old(d, now)? {
                let max_age = crate::config::duration::format(self.settings.slack_delivery_max_age);
                let why = format::gave_up(e.code(), &max_age);
                self.give_up(d, step, action, e, &why, now)?;
                return Ok(Next::Step);
            }
            let wait = retry_wait(e, base, tries.attempts);
            tracing::warn!(item = ?d.item, step, error = e as &dyn std::error::Error, "Slack delivery failed; retrying in {wait:?}");
            self.queue.retry_delivery(d.item, add_duration(now, wait), &error, Attempt::Transient)?;
            return Ok(Next::Stop);
        }
        if e.code() == "fatal_error" {
            self.give_up(d, step, action, e, &format::fatal(), now)?;
            return Ok(Next::Step);
        }
        if tries.refusals < 2 {
            let n = tries.refusals + 1;
            tracing::warn!(item = ?d.item, step, error = e as &dyn std::error::Error, "Slack refused a call; trying again ({n} of 2)");
            let at = add_duration(now, backoff(base, tries.refusals));
            self.queue.retry_delivery(d.item, at, &error, Attempt::Refused)?;
            return Ok(Next::Stop);
        }
        let why = format!("`{}`", e.code());
        self.give_up(d, step, action, e, &why, now)?;
        Ok(Next::Step)
    }

    /// Older than `SLACK_DELIVERY_MAX_AGE`, leaving out the time delivery was paused.
    fn too_old(&self, d: &Delivery, now: Timestamp) -> Result<bool, QueueError> {
        let age = Duration::from_millis((now.as_millisecond() - d.created_at.as_millisecond()).max(0).unsigned_abs());
        let paused = self.queue.paused_between(d.created_at, now)?;
        Ok(age.saturating_sub(paused) >= self.settings.slack_delivery_max_age)
    }

    /// Records the step as given up, with one note about it.
    fn give_up(
        &mut self,
        d: &Delivery,
        step: u32,
        action: &Action,
        e: &CallError,
        why: &str,
        now: Timestamp,
    ) -> Result<(), QueueError> {
        tracing::error!(item = ?d.item, step, error = e as &dyn std::error::Error, message = %action.summary(), "giving up on a Slack call");
        self.note_failure(action, e, why);
        let error = format!("{}: {}", e.code(), action.summary());
        let lease = add_duration(self.clock.now(), LEASE);
        self.queue.record_step(d.item, step, StepOutcome::Failed, None, Some(&error), now, lease)
    }

    /// Slack refused the token: pauses delivery for every process (said once, by the one that
    /// started the pause) and probes again after a backoff.
    fn pause(&mut self, code: &str, now: Timestamp) -> Result<(), QueueError> {
        if self.queue.pause_slack(code, now)? {
            tracing::error!(
                code,
                "Slack refused the bot token (`{code}`): Slack delivery is paused and every message stays queued; \
                 load a new SLACK_BOT_TOKEN (then SIGHUP) or fix the app's installation. See docs/slack.md"
            );
        }
        let base = self.settings.slack_retry_base;
        self.local.paused = Some(SlackPause { code: code.to_owned(), since: now });
        self.local.next_probe = Some(add_duration(now, backoff(base, self.local.probes)));
        self.local.probes = self.local.probes.saturating_add(1);
        Ok(())
    }

    /// A call succeeded: a pause, if any, ends.
    pub(super) fn resumed(&mut self, now: Timestamp) -> Result<(), QueueError> {
        if self.local.paused.take().is_none() {
            return Ok(());
        }
        self.local.next_probe = None;
        self.local.probes = 0;
        if let Some(p) = self.queue.resume_slack(now)? {
            tracing::info!(code = p.code, since = %p.since, "Slack accepts calls again: delivery resumes");
        }
        Ok(())
    }

    /// One "Could not notify slack" note: in the same thread, or in the logs channel when the
    /// target itself is the problem. Failed reactions are only logged.
    fn note_failure(&self, action: &Action, e: &CallError, why: &str) {
        let Some(target) = action.target() else { return };
        let to = if TARGET_ERRORS.contains(&e.code()) {
            match &self.settings.slack_logs_channel {
                Some(logs) if *logs != target.channel => Target { channel: logs.clone(), thread_ts: None },
                _ => return,
            }
        } else {
            target.clone()
        };
        let text = format::could_not_notify(why, &action.summary(), &target.channel);
        let slack = Slack { api: &self.api, channels: &self.channels };
        if let Err(e) = self.runtime.block_on(slack.post(&to, &text)) {
            tracing::error!(
                error = &e as &dyn std::error::Error,
                "could not post the \"Could not notify slack\" note either"
            );
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
