//! Schema migrations, one list per backend with the same versions: on SQLite applied in one
//! immediate transaction guarded by `PRAGMA user_version`; on PostgreSQL in one transaction
//! holding an advisory lock, the version kept in `schema_version`. Append new migrations to
//! both [`MIGRATIONS`] (`schema/sqlite.rs`) and [`PG_MIGRATIONS`] (`schema/pg.rs`); never edit
//! one that has shipped.

use rusqlite::{Connection, TransactionBehavior};

use super::QueueError;
use super::db::Db;

mod pg;
mod sqlite;

use pg::PG_MIGRATIONS;
use sqlite::{MIGRATIONS, OUTCOMES_VERSION, TIMERS_VERSION, backfill_timeouts, widen_event_kinds};

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
        if i + 1 == TIMERS_VERSION {
            widen_event_kinds(&tx)?;
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
