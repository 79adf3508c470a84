//! SQLite's migrations, the schema's reference: [`super::pg`] is the same schema, version for
//! version, in PostgreSQL's types.

use rusqlite::Connection;

/// Migration `i` brings the schema from version `i` to `i + 1`.
///
/// Every index costs a page write in the transactions that touch it, and those transactions
/// are the hot path (schedule, claim, finish), so there are only the indexes those need.
/// Retention scans `jobs` and `events` in id order instead (ids grow with time), and
/// `events.job_id` has no foreign key: events are pruned by age, not by cascade.
pub(super) const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE dispatchers (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,
    host         TEXT NOT NULL,
    boot_id      TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    pid_start    INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
);

CREATE TABLE jobs (
    id             INTEGER PRIMARY KEY,
    type           TEXT NOT NULL,
    namespace      TEXT NOT NULL,
    job            TEXT NOT NULL,
    args           TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN
                       ('pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost')),
    created_at     INTEGER NOT NULL,
    start_after    INTEGER NOT NULL,
    started_at     INTEGER,
    finished_at    INTEGER,
    exit_code      INTEGER,
    signal         INTEGER,
    detail         TEXT,
    log_dir        TEXT,
    dispatcher_id  INTEGER,
    pgid           INTEGER,
    retry_of       INTEGER,
    cancel_requested_by TEXT
);
CREATE UNIQUE INDEX jobs_one_pending ON jobs(type, args) WHERE state = 'pending';
CREATE UNIQUE INDEX jobs_one_running ON jobs(type) WHERE state = 'running';
CREATE INDEX jobs_due ON jobs(start_after, id) WHERE state = 'pending';

CREATE TABLE requests (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    origin     TEXT NOT NULL,
    channel    TEXT
);
CREATE INDEX requests_job ON requests(job_id);

CREATE TABLE events (
    id             INTEGER PRIMARY KEY,
    job_id         INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('started', 'finished', 'suppressed')),
    created_at     INTEGER NOT NULL,
    delivered_at   INTEGER,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_owner    TEXT,
    lease_until    INTEGER,
    last_error     TEXT
);
CREATE INDEX events_undelivered ON events(id) WHERE delivered_at IS NULL;

CREATE TABLE suppressions (
    id       INTEGER PRIMARY KEY,
    type     TEXT NOT NULL,
    start_at INTEGER NOT NULL,
    end_at   INTEGER NOT NULL,
    CHECK (start_at < end_at)
);
CREATE INDEX suppressions_type ON suppressions(type, end_at);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
",
    SLACK,
    WEB,
    OUTCOMES,
    REPLAYS,
    REPLY_LOGS,
    SLACK_PAUSES,
    TIMERS,
    SUPPORT,
    // Each dispatcher's EBMBOT_TIMEZONE: hosts that disagree are refused at start.
    "ALTER TABLE dispatchers ADD COLUMN timezone TEXT;",
    HOSTS,
    // The job a reply is about (a Cancel button), the confirmation it asks for (Confirm and
    // Cancel), and the jobs waiting for their requester's Confirm (docs/slack.md).
    r"
ALTER TABLE slack_replies ADD COLUMN job_id INTEGER;
ALTER TABLE slack_replies ADD COLUMN confirm_id INTEGER;
CREATE TABLE slack_confirmations (
    id          INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    user_id     TEXT NOT NULL,
    channel     TEXT NOT NULL,
    thread_ts   TEXT,
    message_ts  TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    job         TEXT NOT NULL,
    args        TEXT NOT NULL,
    delay_ms    INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'cancelled', 'expired')),
    resolved_at INTEGER
);
CREATE INDEX slack_confirmations_pending ON slack_confirmations(created_at) WHERE state = 'pending';
",
    // Which Slack bot makes the running jobs' progress updates (one for all hosts, so the
    // minute's chat.update budget is the whole bot's): one row, renewed in place.
    r"
