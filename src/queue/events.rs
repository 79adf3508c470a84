//! Events: the durable outbox. A state change that a reporter must act on inserts one in the
//! same transaction (none when nobody would deliver it); the Slack reporter claims them (with a lease, so several processes can deliver),
//! records each Slack call it makes as a step, and marks them delivered. Replies to Slack
//! commands (`slack_replies`) go through the same delivery, in one order with the events.

use super::db::Db;
use super::model::{EventKind, JobId};
use super::{Queue, QueueError, Result, ms, ts};
use jiff::Timestamp;

/// Inserts an event if a reporter must act on it: when a request of the job names a channel,
/// or when it is a start and starts are announced in a logs channel. An event nobody would
/// deliver is not written (the terminal reporter is told directly by the dispatcher).
pub(super) fn insert(tx: &Db, job: JobId, kind: EventKind, now: Timestamp, announce: bool) -> Result<()> {
    tx.exec(
        "INSERT INTO events (job_id, kind, created_at)
         SELECT CAST(?1 AS BIGINT), CAST(?2 AS TEXT), CAST(?3 AS BIGINT)
         WHERE (?4 AND ?2 = 'started')
            OR EXISTS (SELECT 1 FROM requests WHERE job_id = ?1 AND channel IS NOT NULL)",
        &[&job.0, &kind.as_str(), &ms(now), &announce],
    )?;
    Ok(())
}

/// Undelivered Slack messages, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryStatus {
    pub undelivered: u64,
    pub oldest: Option<String>,
    pub last_error: Option<String>,
    /// Slack refused the bot token: nothing is delivered until a new one works.
    pub paused: Option<super::SlackPause>,
}

/// Something to deliver to Slack: a job's event, or a reply to a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryItem {
    Event(i64),
    Reply(i64),
}

impl DeliveryItem {
    /// (table, column of `slack_steps` that points at it).
    fn table(self) -> (&'static str, &'static str, i64) {
        match self {
            Self::Event(id) => ("events", "event_id", id),
            Self::Reply(id) => ("slack_replies", "reply_id", id),
        }
    }
}

/// An undelivered item, as the deliverer sees it when it looks for work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub item: DeliveryItem,
    pub created_at: Timestamp,
    /// Failed attempts since the last step that succeeded (drives the backoff).
    pub attempts: u32,
    /// Of those, the ones Slack refused outright (not transient): two more tries, then given up.
    pub refusals: u32,
    pub next_attempt_at: Option<Timestamp>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    /// For events: the job and what happened to it.
    pub event: Option<(JobId, EventKind)>,
}

/// How a release for a later try counts (see [`Queue::retry_delivery`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// A transient failure: the backoff grows.
    Transient,
    /// Slack refused the call: it gets two more tries.
    Refused,
    /// Not the item's fault (delivery paused, a method's Retry-After): nothing counted.
    NotCounted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    Done,
    /// Given up on (a permanent Slack error): not tried again.
    Failed,
}

/// A recorded step of a delivery: one Slack action, with what it returned (a message ts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub step: u32,
    pub outcome: StepOutcome,
    pub result: Option<String>,
}

