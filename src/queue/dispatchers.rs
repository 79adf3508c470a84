//! Dispatchers: every process that runs jobs registers, heartbeats, and leaves.

use super::model::{Dispatcher, DispatcherId};
use super::{Queue, QueueError, Result, ms, sub_duration, ts};
use std::time::Duration;

use jiff::Timestamp;

/// A process registering as a dispatcher (docs/architecture.md §2, "lost").
#[derive(Debug, Clone)]
pub struct NewDispatcher {
    /// `dispatch`, `serve`, `run`, …
    pub kind: String,
    pub host: String,
    pub boot_id: String,
    pub pid: i64,
    /// The process start time (clock ticks since boot), to tell a reused pid apart.
    pub pid_start: i64,
    /// Its `EBMBOT_TIMEZONE` (`Europe/London`): every dispatcher of a queue must have the same.
    pub timezone: String,
    /// How long its jobs are its own without a renewal (`EBMBOT_LEASE`).
    pub lease: Duration,
}

impl Queue {
    /// Refused when a live dispatcher (a heartbeat within `live`) has another time zone: a
    /// timer's fire times and `HH:MM` would mean different moments on different hosts.
    pub fn register_dispatcher(&mut self, d: &NewDispatcher, now: Timestamp) -> Result<DispatcherId> {
        let tx = self.write_locked()?;
        let live = sub_duration(now, crate::runner::HEARTBEAT_STALE);
        let other: Option<(String, String, i64)> = tx.row(
            "SELECT timezone, host, id FROM dispatchers
             WHERE heartbeat_at >= ?1 AND timezone IS NOT NULL AND timezone <> ?2 ORDER BY id LIMIT 1",
            &[&ms(live), &d.timezone],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        if let Some((theirs, host, id)) = other {
            return Err(QueueError::TimezoneMismatch { mine: d.timezone.clone(), theirs, host, id });
        }
        let id = DispatcherId(tx.insert(
            "INSERT INTO dispatchers (kind, host, boot_id, pid, pid_start, started_at, heartbeat_at, timezone, lease_until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
            &[&d.kind, &d.host, &d.boot_id, &d.pid, &d.pid_start, &ms(now), &d.timezone, &ms(add(now, d.lease))],
        )?);
        tx.commit()?;
        Ok(id)
    }

    /// Records that the dispatcher is alive and renews its lease until `now + lease`. False
    /// when its row is gone: another host declared it lost (its lease had ended) and its jobs
    /// are no longer its own.
    pub fn heartbeat(&mut self, id: DispatcherId, now: Timestamp, lease: Duration) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.exec(
            "UPDATE dispatchers SET heartbeat_at = ?2, lease_until = ?3 WHERE id = ?1",
            &[&id.0, &ms(now), &ms(add(now, lease))],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Removes a dispatcher that is leaving cleanly (it has no running jobs left), or that
    /// recovery found gone. Under the claims' lock, so that a claim never names a dispatcher
    /// being removed.
    pub fn unregister_dispatcher(&mut self, id: DispatcherId) -> Result<()> {
        let tx = self.write_locked()?;
        tx.exec("DELETE FROM dispatchers WHERE id = ?1", &[&id.0])?;
        tx.commit()?;
        Ok(())
    }

    pub fn dispatchers(&self) -> Result<Vec<Dispatcher>> {
        self.db.rows(
            "SELECT id, kind, host, boot_id, pid, pid_start, started_at, heartbeat_at, lease_until FROM dispatchers ORDER BY id",
            &[],
            |r| {
                Ok(Dispatcher {
                    id: DispatcherId(r.get(0)?),
                    kind: r.get(1)?,
                    host: r.get(2)?,
                    boot_id: r.get(3)?,
                    pid: r.get(4)?,
                    pid_start: r.get(5)?,
                    started_at: ts(r.get(6)?),
                    heartbeat_at: ts(r.get(7)?),
                    lease_until: r.get::<Option<i64>>(8)?.map(ts),
                })
            },
        )
    }
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX)).unwrap_or(Timestamp::MAX)
}
