//! Writing [`Record`]s into a queue, empty or not, in one transaction: nothing already there
//! is written twice, so importing a file again (or into the queue it came from) adds nothing.
//!
//! A job is already there when a job of the same type, args and creation time (to the
//! millisecond) is: the same job, imported before. A pending job otherwise joins a pending job
//! of the same type and args, as `schedule` would merge it (its requests are added; the start
//! of the newest request wins). A job keeps its id when it is free; else it takes the next one.
//! Requests, events, replies, commands and windows identical to one already stored are skipped.

use std::collections::{HashMap, HashSet};

use super::{
    EventRecord, JobRecord, OutOfOfficeRecord, Record, SlackChannelRecord, SlackCommandRecord, SlackConfirmationRecord,
    SlackReplyRecord, StepRecord, TimerRecord,
};
use crate::queue::db::Db;
use crate::queue::model::{JobState, JobType};
use crate::queue::record::JobRow;
use crate::queue::{Queue, QueueError, Result, ms, ts_order};

/// What [`Queue::import`] wrote and what it found already there.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Jobs added.
    pub jobs: u64,
    /// Pending jobs that joined an identical pending job (their requests added to it).
    pub merged: u64,
    /// Jobs already there (imported before).
    pub present: u64,
    /// Jobs whose id was taken, and the id they have now: (id in the file, new id).
    pub renumbered: Vec<(i64, i64)>,
    pub requests: u64,
    pub events: u64,
    pub suppressions: u64,
    pub slack_commands: u64,
    pub slack_replies: u64,
    /// Requests waiting for their requester's *Confirm*.
    pub slack_confirmations: u64,
    /// Timer log rows (a timer's last fire, pause).
    pub timers: u64,
    /// Support listeners' out-of-office periods.
    pub out_of_office: u64,
    /// Channels whose catch-up mark was set or moved on.
    pub slack_channels: u64,
    /// Lines with nothing new (requests, events, windows, commands, replies already stored).
    pub skipped: u64,
}

/// A record that cannot be imported: its index in the list, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub index: usize,
    pub reason: String,
}

/// Checks what one line cannot show alone: job ids unique, events after their job, replies
/// after their command, each job consistent as a stored row would have to be.
pub fn validate(records: &[Record]) -> Result<(), Invalid> {
    let mut jobs = HashSet::new();
    let mut commands = HashSet::new();
    let mut confirmations = HashSet::new();
    for (index, record) in records.iter().enumerate() {
        let bad = |reason: String| Invalid { index, reason };
        match record {
            Record::Header(_) => {}
            Record::Job(job) => {
                check_job(job).map_err(bad)?;
                if !jobs.insert(job.id) {
                    return Err(bad(format!("job {} appears twice", job.id)));
                }
            }
            Record::Event(e) if !jobs.contains(&e.job) => {
                return Err(bad(format!("the event is of job {}, which no earlier line has", e.job)));
            }
            Record::Event(_) => {}
            Record::Suppression(s) if s.start >= s.end => {
                return Err(bad(format!("the window of `{}` ends before it starts", s.job_type)));
            }
            Record::Suppression(_) => {}
            Record::SlackCommand(c) => {
                commands.insert(c.event_id.as_str());
            }
            Record::SlackReply(SlackReplyRecord { command: Some(c), .. }) if !commands.contains(c.as_str()) => {
                return Err(bad(format!("the reply answers Slack command `{c}`, which no earlier line has")));
            }
            Record::SlackReply(_) => {}
            Record::SlackConfirmation(c) => {
                if serde_json::from_str::<Vec<(String, String)>>(&c.args).is_err() {
                    return Err(bad(format!("confirmation {}: `args` must be JSON `[[name, value], …]`", c.id)));
                }
                if !confirmations.insert(c.id) {
                    return Err(bad(format!("confirmation {} appears twice", c.id)));
                }
            }
            Record::Timer(t) if t.covers < 1 => {
                return Err(bad(format!("timer `{}/{}`: `covers` must be at least 1", t.namespace, t.timer)));
            }
            Record::Timer(_) => {}
            Record::OutOfOffice(o) if o.start >= o.end => {
                return Err(bad(format!("the out of office of `{}` ends before it starts", o.listener)));
            }
            Record::OutOfOffice(_) | Record::SlackChannel(_) => {}
        }
    }
    Ok(())
}

