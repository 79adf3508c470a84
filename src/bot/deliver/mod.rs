//! The Slack reporter: delivers the queue's events and the replies to commands (the outbox:
//! docs/architecture.md §4; what is posted: docs/slack.md §5 and §6).
//!
//! Each round reads the oldest undelivered items, in creation order, and takes a lease on each
//! that is due and whose threads no earlier undelivered item still posts in: order is kept per
//! (channel, thread), while an item waiting for a retry holds back only its own threads. A
//! lease names its process ([`lease`]): one whose process is gone is taken over at once.
//! Delivering an item runs its [`plan`]; each Slack action is recorded as a step as soon as
//! Slack accepts it, so a crash repeats at most the one call in flight. What a failure means
//! is in [`item`]: nothing sleeps on this thread; an item that must wait is released until it
//! is due. While Slack refuses the token, delivery is paused (in the queue, for every process):
//! only a probe (the oldest due item, after a backoff from `SLACK_RETRY_BASE` to 5 min) is
//! tried, and a new token (SIGHUP) or a call that succeeds ends the pause. Jobs never wait for
//! any of this.

pub mod exec;
pub mod format;
mod holds;
mod item;
pub mod lease;
pub mod plan;
pub mod progress;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::bot::api::{CallError, SlackApi};
use crate::bot::channels::Channels;
use crate::clock::Clock;
use crate::config::{Catalog, LiveCatalog, Settings};
use crate::queue::model::EventKind;
use crate::queue::{Delivery, DeliveryItem, Queue, QueueError, SlackPause, Waker, add_duration};
use holds::Holds;
use lease::{Judge, LEASE};
use plan::{Input, Target};

const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How often an idle deliverer with a retry pending looks at the clock.
const CLOCK_LOOK: Duration = Duration::from_millis(100);
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
    /// Who holds the leases: this process, as [`lease::Owner`] writes it.
    pub owner: String,
    pub clock: Arc<dyn Clock>,
    /// What the deliverer keeps between rounds; starts empty.
    pub local: Local,
}

