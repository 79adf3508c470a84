//! Reading what is still to do, on one snapshot, as [`Record`]s.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;

use super::{
    DeliveryRecord, EventRecord, FinishedRecord, Header, JobRecord, OutOfOfficeRecord, Record, RequestRecord,
    SlackChannelRecord, SlackCommandRecord, SlackConfirmationRecord, SlackReplyRecord, StepOutcomeWord, StepRecord,
    SuppressionRecord, TimerRecord, Undelivered,
};
use crate::queue::confirm;
use crate::queue::db::{Db, Row};
use crate::queue::jobs::request_from_row;
use crate::queue::model::{Args, EventKind, JobId, JobState};
use crate::queue::timers::TimerEntryKind;
use crate::queue::{Queue, QueueError, Result, ms, ts};

/// What [`Queue::export`] read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The header first, then the jobs, their events, suppressions, Slack commands and replies,
    /// timers.
    pub records: Vec<Record>,
    /// Jobs running at the time, which are not exported.
    pub running: Vec<JobId>,
    /// Undelivered events of those running jobs, not exported with them.
    pub running_events: u64,
}

impl Queue {
    /// Everything still to do (see the module), read on one snapshot.
    pub fn export(&self, now: Timestamp) -> Result<Export> {
        self.db.snapshot(|| export(&self.db, now))
    }
}

fn export(db: &Db, now: Timestamp) -> Result<Export> {
    let from = db.pick("sqlite", "postgresql").to_owned();
    let header = Header { exported_at: now, from, ebmbot: env!("CARGO_PKG_VERSION").to_owned() };
    let running: Vec<JobId> =
        db.rows("SELECT id FROM jobs WHERE state = 'running' ORDER BY id", &[], |r| r.get(0).map(JobId))?;
    let mut jobs = jobs(db)?;
    let ids: BTreeSet<i64> = jobs.iter().map(|j| j.id).collect();
    attach(db, &mut jobs)?;
    let mut steps = steps(db)?;
    let mut records = vec![Record::Header(header)];
    records.extend(jobs.into_iter().map(Record::Job));
    let mut running_events = 0;
    for (id, event) in events(db)? {
        if ids.contains(&event.job) {
            let mut event = event;
            event.delivery.steps = steps.remove(&(Some(id), None)).unwrap_or_default();
            records.push(Record::Event(event));
        } else {
            running_events += 1;
        }
    }
    records.extend(
        db.rows(
            "SELECT type, start_at, end_at FROM suppressions WHERE end_at > ?1 ORDER BY start_at, type, end_at",
            &[&ms(now)],
            |r| Ok(SuppressionRecord { job_type: r.get(0)?, start: ts(r.get(1)?), end: ts(r.get(2)?) }),
        )?
        .into_iter()
        .map(Record::Suppression),
    );
    let (commands, replies) = slack(db, &mut steps)?;
    records.extend(commands.into_iter().map(Record::SlackCommand));
    records.extend(confirmations(db)?.into_iter().map(Record::SlackConfirmation));
    records.extend(replies.into_iter().map(Record::SlackReply));
    records.extend(timers(db, &ids)?.into_iter().map(Record::Timer));
    records.extend(support(db, now)?);
    Ok(Export { records, running, running_events })
}

/// Pending jobs, and finished jobs with an undelivered event, by id (no requests yet).
fn jobs(db: &Db) -> Result<Vec<JobRecord>> {
    db.rows(
        "SELECT id, namespace, job, args, state, created_at, start_after, retry_of, finished_at, started_at,
                dispatcher_id, log_dir, pgid, exit_code, signal, detail, cancelled_by, timeout_ms
         FROM jobs
         WHERE state = 'pending'
            OR (state <> 'running' AND id IN (SELECT job_id FROM events WHERE delivered_at IS NULL))
         ORDER BY id",
        &[],
        job_record,
    )
}

fn job_record(r: &Row<'_, '_>) -> Result<JobRecord> {
    let id: i64 = r.get(0)?;
    let state: String = r.get(4)?;
    let state = JobState::parse(&state).ok_or_else(|| QueueError::Corrupt(format!("job {id}: state `{state}`")))?;
    let args: String = r.get(3)?;
    let args = Args::from_json(&args).map_err(|e| QueueError::Corrupt(format!("job {id}: args: {e}")))?;
    let finished = match r.get::<Option<i64>>(8)? {
        Some(finished_at) => Some(FinishedRecord {
            finished_at: ts(finished_at),
            started_at: r.get::<Option<i64>>(9)?.map(ts),
            dispatcher_id: r.get(10)?,
            log_dir: r.get(11)?,
            pgid: r.get(12)?,
            exit_code: r.get(13)?,
            signal: r.get(14)?,
            detail: r.get(15)?,
            cancelled_by: r.get(16)?,
            timeout_ms: r.get(17)?,
        }),
        None => None,
    };
    Ok(JobRecord {
        id,
        namespace: r.get(1)?,
        job: r.get(2)?,
        args,
        state,
        created_at: ts(r.get(5)?),
        start_after: ts(r.get(6)?),
        retry_of: r.get(7)?,
        finished,
        requests: Vec::new(),
        deliveries: Vec::new(),
    })
}

