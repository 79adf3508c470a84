//! The queue: jobs, the requests merged into them, the events reporters consume, suppression
//! windows, dispatchers, the GitHub delivery log and job metrics; on SQLite or PostgreSQL
//! (`EBMBOT_DB`, see [`Location`]), behind one API. Only `db` knows which: the SQL here is
//! written once, with a dialect's own text only where the two differ.
//!
//! SQLite: one file on a local disk, shared by every ebmbot process of the host: WAL, a 30 s
//! busy timeout, and every transaction that writes begins IMMEDIATE (a deferred one that reads
//! then writes fails at once with SQLITE_BUSY, whatever the timeout). PostgreSQL: a claim locks
//! its row `FOR UPDATE SKIP LOCKED`, and the writes that decide from other jobs' state (claim,
//! schedule with its dedupe, start now, requeue) hold one transaction-level advisory lock, so
//! the cap and one-running-per-type hold when they race, as SQLite's one writer guarantees.
//! Times are integer epoch milliseconds, so SQL compares them chronologically. Functions take
//! `now`; nothing here reads the clock.

/// The columns `job_from_row` reads, in its order.
macro_rules! columns {
    () => {
        "id, namespace, job, args, state, created_at, start_after, started_at, finished_at, \
     exit_code, signal, detail, log_dir, dispatcher_id, pgid, retry_of, cancel_requested_by, \
     cancelled_by, timeout_ms"
    };
}

mod confirm;
mod db;
mod deliveries;
mod dispatchers;
mod events;
mod job_logs;
mod jobs;
mod list;
mod location;
mod metrics;
pub mod model;
mod pause;
mod prune;
mod record;
mod recover;
mod schema;
mod slack;
mod support;
mod suppress;
mod timers;
pub mod transfer;
mod tx;
mod wake;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags};

pub use confirm::Confirmation;
use db::{Begin, Db};
pub use deliveries::{DeliveryOutcome, WebhookDelivery};
pub use dispatchers::NewDispatcher;
pub use events::{Attempt, Delivery, DeliveryItem, DeliveryStatus, Step, StepOutcome};
pub use job_logs::Shipped;
pub use jobs::{Busy, CancelById, Cancelled, ListFilter, NewJob, Scheduled};
pub use location::{Location, LocationError};
pub use metrics::{DURATION_BUCKETS, DurationHistogram, JobMetrics, OutcomeCount};
pub use pause::SlackPause;
pub use prune::Pruned;
pub use recover::Owned;
pub use slack::{InboxOutcome, InboxRow, LiveMessage, NewReply, Reply, ReplyLog};
pub use support::{ChannelsHeard, OutOfOffice, ts_order};
pub use timers::{TimerEntry, TimerEntryKind, TimerState};
use tx::Tx;
pub use wake::{WAKE_POLL, Waker};

use add_duration as add;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot create the database {}: directory {} does not exist; create it or set EBMBOT_DB / --db", path.display(), dir.display())]
    NoDirectory { path: PathBuf, dir: PathBuf },
    #[error("cannot create the database {} (check the path and its permissions, or set EBMBOT_DB / --db)", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database {} (check the path and its permissions, or set EBMBOT_DB / --db)", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot reach the database {db} (is PostgreSQL running there? check EBMBOT_DB / --db)")]
    Unreachable {
        db: String,
        #[source]
        source: postgres::Error,
    },
    #[error("the connection to the database {db} dropped during a transaction; nothing of it was kept")]
    Dropped { db: String },
    #[error(
        "the database was written by a newer ebmbot (schema version {found}, this binary knows {known}); upgrade ebmbot"
    )]
    TooNew { found: i64, known: i64 },
    #[error(
        "{} is the Python bot's database (tables `job` and `suppression`), which ebmbot does not import; point EBMBOT_DB (or DB_PATH) at a new file (docs/migrating.md)",
        path.display()
    )]
    PythonBot { path: PathBuf },
    #[error(
        "EBMBOT_TIMEZONE is `{mine}` here but `{theirs}` for dispatcher {id} on host `{host}`, which shares this queue; \
         timers and HH:MM times must mean the same moment on every host: set the same EBMBOT_TIMEZONE on all of them"
    )]
    TimezoneMismatch { mine: String, theirs: String, host: String, id: i64 },
    #[error(
        "dispatcher {0} is no longer registered (its lease ended and another host declared its jobs lost); it registers again"
    )]
    NotRegistered(i64),
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error")]
    Postgres(#[from] postgres::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type Result<T, E = QueueError> = std::result::Result<T, E>;

/// How to open the queue.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `synchronous=FULL` instead of `NORMAL` (SQLite; PostgreSQL commits durably always).
    pub sync_full: bool,
    /// Whether "started" events need Slack delivery (a logs channel is configured).
    pub announce_starts: bool,
    /// How long a waiting part goes without looking when no change notification came
    /// (`EBMBOT_WAKE_POLL`; [`WAKE_POLL`] when `None`).
    pub wake_poll: Option<Duration>,
}

/// A connection to the queue database. Each long-lived part of a process (dispatcher, Slack
/// worker, deliverer, web server) owns one.
pub struct Queue {
    db: Db,
    /// Where it is (for change notifications and more connections).
    at: Location,
    options: Options,
    /// Inside [`Queue::atomically`]: writes become savepoints of the open transaction.
    in_tx: Cell<bool>,
}

