//! Firing `[[ns.timers]]` (docs/timers.md): which fire times of a timer are due, and, in one
//! transaction per timer, recording each and scheduling its job as a request like any other
//! (dedupe, suppressions, one running per type, the cap, reporting to the timer's `notify`).
//!
//! A fire time is due once it is past and after the timer's last entry in the queue. It is on
//! time while at most `EBMBOT_TIMER_GRACE` late; later, it was missed: with `missed = "once"`
//! the latest missed fire time runs once for all of them (unless one on time runs anyway),
//! with `"skip"` they are recorded as skipped and the logs channel is told. Every dispatcher
//! does this; the queue's unique key on (namespace, timer, fire time) lets one of them fire
//! each fire time, and the others find it done.

use std::time::Duration;

use jiff::Timestamp;

use crate::config::{Missed, Timer};
use crate::queue::model::{Args, JobId, Origin, rfc3339};
use crate::queue::{NewJob, Queue, QueueError, TimerEntryKind, sub_duration};

/// At most this many missed fire times are counted one by one; past it the count is a floor.
pub(crate) const COUNT_LIMIT: u64 = 10_000;

/// What one call of [`fire_due`] did for a timer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fired {
    /// Fire times that ran, with their jobs.
    pub ran: Vec<(Timestamp, JobId)>,
    /// Missed fire times skipped: the latest, and how many.
    pub skipped: Option<(Timestamp, u64)>,
    /// The timer is paused: nothing fired.
    pub paused: bool,
    /// Its next fire time after now.
    pub next: Option<Timestamp>,
}

/// Fires what of `timer` is due at `now`. Safe to call from any number of dispatchers at once.
pub fn fire_due(queue: &mut Queue, timer: &Timer, grace: Duration, now: Timestamp) -> Result<Fired, QueueError> {
    let next = timer.next_after(now);
    queue.atomically(|q| {
        let state = q.timer_state(&timer.namespace, &timer.name)?;
        let Some(since) = state.since else {
            q.timer_seen(&timer.namespace, &timer.name, now)?;
            return Ok(Fired { next, ..Fired::default() });
        };
        if state.paused.is_some() {
            return Ok(Fired { paused: true, next, ..Fired::default() });
        }
        let due = Due::between(timer, since, now, grace);
        let mut fired = Fired { next, ..Fired::default() };
        if let Some((latest, count)) = due.missed {
            match timer.missed {
                Missed::Skip => {
                    if q.record_timer_fire(&timer.namespace, &timer.name, TimerEntryKind::Skipped, latest, count, now)?
                        .is_some()
                    {
                        fired.skipped = Some((latest, count));
                    }
                }
                Missed::Once if due.on_time.is_empty() => {
                    if let Some(job) = fire(q, timer, latest, count, now)? {
                        fired.ran.push((latest, job));
                    }
                }
                // A fire time on time runs below: that is the one run for the missed ones.
                Missed::Once => {}
            }
        }
        for at in due.on_time {
            if let Some(job) = fire(q, timer, at, 1, now)? {
                fired.ran.push((at, job));
            }
        }
        Ok(fired)
    })
}

/// Records fire time `at` and schedules its job; `None` if another dispatcher has fired it.
fn fire(q: &mut Queue, timer: &Timer, at: Timestamp, covers: u64, now: Timestamp) -> Result<Option<JobId>, QueueError> {
    let Some(entry) = q.record_timer_fire(&timer.namespace, &timer.name, TimerEntryKind::Ran, at, covers, now)? else {
        return Ok(None);
    };
    let new = NewJob {
        namespace: timer.namespace.clone(),
        job: timer.job.clone(),
        args: Args(timer.params.clone()),
        delay: Duration::ZERO,
        origin: Origin::Timer {
            namespace: timer.namespace.clone(),
            timer: timer.name.clone(),
            fire_at: rfc3339(at),
            channel: timer.notify.clone(),
        },
    };
    let scheduled = q.schedule(&new, now)?;
    q.timer_fire_job(entry, scheduled.id)?;
    Ok(Some(scheduled.id))
}

/// The fire times of a timer in `(since, now]`.
struct Due {
    /// The latest fire time more than the grace late, and how many there were.
    missed: Option<(Timestamp, u64)>,
    /// Fire times at most the grace late, in order.
    on_time: Vec<Timestamp>,
}

impl Due {
    fn between(timer: &Timer, since: Timestamp, now: Timestamp, grace: Duration) -> Due {
        // A fire time before `cut` is more than the grace late.
        let cut = sub_duration(now, grace);
        let mut due = Due { missed: None, on_time: Vec::new() };
        let Some(first) = timer.next_after(since).filter(|f| *f <= now) else {
            return due;
        };
        let mut at = since;
        if first < cut {
            let latest = latest_before(timer, since, cut);
            let mut count = 0;
            while let Some(f) = timer.next_after(at).filter(|f| *f < cut) {
                count += 1;
                at = f;
                if count == COUNT_LIMIT {
                    break;
                }
            }
            due.missed = Some((latest, count));
            at = latest;
        }
        while let Some(f) = timer.next_after(at).filter(|f| *f <= now) {
            due.on_time.push(f);
            at = f;
        }
        due
    }
}

/// The latest fire time before `cut`, given that the first after `since` is: a binary search
/// over instants, so that a long downtime of a frequent timer costs no walk through every
/// fire time.
fn latest_before(timer: &Timer, since: Timestamp, cut: Timestamp) -> Timestamp {
    // Invariant: next_after(lo) < cut, next_after(hi) >= cut (or none).
    let (mut lo, mut hi) = (since.as_millisecond(), cut.as_millisecond());
    let next = |ms: i64| Timestamp::from_millisecond(ms).ok().and_then(|t| timer.next_after(t));
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if next(mid).is_some_and(|f| f < cut) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    next(lo).unwrap_or(since)
}

#[cfg(test)]
mod tests;