/// Each job's requests and GitHub delivery records, in the order they were written.
fn attach(db: &Db, jobs: &mut [JobRecord]) -> Result<()> {
    let Some(first) = jobs.first().map(|j| j.id) else { return Ok(()) };
    let index: HashMap<i64, usize> = jobs.iter().enumerate().map(|(i, j)| (j.id, i)).collect();
    db.each("SELECT id, job_id, created_at, origin FROM requests WHERE job_id >= ?1 ORDER BY id", &[&first], |r| {
        let (job_id, request) = request_from_row(r)?;
        if let Some(&i) = index.get(&job_id) {
            jobs[i].requests.push(RequestRecord { created_at: request.created_at, origin: request.origin });
        }
        Ok::<_, QueueError>(())
    })?;
    db.each(
        "SELECT job_id, delivery, project, event, created_at, body_sha256 FROM webhook_deliveries
         WHERE job_id >= ?1 ORDER BY id",
        &[&first],
        |r| {
            if let Some(&i) = index.get(&r.get::<i64>(0)?) {
                jobs[i].deliveries.push(DeliveryRecord {
                    delivery: r.get(1)?,
                    project: r.get(2)?,
                    event: r.get(3)?,
                    created_at: ts(r.get(4)?),
                    body_sha256: r.get(5)?,
                });
            }
            Ok::<_, QueueError>(())
        },
    )
}

/// Undelivered events, by id (without their steps).
fn events(db: &Db) -> Result<Vec<(i64, EventRecord)>> {
    db.rows(
        "SELECT id, job_id, kind, created_at, attempts, next_attempt_at, last_error FROM events
         WHERE delivered_at IS NULL ORDER BY id",
        &[],
        |r| {
            let kind: String = r.get(2)?;
            let event = EventKind::parse(&kind).ok_or_else(|| QueueError::Corrupt(format!("event kind `{kind}`")))?;
            let delivery = Undelivered {
                attempts: r.get(4)?,
                next_attempt_at: r.get::<Option<i64>>(5)?.map(ts),
                last_error: r.get(6)?,
                steps: Vec::new(),
            };
            Ok((r.get(0)?, EventRecord { job: r.get(1)?, event, created_at: ts(r.get(3)?), delivery }))
        },
    )
}

/// The steps of undelivered events and replies, by (event id, reply id).
type Steps = BTreeMap<(Option<i64>, Option<i64>), Vec<StepRecord>>;

fn steps(db: &Db) -> Result<Steps> {
    let mut steps = Steps::new();
    db.each(
        "SELECT event_id, reply_id, step, outcome, result, at FROM slack_steps
         WHERE event_id IN (SELECT id FROM events WHERE delivered_at IS NULL)
            OR reply_id IN (SELECT id FROM slack_replies WHERE delivered_at IS NULL)
         ORDER BY step, id",
        &[],
        |r| {
            let outcome: String = r.get(3)?;
            let outcome = if outcome == "done" { StepOutcomeWord::Done } else { StepOutcomeWord::Failed };
            let step = StepRecord { step: r.get(2)?, outcome, result: r.get(4)?, at: ts(r.get(5)?) };
            steps.entry((r.get(0)?, r.get(1)?)).or_default().push(step);
            Ok::<_, QueueError>(())
        },
    )?;
    Ok(steps)
}

