//! Retention: finished jobs (with their requests and events), delivered events, GitHub
//! delivery records and timer history (each timer's newest entry kept) older than a cut-off are
//! deleted; the caller removes the log directories
//! returned. Job metrics are never pruned.

use super::model::JobId;
use super::{Queue, Result, ms};
use jiff::Timestamp;

/// What `prune` deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub jobs: u64,
    pub events: u64,
    /// GitHub delivery records.
    pub deliveries: u64,
    /// Timer history entries (each timer's newest is kept).
    pub timers: u64,
    /// Log directories of the deleted jobs, for the caller to remove.
    pub log_dirs: Vec<String>,
    /// Slack delivery pauses that ended before the cut-off.
    pub pauses: u64,
    /// Handled Slack commands and delivered Slack replies (`Queue::prune_slack`).
    pub slack: u64,
    /// Support listeners' re-post records, channel rows and ended out-of-office periods
    /// (`Queue::prune_support`).
    pub support: u64,
}

impl Queue {
    /// Deletes at most `batch` finished jobs that finished before `before` (their requests go
    /// with them), at most `batch` delivered events created before it, and at most `batch`
    /// GitHub delivery records made before it.
    pub fn prune(&mut self, before: Timestamp, batch: u32) -> Result<Pruned> {
        let tx = self.write()?;
        let batch = i64::from(batch);
        // Ids grow with time: the oldest finished jobs are found by walking the table.
        let deleted: Vec<(i64, Option<String>)> = tx.rows(
            "DELETE FROM jobs WHERE id IN (
                 SELECT id FROM jobs WHERE finished_at < ?1 ORDER BY id LIMIT ?2)
             RETURNING id, log_dir",
            &[&ms(before), &batch],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if let Some(max) = deleted.iter().map(|(id, _)| *id).max() {
            tx.exec(
                "INSERT INTO meta (key, value) VALUES ('pruned_up_to', ?1)
                 ON CONFLICT (key) DO UPDATE
                 SET value = CASE WHEN excluded.value > meta.value THEN excluded.value ELSE meta.value END",
                &[&max],
            )?;
        }
        let events = tx.exec(
            "DELETE FROM events WHERE id IN (
                 SELECT id FROM events
                 WHERE created_at < ?1 AND delivered_at IS NOT NULL
                 ORDER BY id LIMIT ?2)",
            &[&ms(before), &batch],
        )?;
        // Like jobs and events, delivery records are walked in id order (ids grow with time).
        let deliveries = tx.exec(
            "DELETE FROM webhook_deliveries WHERE id IN (
                 SELECT id FROM webhook_deliveries WHERE created_at < ?1 ORDER BY id LIMIT ?2)",
            &[&ms(before), &batch],
        )?;
        // Pauses are few; kept as long as anything else so a message's age can leave them out.
        let pauses = tx.exec("DELETE FROM slack_pauses WHERE ended_at < ?1", &[&ms(before)])?;
        let timers = super::timers::prune(&tx, before, batch)?;
        tx.commit()?;
        Ok(Pruned {
            jobs: deleted.len() as u64,
            events,
            deliveries,
            timers,
            log_dirs: deleted.into_iter().filter_map(|(_, dir)| dir).collect(),
            slack: 0,
            pauses,
            support: 0,
        })
    }

    /// True when `id` is missing because retention deleted it.
    pub fn was_pruned(&self, id: JobId) -> Result<bool> {
        let up_to: Option<i64> = self.db.row("SELECT value FROM meta WHERE key = 'pruned_up_to'", &[], |r| r.get(0))?;
        Ok(up_to.is_some_and(|max| id.0 <= max))
    }
}
