//! Suppression windows: while `start <= now < end` no job of the type starts.

use super::db::Db;
use super::model::Suppression;
use super::{Queue, Result, ms, ts};
use jiff::Timestamp;

/// The end of the suppression of `job_type` in force at `at`, following back-to-back or
/// overlapping windows to the last one.
pub(super) fn window_end(db: &Db, job_type: &str, at: Timestamp) -> Result<Option<Timestamp>> {
    // Sorted here rather than by `ORDER BY`, which would make SQLite re-plan the statement for
    // every new `?1` (see `jobs::get`).
    let mut windows: Vec<(i64, i64)> = db.rows(
        "SELECT start_at, end_at FROM suppressions WHERE type = ?1 AND end_at > ?2",
        &[&job_type, &ms(at)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    windows.sort_unstable();
    let mut end: Option<i64> = None;
    for (start, stop) in windows {
        let t = end.unwrap_or(ms(at));
        if start <= t && t < stop {
            end = Some(end.map_or(stop, |e| e.max(stop)));
        }
    }
    Ok(end.map(ts))
}

impl Queue {
    /// Adds a window (callers check `start < end`), and deletes the type's expired ones.
    pub fn suppress(&mut self, job_type: &str, start: Timestamp, end: Timestamp, now: Timestamp) -> Result<()> {
        let tx = self.write()?;
        tx.exec("DELETE FROM suppressions WHERE end_at <= ?1", &[&ms(now)])?;
        tx.exec(
            "INSERT INTO suppressions (type, start_at, end_at) VALUES (?1, ?2, ?3)",
            &[&job_type, &ms(start), &ms(end)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Removes every window of a type; returns how many there were (expired ones included).
    pub fn unsuppress(&mut self, job_type: &str, now: Timestamp) -> Result<u64> {
        let tx = self.write()?;
        let n = tx.exec("DELETE FROM suppressions WHERE type = ?1 AND end_at > ?2", &[&job_type, &ms(now)])?;
        tx.exec("DELETE FROM suppressions WHERE end_at <= ?1", &[&ms(now)])?;
        tx.commit()?;
        Ok(n)
    }

    /// Windows that have not ended, by start.
    pub fn suppressions(&self, now: Timestamp) -> Result<Vec<Suppression>> {
        self.db.rows(
            "SELECT type, start_at, end_at FROM suppressions WHERE end_at > ?1 ORDER BY start_at, type",
            &[&ms(now)],
            |r| Ok(Suppression { job_type: r.get(0)?, start: ts(r.get(1)?), end: ts(r.get(2)?) }),
        )
    }

    /// The end of the suppression of `job_type` in force at `at`, if any.
    pub fn suppressed_until(&self, job_type: &str, at: Timestamp) -> Result<Option<Timestamp>> {
        window_end(&self.db, job_type, at)
    }
}
