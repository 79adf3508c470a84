//! Schema migrations, one list per backend with the same versions: on SQLite applied in one
//! immediate transaction guarded by `PRAGMA user_version`; on PostgreSQL in one transaction
//! holding an advisory lock, the version kept in `schema_version`. Append new migrations to
//! both [`MIGRATIONS`] and [`PG_MIGRATIONS`]; never edit one that has shipped.

use rusqlite::{Connection, TransactionBehavior};

use super::QueueError;
use super::db::Db;

/// Migration `i` brings the schema from version `i` to `i + 1`.
///
/// Every index costs a page write in the transactions that touch it, and those transactions
/// are the hot path (schedule, claim, finish), so there are only the indexes those need.
/// Retention scans `jobs` and `events` in id order instead (ids grow with time), and
/// `events.job_id` has no foreign key: events are pruned by age, not by cascade.
const MIGRATIONS: &[&str] = &[
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
];

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
const OUTCOMES_VERSION: usize = 4;

/// Fills `timeout_ms` of jobs that timed out before it existed, from their `detail` (written as
/// "timed out after <duration>"); 0 where that cannot be read.
fn backfill_timeouts(tx: &Connection) -> rusqlite::Result<()> {
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
const REPLY_LOGS: &str = r"
ALTER TABLE slack_replies ADD COLUMN log_path TEXT;
ALTER TABLE slack_replies ADD COLUMN log_part TEXT;
";

/// PostgreSQL's migrations, version for version the same schema as [`MIGRATIONS`]: `BIGINT`
/// identity ids and epoch-millisecond times, `DOUBLE PRECISION` for reals, the same partial
/// indexes.
const PG_MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE dispatchers (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL,
    host         TEXT NOT NULL,
    boot_id      TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    pid_start    BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

CREATE TABLE jobs (
    id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    type           TEXT NOT NULL,
    namespace      TEXT NOT NULL,
    job            TEXT NOT NULL,
    args           TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN
                       ('pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'lost')),
    created_at     BIGINT NOT NULL,
    start_after    BIGINT NOT NULL,
    started_at     BIGINT,
    finished_at    BIGINT,
    exit_code      INTEGER,
    signal         INTEGER,
    detail         TEXT,
    log_dir        TEXT,
    dispatcher_id  BIGINT,
    pgid           INTEGER,
    retry_of       BIGINT,
    cancel_requested_by TEXT
);
CREATE UNIQUE INDEX jobs_one_pending ON jobs(type, args) WHERE state = 'pending';
CREATE UNIQUE INDEX jobs_one_running ON jobs(type) WHERE state = 'running';
CREATE INDEX jobs_due ON jobs(start_after, id) WHERE state = 'pending';

CREATE TABLE requests (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    job_id     BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    origin     TEXT NOT NULL,
    channel    TEXT
);
CREATE INDEX requests_job ON requests(job_id);

CREATE TABLE events (
    id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    job_id         BIGINT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('started', 'finished', 'suppressed')),
    created_at     BIGINT NOT NULL,
    delivered_at   BIGINT,
    attempts       BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_owner    TEXT,
    lease_until    BIGINT,
    last_error     TEXT
);
CREATE INDEX events_undelivered ON events(id) WHERE delivered_at IS NULL;

CREATE TABLE suppressions (
    id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    type     TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at   BIGINT NOT NULL,
    CHECK (start_at < end_at)
);
CREATE INDEX suppressions_type ON suppressions(type, end_at);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
",
    r"
CREATE TABLE slack_inbox (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE,
    channel     TEXT NOT NULL,
    message_ts  TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    payload     TEXT NOT NULL,
    handled_at  BIGINT,
    outcome     TEXT,
    UNIQUE (channel, message_ts)
);
CREATE INDEX slack_inbox_todo ON slack_inbox(id) WHERE handled_at IS NULL;
CREATE INDEX slack_inbox_received ON slack_inbox(received_at);

CREATE TABLE slack_replies (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    inbox_id        BIGINT REFERENCES slack_inbox(id) ON DELETE SET NULL,
    created_at      BIGINT NOT NULL,
    channel         TEXT NOT NULL,
    thread_ts       TEXT,
    message_ts      TEXT,
    text            TEXT,
    reaction        TEXT,
    delivered_at    BIGINT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT
);
CREATE INDEX slack_replies_undelivered ON slack_replies(id) WHERE delivered_at IS NULL;
CREATE INDEX slack_replies_delivered ON slack_replies(delivered_at) WHERE delivered_at IS NOT NULL;

CREATE TABLE slack_steps (
    id       BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    event_id BIGINT REFERENCES events(id) ON DELETE CASCADE,
    reply_id BIGINT REFERENCES slack_replies(id) ON DELETE CASCADE,
    step     BIGINT NOT NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('done', 'failed')),
    result   TEXT,
    at       BIGINT NOT NULL,
    CHECK ((event_id IS NULL) <> (reply_id IS NULL))
);
CREATE UNIQUE INDEX slack_steps_event ON slack_steps(event_id, step) WHERE event_id IS NOT NULL;
CREATE UNIQUE INDEX slack_steps_reply ON slack_steps(reply_id, step) WHERE reply_id IS NOT NULL;
",
    r"
CREATE TABLE webhook_deliveries (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    delivery   TEXT NOT NULL,
    project    TEXT NOT NULL,
    event      TEXT NOT NULL,
    job_id     BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (delivery, job_id)
);

CREATE TABLE metrics_jobs (
    type        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    le          DOUBLE PRECISION NOT NULL,
    count       BIGINT NOT NULL,
    sum_seconds DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (type, outcome, le)
);
",
    r"
ALTER TABLE jobs ADD COLUMN cancelled_by TEXT;
ALTER TABLE jobs ADD COLUMN timeout_ms BIGINT;
UPDATE jobs SET cancelled_by = CASE WHEN detail LIKE 'cancelled by %' THEN substr(detail, 14) ELSE '' END
    WHERE state = 'cancelled';
",
    r"
ALTER TABLE webhook_deliveries ADD COLUMN body_sha256 TEXT;
CREATE INDEX webhook_deliveries_body ON webhook_deliveries(project, body_sha256) WHERE body_sha256 IS NOT NULL;
",
    REPLY_LOGS,
];