CREATE TABLE slack_progress (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    owner       TEXT NOT NULL,
    lease_until INTEGER NOT NULL
);
",
];

/// Several hosts on one queue (docs/postgres.md, "Several hosts"): each dispatcher's lease,
/// renewed by its heartbeat (`lease_until`, epoch ms; a job of another host is lost only after
/// it), and jobs' output shipped into the queue in chunks (`job_logs`: the bytes of `stream` from
/// byte `pos`), so that `logs` works from any host. Chunks go with their job.
const HOSTS: &str = r"
ALTER TABLE dispatchers ADD COLUMN lease_until INTEGER;
CREATE TABLE job_logs (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    stream TEXT NOT NULL CHECK (stream IN ('stdout', 'stderr')),
    pos    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (job_id, stream, pos)
);
";

/// A finished job's outcome in columns of its own, not only in the human `detail`: who
/// cancelled it (`cancelled_by`) and after how long it timed out (`timeout_ms`). Rows written
/// before are filled from their `detail` ("cancelled by U1", "timed out after 1h"), here and
/// in [`backfill_timeouts`].
const OUTCOMES: &str = r"
ALTER TABLE jobs ADD COLUMN cancelled_by TEXT;
ALTER TABLE jobs ADD COLUMN timeout_ms INTEGER;
UPDATE jobs SET cancelled_by = CASE WHEN detail LIKE 'cancelled by %' THEN substr(detail, 14) ELSE '' END
    WHERE state = 'cancelled';
";

/// The version [`OUTCOMES`] brings the schema to.
pub(super) const OUTCOMES_VERSION: usize = 4;

/// Fills `timeout_ms` of jobs that timed out before it existed, from their `detail` (written as
/// "timed out after <duration>"); 0 where that cannot be read.
pub(super) fn backfill_timeouts(tx: &Connection) -> rusqlite::Result<()> {
    let rows: Vec<(i64, Option<String>)> = tx
        .prepare("SELECT id, detail FROM jobs WHERE state = 'timed_out' AND timeout_ms IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, detail) in rows {
        let after = detail
            .as_deref()
            .and_then(|d| d.strip_prefix("timed out after "))
            .and_then(|d| crate::config::duration::parse(d).ok())
            .unwrap_or_default();
        let ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
        tx.execute("UPDATE jobs SET timeout_ms = ?2 WHERE id = ?1", [id, ms])?;
    }
    Ok(())
}

/// The Slack bot's tables (docs/architecture.md §3 and §5): received events, stored before they are acknowledged
/// (`slack_inbox`, one row per command: unique by event id and by channel + message ts);
/// replies to commands, an outbox beside `events` (`slack_replies`); and every Slack call a
/// delivery has made (`slack_steps`, one row per step of an event or reply), so that a
/// delivery interrupted half-way does not repeat the calls Slack already accepted.
const SLACK: &str = r"
CREATE TABLE slack_inbox (
    id          INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE,
    channel     TEXT NOT NULL,
    message_ts  TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    handled_at  INTEGER,
    outcome     TEXT,
    UNIQUE (channel, message_ts)
);
CREATE INDEX slack_inbox_todo ON slack_inbox(id) WHERE handled_at IS NULL;
CREATE INDEX slack_inbox_received ON slack_inbox(received_at);

CREATE TABLE slack_replies (
    id              INTEGER PRIMARY KEY,
    inbox_id        INTEGER REFERENCES slack_inbox(id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    thread_ts       TEXT,
    message_ts      TEXT,
    text            TEXT,
    reaction        TEXT,
    delivered_at    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT
);
CREATE INDEX slack_replies_undelivered ON slack_replies(id) WHERE delivered_at IS NULL;
CREATE INDEX slack_replies_delivered ON slack_replies(delivered_at) WHERE delivered_at IS NOT NULL;

CREATE TABLE slack_steps (
    id       INTEGER PRIMARY KEY,
    event_id INTEGER REFERENCES events(id) ON DELETE CASCADE,
    reply_id INTEGER REFERENCES slack_replies(id) ON DELETE CASCADE,
    step     INTEGER NOT NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('done', 'failed')),
    result   TEXT,
    at       INTEGER NOT NULL,
    CHECK ((event_id IS NULL) <> (reply_id IS NULL))
);
CREATE UNIQUE INDEX slack_steps_event ON slack_steps(event_id, step) WHERE event_id IS NOT NULL;
CREATE UNIQUE INDEX slack_steps_reply ON slack_steps(reply_id, step) WHERE reply_id IS NOT NULL;
";

