//! Exit codes, in one place: 0 ok, 2 bad input, 1 anything else; `run` exits with its job's.

use crate::commands::CommandError;
use crate::queue::model::{Job, Outcome};

/// 2 for the user's mistakes, 1 for everything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(e) = e.downcast_ref::<crate::bot::BotError>() {
        return if e.is_bad_input() { 2 } else { 1 };
    }
    match e.downcast_ref::<CommandError>() {
        Some(e) if e.is_bad_input() => 2,
        _ => 1,
    }
}

/// `run`: the job's own exit code; 128+N if killed by signal N; 124 on timeout; 130 when
/// cancelled; 1 when lost or it could not start.
pub(super) fn job_exit_code(job: &Job) -> u8 {
    let clamp = |n: i32| u8::try_from(n.clamp(0, 255)).unwrap_or(1);
    match job.status.outcome() {
        Some(Outcome::Succeeded) => 0,
        Some(Outcome::Failed { exit_code }) => clamp(*exit_code),
        Some(Outcome::Killed { signal }) => clamp(128 + signal),
        Some(Outcome::TimedOut { .. }) => 124,
        Some(Outcome::Cancelled { .. }) => 130,
        Some(Outcome::Error { .. } | Outcome::Lost { .. }) | None => 1,
    }
}
