//! A claimed job's way through the dispatcher: prepared, its namespace's fabfile fetched (on a
//! thread of its own), spawned; then its outcome recorded, and a job stopped by the shutdown
//! queued again if its `on_lost` says so.

use std::time::Instant;

use crate::bot::deliver::format;
use crate::config::OnLost;
use crate::queue::NewReply;
use crate::queue::QueueError;
use crate::queue::model::{Job, JobId, JobState, Outcome};
use crate::runner::process::{Finished, JobSpec, spawn};
use crate::runner::{fetch_fabfile, prepare};

use super::{Dispatcher, Fetched, Running};

impl Dispatcher<'_> {
    /// Starts a claimed job; `tee`: its output goes to ours as well (`run`).
    pub(super) fn start(&mut self, job: Job, tee: bool) -> Result<(), QueueError> {
        self.summary.started += 1;
        self.reporter.started(&job);
        self.running.insert(job.id, Running { handle: None, cancelled: None, by_shutdown: false });
        let spec = match prepare::prepare(self.settings, &self.catalog, &job, tee) {
            Ok(spec) => spec,
            Err(e) => {
                let detail = crate::error::describe(&e);
                self.unrecorded.push(Finished { id: job.id, outcome: Outcome::Error { detail } });
                return Ok(());
            }
        };
        let Some(url) = self.catalog.namespace(&job.namespace).and_then(|ns| ns.fabfile.clone()) else {
            return self.spawn(spec);
        };
        // The fetch (up to 30 s) runs on its own thread; the job starts when it ends.
        let (tx, ns, waker) = (self.fetched_tx.clone(), job.namespace.clone(), self.waker.clone());
        let workdir = spec.workdir.clone();
        let fetch = move || {
            let began = Instant::now();
            let error = fetch_fabfile(&url, &workdir).err().map(|e| {
                let why = crate::error::describe(&e);
                format!("could not fetch the fabfile of `{ns}` ({why}); using the previous one")
            });
            (began.elapsed(), error)
        };
        let waiting = spec.clone();
        match std::thread::Builder::new().name(format!("job-{}-fabfile", job.id)).spawn(move || {
            let (took, error) = fetch();
            let _ = tx.send(Fetched { spec: waiting, took, error });
            waker.poke();
        }) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.reporter
                    .note(&format!("cannot start a thread to fetch the fabfile ({e}); using the previous one"));
                self.spawn(spec)
            }
        }
    }

    /// A fabfile fetch ended: start its job (its timeout less the fetch), unless it was
    /// cancelled meanwhile.
    pub(super) fn fetched(&mut self, mut fetched: Fetched) -> Result<(), QueueError> {
        let id = fetched.spec.id;
        if let Some(error) = &fetched.error {
            self.reporter.note(error);
            self.tell_logs_channel(&format::fabfile_failed(id, &fetched.spec.job_type, error));
        }
        if let Some(by) = self.running.get(&id).and_then(|r| r.cancelled.clone()) {
            self.unrecorded.push(Finished { id, outcome: Outcome::Cancelled { by } });
            return Ok(());
        }
        fetched.spec.timeout = fetched.spec.timeout.map(|t| t.saturating_sub(fetched.took));
        self.spawn(fetched.spec)
    }

    /// Posts `text` to the Slack logs channel, when one is set (the fabfile's failed fetch, as
    /// the Python bot did). Queued like any reply; if it cannot be queued, the log says so and
    /// the job goes on.
    fn tell_logs_channel(&mut self, text: &str) {
        let Some(channel) = self.settings.slack_logs_channel.clone() else { return };
        let reply = NewReply { channel, text: Some(text.to_owned()), ..NewReply::default() };
        if let Err(e) = self.queue.add_reply(None, &reply, self.clock.now()) {
            self.reporter
                .note(&format!("cannot queue the note for the Slack logs channel: {}", crate::error::describe(&e)));
        }
    }

    /// Starts a prepared job's process; records where its logs are and its process group.
    fn spawn(&mut self, spec: JobSpec) -> Result<(), QueueError> {
        let (id, log_dir) = (spec.id, spec.log_dir.display().to_string());
        match spawn(spec, self.done_tx.clone()) {
            Ok(handle) => {
                let pgid = handle.pgid();
                self.lease.track(id, handle.clone());
                self.shipper.add(id, std::path::PathBuf::from(&log_dir));
                if let Some(r) = self.running.get_mut(&id) {
                    r.handle = Some(handle);
                }
                self.queue.set_process(id, &log_dir, pgid)
            }
            Err(e) => {
                let detail = crate::error::describe(&e);
                self.unrecorded.push(Finished { id, outcome: Outcome::Error { detail } });
                self.queue.set_process(id, &log_dir, None)
            }
        }
    }

    /// Writes the outcomes not yet written, oldest first. One that cannot be written now stays
    /// (with those after it) for the next turn, and its job in `running`.
    pub(super) fn settle(&mut self) -> Result<(), QueueError> {
        while !self.unrecorded.is_empty() {
            let done = self.unrecorded.remove(0);
            if let Err(e) = self.finished(&done) {
                self.unrecorded.insert(0, done);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Records one outcome; `Err` leaves the job in `running`, to be recorded again. A job
    /// stopped by the shutdown is queued again if its `on_lost` says so.
    fn finished(&mut self, done: &Finished) -> Result<(), QueueError> {
        self.shipper.finish(&mut self.queue, done.id);
        if self.lease.is_fenced(done.id) {
            return self.fenced(done.id);
        }
        let by_shutdown = self.running.get(&done.id).is_some_and(|r| r.by_shutdown);
        let job = self.record(done.id, &done.outcome)?;
        self.lease.untrack(done.id);
        self.running.remove(&done.id);
        let Some(job) = job.filter(|j| by_shutdown && j.state() == JobState::Cancelled) else {
            return Ok(());
        };
        if !self.catalog.job(&job.namespace, &job.job).is_some_and(|d| d.on_lost == OnLost::Retry) {
            return Ok(());
        }
        // The outcome is written: an error now must not record it twice, so it is only told.
        match self.queue.requeue(job.id, self.clock.now()) {
            Ok(Some(again)) => {
                self.reporter.note(&format!("job {} will run again as job {again} (on_lost = \"retry\")", job.id));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(job = job.id.0, error = &e as &dyn std::error::Error, "could not queue a job again");
                self.reporter.note(&format!(
                    "job {} could not be queued again: {}",
                    job.id,
                    crate::error::describe(&e)
                ));
            }
        }
        Ok(())
    }

    /// Records a job stopped because the lease could not be renewed: lost (another host may
    /// have declared it so already), and queued again if its `on_lost` says so.
    fn fenced(&mut self, id: JobId) -> Result<(), QueueError> {
        let job = self.running.get(&id).map(|_| ()).and_then(|()| self.queue.job(id).ok().flatten());
        let retry = job
            .as_ref()
            .and_then(|j| self.catalog.job(&j.namespace, &j.job))
            .is_some_and(|d| d.on_lost == OnLost::Retry);
        let detail = format!(
            "its dispatcher on host `{}` was cut off from the queue for {} and stopped it before its lease ended",
            super::proc::hostname(),
            crate::config::duration::format(self.settings.fence_after())
        );
        let settled = self.queue.settle_lost(id, &detail, retry, self.clock.now())?;
        self.lease.untrack(id);
        self.running.remove(&id);
        self.summary.finished += 1;
        match settled {
            Some((lost, retried)) => {
                self.reporter.finished(&lost);
                if let Some(again) = retried {
                    self.reporter.note(&format!("job {} will run again as job {again} (on_lost = \"retry\")", lost.id));
                }
            }
            None => self.reporter.note(&format!("job {id} was stopped; another host had already declared it lost")),
        }
        Ok(())
    }

    fn record(&mut self, id: JobId, outcome: &Outcome) -> Result<Option<Job>, QueueError> {
        let job = self.queue.finish(id, outcome, self.clock.now())?;
        self.summary.finished += 1;
        match &job {
            Some(job) => self.reporter.finished(job),
            None => self.reporter.note(&format!("job {id} had already finished; outcome {outcome:?} not recorded")),
        }
        Ok(job)
    }
}
