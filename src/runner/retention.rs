//! Retention, in one place: every process that prunes — `ebmbot queue prune` all at once, the
//! dispatcher and the Slack bot a batch at a time — goes through [`prune`].
//!
//! - Finished jobs (with their requests, events and log directories), delivered events,
//!   GitHub delivery records and timer history (each timer's newest entry kept) older than the
//!   cut-off (`EBMBOT_RETENTION`, or `--older-than`).
//! - Handled Slack commands and delivered Slack replies older than [`SLACK_KEEP`]: Slack
//!   retries an event within minutes, so a day is plenty to drop its retries.
//! - Support listeners' re-post records and channel rows older than the cut-off, and
//!   out-of-office periods that have ended.
//! - Job metrics are never pruned.

use std::time::Duration;

use jiff::Timestamp;

use crate::config::Settings;
use crate::queue::{Pruned, Queue, QueueError, sub_duration};

/// How long handled Slack commands and delivered replies are kept.
pub const SLACK_KEEP: Duration = Duration::from_secs(24 * 3600);

/// Rows deleted per transaction, so that pruning never holds the write lock for long.
const BATCH: u32 = 500;

/// How much one call prunes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// Everything past the cut-off, a batch per transaction (`ebmbot queue prune`).
    All,
    /// One batch (long-running processes, which prune a little at a time).
    OneBatch,
}

/// Deletes what is older than `older_than` (Slack's tables: [`SLACK_KEEP`]) and removes the
/// deleted jobs' log directories.
pub fn prune(
    queue: &mut Queue,
    settings: &Settings,
    now: Timestamp,
    older_than: Duration,
    amount: Amount,
) -> Result<Pruned, QueueError> {
    let before = sub_duration(now, older_than);
    let mut total = Pruned::default();
    loop {
        let batch = queue.prune(before, BATCH)?;
        let full =
            [batch.jobs, batch.events, batch.deliveries, batch.timers].into_iter().any(|n| n >= u64::from(BATCH));
        for dir in &batch.log_dirs {
            super::remove_log_dir(dir, &settings.logs_dir);
        }
        total.jobs += batch.jobs;
        total.events += batch.events;
        total.deliveries += batch.deliveries;
        total.timers += batch.timers;
        total.log_dirs.extend(batch.log_dirs);
        if !full || amount == Amount::OneBatch {
            break;
        }
    }
    // A catch-up may read a message again as far back as its window: its inbox row must still
    // be there to say it was handled.
    total.slack = queue.prune_slack(sub_duration(now, SLACK_KEEP.max(settings.slack_catch_up)))?;
    total.support = queue.prune_support(before, now)?;
    Ok(total)
}
