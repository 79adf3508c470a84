//! The terminal reporter: one line on stderr per job started and finished.

use crate::queue::model::Job;
use crate::runner::Reporter;

use super::render;

pub(super) struct Terminal;

impl Reporter for Terminal {
    fn started(&self, job: &Job) {
        eprintln!("job {} `{}` started", job.id, job.job_type());
    }

    fn finished(&self, job: &Job) {
        eprintln!("{}", render::finished_line(job));
    }

    fn note(&self, message: &str) {
        eprintln!("{message}");
    }
}

/// `run`'s reporter: the job's own output is on the terminal and its end is said once the
/// command returns (`render::finished_line`), so only notes are printed.
pub(super) struct Foreground;

impl Reporter for Foreground {
    fn started(&self, _job: &Job) {}

    fn finished(&self, _job: &Job) {}

    fn note(&self, message: &str) {
        eprintln!("{message}");
    }
}
