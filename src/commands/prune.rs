//! `queue prune`: delete history older than the retention period, with its logs.

use std::time::Duration;

use crate::queue::{Pruned, Queue};

use super::access::{Allowed, Caller, Scope};
use super::{Action, Context, Result};

/// Rows deleted per transaction, so that pruning never holds the write lock for long.
const BATCH: u32 = 500;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prune {
    /// Default: `EBMBOT_RETENTION`.
    pub older_than: Option<Duration>,
    /// Stop after one batch (the dispatcher prunes a little at a time).
    pub one_batch: bool,
}

impl Action for Prune {
    type Output = Pruned;

    fn scope(&self) -> Scope<'_> {
        Scope::TrustedOnly("pruning history")
    }

    fn run(self, ctx: &Context<'_>, _: &Caller, queue: &mut Queue, _: Allowed) -> Result<Pruned> {
        let before = crate::queue::sub_duration(ctx.clock.now(), self.older_than.unwrap_or(ctx.settings.retention));
        let mut total = Pruned::default();
        loop {
            let batch = queue.prune(before, BATCH)?;
            let done = (batch.jobs < u64::from(BATCH)
                && batch.events < u64::from(BATCH)
                && batch.deliveries < u64::from(BATCH))
                || self.one_batch;
            for dir in &batch.log_dirs {
                crate::runner::remove_log_dir(dir, &ctx.settings.logs_dir);
            }
            total.jobs += batch.jobs;
            total.events += batch.events;
            total.deliveries += batch.deliveries;
            total.log_dirs.extend(batch.log_dirs);
            if done {
                return Ok(total);
            }
        }
    }
}
