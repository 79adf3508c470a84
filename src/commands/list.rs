//! `queue list`: pending and running jobs, and with `all` recently finished ones.

use std::time::Duration;

use crate::queue::model::Job;
use crate::queue::{ListFilter, Queue};

use super::{Context, Result};

#[derive(Debug, Clone, Default)]
pub struct List {
    pub all: bool,
    /// How far back finished jobs go (default 24 h).
    pub since: Option<Duration>,
    /// At most this many jobs, the newest (default 200).
    pub limit: Option<u32>,
}

pub const DEFAULT_SINCE: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_LIMIT: u32 = 200;

impl List {
    pub fn execute(self, ctx: &Context<'_>, queue: &Queue) -> Result<Vec<Job>> {
        Ok(queue.list(&self.filter(ctx))?)
    }

    /// [`List::execute`], handing over one job at a time (for streaming output).
    pub fn each(self, ctx: &Context<'_>, queue: &Queue, f: impl FnMut(Job) -> Result<()>) -> Result<()> {
        queue.list_each(&self.filter(ctx), f)
    }

    fn filter(&self, ctx: &Context<'_>) -> ListFilter {
        ListFilter {
            all: self.all,
            since: crate::queue::sub_duration(ctx.clock.now(), self.since.unwrap_or(DEFAULT_SINCE)),
            limit: self.limit.unwrap_or(if self.all { DEFAULT_LIMIT } else { u32::MAX }),
        }
    }
}
