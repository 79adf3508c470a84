//! Timers' state (`timer_log`): when each was first seen, each fire time that ran or was
//! skipped, pauses and resumes. A fire time is recorded at most once (a unique index), in the
//! transaction that schedules its job: that is how every dispatcher sharing the queue agrees on
//! who fires it. Which fire times are due is the runner's business (`runner::timers`); this
//! file stores and reads.

use jiff::Timestamp;

use super::db::{Db, Row};
use super::model::{EventKind, JobId};
use super::{Queue, QueueError, Result, ms, ts};

/// A row of `timer_log`: something that happened to a timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerEntry {
    pub id: i64,
    pub namespace: String,
    pub timer: String,
    pub kind: TimerEntryKind,
    /// The fire time (`Ran`, `Skipped`), or when it happened (the others).
    pub at: Timestamp,
    /// How many fire times it stands for: missed ones that ran once, or were skipped together.
    pub covers: u64,
    pub job: Option<JobId>,
    /// Who paused or resumed it.
    pub who: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerEntryKind {
    /// A dispatcher saw the timer for the first time: it fires from then on.
    Seen,
    Ran,
    Skipped,
    Paused,
    Resumed,
}

impl TimerEntryKind {
    const ALL: [TimerEntryKind; 5] = [Self::Seen, Self::Ran, Self::Skipped, Self::Paused, Self::Resumed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Seen => "seen",
            Self::Ran => "ran",
            Self::Skipped => "skipped",
            Self::Paused => "paused",
            Self::Resumed => "resumed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<TimerEntryKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A timer's state as the queue knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimerState {
    /// The latest `at` of any entry: fire times after it are still to come. `None`: never seen.
    pub since: Option<Timestamp>,
    /// Its last fire (ran or skipped).
    pub last_fire: Option<TimerEntry>,
    /// Who paused it and when, while it is paused.
    pub paused: Option<(String, Timestamp)>,
}

const ENTRY: &str = "id, namespace, timer, kind, at, covers, job_id, who";

fn entry(r: &Row<'_, '_>) -> Result<TimerEntry> {
    let kind: String = r.get(3)?;
    Ok(TimerEntry {
        id: r.get(0)?,
        namespace: r.get(1)?,
        timer: r.get(2)?,
        kind: TimerEntryKind::parse(&kind).ok_or_else(|| QueueError::Corrupt(format!("timer entry kind `{kind}`")))?,
        at: ts(r.get(4)?),
        covers: r.get::<i64>(5)?.unsigned_abs(),
        job: r.get::<Option<i64>>(6)?.map(JobId),
        who: r.get(7)?,
    })
}

fn state(db: &Db, namespace: &str, timer: &str) -> Result<TimerState> {
    let since: Option<i64> = db
        .row("SELECT max(at) FROM timer_log WHERE namespace = ?1 AND timer = ?2", &[&namespace, &timer], |r| r.get(0))?
        .flatten();
    let last_fire = db.row(
        &format!(
            "SELECT {ENTRY} FROM timer_log WHERE namespace = ?1 AND timer = ?2 AND kind IN ('ran', 'skipped')
             ORDER BY at DESC LIMIT 1"
        ),
        &[&namespace, &timer],
        entry,
    )?;
    let pause = db.row(
        &format!(
            "SELECT {ENTRY} FROM timer_log WHERE namespace = ?1 AND timer = ?2 AND kind IN ('paused', 'resumed')
             ORDER BY id DESC LIMIT 1"
        ),
        &[&namespace, &timer],
        entry,
    )?;
    let paused = pause.filter(|p| p.kind == TimerEntryKind::Paused).map(|p| (p.who.unwrap_or_default(), p.at));
    Ok(TimerState { since: since.map(ts), last_fire, paused })
}

fn insert(
    db: &Db,
    namespace: &str,
    timer: &str,
    kind: TimerEntryKind,
    at: Timestamp,
    who: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    db.exec(
        "INSERT INTO timer_log (namespace, timer, kind, at, who, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[&namespace, &timer, &kind.as_str(), &ms(at), &who, &ms(now)],
    )?;
    Ok(())
}

impl Queue {
    /// A timer's state.
    pub fn timer_state(&self, namespace: &str, timer: &str) -> Result<TimerState> {
        state(&self.db, namespace, timer)
    }