fn check_job(job: &JobRecord) -> Result<(), String> {
    let name_ok = |s: &str, extra: char| {
        s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == extra)
    };
    if !name_ok(&job.namespace, '-') || !name_ok(&job.job, '_') {
        return Err(format!("job {}: `{}` / `{}` is not a namespace and job name", job.id, job.namespace, job.job));
    }
    match (job.state, &job.finished) {
        (JobState::Running, _) => {
            return Err(format!("job {} is running; running jobs are not imported", job.id));
        }
        (JobState::Pending, Some(_)) => return Err(format!("job {}: pending, with a finish", job.id)),
        (JobState::Pending, None) => {}
        (state, None) => return Err(format!("job {}: {state}, without `finished`", job.id)),
        (_, Some(_)) => {}
    }
    if job.requests.is_empty() {
        return Err(format!("job {}: no request asked for it", job.id));
    }
    row(job).decode().map(drop).map_err(|e| e.to_string())
}

/// The job as its `jobs` row.
fn row(job: &JobRecord) -> JobRow {
    let f = job.finished.clone().unwrap_or_default();
    JobRow {
        id: job.id,
        namespace: job.namespace.clone(),
        job: job.job.clone(),
        args: job.args.to_json(),
        state: job.state.as_str().to_owned(),
        created_at: ms(job.created_at),
        start_after: ms(job.start_after),
        started_at: f.started_at.map(ms),
        finished_at: job.finished.as_ref().map(|f| ms(f.finished_at)),
        exit_code: f.exit_code,
        signal: f.signal,
        detail: f.detail,
        log_dir: f.log_dir,
        dispatcher_id: f.dispatcher_id,
        pgid: f.pgid,
        retry_of: job.retry_of,
        cancel_requested_by: None,
        cancelled_by: f.cancelled_by,
        timeout_ms: f.timeout_ms,
    }
}

impl Queue {
    /// Writes `records` ([`validate`]d) in one transaction that holds the queue's lock (see
    /// the module for what counts as already there).
    pub fn import(&mut self, records: &[Record]) -> Result<Imported> {
        validate(records).map_err(|e| QueueError::Corrupt(format!("record {}: {}", e.index + 1, e.reason)))?;
        let tx = self.write_locked()?;
        let mut run = Run {
            db: &tx,
            out: Imported::default(),
            ids: HashMap::new(),
            commands: HashMap::new(),
            confirmations: HashMap::new(),
        };
        for record in records {
            match record {
                Record::Header(_) => {}
                Record::Job(job) => run.job(job)?,
                Record::Event(event) => run.event(event)?,
                Record::Suppression(s) => {
                    let n = tx.exec(
                        "INSERT INTO suppressions (type, start_at, end_at)
                         SELECT CAST(?1 AS TEXT), CAST(?2 AS BIGINT), CAST(?3 AS BIGINT)
                         WHERE NOT EXISTS (SELECT 1 FROM suppressions WHERE type = ?1 AND start_at = ?2 AND end_at = ?3)",
                        &[&s.job_type, &ms(s.start), &ms(s.end)],
                    )?;
                    run.count(n, |o| &mut o.suppressions);
                }
                Record::SlackCommand(c) => run.command(c)?,
                Record::SlackConfirmation(c) => run.confirmation(c)?,
                Record::SlackReply(r) => run.reply(r)?,
                Record::Timer(t) => run.timer(t)?,
                Record::OutOfOffice(o) => run.out_of_office(o)?,
                Record::SlackChannel(c) => run.slack_channel(c)?,
            }
        }
        if run.out.jobs > 0 {
            // Ids written explicitly do not move PostgreSQL's identity; new jobs must start past them.
            tx.row(
                tx.pick(
                    "SELECT max(id) FROM jobs",
                    "SELECT setval(pg_get_serial_sequence('jobs', 'id'), max(id)) FROM jobs",
                ),
                &[],
                |r| r.get::<Option<i64>>(0),
            )?;
        }
        let out = run.out;
        tx.commit()?;
        Ok(out)
    }
}

/// What tells two replies of one channel and millisecond apart: thread, message, text, reaction.
type ReplyText = (Option<String>, Option<String>, Option<String>, Option<String>);

