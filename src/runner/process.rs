//! One job as one process group under a subreaper of its own (docs/security.md §4; after
//! nextest's `unix.rs`, tini and catatonit).
//!
//! [`spawn`] starts `ebmbot __reap -- EBMBOT_SHELL -c <command>` ([`reaper`]) in a new process
//! group and returns at once. The reaper runs the shell and makes sure nothing the job starts
//! outlives it, in whatever session or group. Threads here do the rest: two copy stdout and
//! stderr into the log files as they arrive, one waits for the reaper, and a supervisor enforces
//! the timeout, carries out cancellation and sends exactly one [`Finished`] per job. The job
//! ends when the reaper exits (after the shell, and after whatever the shell left behind has
//! been stopped); what is left of its group is then stopped in the background, and the copiers
//! get [`DRAIN`] to catch up, so grandchildren that keep a pipe open never hold the job up.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::logs::{CappedLog, Stream, append_line, copy_output, create_private_dir, create_private_file};
use crate::queue::Waker;
use crate::queue::model::{JobId, Outcome};
use supervisor::{Event, Supervisor};

/// How long the output copiers get to finish after the job's main process has exited.
pub const DRAIN: Duration = Duration::from_millis(200);

/// How much longer than the kill grace the job's reaper gets to stop everything under it, after
/// SIGTERM, before its whole group gets SIGKILL (which would free the reaper's orphans).
pub use crate::config::REAPER_MARGIN;

/// Everything needed to run one job; the command is already rendered and quoted.
#[derive(Clone)]
pub struct JobSpec {
    pub id: JobId,
    pub job_type: crate::config::JobType,
    pub command: String,
    pub shell: String,
    pub workdir: PathBuf,
    /// A fixed directory must exist; any other is created on demand.
    pub workdir_fixed: bool,
    /// Variables added to the inherited environment (they may hold passed secrets).
    pub env: Vec<(String, String)>,
    pub env_remove: Vec<String>,
    pub log_dir: PathBuf,
    /// Per stream.
    pub max_log: u64,
    pub timeout: Option<Duration>,
    pub kill_grace: Duration,
    /// Also copy the job's stdout and stderr to ours, live (`ebmbot run`).
    pub tee: bool,
    /// ebmbot's own executable, which runs the shell under a subreaper ([`reaper`]). `None`
    /// runs the shell directly as the group leader, without one: only where the running
    /// executable is not ebmbot (the library's own tests).
    pub reaper: Option<PathBuf>,
}

impl fmt::Debug for JobSpec {
    /// Leaves out the values of `env`, which may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobSpec")
            .field("id", &self.id)
            .field("job_type", &self.job_type)
            .field("command", &self.command)
            .field("workdir", &self.workdir)
            .field("env", &self.env.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("log_dir", &self.log_dir)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The one message sent for each job [`spawn`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub id: JobId,
    pub outcome: Outcome,
}

/// Why [`spawn`] refused a job: its logs cannot be created, so there is nowhere to say more.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot create the log directory {}", path.display())]
    LogDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot create the log file {}", path.display())]
    LogFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A job that [`spawn`] accepted. Dropping the handle leaves the job running.
#[derive(Debug, Clone)]
pub struct JobHandle {
    id: JobId,
    pgid: Option<i32>,
    control: Option<Sender<Event>>,
}

impl JobHandle {
    pub fn id(&self) -> JobId {
        self.id
    }

    /// The job's process group (the pid of its reaper, or of its shell when it runs without
    /// one); `None` when it never started.
    pub fn pgid(&self) -> Option<i32> {
        self.pgid
    }

    /// Stops the job: SIGTERM to its group (its reaper then stops everything under it, SIGKILL
    /// after the kill grace), SIGKILL to the group if that has not ended it [`REAPER_MARGIN`]
    /// later; the outcome is `Cancelled { by }`. Does nothing once the job has finished or if it never started.
    pub fn cancel(&self, by: String) {
        if let Some(control) = &self.control {
            let _ = control.send(Event::Cancel(by));
        }
    }

    /// Stops the job now: SIGKILL to its group, no grace (a second Ctrl-C). The outcome is
    /// `Cancelled { by }`, or that of an earlier [`JobHandle::cancel`].
    pub fn kill(&self, by: String) {
        if let Some(control) = &self.control {
            let _ = control.send(Event::Kill(by));
        }
    }
}

/// Where a job's [`Finished`] goes: a channel, and the waker of whoever reads it.
#[derive(Debug, Clone)]
pub struct Done {
    tx: Sender<Finished>,
    waker: Option<Waker>,
}

impl Done {
    pub fn new(tx: Sender<Finished>, waker: Option<Waker>) -> Done {
        Done { tx, waker }
    }

    pub(super) fn send(&self, finished: Finished) {
        let _ = self.tx.send(finished);
        if let Some(waker) = &self.waker {
            waker.poke();
        }
    }
}

/// Starts a job and returns at once; its [`Finished`] comes later through `done`.
///
/// `Err` only when the log directory or files cannot be created: then nothing ran and nothing is
/// sent. Every other failure (workspace missing, shell not startable) is written to the stderr
/// log and reported as `Outcome::Error` through `done`.
pub fn spawn(spec: JobSpec, done: Done) -> Result<JobHandle, SpawnError> {
    let (stdout_log, stderr_log) = create_logs(&spec.log_dir)?;
    if let Err(e) = prepare_workdir(&spec) {
        return Ok(never_started(&spec, crate::error::describe(&e), &done));
    }
    let mut child = match command(&spec).spawn() {
        Ok(child) => child,
        Err(e) => {
            let detail = match &spec.reaper {
                Some(ebmbot) => format!("cannot start the job's reaper `{}`: {e}", ebmbot.display()),
                None => format!("cannot start the shell `{}`: {e}", spec.shell),
            };
            return Ok(never_started(&spec, detail, &done));
        }
    };
    let Ok(pgid) = i32::try_from(child.id()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(never_started(&spec, "the job's pid is out of range".into(), &done));
    };

    let (events_tx, events) = mpsc::channel();
    let (drained_tx, drained) = mpsc::channel();
    let supervisor = Supervisor {
        id: spec.id,
        pgid,
        timeout: spec.timeout.map(|t| (t, Instant::now() + t)),
        kill_grace: spec.kill_grace,
        // The reaper stops its descendants itself within the kill grace: SIGKILL to the group
        // comes only if it has not managed by then.
        kill_after: spec.kill_grace + if spec.reaper.is_some() { REAPER_MARGIN } else { Duration::ZERO },
        events,
        drained,
        done: done.clone(),
        stderr_path: spec.log_dir.join(Stream::Stderr.file_name()),
    };
    let tee_out = spec.tee.then(|| Box::new(io::stdout()) as Box<dyn Write + Send>);
    let tee_err = spec.tee.then(|| Box::new(io::stderr()) as Box<dyn Write + Send>);
    let copy_out = copier(child.stdout.take(), stdout_log, tee_out, &spec, &drained_tx);
    let copy_err = copier(child.stderr.take(), stderr_log, tee_err, &spec, &drained_tx);
    let started = start(&format!("job-{}-stdout", spec.id), copy_out)
        .and_then(|()| start(&format!("job-{}-stderr", spec.id), copy_err))
        .and_then(|()| start(&format!("job-{}-wait", spec.id), wait_for(child, &events_tx)))
        .and_then(|()| start(&format!("job-{}", spec.id), move || supervisor.run()));
    if let Err(e) = started {
        // The shell may already be running: stop its group and reap it before saying so.
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pgid), None);
        let detail = format!("cannot start a thread to run the job: {e}");
        return Ok(never_started(&spec, detail, &done));
    }
    Ok(JobHandle { id: spec.id, pgid: Some(pgid), control: Some(events_tx) })
}