/// The web server's tables (docs/architecture.md §3 and §6): the GitHub delivery log, and job metrics that every
/// process reports alike. A GitHub delivery that scheduled jobs has one row per job, written in
/// the same transaction as the job, so that a redelivery schedules nothing; pruned with
/// retention, in id order (no index on `created_at`: ids grow with time). Jobs finished by type
/// and final state, and per type the run time of those that started (count per bucket, not
/// cumulative; `le` is the bucket's upper bound in seconds, infinity for the last), incremented
/// in the transaction that finishes the job and never pruned.
const WEB: &str = r"
-- A GitHub delivery that scheduled a job, one row per job it scheduled; written in the same
-- transaction as the job. A redelivery of a recorded delivery schedules nothing. Pruned with
-- retention, in id order (no index on created_at: ids grow with time).
CREATE TABLE webhook_deliveries (
    id         INTEGER PRIMARY KEY,
    delivery   TEXT NOT NULL,
    project    TEXT NOT NULL,
    event      TEXT NOT NULL,
    job_id     INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (delivery, job_id)
);

-- Finished jobs by type, final state and run-time bucket, for /metrics: one row written with
-- each finish (the finish is the hot path), never pruned. `le` is the bucket's upper bound in
-- seconds (infinity for the last), or -1 for jobs that never started (counted by state, not in
-- the run-time histogram); `sum_seconds` adds up their run times.
CREATE TABLE metrics_jobs (
    type        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    le          REAL NOT NULL,
    count       INTEGER NOT NULL,
    sum_seconds REAL NOT NULL,
    PRIMARY KEY (type, outcome, le)
) WITHOUT ROWID;
";

/// A GitHub delivery's body hash (SHA-256, hex), so that a signed body captured and replayed
/// under another `X-GitHub-Delivery` schedules nothing: deduplicated per project for as long
/// as the row is kept (it goes with the delivery row, by retention).
const REPLAYS: &str = r"
ALTER TABLE webhook_deliveries ADD COLUMN body_sha256 TEXT;
CREATE INDEX webhook_deliveries_body ON webhook_deliveries(project, body_sha256) WHERE body_sha256 IS NOT NULL;
";

/// A reply that attaches a log stores where the log is, not its text: `logs N stdout all` of a
/// large log would otherwise copy it into the database. Pruned with the reply.
pub(super) const REPLY_LOGS: &str = r"
ALTER TABLE slack_replies ADD COLUMN log_path TEXT;
ALTER TABLE slack_replies ADD COLUMN log_part TEXT;
";

/// Slack delivery paused because Slack refused the bot token (`token_revoked`, an uninstalled
/// app, …): one row per pause; the open one has `open = 1` (a unique index keeps at most one
/// open, whichever process saw the refusal first); closed ones keep their interval so that a
/// message's age can leave paused time out, and are pruned by retention. And the refusals of
/// a delivery's current step (not transient failures), which get two more tries.
const SLACK_PAUSES: &str = r"
CREATE TABLE slack_pauses (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    open       INTEGER UNIQUE CHECK (open = 1),
    CHECK ((ended_at IS NULL) = (open IS NOT NULL))
);
ALTER TABLE events ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
ALTER TABLE slack_replies ADD COLUMN refusals INTEGER NOT NULL DEFAULT 0;
";

