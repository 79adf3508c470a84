//! Jobs' output kept in the queue (`job_logs`), so that `logs` works from a host that did not
//! run the job. The dispatcher ships each stream in chunks as the job runs; only the last
//! `EBMBOT_DB_LOG_MAX` bytes of a stream are kept. Chunks go with their job (a foreign key that
//! cascades), so retention needs no rule of its own.

use super::model::JobId;
use super::{Queue, Result};

/// A stream's text kept in the queue: from byte `start` of the stream to byte `end`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shipped {
    pub start: u64,
    pub end: u64,
    pub bytes: Vec<u8>,
}

impl Queue {
    /// Appends `data`, the bytes of a job's `stream` from byte `pos`, and drops the chunks that
    /// end at or before `keep_from` (what is older than the kept tail).
    pub fn ship_log(&mut self, id: JobId, stream: &str, pos: u64, data: &[u8], keep_from: u64) -> Result<()> {
        let tx = self.write()?;
        let pos = i64::try_from(pos).unwrap_or(i64::MAX);
        tx.exec(
            "INSERT INTO job_logs (job_id, stream, pos, data) VALUES (?1, ?2, ?3, ?4)",
            &[&id.0, &stream, &pos, &data],
        )?;
        let keep_from = i64::try_from(keep_from).unwrap_or(i64::MAX);
        tx.exec(
            "DELETE FROM job_logs WHERE job_id = ?1 AND stream = ?2 AND pos + length(data) <= ?3",
            &[&id.0, &stream, &keep_from],
        )?;
        tx.commit()
    }

    /// What the queue keeps of a job's `stream` from byte `from` on (all it keeps when that is
    /// older); `None` when it keeps nothing of it.
    pub fn shipped_log(&self, id: JobId, stream: &str, from: u64) -> Result<Option<Shipped>> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let chunks: Vec<(i64, Vec<u8>)> = self.db.rows(
            "SELECT pos, data FROM job_logs WHERE job_id = ?1 AND stream = ?2 AND pos + length(data) > ?3 ORDER BY pos",
            &[&id.0, &stream, &from],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let Some(first) = chunks.first() else { return Ok(None) };
        let start = first.0.max(from);
        let mut out = Shipped { start: start.unsigned_abs(), end: start.unsigned_abs(), bytes: Vec::new() };
        for (pos, data) in chunks {
            let skip = usize::try_from(start - pos).unwrap_or(0).min(data.len());
            out.bytes.extend_from_slice(&data[skip..]);
        }
        out.end = out.start + out.bytes.len() as u64;
        Ok(Some(out))
    }

    /// Whether the queue keeps any of a job's output.
    pub fn has_shipped_log(&self, id: JobId) -> Result<bool> {
        Ok(self.db.row("SELECT 1 FROM job_logs WHERE job_id = ?1 LIMIT 1", &[&id.0], |r| r.get::<i64>(0))?.is_some())
    }
}
