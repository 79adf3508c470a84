//! `run`: run a job now, in the foreground, with its output on our stdout and stderr.
//!
//! This process becomes a dispatcher of its own for the one job ([`Dispatcher::run_foreground`]):
//! it waits until the job's type is free and the cap allows, inserts the job already running and
//! owned by itself (never merged with a pending row), and runs it as any dispatcher does.

use std::time::Duration;

use crate::queue::model::{Job, Origin};
use crate::queue::{Busy, NewJob, Queue};
use crate::runner::{Control, Dispatcher, Foreground, Reporter};

use super::{CommandError, Context, Result, resolve};

#[derive(Debug, Clone)]
pub struct Run {
    pub namespace: String,
    pub job: String,
    pub args: Vec<(String, String)>,
    /// Run even if the type is suppressed.
    pub force: bool,
    pub origin: Origin,
}

/// How `run` ended.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// The job ran (whatever its outcome).
    Ran(Box<Job>),
    /// Stopped by a signal before the job could start.
    StoppedWaiting,
}

impl Run {
    /// `on_wait` is told each new reason the job has to wait, and `None` when a wait is over
    /// (just before the job starts); `reporter` hears of the job as a dispatcher's does.
    pub fn execute(
        self,
        ctx: &Context<'_>,
        queue: Queue,
        reporter: &dyn Reporter,
        control: &Control,
        on_wait: &mut dyn FnMut(Option<&Busy>),
    ) -> Result<RunOutcome> {
        let def = resolve::job(ctx.catalog, &self.namespace, &self.job)?;
        let args = resolve::args(def, self.args)?;
        let new = NewJob { namespace: self.namespace, job: self.job, args, delay: Duration::ZERO, origin: self.origin };
        let dispatcher = Dispatcher::new(queue, ctx.catalog.clone(), ctx.settings, ctx.clock, reporter, "run")?;
        match dispatcher.run_foreground(&new, self.force, control, on_wait)? {
            Foreground::Ran(job) => Ok(RunOutcome::Ran(job)),
            Foreground::StoppedWaiting => Ok(RunOutcome::StoppedWaiting),
            Foreground::Suppressed(until) => {
                Err(CommandError::Suppressed { job_type: new.job_type(), until: crate::queue::model::rfc3339(until) })
            }
        }
    }
}
