//! Slack delivery paused: Slack refused the bot token (revoked, the app uninstalled, a scope
//! missing), so every message stays queued until a new token is loaded or a call succeeds
//! again. The pause lives in the queue, not in one process, so that `ebmbot status`, `/readyz`
//! and every deliverer see it. One row per pause (`slack_pauses`); a unique index keeps at most
//! one open. Closed pauses keep their interval, so a message's age can leave paused time out;
//! retention prunes them.

use std::time::Duration;

use jiff::Timestamp;

use super::{Queue, Result, ms, ts};

/// An open pause: what Slack answered, and since when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SlackPause {
    /// Slack's error code (`token_revoked`, `invalid_auth`, …) or the event (`app_uninstalled`,
    /// `tokens_revoked`).
    pub code: String,
    #[serde(serialize_with = "super::model::ser_ts")]
    pub since: Timestamp,
}

impl Queue {
    /// Pauses Slack delivery for `code`, unless it is paused already. True when this call
    /// started the pause (its caller says so, once).
    pub fn pause_slack(&mut self, code: &str, now: Timestamp) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.exec(
            "INSERT INTO slack_pauses (code, started_at, open) VALUES (?1, ?2, 1) ON CONFLICT DO NOTHING",
            &[&code, &ms(now)],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Ends the open pause, if there is one; returns it.
    pub fn resume_slack(&mut self, now: Timestamp) -> Result<Option<SlackPause>> {
        let tx = self.write()?;
        let ended = tx.row(
            "UPDATE slack_pauses SET ended_at = ?1, open = NULL WHERE open = 1 RETURNING code, started_at",
            &[&ms(now)],
            |r| Ok(SlackPause { code: r.get(0)?, since: ts(r.get(1)?) }),
        )?;
        tx.commit()?;
        Ok(ended)
    }

    /// The open pause, if any.
    pub fn slack_pause(&self) -> Result<Option<SlackPause>> {
        self.db.row("SELECT code, started_at FROM slack_pauses WHERE open = 1", &[], |r| {
            Ok(SlackPause { code: r.get(0)?, since: ts(r.get(1)?) })
        })
    }

    /// How much of `[from, to]` Slack delivery was paused.
    pub fn paused_between(&self, from: Timestamp, to: Timestamp) -> Result<Duration> {
        let (from, to) = (ms(from), ms(to));
        let spans: Vec<(i64, Option<i64>)> = self.db.rows(
            "SELECT started_at, ended_at FROM slack_pauses
             WHERE started_at < ?2 AND (ended_at IS NULL OR ended_at > ?1)",
            &[&from, &to],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let paused: i64 =
            spans.into_iter().map(|(start, end)| (end.unwrap_or(to).min(to) - start.max(from)).max(0)).sum();
        Ok(Duration::from_millis(paused.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests;
