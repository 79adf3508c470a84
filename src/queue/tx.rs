//! Write transactions, and [`Queue::atomically`] for callers that need several queue calls to
//! commit or roll back together (the Slack worker runs a command and marks its event handled in
//! one transaction, so a crash between the two can neither lose nor repeat the command).
//!
//! Every queue method that writes calls `write()` (or `write_locked()`). Outside `atomically`
//! that begins a transaction of its own (IMMEDIATE on SQLite); inside, the outer transaction is
//! open already and `write()` opens a savepoint of it instead, so the methods need no change.

use std::ops::Deref;

use super::db::{Begin, Db};
use super::{Queue, QueueError, Result};

/// A write in progress: a transaction of its own, or a savepoint of [`Queue::atomically`]'s.
/// Rolled back when dropped uncommitted.
pub(crate) struct Tx<'a> {
    db: &'a Db,
    nested: bool,
    done: bool,
}

impl<'a> Tx<'a> {
    pub(super) fn begin(db: &'a Db, nested: bool, how: Begin) -> Result<Tx<'a>> {
        db.begin(nested, how)?;
        Ok(Tx { db, nested, done: false })
    }

    /// Commits the transaction, or releases the savepoint into the outer transaction.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.done = true;
        self.db.commit(self.nested).inspect_err(|_| self.db.rollback(self.nested))
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.db.rollback(self.nested);
        }
    }
}

impl Deref for Tx<'_> {
    type Target = Db;

    fn deref(&self) -> &Db {
        self.db
    }
}

impl Queue {
    /// Runs `f` inside one transaction (IMMEDIATE on SQLite; on PostgreSQL holding the queue's
    /// advisory lock): everything it writes through this queue commits together when it returns
    /// `Ok`, and nothing does when it returns `Err`. Nested calls join the outer transaction.
    pub fn atomically<T, E>(&mut self, f: impl FnOnce(&mut Queue) -> Result<T, E>) -> Result<T, E>
    where
        E: From<QueueError>,
    {
        if self.in_tx.get() {
            return f(self);
        }
        self.db.begin(false, Begin::Locked).map_err(E::from)?;
        self.in_tx.set(true);
        let mut outer = Outer { queue: self, done: false };
        let value = f(outer.queue)?;
        outer.done = true;
        outer.queue.in_tx.set(false);
        if let Err(e) = outer.queue.db.commit(false) {
            outer.queue.db.rollback(false);
            return Err(e.into());
        }
        Ok(value)
    }
}

/// Rolls the outer transaction back unless it was committed (also when `f` panics).
struct Outer<'a> {
    queue: &'a mut Queue,
    done: bool,
}

impl Drop for Outer<'_> {
    fn drop(&mut self) {
        self.queue.in_tx.set(false);
        if !self.done {
            self.queue.db.rollback(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::queue::model::{Args, Origin};
    use crate::queue::{NewJob, Options, Queue, QueueError};

    fn job(value: &str) -> NewJob {
        NewJob {
            namespace: "t".into(),
            job: "echo".into(),
            args: Args::from_iter([("value", value)]),
            delay: std::time::Duration::ZERO,
            origin: Origin::Terminal { user: "me".into(), notify: None },
        }
    }

    #[test]
    fn atomically_commits_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(&dir.path().join("q.db"), Options::default()).unwrap();
        let now = jiff::Timestamp::now();
        q.atomically(|q| {
            q.schedule(&job("a"), now)?;
            q.schedule(&job("b"), now)?;
            Ok::<_, QueueError>(())
        })
        .unwrap();
        assert_eq!(q.count_in(crate::queue::model::JobState::Pending).unwrap(), 2);
        let r: Result<(), QueueError> = q.atomically(|q| {
            q.schedule(&job("c"), now)?;
            Err(QueueError::Corrupt("stop".into()))
        });
        assert!(r.is_err());
        assert_eq!(q.count_in(crate::queue::model::JobState::Pending).unwrap(), 2, "c was rolled back");
        // The queue works normally afterwards.
        q.schedule(&job("d"), now).unwrap();
        assert_eq!(q.count_in(crate::queue::model::JobState::Pending).unwrap(), 3);
    }
}
