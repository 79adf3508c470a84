//! The one place that knows there are two databases. Queue code writes its SQL once, with
//! `?N` placeholders, and runs it through [`Db`]; where the dialects differ it picks a text with
//! [`Db::pick`]. Values go in as [`Value`] (anything both drivers can bind) and come out of a
//! [`Row`] as [`Col`] types, so the rest of `src/queue/` decodes rows the same way on both.

mod pg;
pub(crate) mod tls;

use std::cell::RefCell;

use super::{QueueError, Result};

pub(crate) use pg::{CHANNEL, Pg};

/// An open connection: SQLite, or PostgreSQL.
pub(crate) enum Db {
    Lite(rusqlite::Connection),
    Pg(Box<RefCell<Pg>>),
}

/// A value both drivers can bind (`i64`, `i32`, `f64`, `bool`, `&str`, `String`, `Option`s of
/// them). Unsigned integers are not among them: PostgreSQL has none; convert to `i64`.
pub(crate) trait Value: Sync {
    fn lite(&self) -> &dyn rusqlite::ToSql;
    fn pg(&self) -> &(dyn postgres::types::ToSql + Sync);
}

impl<T: rusqlite::ToSql + postgres::types::ToSql + Sync> Value for T {
    fn lite(&self) -> &dyn rusqlite::ToSql {
        self
    }
    fn pg(&self) -> &(dyn postgres::types::ToSql + Sync) {
        self
    }
}

/// A row being read, from either driver.
pub(crate) enum Row<'a, 'b> {
    Lite(&'a rusqlite::Row<'b>),
    Pg(&'a postgres::Row),
}

/// A column type both drivers can read.
pub(crate) trait Col: Sized {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self>;
    fn pg(row: &postgres::Row, i: usize) -> Result<Self, postgres::Error>;
}

macro_rules! col {
    ($($t:ty),*) => {$(
        impl Col for $t {
            fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
                row.get(i)
            }
            fn pg(row: &postgres::Row, i: usize) -> Result<Self, postgres::Error> {
                row.try_get(i)
            }
        }
    )*};
}
col!(i64, Option<i64>, i32, Option<i32>, f64, String, Option<String>, bool, Vec<u8>);

impl Col for u32 {
    fn lite(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Self> {
        row.get(i)
    }
    fn pg(row: &postgres::Row, i: usize) -> Result<Self, postgres::Error> {
        let n: i64 = row.try_get(i)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

impl Row<'_, '_> {
    pub(crate) fn get<T: Col>(&self, i: usize) -> Result<T> {
        match self {
            Row::Lite(r) => T::lite(r, i).map_err(QueueError::from),
            Row::Pg(r) => T::pg(r, i).map_err(QueueError::from),
        }
    }
}

/// Which transaction [`Db::begin`] opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begin {
    /// A write that needs no lock beyond its rows' (SQLite takes its one write lock anyway).
    Write,
    /// A write that decides from what other writes may change at the same moment (the cap,
    /// one running job per type, dedupe): on PostgreSQL it takes the queue's transaction-level
    /// advisory lock, as SQLite's one writer does by itself.
    Locked,
}

/// Runs `f` where the blocking PostgreSQL client may block: on this thread, or, when this
/// thread drives an async runtime (the client would panic there), on a scoped thread of its own.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| s.spawn(f).join()).unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// `f` on the connection, off any async runtime.
fn with_pg<T: Send>(pg: &RefCell<Pg>, f: impl FnOnce(&mut Pg) -> T + Send) -> T {
    let mut guard = pg.borrow_mut();
    let pg: &mut Pg = &mut guard;
    off_runtime(move || f(pg))
}

fn lite_params<'p>(params: &'p [&'p dyn Value]) -> impl Iterator<Item = &'p dyn rusqlite::ToSql> {
    params.iter().map(|p| p.lite())
}

impl Db {
    /// `a` on SQLite, `b` on PostgreSQL.
    pub(crate) fn pick<'s>(&self, lite: &'s str, pg: &'s str) -> &'s str {
        match self {
            Db::Lite(_) => lite,
            Db::Pg(_) => pg,
        }
    }

    /// Runs a statement; returns the rows it changed.
    pub(crate) fn exec(&self, sql: &str, params: &[&dyn Value]) -> Result<u64> {
        match self {
            Db::Lite(c) => Ok(c.prepare_cached(sql)?.execute(rusqlite::params_from_iter(lite_params(params)))? as u64),
            Db::Pg(pg) => with_pg(pg, |pg| pg.execute(sql, params)),
        }
    }

    /// Runs an `INSERT` and returns the new row's `id`.
    pub(crate) fn insert(&self, sql: &str, params: &[&dyn Value]) -> Result<i64> {
        match self {
            Db::Lite(c) => {
                c.prepare_cached(sql)?.execute(rusqlite::params_from_iter(lite_params(params)))?;
                Ok(c.last_insert_rowid())
            }
            Db::Pg(pg) => {
                let sql = format!("{sql} RETURNING id");
                let rows = with_pg(pg, |pg| pg.query(&sql, params))?;
                rows.first()
                    .map_or_else(|| Err(QueueError::Corrupt("an insert returned no id".into())), |r| Row::Pg(r).get(0))
            }
        }
    }

    /// The first row, decoded by `f`; `None` when there is none.
    pub(crate) fn row<T>(
        &self,
        sql: &str,
        params: &[&dyn Value],
        f: impl FnOnce(&Row<'_, '_>) -> Result<T>,
    ) -> Result<Option<T>> {
        match self {
            Db::Lite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(lite_params(params)))?;
                match rows.next()? {
                    Some(r) => f(&Row::Lite(r)).map(Some),
                    None => Ok(None),
                }
            }
            Db::Pg(pg) => {
                let rows = with_pg(pg, |pg| pg.query(sql, params))?;
                rows.first().map(|r| f(&Row::Pg(r))).transpose()
            }
        }
    }

    /// Every row, decoded by `f`.
    pub(crate) fn rows<T>(
        &self,
        sql: &str,
        params: &[&dyn Value],
        mut f: impl FnMut(&Row<'_, '_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, params, |r| {
            out.push(f(r)?);
            Ok::<_, QueueError>(())
        })?;
        Ok(out)
    }

    /// Calls `f` with each row in turn. SQLite streams them; so does PostgreSQL off an async
    /// runtime, and on one its rows are read first (the connection is free again when `f` runs).
    pub(crate) fn each<E: From<QueueError>>(
        &self,
        sql: &str,
        params: &[&dyn Value],
        mut f: impl FnMut(&Row<'_, '_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Db::Lite(c) => {
                let mut stmt = c.prepare_cached(sql).map_err(QueueError::from)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(lite_params(params))).map_err(QueueError::from)?;
                while let Some(r) = rows.next().map_err(QueueError::from)? {
                    f(&Row::Lite(r))?;
                }
                Ok(())
            }
            // Off an async runtime (the CLI), rows are handed over as they arrive.
            Db::Pg(pg) if tokio::runtime::Handle::try_current().is_err() => {
                pg.borrow_mut().stream(sql, params, |r| f(&Row::Pg(r)))
            }
            Db::Pg(pg) => {
                let rows = with_pg(pg, |pg| pg.query(sql, params))?;
                for r in &rows {
                    f(&Row::Pg(r))?;
                }
                Ok(())
            }
        }
    }

