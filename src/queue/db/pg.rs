//! A PostgreSQL connection that remakes itself: statements prepared once per connection, `?N`
//! placeholders written as `$N`, a dropped connection re-made with backoff, and a read that
//! failed because the connection dropped (outside a transaction) tried once more.
//! A transaction that changed rows notifies the `ebmbot` channel as it commits (in the same
//! transaction: the notification goes out exactly when the change is visible); the queue's
//! watcher (`queue::wake`) listens on a connection of its own.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use postgres::{Client, Statement};

use super::Value;
use crate::queue::{QueueError, Result};

/// The key of the queue's transaction-level advisory lock (see `Begin::Locked`).
const LOCK_KEY: i64 = 0x6562_6d62_6f74; // "ebmbot"
/// The channel writers notify when they commit.
pub(crate) const CHANNEL: &str = "ebmbot";
/// How long a call waits for a dropped connection to come back before it reports the error.
const RECONNECT_FOR: Duration = Duration::from_secs(2);

pub(crate) struct Pg {
    config: postgres::Config,
    /// What to show of the database in errors (the URL without its password).
    shown: String,
    client: Option<Client>,
    statements: HashMap<String, Statement>,
    in_tx: bool,
    /// Inside a transaction that has changed rows: notify the channel when it commits.
    notify: bool,
}

impl Pg {
    pub(crate) fn connect(config: postgres::Config, shown: String) -> Result<Pg> {
        let mut pg = Pg { config, shown, client: None, statements: HashMap::new(), in_tx: false, notify: false };
        pg.client()?;
        Ok(pg)
    }

    fn unreachable(&self, source: postgres::Error) -> QueueError {
        QueueError::Unreachable { db: self.shown.clone(), source }
    }

    /// The live client, connecting again (with backoff, for a while) if it dropped. Inside a
    /// transaction a dropped connection is an error: the transaction is gone with it.
    fn client(&mut self) -> Result<&mut Client> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
            if self.in_tx {
                self.in_tx = false;
                return Err(QueueError::Dropped { db: self.shown.clone() });
            }
        }
        if self.client.is_none() {
            let deadline = Instant::now() + RECONNECT_FOR;
            let mut wait = Duration::from_millis(50);
            let client = loop {
                match super::tls::connect(&self.config) {
                    Ok(c) => break c,
                    Err(e) if Instant::now() + wait >= deadline => return Err(self.unreachable(e)),
                    Err(_) => {
                        std::thread::sleep(wait);
                        wait = (wait * 2).min(Duration::from_millis(500));
                    }
                }
            };
            self.statements.clear();
            self.client = Some(client);
        }
        self.client.as_mut().ok_or_else(|| QueueError::Dropped { db: String::new() })
    }

    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let text = dollar_params(sql);
        let stmt = self.client()?.prepare(&text)?;
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    /// Runs `f` on the client; a read outside a transaction that failed because the connection
    /// dropped is run once more on a new one.
    fn retrying<T>(&mut self, mut f: impl FnMut(&mut Pg) -> Result<T>) -> Result<T> {
        match f(self) {
            Err(QueueError::Postgres(e)) if e.is_closed() && !self.in_tx => {
                self.client = None;
                f(self)
            }
            other => other,
        }
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[&dyn Value]) -> Result<u64> {
        let params: Vec<_> = params.iter().map(|p| p.pg()).collect();
        let n = self.retrying(|pg| {
            let stmt = pg.statement(sql)?;
            Ok(pg.client()?.execute(&stmt, &params)?)
        })?;
        self.changed(n > 0);
        Ok(n)
    }

    /// Notes that the open transaction changed rows (so its commit notifies).
    fn changed(&mut self, changed: bool) {
        if changed && self.in_tx {
            self.notify = true;
        }
    }

    pub(crate) fn query(&mut self, sql: &str, params: &[&dyn Value]) -> Result<Vec<postgres::Row>> {
        let params: Vec<_> = params.iter().map(|p| p.pg()).collect();
        let rows = self.retrying(|pg| {
            let stmt = pg.statement(sql)?;
            Ok(pg.client()?.query(&stmt, &params)?)
        })?;
        // `INSERT`/`UPDATE`/`DELETE … RETURNING`: a row back is a row changed.
        self.changed(!rows.is_empty() && is_write(sql));
        Ok(rows)
    }

    /// Calls `f` with each row as it arrives, so that the caller's work overlaps the server's
    /// sending (`queue list --json` of 10,000 jobs). Only reads: a connection that drops before
    /// the statement runs is re-made; one that drops in the middle of the rows is an error.
    pub(crate) fn stream<E: From<QueueError>>(
        &mut self,
        sql: &str,
        params: &[&dyn Value],
        mut f: impl FnMut(&postgres::Row) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        use postgres::fallible_iterator::FallibleIterator;
        let params: Vec<_> = params.iter().map(|p| p.pg()).collect();
        let stmt = self.retrying(|pg| pg.statement(sql))?;
        let mut rows = self.client()?.query_raw(&stmt, params.iter().copied()).map_err(QueueError::from)?;
        while let Some(row) = rows.next().map_err(QueueError::from)? {
            f(&row)?;
        }
        Ok(())
    }

    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.client()?.batch_execute(sql)?)
    }

    pub(crate) fn begin(&mut self, nested: bool, locked: bool) -> Result<()> {
        let lock = if locked { format!("; SELECT pg_advisory_xact_lock({LOCK_KEY})") } else { String::new() };
        if nested {
            self.client()?.batch_execute(&format!("SAVEPOINT ebmbot{lock}"))?;
        } else {
            self.client()?.batch_execute(&format!("BEGIN{lock}"))?;
            self.in_tx = true;
            self.notify = false;
        }
        Ok(())
    }

    /// Begins a read-only transaction on one snapshot (see `Db::snapshot`).
    pub(crate) fn begin_read(&mut self) -> Result<()> {
        self.client()?.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        self.in_tx = true;
        self.notify = false;
        Ok(())
    }

    pub(crate) fn commit(&mut self, nested: bool) -> Result<()> {
        if nested {
            self.client()?.batch_execute("RELEASE ebmbot")?;
            return Ok(());
        }
        let sql = if self.notify { "NOTIFY ebmbot; COMMIT" } else { "COMMIT" };
        let r = self.client()?.batch_execute(sql);
        self.in_tx = false;
        self.notify = false;
        r?;
        Ok(())
    }

    pub(crate) fn rollback(&mut self, sql: &str, nested: bool) {
        if !nested {
            self.in_tx = false;
            self.notify = false;
        }
        if let Some(c) = self.client.as_mut().filter(|c| !c.is_closed()) {
            let _ = c.batch_execute(sql);
        }
    }
}

impl Drop for Pg {
    /// Closing a connection blocks on its runtime: never on an async runtime's thread.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            super::off_runtime(move || drop(client));
        }
    }
}

/// Whether a statement writes (its rows back, if any, are rows it changed).
fn is_write(sql: &str) -> bool {
    let word = sql.trim_start().split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    ["INSERT", "UPDATE", "DELETE"].iter().any(|w| word.eq_ignore_ascii_case(w))
}

/// `?1` → `$1`: the queue's SQL is written once, in SQLite's placeholder style.
fn dollar_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for c in sql.chars() {
        out.push(if c == '?' { '$' } else { c });
    }
    out
}
