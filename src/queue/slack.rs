//! Slack's inbox and replies (docs/architecture.md §5): a received command is stored before it
//! is acknowledged; a worker marks it handled in the same transaction as the command it runs
//! (see [`Queue::atomically`]) and adds the reply, which is delivered like an event.

use std::fmt;

use jiff::Timestamp;

use super::{Queue, Result, ms, ts};

/// A stored Slack event that carries a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub id: i64,
    pub event_id: String,
    pub channel: String,
    pub message_ts: String,
    pub received_at: Timestamp,
    /// The event as received (JSON).
    pub payload: String,
}

/// What became of a stored Slack event, kept in `slack_inbox.outcome` for whoever reads the
/// database: `handled`, `error E12-3456`, or `ignored: <why>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxOutcome {
    /// Its command ran and its reply is queued.
    Handled,
    /// Its command failed; the user was told this error id, which is in the log.
    Error { id: String },
    /// It was no command for ebmbot (from a bot, not addressed to it, unreadable).
    Ignored { why: String },
}

impl fmt::Display for InboxOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handled => f.write_str("handled"),
            Self::Error { id } => write!(f, "error {id}"),
            Self::Ignored { why } => write!(f, "ignored: {why}"),
        }
    }
}

/// A reply to post for a command: text in a thread, a reaction on the request message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewReply {
    pub channel: String,
    /// The thread to answer in; `None`: top-level.
    pub thread_ts: Option<String>,
    /// The request message, for the reaction.
    pub message_ts: Option<String>,
    pub text: Option<String>,
    pub reaction: Option<String>,
    /// A log to attach, read when the reply is delivered: the reply stores where the log is, not
    /// its text (a `logs N … all` of a large log stays small in the database).
    pub log: Option<ReplyLog>,
    /// A support listener's channel: the request message's permalink is posted there.
    pub repost_to: Option<String>,
    /// The job the reply is about (one a Slack request queued): its message gets a *Cancel*
    /// button.
    pub job: Option<i64>,
    /// A confirmation the reply asks for: its message gets *Confirm* and *Cancel*.
    pub confirm: Option<i64>,
}

/// A log a reply attaches: the file and which part (`all`, `head:N`, `tail:N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLog {
    pub path: String,
    pub part: String,
}

/// A reply `r` joined to its message as posted: its first step, whose `s.result` is the
/// message's ts. Every reply's plan posts its message first (`bot::deliver::plan`).
pub(super) const POSTED: &str = "JOIN slack_steps s ON s.reply_id = r.id AND s.step = 0 AND s.outcome = 'done'";

/// A message that said a job was queued: where it is and its ts, so that the job's progress
/// and end update it in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMessage {
    pub channel: String,
    /// The thread it is in; `None`: top level.
    pub thread_ts: Option<String>,
    /// The request it answers (`None` in replies stored before requests were recorded).
    pub message_ts: Option<String>,
    pub ts: String,
}

/// A stored reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub id: i64,
    pub created_at: Timestamp,
    pub reply: NewReply,
}

