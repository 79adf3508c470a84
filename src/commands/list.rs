//! `queue list`: pending and running jobs, and with `all` recently finished ones.

use std::time::Duration;

use crate::queue::model::Job;
use crate::queue::{ListFilter, Queue};

use super::access::{self, Allowed, Caller, Scope};
use super::{Action, Context, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List {
    pub all: bool,
    /// How far back finished jobs go (default 24 h).
    pub since: Option<Duration>,
    /// At most this many jobs, the newest (default 200).
    pub limit: Option<u32>,
}

pub const DEFAULT_SINCE: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_LIMIT: u32 = 200;

impl Action for List {
    type Output = Vec<Job>;

    fn scope(&self) -> Scope<'_> {
        Scope::Open
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, _: Allowed) -> Result<Vec<Job>> {
        let mut jobs = queue.list(&self.filter(ctx))?;
        for job in &mut jobs {
            redact(ctx, caller, job);
        }
        Ok(jobs)
    }
}

impl List {
    /// The list handed over one job at a time (for streaming output), under the same policy.
    pub fn each(
        self,
        ctx: &Context<'_>,
        caller: &Caller,
        queue: &Queue,
        mut f: impl FnMut(Job) -> Result<()>,
    ) -> Result<()> {
        access::check(ctx, caller, queue, self.scope())?;
        queue.list_each(&self.filter(ctx), |mut job| {
            redact(ctx, caller, &mut job);
            f(job)
        })
    }

    fn filter(&self, ctx: &Context<'_>) -> ListFilter {
        ListFilter {
            all: self.all,
            since: crate::queue::sub_duration(ctx.clock.now(), self.since.unwrap_or(DEFAULT_SINCE)),
            limit: self.limit.unwrap_or(if self.all { DEFAULT_LIMIT } else { u32::MAX }),
        }
    }
}

/// Hides the args of a job the caller may not see them of (a restricted namespace's, to
/// someone outside).
pub(super) fn redact(ctx: &Context<'_>, caller: &Caller, job: &mut Job) {
    if !access::may_see_args(ctx, caller, &job.namespace) {
        job.args.0.clear();
    }
}