impl Queue {
    /// Opens (creating if needed) and migrates the database at `at`: a SQLite path, or a
    /// [`Location`] (SQLite or PostgreSQL).
    pub fn open(at: impl Into<Location>, options: Options) -> Result<Queue> {
        let at = at.into();
        let db = match (at.sqlite_path(), at.postgres()) {
            (Some(path), _) => open_sqlite(path, &options)?,
            (None, Some(config)) => {
                let pg = db::off_runtime(|| db::Pg::connect(config, at.to_string()))?;
                let db = Db::Pg(Box::new(std::cell::RefCell::new(pg)));
                schema::migrate_pg(&db)?;
                db
            }
            (None, None) => return Err(QueueError::Corrupt(format!("`{at}` names no database"))),
        };
        Ok(Queue { db, at, options, in_tx: Cell::new(false) })
    }

    /// Where the queue is.
    pub fn location(&self) -> &Location {
        &self.at
    }

    /// Another connection to the same queue, with the same options (a part of a process that
    /// must not wait for another's calls: a dispatcher's lease keeper).
    pub fn another(&self) -> Result<Queue> {
        Queue::open(self.at.clone(), self.options.clone())
    }

    /// A new waker for one part of this process that waits for work: it wakes when any process
    /// commits to this queue (see [`Waker`]). Make it before the first look at what it
    /// guards: changes from before it was made are not reported.
    pub fn waker(&self) -> Waker {
        Waker::new(&self.at, self.options.wake_poll.unwrap_or(WAKE_POLL))
    }

    /// Begins a write: a transaction, or inside [`Queue::atomically`] a savepoint.
    fn write(&self) -> Result<Tx<'_>> {
        Tx::begin(&self.db, self.in_tx.get(), Begin::Write)
    }

    /// Begins a write that decides from the state of other jobs (see [`Begin::Locked`]).
    fn write_locked(&self) -> Result<Tx<'_>> {
        Tx::begin(&self.db, self.in_tx.get(), Begin::Locked)
    }
}

/// Creates the database file, if it does not exist, readable and writable by its owner only
/// (0600, whatever the umask): SQLite then gives its `-wal` and `-shm` files the same mode. An
/// existing file keeps the mode it has (docs/security.md §5).
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.as_os_str() == ":memory:" {
        return Ok(());
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

fn open_sqlite(path: &Path, options: &Options) -> Result<Db> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(QueueError::NoDirectory { path: path.to_owned(), dir: dir.to_owned() });
    }
    create_private(path).map_err(|source| QueueError::Create { path: path.to_owned(), source })?;
    let open_err = |source| QueueError::Open { path: path.to_owned(), source };
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    conn.busy_timeout(Duration::from_secs(30)).map_err(open_err)?;
    // Before anything writes to it (WAL mode, our tables): the old bot's file stays as it is.
    if schema::is_python_bot(&conn).map_err(open_err)? {
        return Err(QueueError::PythonBot { path: path.to_owned() });
    }
    conn.set_prepared_statement_cache_capacity(64);
    enable_wal(&conn).map_err(open_err)?;
    conn.pragma_update(None, "synchronous", if options.sync_full { "FULL" } else { "NORMAL" }).map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
    schema::migrate(&mut conn).map_err(|e| match e {
        QueueError::Sqlite(source) => open_err(source),
        other => other,
    })?;
    Ok(Db::Lite(conn))
}

/// Switches a database to WAL. On a new file this needs a moment alone with it, and SQLite
/// answers "busy" at once, without the busy timeout, when another process is opening it too:
/// retry for as long as the busy timeout would have waited.
fn enable_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// Epoch milliseconds, the stored form of every time.
pub(crate) fn ms(ts: Timestamp) -> i64 {
    ts.as_millisecond()
}

pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
}

/// `ts + d`, saturating at the end of representable time.
pub fn add_duration(ts: Timestamp, d: Duration) -> Timestamp {
    let d = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    Timestamp::from_millisecond(ms(ts).saturating_add(d)).unwrap_or(Timestamp::MAX)
}

/// `ts - d`, saturating at the start of representable time.
pub fn sub_duration(ts: Timestamp, d: Duration) -> Timestamp {
    let d = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    Timestamp::from_millisecond(ms(ts).saturating_sub(d)).unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
pub(crate) mod testdb;
#[cfg(test)]
mod tests;

impl rusqlite::ToSql for model::JobType {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::from(self.as_str()))
    }
}

/// A job type binds as its text on PostgreSQL too.
impl postgres::types::ToSql for model::JobType {
    fn to_sql(
        &self,
        ty: &postgres::types::Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.as_str().to_sql(ty, out)
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        <&str as postgres::types::ToSql>::accepts(ty)
    }

    postgres::types::to_sql_checked!();
}

/// The same unit tests on PostgreSQL (see `testdb`): the same files, built a second time
/// inside `pg` (`#[path = "."]` keeps them where they are).
#[cfg(all(test, ebmbot_pg_tests))]
#[path = "."]
#[allow(clippy::duplicate_mod)] // on purpose: the same tests, built a second time for PostgreSQL
mod pg {
    mod deliveries {
        mod tests;
    }
    mod events {
        mod tests;
    }
    mod pause {
        mod tests;
    }
    mod transfer {
        mod tests;
    }
    mod tests;
    mod wake {
        mod tests;
    }
}
