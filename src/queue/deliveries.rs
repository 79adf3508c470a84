//! The GitHub delivery log: a delivery that scheduled jobs is recorded in the same transaction
//! as those jobs, so that a redelivery (same `X-GitHub-Delivery`) never schedules twice, also
//! after the jobs have finished. Deliveries that scheduled nothing are not recorded.
//!
//! The record also keeps the SHA-256 of the delivery's body: the same body delivered to the same
//! project under another delivery id (a captured delivery replayed) schedules nothing either,
//! for as long as retention keeps the record. The same body sent to two projects (one repository
//! feeding both) schedules in each.

use super::db::Db;
use super::jobs::schedule_in;
use super::model::{EventKind, JobId};
use super::{NewJob, Queue, Result, Scheduled, events, ms};
use jiff::Timestamp;

/// A delivery, as the log records it.
#[derive(Debug, Clone, Copy)]
pub struct WebhookDelivery<'a> {
    /// `X-GitHub-Delivery`.
    pub id: &'a str,
    /// The project (namespace) of the URL.
    pub project: &'a str,
    /// `X-GitHub-Event`.
    pub event: &'a str,
    /// SHA-256 of the body, in hex; `None` when there is no body to deduplicate on.
    pub body_sha256: Option<&'a str>,
}

/// What [`Queue::schedule_delivery`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The delivery was seen before and scheduled these jobs; nothing was done now.
    AlreadyHandled(Vec<JobId>),
    /// Another delivery (named) to the same project had the same body and scheduled these jobs:
    /// a replay; nothing was done now.
    Replayed { delivery: String, jobs: Vec<JobId> },
    /// Each job, in the order asked. A job scheduled into a suppression window has a
    /// `suppressed` event, written in the same transaction.
    Scheduled(Vec<Scheduled>),
}

impl Queue {
    /// Schedules `jobs` for a delivery and records it, in one immediate transaction; or, if the
    /// delivery is already recorded, does nothing and names the jobs it scheduled then.
    pub fn schedule_delivery(
        &mut self,
        delivery: WebhookDelivery<'_>,
        jobs: &[NewJob],
        now: Timestamp,
    ) -> Result<DeliveryOutcome> {
        let announce = self.options.announce_starts;
        let tx = self.write_locked()?;
        let seen = delivery_jobs(&tx, delivery.id)?;
        if !seen.is_empty() {
            return Ok(DeliveryOutcome::AlreadyHandled(seen));
        }
        if let Some(hash) = delivery.body_sha256
            && let Some((first, jobs)) = same_body(&tx, delivery.project, hash)?
        {
            return Ok(DeliveryOutcome::Replayed { delivery: first, jobs });
        }
        let mut scheduled = Vec::with_capacity(jobs.len());
        for new in jobs {
            let s = schedule_in(&tx, new, now, None, announce)?;
            if s.suppressed_until.is_some() {
                events::insert(&tx, s.id, EventKind::Suppressed, now, announce)?;
            }
            // Two triggers may merge into one job: record it once.
            tx.exec(
                "INSERT INTO webhook_deliveries (delivery, project, event, job_id, created_at, body_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (delivery, job_id) DO NOTHING",
                &[&delivery.id, &delivery.project, &delivery.event, &s.id.0, &ms(now), &delivery.body_sha256],
            )?;
            scheduled.push(s);
        }
        tx.commit()?;
        Ok(DeliveryOutcome::Scheduled(scheduled))
    }

    /// The jobs a recorded delivery scheduled (empty if it is not recorded).
    pub fn delivery_jobs(&self, delivery: &str) -> Result<Vec<JobId>> {
        delivery_jobs(&self.db, delivery)
    }
}

fn delivery_jobs(db: &Db, delivery: &str) -> Result<Vec<JobId>> {
    db.rows("SELECT job_id FROM webhook_deliveries WHERE delivery = ?1 ORDER BY job_id", &[&delivery], |r| {
        r.get(0).map(JobId)
    })
}

/// The first recorded delivery to `project` with this body, and the jobs it scheduled.
fn same_body(db: &Db, project: &str, hash: &str) -> Result<Option<(String, Vec<JobId>)>> {
    let rows: Vec<(String, i64)> = db.rows(
        "SELECT delivery, job_id FROM webhook_deliveries
         WHERE project = ?1 AND body_sha256 = ?2
           AND delivery = (SELECT delivery FROM webhook_deliveries
                           WHERE project = ?1 AND body_sha256 = ?2 ORDER BY id LIMIT 1)
         ORDER BY job_id",
        &[&project, &hash],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some((first, _)) = rows.first() else { return Ok(None) };
    Ok(Some((first.clone(), rows.iter().map(|(_, id)| JobId(*id)).collect())))
}

#[cfg(test)]
mod tests;
