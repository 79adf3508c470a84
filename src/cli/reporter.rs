//! The terminal reporter: one line on stderr per job started and finished.

use crate::queue::model::Job;
use crate::runner::Reporter;

use super::render;

pub struct Terminal;

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
