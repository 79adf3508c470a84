//! Suppression windows: while `start <= now < end` no job of the type starts.

use jiff::Timestamp;
use rusqlite::{Connection, params};

use super::model::Suppression;
use super::{Queue, Result, exec, ms, ts};

/// The end of the suppression of `job_type` in force at `at`, following back-to-back or
/// overlapping windows to the last one.
pub(super) fn window_end(conn: &Connection, job_type: &str, at: Timestamp) -> Result<Option<Timestamp>> {
    // Sorted here rather than by `ORDER BY`, which would make SQLite re-plan the statement for
    // every new `?1` (see `jobs::get`).
    let mut stmt = conn.prepare_cached("SELECT start_at, end_at FROM suppressions WHERE type = ?1 AND end_at > ?2")?;
    let mut windows: Vec<(i64, i64)> =
        stmt.query_map(params![job_type, ms(at)], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
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
        exec(&tx, "DELETE FROM suppressions WHERE end_at <= ?1", [ms(now)])?;
        exec(
            &tx,
            "INSERT INTO suppressions (type, start_at, end_at) VALUES (?1, ?2, ?3)",
            params![job_type, ms(start), ms(end)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Removes every window of a type; returns how many there were (expired ones included).
    pub fn unsuppress(&mut self, job_type: &str, now: Timestamp) -> Result<u64> {
        let tx = self.write()?;
        let n = exec(&tx, "DELETE FROM suppressions WHERE type = ?1 AND end_at > ?2", params![job_type, ms(now)])?;
        exec(&tx, "DELETE FROM suppressions WHERE end_at <= ?1", [ms(now)])?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// Windows that have not ended, by start.
    pub fn suppressions(&self, now: Timestamp) -> Result<Vec<Suppression>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT type, start_at, end_at FROM suppressions WHERE end_at > ?1 ORDER BY start_at, type",
        )?;
        let rows = stmt.query_map([ms(now)], |r| {
            Ok(Suppression { job_type: r.get(0)?, start: ts(r.get(1)?), end: ts(r.get(2)?) })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The end of the suppression of `job_type` in force at `at`, if any.
    pub fn suppressed_until(&self, job_type: &str, at: Timestamp) -> Result<Option<Timestamp>> {
        window_end(&self.conn, job_type, at)
    }
}