impl Queue {
    pub fn delivery_status(&self) -> Result<DeliveryStatus> {
        let (undelivered, oldest): (i64, Option<i64>) = self
            .db
            .row(
                "SELECT count(*), min(t) FROM (
                     SELECT created_at AS t FROM events WHERE delivered_at IS NULL
                     UNION ALL SELECT created_at FROM slack_replies WHERE delivered_at IS NULL) AS undelivered",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?
            .unwrap_or((0, None));
        let last_error: Option<String> = self.db.row(
            "SELECT e FROM (
                 SELECT last_error AS e, created_at AS t FROM events
                 WHERE delivered_at IS NULL AND last_error IS NOT NULL
                 UNION ALL SELECT last_error, created_at FROM slack_replies
                 WHERE delivered_at IS NULL AND last_error IS NOT NULL) AS failing
             ORDER BY t DESC LIMIT 1",
            &[],
            |r| r.get(0),
        )?;
        Ok(DeliveryStatus {
            undelivered: undelivered.unsigned_abs(),
            oldest: oldest.map(|t| super::model::rfc3339(ts(t))),
            last_error,
            paused: self.slack_pause()?,
        })
    }

    /// The oldest `limit` undelivered items, events and replies together, in the order they
    /// were created (a reply before an event of the same millisecond: the reply to a command
    /// is written with the job it queued).
    pub fn undelivered(&self, limit: u32) -> Result<Vec<Delivery>> {
        self.db.rows(
            "SELECT 'e' AS k, id, created_at AS t, attempts, next_attempt_at, lease_owner, lease_until, job_id, kind,
                    refusals
             FROM events WHERE delivered_at IS NULL
             UNION ALL
             SELECT 'r', id, created_at, attempts, next_attempt_at, lease_owner, lease_until, NULL, NULL, refusals
             FROM slack_replies WHERE delivered_at IS NULL
             ORDER BY t, k DESC, id LIMIT ?1",
            &[&i64::from(limit)],
            |r| {
                let kind: String = r.get(0)?;
                let id: i64 = r.get(1)?;
                let job: Option<i64> = r.get(7)?;
                let event_kind: Option<String> = r.get(8)?;
                let event = match (job, event_kind) {
                    (Some(job), Some(k)) => Some((
                        JobId(job),
                        EventKind::parse(&k).ok_or_else(|| QueueError::Corrupt(format!("unknown event kind {k}")))?,
                    )),
                    _ => None,
                };
                Ok(Delivery {
                    item: if kind == "e" { DeliveryItem::Event(id) } else { DeliveryItem::Reply(id) },
                    created_at: ts(r.get(2)?),
                    attempts: r.get(3)?,
                    refusals: r.get(9)?,
                    next_attempt_at: r.get::<Option<i64>>(4)?.map(ts),
                    lease_owner: r.get(5)?,
                    lease_until: r.get::<Option<i64>>(6)?.map(ts),
                    event,
                })
            },
        )
    }

    /// Takes the lease on an undelivered item that is due and not leased by another owner
    /// (or whose lease has run out, or whose owner is `gone`: judged dead by the caller). False
    /// when someone else has it or it is done.
    pub fn claim_delivery(
        &mut self,
        item: DeliveryItem,
        owner: &str,
        gone: Option<&str>,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool> {
        let (table, _, id) = item.table();
        let sql = format!(
            "UPDATE {table} SET lease_owner = ?2, lease_until = ?4
             WHERE id = ?1 AND delivered_at IS NULL AND coalesce(next_attempt_at, 0) <= ?3
               AND (lease_owner IS NULL OR lease_owner = ?2 OR coalesce(lease_until, 0) <= ?3
                    OR lease_owner = ?5)"
        );
        let tx = self.write()?;
        let n = tx.exec(&sql, &[&id, &owner, &ms(now), &ms(until), &gone])?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Extends `owner`'s lease on an item it is delivering. False when the lease is no longer
    /// its own (another process judged it gone and took the item over).
    pub fn renew_delivery(&mut self, item: DeliveryItem, owner: &str, until: Timestamp) -> Result<bool> {
        let (table, _, id) = item.table();
        let tx = self.write()?;
        let n = tx.exec(
            &format!("UPDATE {table} SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2 AND delivered_at IS NULL"),
            &[&id, &owner, &ms(until)],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// The steps of an item already recorded.
    pub fn delivery_steps(&self, item: DeliveryItem) -> Result<Vec<Step>> {
        let (_, column, id) = item.table();
        let sql = format!("SELECT step, outcome, result FROM slack_steps WHERE {column} = ?1 ORDER BY step");
        self.db.rows(&sql, &[&id], |r| {
            let outcome: String = r.get(1)?;
            Ok(Step {
                step: r.get(0)?,
                outcome: if outcome == "done" { StepOutcome::Done } else { StepOutcome::Failed },
                result: r.get(2)?,
            })
        })
    }

    /// Records a step as done (or given up on), resets the item's attempts and extends its
    /// lease: the step is never made again, whoever delivers the rest.
    #[allow(clippy::too_many_arguments)]
    pub fn record_step(
        &mut self,
        item: DeliveryItem,
        step: u32,
        outcome: StepOutcome,
        result: Option<&str>,
        error: Option<&str>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<()> {
        let (table, column, id) = item.table();
        let outcome = if outcome == StepOutcome::Done { "done" } else { "failed" };
        let tx = self.write()?;
        tx.exec(
            &format!(
                "INSERT INTO slack_steps ({column}, step, outcome, result, at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING"
            ),
            &[&id, &i64::from(step), &outcome, &result, &ms(now)],
        )?;
        tx.exec(
            &format!(
                "UPDATE {table} SET attempts = 0, refusals = 0, lease_until = ?2, last_error = coalesce(?3, last_error)
                 WHERE id = ?1"
            ),
            &[&id, &ms(lease_until), &error],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Marks an item delivered (every step done or given up on) and releases it.
    pub fn delivered(&mut self, item: DeliveryItem, now: Timestamp) -> Result<()> {
        let (table, _, id) = item.table();
        let tx = self.write()?;
        tx.exec(
            &format!("UPDATE {table} SET delivered_at = ?2, lease_owner = NULL, lease_until = NULL WHERE id = ?1"),
            &[&id, &ms(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Releases an item to be tried again at `at`, keeping the error for `status`, and
    /// counting the attempt as `counted` says (a refusal counts as an attempt too; a pause or
    /// a method's Retry-After counts as neither).
    pub fn retry_delivery(&mut self, item: DeliveryItem, at: Timestamp, error: &str, counted: Attempt) -> Result<()> {
        let (table, _, id) = item.table();
        let (attempts, refusals) = match counted {
            Attempt::Transient => (1_i64, 0_i64),
            Attempt::Refused => (1, 1),
            Attempt::NotCounted => (0, 0),
        };
        let tx = self.write()?;
        tx.exec(
            &format!(
                "UPDATE {table} SET attempts = attempts + ?4, refusals = refusals + ?5, next_attempt_at = ?2,
                 last_error = ?3, lease_owner = NULL, lease_until = NULL WHERE id = ?1"
            ),
            &[&id, &ms(at), &error, &attempts, &refusals],
        )?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
