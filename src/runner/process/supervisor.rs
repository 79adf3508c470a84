//! The supervisor thread of one running job: it enforces the timeout, carries out cancellation,
//! notices the end of the main process, stops what is left of the group and sends the one
//! [`Finished`] of the job.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::{DRAIN, Finished, start};
use crate::queue::model::{JobId, Outcome};
use crate::runner::logs::append_line;
use crate::runner::proc;

/// What the supervisor hears: from the thread waiting for the shell, and from [`super::JobHandle`].
#[derive(Debug)]
pub(super) enum Event {
    Exited(io::Result<ExitStatus>),
    Cancel(String),
    /// Cancel without the kill grace: SIGKILL to the group, and to everything under its reaper, now.
    Kill(String),
}

/// Watches one running job: timeout, cancellation, the end of its main process.
pub(super) struct Supervisor {
    pub(super) id: JobId,
    pub(super) pgid: i32,
    /// The job's timeout, and when it runs out (counted from the spawn).
    pub(super) timeout: Option<(Duration, Instant)>,
    pub(super) kill_grace: Duration,
    /// How long after SIGTERM the group gets SIGKILL (the kill grace, and the reaper's margin).
    pub(super) kill_after: Duration,
    pub(super) events: Receiver<Event>,
    pub(super) drained: Receiver<()>,
    pub(super) done: super::Done,
    pub(super) stderr_path: PathBuf,
}

/// Why we are stopping the job, and when to escalate to SIGKILL (`None`: already sent).
struct Stopping {
    outcome: Outcome,
    kill_at: Option<Instant>,
}

impl Supervisor {
    pub(super) fn run(self) {
        let timeout_at = self.timeout.map(|(_, at)| at);
        let mut stopping: Option<Stopping> = None;
        let exited = loop {
            let next = match &stopping {
                None => timeout_at,
                Some(s) => s.kill_at,
            };
            let event = match next {
                Some(at) => self.events.recv_timeout(at.saturating_duration_since(Instant::now())),
                None => self.events.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match (event, &mut stopping) {
                (Ok(Event::Exited(status)), _) => break status,
                (Ok(Event::Cancel(by)), None) => {
                    stopping = Some(self.terminate(Outcome::Cancelled { by }));
                }
                (Ok(Event::Cancel(_)), Some(_)) => {}
                (Ok(Event::Kill(by)), None) => {
                    proc::kill_tree(self.pgid);
                    stopping = Some(Stopping { outcome: Outcome::Cancelled { by }, kill_at: None });
                }
                (Ok(Event::Kill(_)), Some(s)) => {
                    proc::kill_tree(self.pgid);
                    s.kill_at = None;
                }
                (Err(RecvTimeoutError::Timeout), None) => {
                    let after = self.timeout.map(|(after, _)| after).unwrap_or_default();
                    stopping = Some(self.terminate(Outcome::TimedOut { after }));
                }
                (Err(RecvTimeoutError::Timeout), Some(s)) => {
                    // The reaper has not finished: it may be stopped (SIGSTOP) or stuck. Its tree
                    // is still whole while it lives, so everything under it can be found.
                    proc::kill_tree(self.pgid);
                    s.kill_at = None;
                }
                (Err(RecvTimeoutError::Disconnected), _) => {
                    break Err(io::Error::other("the thread waiting for it stopped"));
                }
            }
        };
        self.stop_the_rest();
        self.wait_for_output();
        let outcome = match (stopping, exited) {
            (Some(s), _) => s.outcome,
            (None, Ok(status)) => outcome_of(status),
            (None, Err(e)) => {
                let detail = format!("lost track of the job's process: {e}");
                append_line(&self.stderr_path, &detail);
                Outcome::Error { detail }
            }
        };
        self.done.send(Finished { id: self.id, outcome });
    }

    fn terminate(&self, outcome: Outcome) -> Stopping {
        let _ = killpg(Pid::from_raw(self.pgid), Signal::SIGTERM);
        Stopping { outcome, kill_at: Some(Instant::now() + self.kill_after) }
    }

    /// The main process is gone; stop whatever it left in its group (TERM, grace, KILL), in the
    /// background so that the job's result is not held up.
    fn stop_the_rest(&self) {
        let (pgid, grace) = (self.pgid, self.kill_grace);
        if proc::group_exists(pgid)
            && start(&format!("job-{}-stop", self.id), move || {
                proc::stop_group(pgid, grace);
            })
            .is_err()
        {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }

    /// Gives both copiers up to [`DRAIN`] to reach the end of their pipe.
    fn wait_for_output(&self) {
        let deadline = Instant::now() + DRAIN;
        for _ in 0..2 {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.drained.recv_timeout(left).is_err() {
                return;
            }
        }
    }
}

fn outcome_of(status: ExitStatus) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(0), _) => Outcome::Succeeded,
        (Some(exit_code), _) => Outcome::Failed { exit_code },
        (None, Some(signal)) => Outcome::Killed { signal },
        (None, None) => Outcome::Error { detail: format!("the job ended in an unknown way: {status}") },
    }
}