fn start(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    thread::Builder::new().name(name.to_owned()).spawn(f).map(drop)
}

fn wait_for(mut child: Child, events: &Sender<Event>) -> impl FnOnce() + Send + 'static {
    let events = events.clone();
    move || {
        let _ = events.send(Event::Exited(child.wait()));
    }
}

/// The body of a thread that copies one of the job's pipes into its log, and says when the pipe
/// has closed (which a grandchild may put off for ever: nobody waits long for that).
fn copier(
    pipe: Option<impl Read + Send + 'static>,
    log: File,
    tee: Option<Box<dyn Write + Send>>,
    spec: &JobSpec,
    drained: &Sender<()>,
) -> impl FnOnce() + Send + 'static {
    let log = CappedLog::new(log, spec.max_log);
    let drained = drained.clone();
    move || {
        if let Some(pipe) = pipe {
            copy_output(pipe, log, tee);
        }
        let _ = drained.send(());
    }
}

fn create_logs(dir: &Path) -> Result<(File, File), SpawnError> {
    create_private_dir(dir).map_err(|source| SpawnError::LogDir { path: dir.to_owned(), source })?;
    let create = |name: &str| {
        let path = dir.join(name);
        create_private_file(&path).map_err(|source| SpawnError::LogFile { path, source })
    };
    Ok((create(Stream::Stdout.file_name())?, create(Stream::Stderr.file_name())?))
}

/// Why a job's working directory is not there.
#[derive(Debug, thiserror::Error)]
enum WorkdirError {
    #[error("workspace directory {} is missing", .0.display())]
    Missing(PathBuf),
    #[error("cannot create workspace directory {}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn prepare_workdir(spec: &JobSpec) -> Result<(), WorkdirError> {
    let dir = &spec.workdir;
    if dir.is_dir() {
        Ok(())
    } else if spec.workdir_fixed {
        Err(WorkdirError::Missing(dir.clone()))
    } else {
        create_private_dir(dir).map_err(|source| WorkdirError::Create { path: dir.clone(), source })
    }
}

fn command(spec: &JobSpec) -> Command {
    let mut cmd = match &spec.reaper {
        Some(ebmbot) => {
            let mut cmd = Command::new(ebmbot);
            let grace = u64::try_from(spec.kill_grace.as_millis()).unwrap_or(u64::MAX);
            cmd.arg0("ebmbot").arg(reaper::SUBCOMMAND).arg("--grace-ms").arg(grace.to_string()).arg("--");
            cmd.arg(&spec.shell);
            cmd
        }
        None => Command::new(&spec.shell),
    };
    cmd.arg("-c")
        .arg(&spec.command)
        .current_dir(&spec.workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    for key in &spec.env_remove {
        cmd.env_remove(key);
    }
    cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// Reports a job that never got a process: the reason goes to its stderr log and to `done`.
fn never_started(spec: &JobSpec, detail: String, done: &Done) -> JobHandle {
    append_line(&spec.log_dir.join(Stream::Stderr.file_name()), &detail);
    let outcome = Outcome::Error { detail };
    done.send(Finished { id: spec.id, outcome });
    JobHandle { id: spec.id, pgid: None, control: None }
}

pub mod reaper;
mod supervisor;
#[cfg(test)]
pub(super) mod tests;