/// One import in progress.
struct Run<'a> {
    db: &'a Db,
    out: Imported,
    /// Job id in the file → its id here.
    ids: HashMap<i64, i64>,
    /// Slack command `event_id` → its `slack_inbox` id here.
    commands: HashMap<String, i64>,
    /// Confirmation id in the file → its id here.
    confirmations: HashMap<i64, i64>,
}

impl Run<'_> {
    fn count(&mut self, n: u64, field: impl FnOnce(&mut Imported) -> &mut u64) {
        if n == 0 {
            self.out.skipped += 1;
        } else {
            *field(&mut self.out) += n;
        }
    }

    fn job(&mut self, job: &JobRecord) -> Result<()> {
        let job_type = JobType::new(&job.namespace, &job.job);
        let args = job.args.to_json();
        let same: Option<(i64, String)> = self.db.row(
            "SELECT id, state FROM jobs WHERE type = ?1 AND args = ?2 AND created_at = ?3 ORDER BY id LIMIT 1",
            &[&job_type, &args, &ms(job.created_at)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let pending: Option<i64> = if job.state == JobState::Pending && same.is_none() {
            self.db.row(
                "SELECT id FROM jobs WHERE type = ?1 AND args = ?2 AND state = 'pending'",
                &[&job_type, &args],
                |r| r.get(0),
            )?
        } else {
            None
        };
        let id = match (same, pending) {
            (Some((id, state)), _) => {
                self.out.present += 1;
                if state != "pending" {
                    // Imported before and run since (or finished already): nothing to add.
                    self.ids.insert(job.id, id);
                    return Ok(());
                }
                id
            }
            (None, Some(id)) => {
                self.out.merged += 1;
                id
            }
            (None, None) => {
                let id = self.insert_job(job, &job_type, &args)?;
                self.out.jobs += 1;
                id
            }
        };
        self.ids.insert(job.id, id);
        self.requests(job, id)?;
        for d in &job.deliveries {
            self.db.exec(
                "INSERT INTO webhook_deliveries (delivery, project, event, job_id, created_at, body_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (delivery, job_id) DO NOTHING",
                &[&d.delivery, &d.project, &d.event, &id, &ms(d.created_at), &d.body_sha256],
            )?;
        }
        Ok(())
    }

    /// Inserts the job under its own id if that is free, else the next id.
    fn insert_job(&mut self, job: &JobRecord, job_type: &JobType, args: &str) -> Result<i64> {
        let taken = self.db.row("SELECT id FROM jobs WHERE id = ?1", &[&job.id], |r| r.get::<i64>(0))?.is_some();
        let id = if taken {
            let next: i64 = self.db.row("SELECT coalesce(max(id), 0) + 1 FROM jobs", &[], |r| r.get(0))?.unwrap_or(1);
            self.out.renumbered.push((job.id, next));
            next
        } else {
            job.id
        };
        let r = row(job);
        self.db.exec(
            "INSERT INTO jobs (id, type, namespace, job, args, state, created_at, start_after, started_at,
                               finished_at, exit_code, signal, detail, log_dir, dispatcher_id, pgid, retry_of,
                               cancelled_by, timeout_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            &[
                &id,
                job_type,
                &r.namespace,
                &r.job,
                &args,
                &r.state,
                &r.created_at,
                &r.start_after,
                &r.started_at,
                &r.finished_at,
                &r.exit_code,
                &r.signal,
                &r.detail,
                &r.log_dir,
                &r.dispatcher_id,
                &r.pgid,
                &r.retry_of,
                &r.cancelled_by,
                &r.timeout_ms,
            ],
        )?;
        Ok(id)
    }

    /// Adds the job's requests not already on `id`; when one is newer than every request there
    /// (it joined a pending job), the job's start becomes the file's.
    fn requests(&mut self, job: &JobRecord, id: i64) -> Result<()> {
        let stored: Vec<(i64, String)> =
            self.db.rows("SELECT created_at, origin FROM requests WHERE job_id = ?1", &[&id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let newest_stored = stored.iter().map(|(at, _)| *at).max();
        let mut newer = false;
        for request in &job.requests {
            let origin = serde_json::to_string(&request.origin).map_err(|e| QueueError::Corrupt(e.to_string()))?;
            let at = ms(request.created_at);
            if stored.iter().any(|(a, o)| *a == at && *o == origin) {
                continue;
            }
            newer |= newest_stored.is_none_or(|n| at > n);
            self.db.exec(
                "INSERT INTO requests (job_id, created_at, origin, channel) VALUES (?1, ?2, ?3, ?4)",
                &[&id, &at, &origin, &request.origin.channel()],
            )?;
            self.out.requests += 1;
        }
        if newer && newest_stored.is_some() {
            self.db.exec(
                "UPDATE jobs SET start_after = ?2 WHERE id = ?1 AND state = 'pending'",
                &[&id, &ms(job.start_after)],
            )?;
        }
        Ok(())
    }

    fn event(&mut self, event: &EventRecord) -> Result<()> {
        let Some(&job) = self.ids.get(&event.job) else { return Ok(()) };
        let at = ms(event.created_at);
        let there = self
            .db
            .row(
                "SELECT id FROM events WHERE job_id = ?1 AND kind = ?2 AND created_at = ?3",
                &[&job, &event.event.as_str(), &at],
                |r| r.get::<i64>(0),
            )?
            .is_some();
        if there {
            self.out.skipped += 1;
            return Ok(());
        }
        let d = &event.delivery;
        let id = self.db.insert(
            "INSERT INTO events (job_id, kind, created_at, attempts, next_attempt_at, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[&job, &event.event.as_str(), &at, &d.attempts, &d.next_attempt_at.map(ms), &d.last_error],
        )?;
        self.steps("event_id", id, &d.steps)?;
        self.out.events += 1;
        Ok(())
    }

    fn steps(&self, column: &str, id: i64, steps: &[StepRecord]) -> Result<()> {
        let sql = format!("INSERT INTO slack_steps ({column}, step, outcome, result, at) VALUES (?1, ?2, ?3, ?4, ?5)");
        for s in steps {
            self.db.exec(&sql, &[&id, &s.step, &s.outcome.as_str(), &s.result, &ms(s.at)])?;
        }
        Ok(())
    }

    fn command(&mut self, c: &SlackCommandRecord) -> Result<()> {
        let n = self.db.exec(
            "INSERT INTO slack_inbox (event_id, channel, message_ts, received_at, payload, handled_at, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
            &[
                &c.event_id,
                &c.channel,
                &c.message_ts,
                &ms(c.received_at),
                &c.payload,
                &c.handled_at.map(ms),
                &c.outcome,
            ],
        )?;
        self.count(n, |o| &mut o.slack_commands);
        let id: Option<i64> =
            self.db.row("SELECT id FROM slack_inbox WHERE event_id = ?1", &[&c.event_id], |r| r.get(0))?;
        if let Some(id) = id {
            self.commands.insert(c.event_id.clone(), id);
        }
        Ok(())
    }

    /// An out-of-office period, unless the listener has one here already (set since: it wins).
    fn out_of_office(&mut self, o: &OutOfOfficeRecord) -> Result<()> {
        let n = self.db.exec(
            "INSERT INTO out_of_office (listener, starts_at, ends_at, set_by, set_at)
             SELECT CAST(?1 AS TEXT), CAST(?2 AS BIGINT), CAST(?3 AS BIGINT), CAST(?4 AS TEXT), CAST(?5 AS BIGINT)
             WHERE NOT EXISTS (SELECT 1 FROM out_of_office WHERE listener = ?1)",
            &[&o.listener, &ms(o.start), &ms(o.end), &o.set_by, &ms(o.set_at)],
        )?;
        self.count(n, |out| &mut out.out_of_office);
        Ok(())
    }

    /// A channel's catch-up mark, unless the channel has one here at or after it.
    fn slack_channel(&mut self, c: &SlackChannelRecord) -> Result<()> {
        let here: Option<Option<String>> =
            self.db.row("SELECT last_ts FROM slack_channels WHERE channel = ?1", &[&c.channel], |r| r.get(0))?;
        let newer = |ts: &str| c.last_ts.as_deref().is_some_and(|mine| ts_order(mine) > ts_order(ts));
        let n = match here {
            None => self.db.exec(
                "INSERT INTO slack_channels (channel, last_ts, read_at) VALUES (?1, ?2, ?3)",
                &[&c.channel, &c.last_ts, &ms(c.read_at)],
            )?,
            Some(Some(ts)) if !newer(&ts) => 0,
            Some(None) if c.last_ts.is_none() => 0,
            Some(_) => self.db.exec(
                "UPDATE slack_channels SET last_ts = ?2, read_at = ?3 WHERE channel = ?1",
                &[&c.channel, &c.last_ts, &ms(c.read_at)],
            )?,
        };
        self.count(n, |out| &mut out.slack_channels);
        Ok(())
    }

    /// A timer log row, unless the same is there; a fire time already recorded (by a
    /// dispatcher of this queue) keeps its record.
    fn timer(&mut self, t: &TimerRecord) -> Result<()> {
        let job = t.job.and_then(|id| self.ids.get(&id).copied());
        let n = self.db.exec(
            "INSERT INTO timer_log (namespace, timer, kind, at, covers, job_id, who, created_at)
             SELECT CAST(?1 AS TEXT), CAST(?2 AS TEXT), CAST(?3 AS TEXT), CAST(?4 AS BIGINT), CAST(?5 AS BIGINT),
                    CAST(?6 AS BIGINT), CAST(?7 AS TEXT), CAST(?8 AS BIGINT)
             WHERE NOT EXISTS (SELECT 1 FROM timer_log WHERE namespace = ?1 AND timer = ?2 AND kind = ?3 AND at = ?4)
             ON CONFLICT DO NOTHING",
            &[&t.namespace, &t.timer, &t.entry.as_str(), &ms(t.at), &t.covers, &job, &t.who, &ms(t.created_at)],
        )?;
        self.count(n, |o| &mut o.timers);
        Ok(())
    }

    fn reply(&mut self, r: &SlackReplyRecord) -> Result<()> {
        let stored: Vec<ReplyText> = self.db.rows(
            "SELECT thread_ts, message_ts, text, reaction FROM slack_replies WHERE created_at = ?1 AND channel = ?2",
            &[&ms(r.created_at), &r.channel],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )?;
        let this = (r.thread_ts.clone(), r.message_ts.clone(), r.text.clone(), r.reaction.clone());
        if stored.contains(&this) {
            self.out.skipped += 1;
            return Ok(());
        }
        let inbox = r.command.as_ref().and_then(|c| self.commands.get(c)).copied();
        // A job or confirmation not in the file (or not kept) leaves its buttons out.
        let job = r.job.and_then(|j| self.ids.get(&j)).copied();
        let confirm = r.confirm.and_then(|c| self.confirmations.get(&c)).copied();
        let d = &r.delivery;
        let id = self.db.insert(
            "INSERT INTO slack_replies (inbox_id, created_at, channel, thread_ts, message_ts, text, reaction,
                                        log_path, log_part, attempts, next_attempt_at, last_error, repost_to,
                                        job_id, confirm_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            &[
                &inbox,
                &ms(r.created_at),
                &r.channel,
                &r.thread_ts,
                &r.message_ts,
                &r.text,
                &r.reaction,
                &r.log_path,
                &r.log_part,
                &d.attempts,
                &d.next_attempt_at.map(ms),
                &d.last_error,
                &r.repost_to,
                &job,
                &confirm,
            ],
        )?;
        self.steps("reply_id", id, &d.steps)?;
        self.out.slack_replies += 1;
        Ok(())
    }

    /// A pending confirmation: added unless the same request (user, message, time) is here.
    fn confirmation(&mut self, c: &SlackConfirmationRecord) -> Result<()> {
        let same: Option<i64> = self.db.row(
            "SELECT id FROM slack_confirmations WHERE created_at = ?1 AND user_id = ?2 AND channel = ?3
                 AND message_ts = ?4",
            &[&ms(c.created_at), &c.user, &c.channel, &c.message_ts],
            |r| r.get(0),
        )?;
        let id = if let Some(id) = same {
            self.out.skipped += 1;
            id
        } else {
            self.out.slack_confirmations += 1;
            crate::queue::confirm::insert(self.db, &c.clone().into())?
        };
        self.confirmations.insert(c.id, id);
        Ok(())
    }
}