/// Slack commands not yet handled or answered by an undelivered reply; undelivered replies.
fn slack(db: &Db, steps: &mut Steps) -> Result<(Vec<SlackCommandRecord>, Vec<SlackReplyRecord>)> {
    let commands = db.rows(
        "SELECT event_id, channel, message_ts, received_at, payload, handled_at, outcome FROM slack_inbox
         WHERE handled_at IS NULL OR id IN (SELECT inbox_id FROM slack_replies WHERE delivered_at IS NULL)
         ORDER BY id",
        &[],
        |r| {
            Ok(SlackCommandRecord {
                event_id: r.get(0)?,
                channel: r.get(1)?,
                message_ts: r.get(2)?,
                received_at: ts(r.get(3)?),
                payload: r.get(4)?,
                handled_at: r.get::<Option<i64>>(5)?.map(ts),
                outcome: r.get(6)?,
            })
        },
    )?;
    let replies = db.rows(
        "SELECT r.id, i.event_id, r.created_at, r.channel, r.thread_ts, r.message_ts, r.text, r.reaction,
                r.log_path, r.log_part, r.attempts, r.next_attempt_at, r.last_error, r.repost_to, r.job_id,
                r.confirm_id
         FROM slack_replies r LEFT JOIN slack_inbox i ON i.id = r.inbox_id
         WHERE r.delivered_at IS NULL ORDER BY r.id",
        &[],
        |r| {
            let id: i64 = r.get(0)?;
            Ok(SlackReplyRecord {
                command: r.get(1)?,
                created_at: ts(r.get(2)?),
                channel: r.get(3)?,
                thread_ts: r.get(4)?,
                message_ts: r.get(5)?,
                text: r.get(6)?,
                reaction: r.get(7)?,
                log_path: r.get(8)?,
                log_part: r.get(9)?,
                repost_to: r.get(13)?,
                job: r.get(14)?,
                confirm: r.get(15)?,
                delivery: Undelivered {
                    attempts: r.get(10)?,
                    next_attempt_at: r.get::<Option<i64>>(11)?.map(ts),
                    last_error: r.get(12)?,
                    steps: steps.remove(&(None, Some(id))).unwrap_or_default(),
                },
            })
        },
    )?;
    Ok((commands, replies))
}

/// Requests waiting for their requester's *Confirm*.
fn confirmations(db: &Db) -> Result<Vec<SlackConfirmationRecord>> {
    let sql = format!("SELECT {} FROM slack_confirmations WHERE state = 'pending' ORDER BY id", confirm::COLUMNS);
    let pending = db.rows(&sql, &[], confirm::decode)?;
    Ok(pending.into_iter().map(SlackConfirmationRecord::from).collect())
}

/// The rows of each timer's log its state is read from (see [`TimerRecord`]), by id. A fire's
/// job is named only when that job is exported too.
fn timers(db: &Db, exported: &BTreeSet<i64>) -> Result<Vec<TimerRecord>> {
    db.rows(
        "SELECT namespace, timer, kind, at, covers, job_id, who, created_at FROM timer_log t
         WHERE id = (SELECT max(id) FROM timer_log u WHERE u.namespace = t.namespace AND u.timer = t.timer
                         AND u.kind IN ('paused', 'resumed'))
            OR id = (SELECT id FROM timer_log u WHERE u.namespace = t.namespace AND u.timer = t.timer
                         AND u.kind IN ('ran', 'skipped') ORDER BY at DESC, id DESC LIMIT 1)
            OR id = (SELECT id FROM timer_log u WHERE u.namespace = t.namespace AND u.timer = t.timer
                         ORDER BY at DESC, id DESC LIMIT 1)
         ORDER BY id",
        &[],
        |r| {
            let kind: String = r.get(2)?;
            let entry =
                TimerEntryKind::parse(&kind).ok_or_else(|| QueueError::Corrupt(format!("timer entry `{kind}`")))?;
            Ok(TimerRecord {
                namespace: r.get(0)?,
                timer: r.get(1)?,
                entry,
                at: ts(r.get(3)?),
                covers: r.get(4)?,
                job: r.get::<Option<i64>>(5)?.filter(|id| exported.contains(id)),
                who: r.get(6)?,
                created_at: ts(r.get(7)?),
            })
        },
    )
}

/// Out-of-office periods that have not ended, and the catch-up's channel marks.
fn support(db: &Db, now: Timestamp) -> Result<Vec<Record>> {
    let mut out: Vec<Record> = db.rows(
        "SELECT listener, starts_at, ends_at, set_by, set_at FROM out_of_office WHERE ends_at > ?1 ORDER BY listener",
        &[&ms(now)],
        |r| {
            Ok(Record::OutOfOffice(OutOfOfficeRecord {
                listener: r.get(0)?,
                start: ts(r.get(1)?),
                end: ts(r.get(2)?),
                set_by: r.get(3)?,
                set_at: ts(r.get(4)?),
            }))
        },
    )?;
    out.extend(db.rows("SELECT channel, last_ts, read_at FROM slack_channels ORDER BY channel", &[], |r| {
        Ok(Record::SlackChannel(SlackChannelRecord { channel: r.get(0)?, last_ts: r.get(1)?, read_at: ts(r.get(2)?) }))
    })?);
    Ok(out)
}