/// The schema version this binary writes.
pub(super) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Whether the file is the Python bot's queue: its `job` and `suppression` tables, and none
/// of ours (docs/migrating.md says why it is not imported).
pub(super) fn is_python_bot(conn: &Connection) -> rusqlite::Result<bool> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let theirs: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('job', 'suppression')",
        [],
        |r| r.get(0),
    )?;
    Ok(version == 0 && theirs == 2)
}

const _: () = assert!(MIGRATIONS.len() == PG_MIGRATIONS.len(), "one migration per version on each backend");

/// The advisory lock migrations hold on PostgreSQL (not the queue's: opening never waits for
/// a claim).
const MIGRATE_LOCK: i64 = 0x6562_6d62_6f75;

pub(super) fn migrate_pg(db: &Db) -> Result<(), QueueError> {
    let version = || -> Result<i64, QueueError> {
        Ok(db.row("SELECT max(version) FROM schema_version", &[], |r| r.get::<Option<i64>>(0))?.flatten().unwrap_or(0))
    };
    // Up to date (the usual case): no lock taken. A new database has no `schema_version` yet.
    if version().ok() == Some(VERSION) {
        return Ok(());
    }
    db.begin(false, super::db::Begin::Write)?;
    let result = (|| {
        db.batch(&format!(
            "SELECT pg_advisory_xact_lock({MIGRATE_LOCK});
             CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)"
        ))?;
        let found = version()?;
        if found > VERSION {
            return Err(QueueError::TooNew { found, known: VERSION });
        }
        for (i, sql) in PG_MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
            db.batch(sql)?;
            db.exec("DELETE FROM schema_version", &[])?;
            db.exec("INSERT INTO schema_version (version) VALUES (?1)", &[&(i as i64 + 1)])?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => db.commit(false),
        Err(e) => {
            db.rollback(false);
            Err(e)
        }
    }
}

pub(super) fn migrate(conn: &mut Connection) -> Result<(), QueueError> {
    // Up to date (the usual case): no write lock taken, so read commands never wait for one.
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found == VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Read again under the lock: another process may have migrated meanwhile.
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(QueueError::TooNew { found, known: VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
        tx.execute_batch(sql)?;
        if i + 1 == OUTCOMES_VERSION {
            backfill_timeouts(&tx)?;
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::queue::model::{JobId, Outcome};
    use crate::queue::{Options, Queue};

    #[test]
    fn the_python_bots_database_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bennettbot.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE job (id INTEGER PRIMARY KEY, type TEXT, args TEXT, start_after TEXT, started_at TEXT);
                 CREATE TABLE suppression (id INTEGER PRIMARY KEY, job_type TEXT, start_at TEXT, end_at TEXT);",
            )
            .unwrap();
        }
        let err = Queue::open(&path, Options::default()).err().expect("refused");
        assert!(matches!(err, QueueError::PythonBot { .. }), "{err}");
        assert!(err.to_string().contains("the Python bot's database"), "{err}");
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "delete", "not switched to WAL");
        let tables: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0)).unwrap();
        assert_eq!(tables, 2, "none of ours added");
        // An empty file, or one of ours, opens as ever.
        assert!(Queue::open(&dir.path().join("new.db"), Options::default()).is_ok());
    }

    #[test]
    fn outcomes_of_jobs_stored_before_their_columns_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..OUTCOMES_VERSION - 1] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", OUTCOMES_VERSION as i64 - 1).unwrap();
        conn.execute_batch(
            "INSERT INTO jobs (id, type, namespace, job, args, state, created_at, start_after, started_at,
                               finished_at, dispatcher_id, detail)
             VALUES (1, 'a_b', 'a', 'b', '{}', 'timed_out', 0, 0, 1, 2, 1, 'timed out after 1h30m'),
                    (2, 'a_b', 'a', 'b', '{}', 'cancelled', 0, 0, NULL, 2, NULL, 'cancelled by U1'),
                    (3, 'a_b', 'a', 'b', '{}', 'timed_out', 0, 0, 1, 2, 1, 'garbled');",
        )
        .unwrap();
        drop(conn);
        let q = Queue::open(&path, Options::default()).unwrap();
        let outcome = |id| q.job(JobId(id)).unwrap().unwrap().status.outcome().cloned();
        assert_eq!(outcome(1), Some(Outcome::TimedOut { after: Duration::from_secs(5400) }));
        assert_eq!(outcome(2), Some(Outcome::Cancelled { by: "U1".into() }));
        assert_eq!(outcome(3), Some(Outcome::TimedOut { after: Duration::ZERO }), "unreadable: zero, not an error");
    }
}
