//! Write transactions, and [`Queue::atomically`] for callers that need several queue calls to
//! commit or roll back together (the Slack worker runs a command and marks its event handled in
//! one transaction, so a crash between the two can neither lose nor repeat the command).
//!
//! Every queue method that writes calls `write()`. Outside `atomically` that begins an
//! IMMEDIATE transaction, as always; inside, the outer IMMEDIATE transaction already holds the
//! write lock and `write()` opens a savepoint of it instead, so the methods need no change.

use std::ops::Deref;

use rusqlite::{Connection, Savepoint, Transaction, TransactionBehavior};

use super::{Queue, QueueError, Result};

/// A write in progress: a transaction of its own, or a savepoint of [`Queue::atomically`]'s.
pub(crate) enum Tx<'a> {
    Own(Transaction<'a>),
    Nested(Savepoint<'a>),
}

impl<'a> Tx<'a> {
    pub(super) fn begin(conn: &'a mut Connection, nested: bool) -> Result<Tx<'a>> {
        Ok(if nested {
            Tx::Nested(conn.savepoint()?)
        } else {
            Tx::Own(conn.transaction_with_behavior(TransactionBehavior::Immediate)?)
        })
    }

    /// Commits the transaction, or releases the savepoint into the outer transaction.
    pub(crate) fn commit(self) -> rusqlite::Result<()> {
        match self {
            Tx::Own(tx) => tx.commit(),
            Tx::Nested(sp) => sp.commit(),
        }
    }
}

impl Deref for Tx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Tx::Own(tx) => tx,
            Tx::Nested(sp) => sp,
        }
    }
}

/// Rolls the outer transaction back unless it was committed (also when `f` panics).
struct Outer<'a> {
    queue: &'a mut Queue,
    done: bool,
}

impl Drop for Outer<'_> {
    fn drop(&mut self) {
        self.queue.in_tx = false;
        if !self.done {
            let _ = self.queue.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Queue {
    /// Runs `f` inside one IMMEDIATE transaction: everything it writes through this queue
    /// commits together when it returns `Ok`, and nothing does when it returns `Err`. Nested
    /// calls join the outer transaction.
    pub fn atomically<T, E>(&mut self, f: impl FnOnce(&mut Queue) -> Result<T, E>) -> Result<T, E>
    where
        E: From<QueueError>,
    {
        if self.in_tx {
            return f(self);
        }
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(QueueError::from)?;
        self.in_tx = true;
        let mut outer = Outer { queue: self, done: false };
        let value = f(outer.queue)?;
        outer.queue.conn.execute_batch("COMMIT").map_err(QueueError::from)?;
        outer.done = true;
        Ok(value)
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
