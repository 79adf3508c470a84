//! The Slack reporter: delivers the queue's events and the replies to commands (the outbox:
//! docs/architecture.md §4; what is posted: docs/slack.md §5 and §6).
//!
//! Each round reads the oldest undelivered items, in creation order, and takes a lease on each
//! that is due and whose threads no earlier undelivered item still posts in: order is kept per
//! (channel, thread), while an item waiting for a retry holds back only its own threads.
//! Delivering an item runs its [`plan`]; each Slack action is recorded as a step as soon as
//! Slack accepts it, so a crash repeats at most the one call in flight. Transient failures
//! (network, timeouts, 5xx, `ratelimited`) release the item until a backoff from
//! `SLACK_RETRY_BASE` doubling to 5 min, or Retry-After, has passed, for as long as it takes.
//! Other errors get two more tries, then the step is given up with a "Could not notify slack"
//! note. Jobs never wait for any of this.

pub mod exec;
pub mod format;
pub mod plan;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::bot::api::{CallError, SlackApi};
use crate::bot::channels::Channels;
use crate::clock::Clock;
use crate::config::{Catalog, LiveCatalog, Settings};
use crate::queue::model::EventKind;
use crate::queue::{Delivery, DeliveryItem, Queue, QueueError, StepOutcome, Waker, add_duration};
use exec::{Slack, TARGET_ERRORS};
use plan::{Action, Input, Target};

/// How long a claimed item is ours; every recorded step extends it.
const LEASE: Duration = Duration::from_secs(300);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How many undelivered items a round looks at.
const WINDOW: u32 = 200;

/// What a deliverer needs: settings, the catalogue (report formats), Slack.
pub struct Deliverer {
    pub queue: Queue,
    pub settings: Arc<Settings>,
    pub catalog: Catalog,
    /// Where a reloaded catalogue comes from (SIGHUP), and the version last read.
    pub live: Option<(LiveCatalog, u64)>,
    pub api: Arc<SlackApi>,
    pub channels: Arc<Channels>,
    /// Runs the Slack calls; this thread blocks on them.
    pub runtime: tokio::runtime::Handle,
    /// Who holds the leases: unique per process.
    pub owner: String,
    pub clock: Arc<dyn Clock>,
}

/// The wait before try `attempts + 1`: the base doubling, capped at 5 min.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(1u32.checked_shl(attempts.min(20)).unwrap_or(u32::MAX)).min(MAX_BACKOFF.max(base))
}

/// The wait after a transient failure: Slack's Retry-After when it sends one (but at least
/// the base, so `Retry-After: 0` cannot make a busy loop), else [`backoff`].
pub fn retry_wait(e: &CallError, base: Duration, attempts: u32) -> Duration {
    e.retry_after().map_or_else(|| backoff(base, attempts), |after| after.max(base))
}

impl Deliverer {
    /// Delivers until `stop` is set, waking on `wake` (any commit to the queue: other processes
    /// queue events too; or a poke from this one) and when a retry falls due.
    pub fn run(mut self, stop: &AtomicBool, wake: &Waker) {
        while !stop.load(Ordering::SeqCst) {
            if let Some((live, seen)) = &mut self.live
                && let Some((version, catalog)) = live.newer_than(*seen)
            {
                self.catalog = (*catalog).clone();
                *seen = version;
            }
            let next = match self.round() {
                Ok((true, _)) => continue,
                Ok((false, next)) => next,
                Err(e) => {
                    tracing::error!(
                        error = &e as &dyn std::error::Error,
                        "Slack delivery: queue error; retrying in 1 s"
                    );
                    Some(add_duration(self.clock.now(), Duration::from_secs(1)))
                }
            };
            self.idle(next, stop, wake, None);
        }
    }

    /// Delivers what is pending, then returns once nothing is due before `deadline`
    /// (`dispatch --once`).
    pub fn drain(mut self, deadline: Instant) {
        let wake = self.queue.waker();
        while Instant::now() < deadline {
            match self.round() {
                Ok((true, _)) => {}
                Ok((false, Some(next))) if self.instant(next) < deadline => {
                    self.idle(Some(next), &AtomicBool::new(false), &wake, Some(deadline));
                }
                Ok((false, _)) => return,
                Err(e) => {
                    tracing::error!(error = &e as &dyn std::error::Error, "Slack delivery: queue error");
                    return;
                }
            }
        }
        tracing::warn!("stopped delivering Slack messages: time is up; the next ebmbot process delivers the rest");
    }

    /// Waits for a reason to look again: a change, a poke, the slow poll, or `next`.
    fn idle(&self, next: Option<Timestamp>, stop: &AtomicBool, wake: &Waker, deadline: Option<Instant>) {
        let until = next.map_or_else(|| Instant::now() + Duration::from_secs(60), |t| self.instant(t));
        let until = deadline.map_or(until, |d| until.min(d));
        if !stop.load(Ordering::SeqCst) {
            wake.wait(until.saturating_duration_since(Instant::now()));
        }
    }