    /// Records that a dispatcher saw the timer for the first time, at `now`.
    pub fn timer_seen(&mut self, namespace: &str, timer: &str, now: Timestamp) -> Result<()> {
        let tx = self.write()?;
        insert(&tx, namespace, timer, TimerEntryKind::Seen, now, None, now)?;
        tx.commit()
    }

    /// Records fire time `at` as `Ran` (then [`Queue::timer_fire_job`] names its job) or
    /// `Skipped`, standing for `covers` fire times. `None` when the fire time already has a
    /// record: another dispatcher fired it, and the caller must do nothing. A skip gets a
    /// `timer_skipped` event when a logs channel is configured.
    pub fn record_timer_fire(
        &mut self,
        namespace: &str,
        timer: &str,
        kind: TimerEntryKind,
        at: Timestamp,
        covers: u64,
        now: Timestamp,
    ) -> Result<Option<i64>> {
        let announce = self.options.announce_starts;
        let tx = self.write()?;
        let covers = i64::try_from(covers).unwrap_or(i64::MAX);
        let id: Option<i64> = tx.row(
            "INSERT INTO timer_log (namespace, timer, kind, at, covers, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT DO NOTHING RETURNING id",
            &[&namespace, &timer, &kind.as_str(), &ms(at), &covers, &ms(now)],
            |r| r.get(0),
        )?;
        if let Some(id) = id
            && kind == TimerEntryKind::Skipped
            && announce
        {
            tx.exec(
                "INSERT INTO events (job_id, kind, created_at) VALUES (?1, ?2, ?3)",
                &[&id, &EventKind::TimerSkipped.as_str(), &ms(now)],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Names the job a recorded fire scheduled.
    pub fn timer_fire_job(&mut self, entry: i64, job: JobId) -> Result<()> {
        let tx = self.write()?;
        tx.exec("UPDATE timer_log SET job_id = ?2 WHERE id = ?1", &[&entry, &job.0])?;
        tx.commit()
    }

    /// Pauses a timer: it fires nothing until resumed. False when it was paused already.
    pub fn pause_timer(&mut self, namespace: &str, timer: &str, who: &str, now: Timestamp) -> Result<bool> {
        self.pause_or_resume(namespace, timer, TimerEntryKind::Paused, who, now)
    }

    /// Resumes a paused timer; it fires from `now` on (what fell due while paused is not
    /// missed). False when it was not paused.
    pub fn resume_timer(&mut self, namespace: &str, timer: &str, who: &str, now: Timestamp) -> Result<bool> {
        self.pause_or_resume(namespace, timer, TimerEntryKind::Resumed, who, now)
    }

    fn pause_or_resume(
        &mut self,
        namespace: &str,
        timer: &str,
        kind: TimerEntryKind,
        who: &str,
        now: Timestamp,
    ) -> Result<bool> {
        // Locked: a pause must not slip between a dispatcher's reading of the state and its fire.
        let tx = self.write_locked()?;
        let paused = state(&tx, namespace, timer)?.paused.is_some();
        if paused == (kind == TimerEntryKind::Paused) {
            return Ok(false);
        }
        insert(&tx, namespace, timer, kind, now, Some(who), now)?;
        tx.commit()?;
        Ok(true)
    }

    /// One entry, by id (the deliverer reads a skip's).
    pub fn timer_entry(&self, id: i64) -> Result<Option<TimerEntry>> {
        self.db.row(&format!("SELECT {ENTRY} FROM timer_log WHERE id = ?1"), &[&id], entry)
    }
}

/// Deletes at most `batch` entries created before `before`, never a timer's newest (its
/// state and where its fires count from).
pub(super) fn prune(db: &Db, before: Timestamp, batch: i64) -> Result<u64> {
    db.exec(
        "DELETE FROM timer_log WHERE id IN (
             SELECT id FROM timer_log t
             WHERE created_at < ?1
               AND EXISTS (SELECT 1 FROM timer_log n
                           WHERE n.namespace = t.namespace AND n.timer = t.timer AND n.id > t.id)
             ORDER BY id LIMIT ?2)",
        &[&ms(before), &batch],
    )
}
