//! Confirmations (`slack_confirmations`): a `confirm = true` job asked for in Slack waits here
//! for its requester's *Confirm* (docs/slack.md, "Buttons and /ebmbot"); *Cancel*, or ten
//! minutes without an answer, drops it. Resolved rows go with retention, a day later, like the
//! rest of the Slack tables.

use jiff::Timestamp;

use super::{Queue, Result, ms, ts};

/// A job waiting for its requester's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub id: i64,
    pub created_at: Timestamp,
    /// The Slack user who asked (only they may answer).
    pub user: String,
    pub channel: String,
    pub thread_ts: Option<String>,
    /// The asker's message (a mention's); empty for a slash command or a click.
    pub message_ts: String,
    pub namespace: String,
    pub job: String,
    /// The params, as `[[name, value], …]` JSON.
    pub args: String,
    pub delay_ms: i64,
    /// `pending`, `confirmed`, `cancelled` or `expired`.
    pub state: String,
}

pub(super) const COLUMNS: &str =
    "id, created_at, user_id, channel, thread_ts, message_ts, namespace, job, args, delay_ms, state";

pub(super) fn decode(r: &super::db::Row<'_, '_>) -> Result<Confirmation> {
    Ok(Confirmation {
        id: r.get(0)?,
        created_at: ts(r.get(1)?),
        user: r.get(2)?,
        channel: r.get(3)?,
        thread_ts: r.get(4)?,
        message_ts: r.get(5)?,
        namespace: r.get(6)?,
        job: r.get(7)?,
        args: r.get(8)?,
        delay_ms: r.get(9)?,
        state: r.get(10)?,
    })
}

/// Stores `c` as pending (its id and state aside); returns its id.
pub(super) fn insert(db: &super::db::Db, c: &Confirmation) -> Result<i64> {
    db.insert(
        "INSERT INTO slack_confirmations
             (created_at, user_id, channel, thread_ts, message_ts, namespace, job, args, delay_ms, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
        &[
            &ms(c.created_at),
            &c.user,
            &c.channel,
            &c.thread_ts,
            &c.message_ts,
            &c.namespace,
            &c.job,
            &c.args,
            &c.delay_ms,
        ],
    )
}

impl Queue {
    /// Stores a job waiting for confirmation; returns its id (the buttons' value).
    pub fn add_confirmation(&mut self, c: &Confirmation) -> Result<i64> {
        let tx = self.write()?;
        let id = insert(&tx, c)?;
        tx.commit()?;
        Ok(id)
    }

    /// Where the question of confirmation `id` was posted (channel, ts): by the first reply
    /// asking it, before reply `before`; none if it was not posted.
    pub fn confirmation_prompt(&self, id: i64, before: i64) -> Result<Option<(String, String)>> {
        self.db.row(
            &format!(
                "SELECT r.channel, s.result FROM slack_replies r {}
                 WHERE r.confirm_id = ?1 AND r.id < ?2 AND s.result IS NOT NULL ORDER BY r.id LIMIT 1",
                super::slack::POSTED
            ),
            &[&id, &before],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    pub fn confirmation(&self, id: i64) -> Result<Option<Confirmation>> {
        self.db.row(&format!("SELECT {COLUMNS} FROM slack_confirmations WHERE id = ?1"), &[&id], decode)
    }

    /// Resolves a pending confirmation (`confirmed`, `cancelled`, `expired`); false when it was
    /// not pending any more (answered twice, or expired meanwhile).
    pub fn resolve_confirmation(&mut self, id: i64, state: &str, now: Timestamp) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.exec(
            "UPDATE slack_confirmations SET state = ?2, resolved_at = ?3 WHERE id = ?1 AND state = 'pending'",
            &[&id, &state, &ms(now)],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Pending confirmations asked for before `before`, oldest first.
    pub fn stale_confirmations(&self, before: Timestamp) -> Result<Vec<Confirmation>> {
        self.db.rows(
            &format!(
                "SELECT {COLUMNS} FROM slack_confirmations WHERE state = 'pending' AND created_at < ?1 ORDER BY id"
            ),
            &[&ms(before)],
            decode,
        )
    }

    /// When the oldest pending confirmation was asked for.
    pub fn oldest_pending_confirmation(&self) -> Result<Option<Timestamp>> {
        let at: Option<i64> = self
            .db
            .row("SELECT min(created_at) FROM slack_confirmations WHERE state = 'pending'", &[], |r| {
                r.get::<Option<i64>>(0)
            })?
            .flatten();
        Ok(at.map(ts))
    }
}
