//! Events: the durable outbox. Each state change inserts one in the same transaction; the Slack
//! reporter delivers those that need it and marks them.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Transaction, params};

use super::model::{EventKind, JobId};
use super::{Queue, Result, exec, ms, row, ts};

/// Inserts an event if a reporter must act on it: when a request of the job names a channel,
/// or when it is a start and starts are announced in a logs channel. An event nobody would
/// deliver is not written (the terminal reporter is told directly by the dispatcher).
pub(super) fn insert(tx: &Transaction<'_>, job: JobId, kind: EventKind, now: Timestamp, announce: bool) -> Result<()> {
    exec(
        tx,
        "INSERT INTO events (job_id, kind, created_at, needs_delivery)
         SELECT ?1, ?2, ?3, 1
         WHERE (?4 AND ?2 = 'started')
            OR EXISTS (SELECT 1 FROM requests WHERE job_id = ?1 AND channel IS NOT NULL)",
        params![job.0, kind.as_str(), ms(now), announce],
    )?;
    Ok(())
}

/// Undelivered Slack messages, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryStatus {
    pub undelivered: u64,
    pub oldest: Option<String>,
    pub last_error: Option<String>,
}

impl Queue {
    pub fn delivery_status(&self) -> Result<DeliveryStatus> {
        let (undelivered, oldest): (i64, Option<i64>) = row(
            &self.conn,
            "SELECT count(*), min(created_at) FROM events WHERE needs_delivery AND delivered_at IS NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let last_error = row(
            &self.conn,
            "SELECT last_error FROM events
                 WHERE needs_delivery AND delivered_at IS NULL AND last_error IS NOT NULL
                 ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
        Ok(DeliveryStatus {
            undelivered: undelivered.unsigned_abs(),
            oldest: oldest.map(|t| super::model::rfc3339(ts(t))),
            last_error,
        })
    }
}