/// Timers (docs/timers.md): one row per thing that happened to a `[[ns.timers]]` timer: first
/// seen by a dispatcher, fired (`ran`, with its job), `skipped`, `paused`, `resumed`. A fire
/// time has at most one `ran` or `skipped` row, by the unique index on (namespace, timer, at):
/// that is what makes each fire time run once across every dispatcher. A timer's newest row
/// says whether it is paused, and the latest `at` is where its next fire is counted from;
/// retention deletes old rows but never a timer's newest. `covers`: how many fire times the
/// row stands for (missed ones run once, or skipped together). Events get the kind
/// `timer_skipped`, whose `job_id` is the skip's row here ([`widen_event_kinds`]).
const TIMERS: &str = r"
CREATE TABLE timer_log (
    id         INTEGER PRIMARY KEY,
    namespace  TEXT NOT NULL,
    timer      TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('seen', 'ran', 'skipped', 'paused', 'resumed')),
    at         INTEGER NOT NULL,
    covers     INTEGER NOT NULL DEFAULT 1,
    job_id     INTEGER,
    who        TEXT,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX timer_log_fire ON timer_log(namespace, timer, at) WHERE kind IN ('ran', 'skipped');
CREATE INDEX timer_log_timer ON timer_log(namespace, timer, id);
";

/// The version [`TIMERS`] brings the schema to.
pub(super) const TIMERS_VERSION: usize = 8;

/// Adds `timer_skipped` to the kinds the `events` CHECK constraint allows. SQLite cannot alter
/// a constraint, and rebuilding `events` would cascade into `slack_steps`; a constraint that
/// only grows is the case SQLite documents for editing the stored schema text in place
/// (<https://sqlite.org/lang_altertable.html>, "Making Other Kinds Of Table Schema Changes"):
/// every stored row still satisfies it.
pub(super) fn widen_event_kinds(tx: &Connection) -> rusqlite::Result<()> {
    let version: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
    tx.execute_batch("PRAGMA writable_schema = ON")?;
    let changed = tx.execute(
        "UPDATE sqlite_schema SET sql = replace(sql, '''suppressed''))', '''suppressed'', ''timer_skipped''))')
         WHERE type = 'table' AND name = 'events' AND sql NOT LIKE '%timer_skipped%'",
        [],
    )?;
    tx.execute_batch(&format!("PRAGMA schema_version = {}; PRAGMA writable_schema = OFF", version + 1))?;
    if changed != 1 {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some("the events table's kinds were not as expected".into()),
        ));
    }
    Ok(())
}

/// Support listeners (docs/slack.md, "Support listeners"): a reply may re-post its message's
/// permalink to a listener's channel (`slack_replies.repost_to`); each re-post is recorded per
/// (listener, channel, message ts), apart from the inbox, so an edit of a message already
/// re-posted is not re-posted (pruned with retention); a listener's out-of-office period
/// (`ebmbot ooo`, one per listener, pruned once it has ended); and the channels the bot is in
/// with the last message read there, where the catch-up after a start or a reconnection begins
/// (a channel the bot has left is dropped at the next catch-up; rows not read for a retention
/// period are pruned).
const SUPPORT: &str = r"
ALTER TABLE slack_replies ADD COLUMN repost_to TEXT;

CREATE TABLE support_reposts (
    listener   TEXT NOT NULL,
    channel    TEXT NOT NULL,
    message_ts TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (listener, channel, message_ts)
);
CREATE INDEX support_reposts_created ON support_reposts(created_at);

CREATE TABLE out_of_office (
    listener  TEXT PRIMARY KEY,
    starts_at INTEGER NOT NULL,
    ends_at   INTEGER NOT NULL,
    set_by    TEXT NOT NULL,
    set_at    INTEGER NOT NULL,
    CHECK (starts_at < ends_at)
);

CREATE TABLE slack_channels (
    channel TEXT PRIMARY KEY,
    last_ts TEXT,
    read_at INTEGER NOT NULL
);
";