impl Queue {
    /// Stores a received command unless the same event (`event_id`) or the same message
    /// (`channel` + `message_ts`: the `app_mention` and the `message` of one DM) is stored
    /// already. Returns whether it was stored.
    pub fn store_slack_event(
        &mut self,
        event_id: &str,
        channel: &str,
        message_ts: &str,
        payload: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.exec(
            "INSERT INTO slack_inbox (event_id, channel, message_ts, received_at, payload)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            &[&event_id, &channel, &message_ts, &ms(now), &payload],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// The oldest stored command not yet handled.
    pub fn next_slack_event(&self) -> Result<Option<InboxRow>> {
        self.db.row(
            "SELECT id, event_id, channel, message_ts, received_at, payload FROM slack_inbox
                 WHERE handled_at IS NULL ORDER BY id LIMIT 1",
            &[],
            |r| {
                Ok(InboxRow {
                    id: r.get(0)?,
                    event_id: r.get(1)?,
                    channel: r.get(2)?,
                    message_ts: r.get(3)?,
                    received_at: ts(r.get(4)?),
                    payload: r.get(5)?,
                })
            },
        )
    }

    /// Marks a stored command handled, with what became of it. False when it already was
    /// (another worker got there first): the caller must then do nothing.
    pub fn finish_slack_event(&mut self, id: i64, outcome: &InboxOutcome, now: Timestamp) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.exec(
            "UPDATE slack_inbox SET handled_at = ?2, outcome = ?3 WHERE id = ?1 AND handled_at IS NULL",
            &[&id, &ms(now), &outcome.to_string()],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Queues a reply for delivery.
    pub fn add_reply(&mut self, inbox_id: Option<i64>, reply: &NewReply, now: Timestamp) -> Result<i64> {
        let tx = self.write()?;
        let id = tx.insert(
            "INSERT INTO slack_replies
                 (inbox_id, created_at, channel, thread_ts, message_ts, text, reaction, log_path, log_part,
                  repost_to, job_id, confirm_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            &[
                &inbox_id,
                &ms(now),
                &reply.channel,
                &reply.thread_ts,
                &reply.message_ts,
                &reply.text,
                &reply.reaction,
                &reply.log.as_ref().map(|l| l.path.as_str()),
                &reply.log.as_ref().map(|l| l.part.as_str()),
                &reply.repost_to,
                &reply.job,
                &reply.confirm,
            ],
        )?;
        tx.commit()?;
        Ok(id)
    }

    pub fn reply(&self, id: i64) -> Result<Option<Reply>> {
        self.db.row(
            "SELECT id, created_at, channel, thread_ts, message_ts, text, reaction, log_path, log_part, repost_to, job_id,
                    confirm_id
             FROM slack_replies WHERE id = ?1",
            &[&id],
            |r| {
                Ok(Reply {
                    id: r.get(0)?,
                    created_at: ts(r.get(1)?),
                    reply: NewReply {
                        channel: r.get(2)?,
                        thread_ts: r.get(3)?,
                        message_ts: r.get(4)?,
                        text: r.get(5)?,
                        reaction: r.get(6)?,
                        log: match (r.get::<Option<String>>(7)?, r.get::<Option<String>>(8)?) {
                            (Some(path), Some(part)) => Some(ReplyLog { path, part }),
                            _ => None,
                        },
                        repost_to: r.get(9)?,
                        job: r.get(10)?,
                        confirm: r.get(11)?,
                    },
                })
            },
        )
    }

    /// A Slack user's requests still waiting: commands received and not handled yet (but
    /// `except`, the one being handled), replies to their commands not delivered yet, and
    /// pending jobs they asked for. The bot refuses more past `EBMBOT_SLACK_MAX_PENDING`.
    pub fn slack_user_pending(&self, user: &str, except: i64) -> Result<u64> {
        const LITE: &str = "SELECT
               (SELECT count(*) FROM slack_inbox
                 WHERE handled_at IS NULL AND id <> ?2 AND json_extract(payload, '$.event.user') = ?1)
             + (SELECT count(*) FROM slack_replies r JOIN slack_inbox i ON i.id = r.inbox_id
                 WHERE r.delivered_at IS NULL AND json_extract(i.payload, '$.event.user') = ?1)
             + (SELECT count(*) FROM requests q JOIN jobs j ON j.id = q.job_id
                 WHERE j.state = 'pending' AND json_extract(q.origin, '$.kind') = 'slack'
                   AND json_extract(q.origin, '$.user') = ?1)";
        const PG: &str = "SELECT
               (SELECT count(*) FROM slack_inbox
                 WHERE handled_at IS NULL AND id <> ?2 AND (payload::jsonb #>> '{event,user}') = ?1)
             + (SELECT count(*) FROM slack_replies r JOIN slack_inbox i ON i.id = r.inbox_id
                 WHERE r.delivered_at IS NULL AND (i.payload::jsonb #>> '{event,user}') = ?1)
             + (SELECT count(*) FROM requests q JOIN jobs j ON j.id = q.job_id
                 WHERE j.state = 'pending' AND (q.origin::jsonb ->> 'kind') = 'slack'
                   AND (q.origin::jsonb ->> 'user') = ?1)";
        let n: i64 = self.db.row(self.db.pick(LITE, PG), &[&user, &except], |r| r.get(0))?.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The messages that said a job was queued (a reply about it, delivered), so that its end
    /// updates them in place. Gone with the replies' retention, a day after.
    pub fn live_messages(&self, job: i64) -> Result<Vec<LiveMessage>> {
        self.db.rows(
            &format!(
                "SELECT r.channel, r.thread_ts, r.message_ts, s.result FROM slack_replies r {POSTED}
                 WHERE r.job_id = ?1 AND s.result IS NOT NULL ORDER BY r.id"
            ),
            &[&job],
            |r| Ok(LiveMessage { channel: r.get(0)?, thread_ts: r.get(1)?, message_ts: r.get(2)?, ts: r.get(3)? }),
        )
    }

    /// The messages that said a running job was queued: (job, channel, ts).
    pub fn running_live_messages(&self) -> Result<Vec<(i64, String, String)>> {
        self.db.rows(
            &format!(
                "SELECT j.id, r.channel, s.result FROM jobs j JOIN slack_replies r ON r.job_id = j.id {POSTED}
                 WHERE j.state = 'running' AND s.result IS NOT NULL ORDER BY j.id"
            ),
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    }

    /// Claims, or renews, the right to make the running jobs' progress updates for `owner` (a
    /// deliverer) until `until`: one deliverer at a time for all processes and hosts, so that
    /// the minute's `chat.update` budget is the whole bot's. Taken over once its holder's lease
    /// has ended. True when `owner` holds it.
    pub fn claim_progress(&mut self, owner: &str, now: Timestamp, until: Timestamp) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.exec(
            "INSERT INTO slack_progress (id, owner, lease_until) VALUES (1, ?1, ?3)
             ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
             WHERE slack_progress.owner = excluded.owner OR slack_progress.lease_until <= ?2",
            &[&owner, &ms(now), &ms(until)],
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Gives the progress lease up, if `owner` holds it (a bot stopping).
    pub fn release_progress(&mut self, owner: &str) -> Result<()> {
        let tx = self.write()?;
        tx.exec("DELETE FROM slack_progress WHERE owner = ?1", &[&owner])?;
        tx.commit()
    }

    /// Deletes handled commands received before `before`, delivered replies created before it
    /// (with their step records), confirmations resolved before it, and a progress lease that
    /// ended before it. Returns how many rows went.
    pub fn prune_slack(&mut self, before: Timestamp) -> Result<u64> {
        let tx = self.write()?;
        let inbox =
            tx.exec("DELETE FROM slack_inbox WHERE handled_at IS NOT NULL AND received_at < ?1", &[&ms(before)])?;
        let replies =
            tx.exec("DELETE FROM slack_replies WHERE delivered_at IS NOT NULL AND created_at < ?1", &[&ms(before)])?;
        let confirmations =
            tx.exec("DELETE FROM slack_confirmations WHERE state <> 'pending' AND resolved_at < ?1", &[&ms(before)])?;
        let progress = tx.exec("DELETE FROM slack_progress WHERE lease_until < ?1", &[&ms(before)])?;
        tx.commit()?;
        Ok(inbox + replies + confirmations + progress)
    }
}

#[cfg(test)]
mod tests {
    use crate::queue::{NewReply, Options, Queue};

    #[test]
    fn an_event_is_stored_once_by_id_and_by_message() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(dir.path().join("q.db").as_path(), Options::default()).unwrap();
        let now = jiff::Timestamp::now();
        assert!(q.store_slack_event("Ev1", "C1", "1.1", "{}", now).unwrap());
        assert!(!q.store_slack_event("Ev1", "C1", "1.2", "{}", now).unwrap(), "same event id");
        assert!(!q.store_slack_event("Ev2", "C1", "1.1", "{}", now).unwrap(), "same message");
        assert!(q.store_slack_event("Ev3", "C2", "1.1", "{}", now).unwrap());
        let row = q.next_slack_event().unwrap().unwrap();
        assert_eq!(row.event_id, "Ev1");
        assert!(q.finish_slack_event(row.id, &super::InboxOutcome::Handled, now).unwrap());
        assert!(!q.finish_slack_event(row.id, &super::InboxOutcome::Handled, now).unwrap(), "only once");
        assert_eq!(q.next_slack_event().unwrap().unwrap().event_id, "Ev3");
        let reply = NewReply { channel: "C1".into(), text: Some("hi".into()), ..NewReply::default() };
        let id = q.add_reply(Some(row.id), &reply, now).unwrap();
        assert_eq!(q.reply(id).unwrap().unwrap().reply, reply);
        let later = crate::queue::add_duration(now, std::time::Duration::from_secs(1));
        assert_eq!(q.prune_slack(later).unwrap(), 1, "the handled event; the reply is undelivered");
    }

    #[test]
    fn the_outcome_is_stored_in_words() {
        use super::InboxOutcome;
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(dir.path().join("q.db").as_path(), Options::default()).unwrap();
        let now = jiff::Timestamp::now();
        let outcomes = [
            InboxOutcome::Handled,
            InboxOutcome::Error { id: "E1-0042".into() },
            InboxOutcome::Ignored { why: "sent by a bot user".into() },
        ];
        for (i, outcome) in outcomes.iter().enumerate() {
            q.store_slack_event(&format!("Ev{i}"), "C1", &format!("{i}.1"), "{}", now).unwrap();
            let row = q.next_slack_event().unwrap().unwrap();
            q.finish_slack_event(row.id, outcome, now).unwrap();
        }
        let stored: Vec<String> = q.db.rows("SELECT outcome FROM slack_inbox ORDER BY id", &[], |r| r.get(0)).unwrap();
        assert_eq!(stored, ["handled", "error E1-0042", "ignored: sent by a bot user"]);
    }
}