    /// Runs several statements without parameters (migrations).
    pub(crate) fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Db::Lite(c) => Ok(c.execute_batch(sql)?),
            Db::Pg(pg) => with_pg(pg, |pg| pg.batch(sql)),
        }
    }

    /// Opens a transaction, or inside one (`nested`) a savepoint.
    pub(crate) fn begin(&self, nested: bool, how: Begin) -> Result<()> {
        match self {
            Db::Lite(c) => {
                let sql = if nested { "SAVEPOINT ebmbot" } else { "BEGIN IMMEDIATE" };
                c.prepare_cached(sql)?.execute([])?;
                Ok(())
            }
            Db::Pg(pg) => with_pg(pg, |pg| pg.begin(nested, how == Begin::Locked)),
        }
    }

    /// Runs `f`, which only reads, on one snapshot of the database: a deferred transaction on
    /// SQLite (WAL readers see the database as of their first read), `REPEATABLE READ` on
    /// PostgreSQL. Writers are not held up.
    pub(crate) fn snapshot<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        match self {
            Db::Lite(c) => c.execute_batch("BEGIN DEFERRED")?,
            Db::Pg(pg) => with_pg(pg, Pg::begin_read)?,
        }
        let result = f();
        match &result {
            Ok(_) => self.commit(false)?,
            Err(_) => self.rollback(false),
        }
        result
    }

    /// Commits what [`Db::begin`] opened.
    pub(crate) fn commit(&self, nested: bool) -> Result<()> {
        match self {
            Db::Lite(c) => {
                let sql = if nested { "RELEASE ebmbot" } else { "COMMIT" };
                c.prepare_cached(sql)?.execute([])?;
                Ok(())
            }
            Db::Pg(pg) => with_pg(pg, |pg| pg.commit(nested)),
        }
    }

    /// Rolls back what [`Db::begin`] opened (errors ignored: a broken connection has rolled
    /// back already).
    pub(crate) fn rollback(&self, nested: bool) {
        let sql = if nested { "ROLLBACK TO ebmbot; RELEASE ebmbot" } else { "ROLLBACK" };
        match self {
            Db::Lite(c) => {
                let _ = c.execute_batch(sql);
            }
            Db::Pg(pg) => with_pg(pg, |pg| pg.rollback(sql, nested)),
        }
    }
}