    /// One look at the queue. Returns whether anything was delivered or tried, and when the
    /// next held-back item falls due.
    fn round(&mut self) -> Result<(bool, Option<Timestamp>), QueueError> {
        let now = self.clock.now();
        let mut worked = false;
        let mut next: Option<Timestamp> = None;
        let mut busy: HashSet<Target> = HashSet::new();
        for d in self.queue.undelivered(WINDOW)? {
            let Some(input) = self.load(&d, now)? else {
                self.queue.delivered(d.item, now)?;
                continue;
            };
            let threads = plan::threads(&input, &self.settings);
            let held = threads.iter().any(|t| busy.contains(t));
            busy.extend(threads);
            let leased = d.lease_until.filter(|u| *u > now && d.lease_owner.as_deref() != Some(self.owner.as_str()));
            let due = leased.or(d.next_attempt_at.filter(|at| *at > now));
            if let Some(due) = due.filter(|_| !held) {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
            if held
                || due.is_some()
                || !self.queue.claim_delivery(d.item, &self.owner, now, add_duration(now, LEASE))?
            {
                continue;
            }
            worked = true;
            self.deliver(&d, &input)?;
        }
        Ok((worked, next))
    }

    fn load(&self, d: &Delivery, now: Timestamp) -> Result<Option<Input>, QueueError> {
        match (d.item, d.event) {
            (DeliveryItem::Reply(id), _) => Ok(self.queue.reply(id)?.map(Input::Reply)),
            (DeliveryItem::Event(_), Some((job_id, kind))) => {
                let Some(job) = self.queue.job(job_id)? else { return Ok(None) };
                let suppressed_until = if kind == EventKind::Suppressed {
                    let job_type = job.job_type();
                    let windows = self.queue.suppressions(now)?;
                    let end = windows.iter().filter(|w| job_type == *w.job_type).map(|w| w.end).max();
                    end.map(|t| crate::bot::reply::when(t, &self.settings.timezone))
                } else {
                    None
                };
                Ok(Some(Input::Event { kind, job: Box::new(job), suppressed_until }))
            }
            (DeliveryItem::Event(_), None) => Ok(None),
        }
    }

    fn deliver(&mut self, d: &Delivery, input: &Input) -> Result<(), QueueError> {
        let actions = plan::plan(input, &self.settings, &self.catalog);
        let steps = self.queue.delivery_steps(d.item)?;
        let done: HashSet<u32> = steps.iter().map(|s| s.step).collect();
        let mut results: HashMap<usize, String> =
            steps.into_iter().filter_map(|s| Some((s.step as usize, s.result?))).collect();
        let base = self.settings.slack_retry_base;
        let mut attempts = d.attempts;
        for (i, action) in actions.iter().enumerate() {
            let step = u32::try_from(i).unwrap_or(u32::MAX);
            if done.contains(&step) {
                continue;
            }
            let mut tries = 0;
            loop {
                let slack = Slack { api: &self.api, channels: &self.channels };
                let result = self.runtime.block_on(slack.run(action, &results));
                let now = self.clock.now();
                let lease = add_duration(now, LEASE);
                match result {
                    Ok(result) => {
                        self.queue.record_step(d.item, step, StepOutcome::Done, result.as_deref(), None, now, lease)?;
                        results.extend(result.map(|r| (i, r)));
                        attempts = 0;
                        break;
                    }
                    Err(e) if e.is_transient() => {
                        let wait = retry_wait(&e, base, attempts);
                        tracing::warn!(item = ?d.item, step, error = &e as &dyn std::error::Error, "Slack delivery failed; retrying in {wait:?}");
                        let error = format!("{}: {}", e.code(), action.summary());
                        return self.queue.retry_delivery(d.item, add_duration(now, wait), &error);
                    }
                    Err(e) if tries < 2 => {
                        tries += 1;
                        tracing::warn!(item = ?d.item, step, error = &e as &dyn std::error::Error, "Slack refused a call; trying again ({tries} of 2)");
                        std::thread::sleep(base.saturating_mul(tries));
                    }
                    Err(e) => {
                        tracing::error!(item = ?d.item, step, error = &e as &dyn std::error::Error, message = %action.summary(), "giving up on a Slack call");
                        self.note_failure(action, &e);
                        let error = format!("{}: {}", e.code(), action.summary());
                        self.queue.record_step(d.item, step, StepOutcome::Failed, None, Some(&error), now, lease)?;
                        break;
                    }
                }
            }
        }
        self.queue.delivered(d.item, self.clock.now())
    }

    /// When a time of the clock comes, on the monotonic clock the thread waits with.
    fn instant(&self, t: Timestamp) -> Instant {
        let ms = t.as_millisecond() - self.clock.now().as_millisecond();
        Instant::now() + Duration::from_millis(ms.max(0).unsigned_abs())
    }

    /// One "Could not notify slack" note: in the same thread, or in the logs channel when the
    /// target itself is the problem. Failed reactions are only logged.
    fn note_failure(&self, action: &Action, e: &CallError) {
        let Some(target) = action.target() else { return };
        let to = if TARGET_ERRORS.contains(&e.code()) {
            match &self.settings.slack_logs_channel {
                Some(logs) if *logs != target.channel => Target { channel: logs.clone(), thread_ts: None },
                _ => return,
            }
        } else {
            target.clone()
        };
        let text = format!("Could not notify slack: `{}` ({} in {})", e.code(), action.summary(), target.channel);
        let slack = Slack { api: &self.api, channels: &self.channels };
        if let Err(e) = self.runtime.block_on(slack.post(&to, &text)) {
            tracing::error!(
                error = &e as &dyn std::error::Error,
                "could not post the \"Could not notify slack\" note either"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_five_minutes() {
        let s = Duration::from_secs(1);
        assert_eq!(backoff(s, 0), s);
        assert_eq!(backoff(s, 3), Duration::from_secs(8));
        assert_eq!(backoff(s, 9), Duration::from_secs(300));
        assert_eq!(backoff(s, 1000), Duration::from_secs(300));
        assert_eq!(backoff(Duration::from_millis(10), 2), Duration::from_millis(40));
    }
}
