//! The job's own subreaper (docs/security.md §4): `ebmbot __reap --grace-ms N -- SHELL -c CMD`.
//!
//! The dispatcher starts this small process, in the job's new process group, instead of the
//! shell; it marks itself `PR_SET_CHILD_SUBREAPER` (as tini and catatonit do) and starts the shell
//! as its child. Whatever the job leaves behind — a `setsid` daemon, a double fork, a `nohup` —
//! is re-parented to it rather than to init when its parent dies, so its descendants are always
//! its children, grandchildren and so on, in whatever session or process group:
//!
//! - when the shell exits, every descendant still there gets SIGTERM, then SIGKILL after the
//!   grace (at once, without waiting, when there is none);
//! - on SIGTERM, SIGINT or SIGHUP (the dispatcher's cancellation or timeout, or recovery
//!   stopping a lost job's group) the same happens to the shell and everything under it.
//!
//! It exits once it has no child left, the way the shell did: the same exit code, or killed by
//! the same signal, so the dispatcher sees the job's own result.
//!
//! A job that kills this process (it runs as the same user) takes its descendants out of reach:
//! only running jobs as another user prevents that (docs/security.md §6).

use std::ffi::OsString;
use std::process::{Command, ExitCode};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::runner::proc;

/// The hidden subcommand that runs [`main`].
pub const SUBCOMMAND: &str = "__reap";

/// How often the reaper looks again even when no signal came (a lost SIGCHLD costs no more).
const POLL: Duration = Duration::from_millis(250);
/// How often it sends SIGKILL again while descendants are still there (one may be forking).
const KILL_AGAIN: Duration = Duration::from_millis(20);

/// Runs `command` (the shell and its arguments) as described above; returns the exit code to
/// exit with, or does not return when the shell was killed by a signal.
pub fn main(grace: Duration, command: &[OsString]) -> ExitCode {
    let Some((program, args)) = command.split_first() else {
        eprintln!("ebmbot {SUBCOMMAND}: no command");
        return ExitCode::from(2);
    };
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        eprintln!("ebmbot: cannot become the job's subreaper ({e}); processes that leave the job may outlive it");
    }
    // Before the shell exists, so that no SIGCHLD or stop request is missed.
    let mut signals = match Signals::new([SIGCHLD, SIGTERM, SIGINT, SIGHUP]) {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("ebmbot: cannot watch signals: {e}");
            return ExitCode::from(1);
        }
    };
    let shell = match Command::new(program).args(args).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("cannot start the shell `{}`: {e}", program.to_string_lossy());
            return ExitCode::from(127);
        }
    };
    let Ok(shell) = i32::try_from(shell.id()).map(Pid::from_raw) else {
        return ExitCode::from(1);
    };
    let (tx, events) = mpsc::channel();
    let watching = thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in signals.forever() {
            if tx.send(signal).is_err() {
                return;
            }
        }
    });
    if let Err(e) = watching {
        eprintln!("ebmbot: cannot start a thread: {e}");
        stop_all(Signal::SIGKILL);
    }
    Reaper { shell, grace, status: None, kill_at: None, events }.run()
}

struct Reaper {
    shell: Pid,
    grace: Duration,
    /// How the shell ended, once it has.
    status: Option<WaitStatus>,
    /// When to send SIGKILL, once stopping has begun.
    kill_at: Option<Instant>,
    events: mpsc::Receiver<i32>,
}

impl Reaper {
    fn run(mut self) -> ExitCode {
        loop {
            if self.reap_all() {
                return exit_like(self.status);
            }
            if self.status.is_some() {
                self.stop();
            }
            let now = Instant::now();
            let wait = match self.kill_at {
                Some(at) if now >= at => {
                    stop_all(Signal::SIGKILL);
                    KILL_AGAIN
                }
                Some(at) => (at - now).min(POLL),
                None => POLL,
            };
            match self.events.recv_timeout(wait) {
                Ok(SIGTERM | SIGINT | SIGHUP) => self.stop(),
                Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                // The signal thread is gone: nothing will say "stop" any more; keep reaping.
                Err(mpsc::RecvTimeoutError::Disconnected) => thread::sleep(wait),
            }
        }
    }

    /// Begins stopping, once: SIGTERM to every descendant, SIGKILL after the grace.
    fn stop(&mut self) {
        if self.kill_at.is_none() {
            stop_all(Signal::SIGTERM);
            self.kill_at = Some(Instant::now() + self.grace);
        }
    }

    /// Reaps every child that has ended (the shell, and orphans handed to us). True when no
    /// child is left at all.
    fn reap_all(&mut self) -> bool {
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => return false,
                Ok(status) => {
                    if status.pid() == Some(self.shell) {
                        self.status = Some(status);
                    }
                }
                Err(Errno::EINTR) => {}
                Err(Errno::ECHILD) => return true,
                Err(e) => {
                    eprintln!("ebmbot: cannot wait for the job's processes: {e}");
                    return false;
                }
            }
        }
    }
}

/// Sends `signal` to every descendant of this process.
fn stop_all(signal: Signal) {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    for pid in proc::descendants(me) {
        let _ = kill(Pid::from_raw(pid), signal);
    }
}

/// Ends this process the way the shell ended.
fn exit_like(status: Option<WaitStatus>) -> ExitCode {
    match status {
        Some(WaitStatus::Exited(_, code)) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Some(WaitStatus::Signaled(_, signal, _)) => {
            let _ = signal_hook::low_level::emulate_default_handler(signal as i32);
            ExitCode::from(u8::try_from(128 + signal as i32).unwrap_or(1))
        }
        _ => ExitCode::from(1),
    }
}
