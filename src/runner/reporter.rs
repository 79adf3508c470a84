//! What the runner tells the outside world as it works. The terminal reporter prints; the
//! Slack reporter does not live here: it consumes the queue's events (docs/architecture.md §4).

use crate::queue::model::Job;

pub trait Reporter: Sync {
    /// A job was claimed and is about to start.
    fn started(&self, job: &Job);
    /// A job reached its final state (the job carries the outcome).
    fn finished(&self, job: &Job);
    /// Anything else worth a line in the log.
    fn note(&self, message: &str);
}