/// A deliverer's own state between rounds.
#[derive(Debug, Default)]
pub struct Local {
    /// Web API methods under a Retry-After.
    holds: Holds,
    /// The pause this deliverer knows of.
    paused: Option<SlackPause>,
    /// While paused: when the next probe may be made, and how many were made.
    next_probe: Option<Timestamp>,
    probes: u32,
    /// Running jobs' messages kept up to date: the bot's own deliverer only.
    pub progress: Option<progress::Progress>,
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
                self.reload_token();
            }
            self.progress();
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
            // Running jobs' messages are looked at again within a second.
            let look = self
                .local
                .progress
                .as_ref()
                .filter(|p| p.active)
                .map(|_| add_duration(self.clock.now(), progress::LOOK_EVERY));
            let next = match (next, look) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            self.idle(next, stop, wake, None);
        }
        // Another bot takes the progress updates over at once, not after the lease.
        if self.local.progress.as_ref().is_some_and(progress::Progress::held)
            && let Err(e) = self.queue.release_progress(&self.owner)
        {
            tracing::debug!(error = &e as &dyn std::error::Error, "could not release the progress lease");
        }
    }

    /// Delivers what is pending, then returns once nothing is due before `deadline`
    /// (`dispatch --once`). While delivery is paused it leaves everything queued.
    pub fn drain(mut self, deadline: Instant) {
        let wake = self.queue.waker();
        while Instant::now() < deadline {
            if let Ok(Some(p)) = self.queue.slack_pause() {
                tracing::warn!(
                    code = p.code,
                    "Slack delivery is paused (Slack refused the token); messages stay queued"
                );
                return;
            }
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
        // A retry is due at `next` by the injected clock, which tests move by hand: while one is
        // pending, look at the clock every CLOCK_LOOK too. With nothing pending, only a change wakes.
        while !stop.load(Ordering::SeqCst) && Instant::now() < until {
            let left = until.saturating_duration_since(Instant::now());
            let slice = if next.is_some() { left.min(CLOCK_LOOK) } else { left };
            if wake.wait(slice) || next.is_some_and(|t| self.clock.now() >= t) {
                return;
            }
        }
    }

    /// Re-reads `SLACK_BOT_TOKEN` (SIGHUP, and each probe while paused); a new one is used at
    /// once and ends a pause.
    fn reload_token(&mut self) {
        match crate::config::secrets::read_env("SLACK_BOT_TOKEN") {
            Ok(Some(loaded)) if self.api.set_token(&loaded.value) => {
                tracing::info!("loaded a new SLACK_BOT_TOKEN from {}", loaded.source);
                self.local.paused.get_or_insert(SlackPause { code: String::new(), since: self.clock.now() });
                if let Err(e) = self.resumed(self.clock.now()) {
                    tracing::error!(error = &e as &dyn std::error::Error, "cannot resume Slack delivery");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(
                error = &e as &dyn std::error::Error,
                "cannot re-read SLACK_BOT_TOKEN; keeping the one in use"
            ),
        }
    }

    /// The pause as the queue has it now. Returns false when no item may be tried this round
    /// (paused, and the next probe is not due yet).
    fn check_pause(&mut self, now: Timestamp) -> Result<bool, QueueError> {
        let paused = self.queue.slack_pause()?;
        if paused.is_none() {
            self.local.paused = None;
            self.local.probes = 0;
            self.local.next_probe = None;
            return Ok(true);
        }
        if self.local.paused.is_none() {
            // Paused by another process, or by an event: probe after the first backoff.
            self.local.next_probe = Some(add_duration(now, backoff(self.settings.slack_retry_base, 0)));
            self.local.probes = 1;
        }
        self.local.paused = paused;
        if self.local.next_probe.is_none_or(|at| at <= now) {
            self.reload_token();
        }
        Ok(self.local.paused.is_none() || self.local.next_probe.is_none_or(|at| at <= now))
    }

    /// One look at the queue. Returns whether anything was delivered or tried, and when the
    /// next held-back item (or probe) falls due.
    fn round(&mut self) -> Result<(bool, Option<Timestamp>), QueueError> {
        let now = self.clock.now();
        let may_try = self.check_pause(now)?;
        let mut worked = false;
        let mut next: Option<Timestamp> = self.local.next_probe.filter(|at| *at > now);
        let mut busy: HashSet<Target> = HashSet::new();
        let mut judge = Judge::new(&self.owner);
        for d in self.queue.undelivered(WINDOW)? {
            let Some(input) = self.load(&d, now)? else {
                self.queue.delivered(d.item, now)?;
                continue;
            };
            let threads = plan::threads(&input, &self.settings);
            let held = threads.iter().any(|t| busy.contains(t));
            busy.extend(threads);
            let other = d.lease_owner.as_deref().filter(|o| *o != self.owner);
            let gone = other.filter(|o| judge.is_gone(o));
            let leased = d.lease_until.filter(|u| *u > now && other.is_some() && gone.is_none());
            let due = leased.or(d.next_attempt_at.filter(|at| *at > now));
            if let Some(due) = due.filter(|_| !held) {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
            if held
                || due.is_some()
                || !may_try
                || !self.queue.claim_delivery(d.item, &self.owner, gone, now, add_duration(now, LEASE))?
            {
                continue;
            }
            if let Some(gone) = gone {
                tracing::info!(item = ?d.item, owner = gone, "took over a delivery whose process is gone");
            }
            worked = true;
            let probing = self.local.paused.is_some();
            self.deliver(&d, &input)?;
            if probing || self.local.paused.is_some() {
                break; // one probe at a time; after a pause began, nothing more this round
            }
        }
        Ok((worked, next))
    }

    fn load(&self, d: &Delivery, now: Timestamp) -> Result<Option<Input>, QueueError> {
        match (d.item, d.event) {
            (DeliveryItem::Reply(id), _) => {
                let Some(reply) = self.queue.reply(id)? else { return Ok(None) };
                let confirmation = match reply.reply.confirm {
                    Some(c) => self.queue.confirmation(c)?,
                    None => None,
                };
                let asked = match confirmation {
                    Some(confirmation) => {
                        let prompt = self.queue.confirmation_prompt(confirmation.id, id)?;
                        Some(Box::new(plan::Asked { confirmation, prompt }))
                    }
                    None => None,
                };
                Ok(Some(Input::Reply(reply, asked)))
            }
            (DeliveryItem::Event(_), Some((entry, EventKind::TimerSkipped))) => {
                let Some(entry) = self.queue.timer_entry(entry.0)? else { return Ok(None) };
                let when = crate::bot::reply::when(entry.at, &self.settings.timezone);
                Ok(Some(Input::TimerSkipped { entry, when }))
            }
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
                let live = if kind == EventKind::Finished { self.queue.live_messages(job.id.0)? } else { Vec::new() };
                Ok(Some(Input::Event { kind, job: Box::new(job), suppressed_until, live }))
            }
            (DeliveryItem::Event(_), None) => Ok(None),
        }
    }

    /// When a time of the clock comes, on the monotonic clock the thread waits with.
    fn instant(&self, t: Timestamp) -> Instant {
        let ms = t.as_millisecond() - self.clock.now().as_millisecond();
        Instant::now() + Duration::from_millis(ms.max(0).unsigned_abs())
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
