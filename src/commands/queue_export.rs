//! `queue export`: what the queue still has to do, as records for `queue import` on another
//! database (SQLite to PostgreSQL, or back). The frontend writes them, one JSON line each.

use serde::Serialize;

use crate::queue::Queue;
use crate::queue::model::JobId;
use crate::queue::transfer::Record;

use super::access::{Allowed, Caller, Scope};
use super::{Action, Context, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueExport;

/// The export, and what it says about the queue it was read from.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The lines to write, header first.
    #[serde(skip)]
    pub records: Vec<Record>,
    /// Pending jobs.
    pub pending: u64,
    /// Finished jobs exported for their undelivered messages.
    pub finished: u64,
    /// Undelivered job events.
    pub events: u64,
    pub suppressions: u64,
    pub slack_commands: u64,
    pub slack_replies: u64,
    /// Requests waiting for their requester's *Confirm*.
    pub slack_confirmations: u64,
    /// Timers whose state is exported.
    pub timers: u64,
    /// Support listeners' out-of-office periods.
    pub out_of_office: u64,
    /// Jobs running now: not exported.
    pub running: Vec<JobId>,
    /// Undelivered events of the running jobs: not exported either.
    pub running_events: u64,
    /// A dispatcher has been seen in the last 60 s: jobs may start (and leave the export) while
    /// it runs.
    pub dispatcher_alive: bool,
}

impl Action for QueueExport {
    type Output = Exported;

    fn scope(&self) -> Scope<'_> {
        Scope::TrustedOnly("exporting the queue")
    }

    fn run(self, ctx: &Context<'_>, _: &Caller, queue: &mut Queue, _: Allowed) -> Result<Exported> {
        let now = ctx.clock.now();
        let export = queue.export(now)?;
        let mut out = Exported {
            records: Vec::new(),
            pending: 0,
            finished: 0,
            events: 0,
            suppressions: 0,
            slack_commands: 0,
            slack_replies: 0,
            slack_confirmations: 0,
            timers: 0,
            out_of_office: 0,
            running: export.running,
            running_events: export.running_events,
            dispatcher_alive: super::schedule::dispatcher_alive(queue, now)?,
        };
        for record in &export.records {
            let count = match record {
                Record::Header(_) => continue,
                Record::Job(j) if j.finished.is_some() => &mut out.finished,
                Record::Job(_) => &mut out.pending,
                Record::Event(_) => &mut out.events,
                Record::Suppression(_) => &mut out.suppressions,
                Record::SlackCommand(_) => &mut out.slack_commands,
                Record::SlackReply(_) => &mut out.slack_replies,
                Record::SlackConfirmation(_) => &mut out.slack_confirmations,
                Record::Timer(_) | Record::SlackChannel(_) => continue,
                Record::OutOfOffice(_) => &mut out.out_of_office,
            };
            *count += 1;
        }
        let timers: std::collections::BTreeSet<_> = export
            .records
            .iter()
            .filter_map(|r| if let Record::Timer(t) = r { Some((&t.namespace, &t.timer)) } else { None })
            .collect();
        out.timers = timers.len() as u64;
        out.records = export.records;
        Ok(out)
    }
}
