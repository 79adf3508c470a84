//! `run`: run a job now, in the foreground, with its output on our stdout and stderr.
//!
//! It waits until its type is free and the cap allows, then inserts its job already running,
//! owned by itself as a dispatcher; it never merges with a pending row.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::queue::model::{Job, Origin, Outcome};
use crate::queue::{Busy, NewJob, Queue};
use crate::runner::{Control, prepare, process, register};

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

const POLL: Duration = Duration::from_millis(10);
const HEARTBEAT: Duration = Duration::from_secs(10);

impl Run {
    /// `on_wait` is told each new reason the job has to wait, and `None` when a wait is over
    /// (just before the job starts).
    pub fn execute(
        self,
        ctx: &Context<'_>,
        queue: &mut Queue,
        control: &Control,
        on_wait: &mut dyn FnMut(Option<&Busy>),
    ) -> Result<RunOutcome> {
        let def = resolve::job(ctx.catalog, &self.namespace, &self.job)?;
        let args = resolve::args(def, self.args)?;
        let by = self.origin.requested_by();
        let new = NewJob { namespace: self.namespace, job: self.job, args, delay: Duration::ZERO, origin: self.origin };
        let me = register(queue, "run", ctx.clock.now())?;
        let result = run(ctx, queue, control, on_wait, &new, me, self.force, &by);
        queue.unregister_dispatcher(me)?;
        result
    }
}

#[allow(clippy::too_many_arguments)] // one private step of `execute`, named for readability
fn run(
    ctx: &Context<'_>,
    queue: &mut Queue,
    control: &Control,
    on_wait: &mut dyn FnMut(Option<&Busy>),
    new: &NewJob,
    me: crate::queue::model::DispatcherId,
    force: bool,
    by: &str,
) -> Result<RunOutcome> {
    let mut last_busy = None;
    let job = loop {
        match queue.start_now(new, me, ctx.clock.now(), ctx.settings.max_jobs, force)? {
            Ok(job) => {
                if last_busy.is_some() {
                    on_wait(None);
                }
                break job;
            }
            Err(Busy::Suppressed(until)) => {
                return Err(CommandError::Suppressed {
                    job_type: new.job_type(),
                    until: crate::queue::model::rfc3339(until),
                });
            }
            Err(busy) => {
                if last_busy.as_ref() != Some(&busy) {
                    on_wait(Some(&busy));
                    last_busy = Some(busy);
                }
                let version = queue.data_version()?;
                while queue.data_version()? == version {
                    if control.stops() > 0 {
                        return Ok(RunOutcome::StoppedWaiting);
                    }
                    std::thread::sleep(POLL);
                }
            }
        }
    };

    let spec = match prepare::prepare(ctx.settings, ctx.catalog, &job, true) {
        Ok(spec) => spec,
        Err(detail) => return finish(ctx, queue, &job, &Outcome::Error { detail }),
    };
    let log_dir = spec.log_dir.display().to_string();
    let (done_tx, done_rx) = mpsc::channel();
    let handle = match process::spawn(spec, done_tx) {
        Ok(handle) => handle,
        Err(e) => {
            queue.set_process(job.id, &log_dir, None)?;
            return finish(ctx, queue, &job, &Outcome::Error { detail: e.to_string() });
        }
    };
    queue.set_process(job.id, &log_dir, handle.pgid())?;

    let mut stops_seen = 0;
    let mut last_heartbeat = Instant::now();
    let mut version = queue.data_version()?;
    let done = loop {
        match done_rx.recv_timeout(POLL) {
            Ok(done) => break done,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                return Err(CommandError::Failed(format!("lost track of job {}", job.id)));
            }
        }
        let stops = control.stops();
        if stops > stops_seen {
            if stops_seen == 0 {
                handle.cancel(by.to_owned());
            } else if let Some(pgid) = handle.pgid() {
                // A second signal: no grace.
                let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
            }
            stops_seen = stops;
        }
        let v = queue.data_version()?;
        if v != version {
            version = v;
            if let Some((_, who)) = queue.stop_requests(me)?.into_iter().find(|(id, _)| *id == job.id) {
                handle.cancel(who);
            }
        }
        if last_heartbeat.elapsed() >= HEARTBEAT {
            last_heartbeat = Instant::now();
            queue.heartbeat(me, ctx.clock.now())?;
        }
    };
    finish(ctx, queue, &job, &done.outcome)
}

fn finish(ctx: &Context<'_>, queue: &mut Queue, job: &Job, outcome: &Outcome) -> Result<RunOutcome> {
    let job = queue.finish(job.id, outcome, ctx.clock.now())?.map_or_else(|| queue.job(job.id), |j| Ok(Some(j)))?;
    job.map(|j| RunOutcome::Ran(Box::new(j)))
        .ok_or_else(|| CommandError::Failed("the job vanished from the queue".to_owned()))
}
