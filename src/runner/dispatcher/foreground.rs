//! `ebmbot run`: one job, inserted already running and owned by this dispatcher, run in the
//! foreground with its output also on ours.

use jiff::Timestamp;

use crate::queue::model::Job;
use crate::queue::{Busy, NewJob, QueueError};

use super::{Control, Dispatcher, HEARTBEAT};

/// How [`Dispatcher::run_foreground`] ended.
#[derive(Debug, Clone)]
pub enum Foreground {
    /// The job ran (whatever its outcome): the job as finished.
    Ran(Box<Job>),
    /// Its type is suppressed until then (and the run was not forced).
    Suppressed(Timestamp),
    /// Stopped by a signal before the job could start.
    StoppedWaiting,
}

impl Dispatcher<'_> {
    /// `ebmbot run`: once its type is free and the cap allows, inserts `new` already running
    /// and owned by this dispatcher (never merged with a pending job), runs it with its output
    /// also on ours, and returns it finished. `on_wait` is told each new reason to wait, and
    /// `None` when a wait is over. A first stop of `control` cancels the job (as `by`), a second
    /// kills it without the grace; `cancel --id` from elsewhere stops it too.
    pub fn run_foreground(
        mut self,
        new: &NewJob,
        force: bool,
        control: &Control,
        on_wait: &mut dyn FnMut(Option<&Busy>),
    ) -> Result<Foreground, QueueError> {
        control.wake_on_stop(self.waker.clone());
        let result = self.foreground(new, force, control, on_wait);
        self.queue.unregister_dispatcher(self.id)?;
        result
    }

    fn foreground(
        &mut self,
        new: &NewJob,
        force: bool,
        control: &Control,
        on_wait: &mut dyn FnMut(Option<&Busy>),
    ) -> Result<Foreground, QueueError> {
        let job = match self.wait_to_start(new, force, control, on_wait)? {
            Ok(job) => job,
            Err(ended) => return Ok(ended),
        };
        let (id, by) = (job.id, new.origin.requested_by());
        self.start(job, true)?;
        let mut stops_seen = 0;
        while self.running.contains_key(&id) {
            let stops = control.stops();
            if stops > stops_seen
                && let Some(r) = self.running.get_mut(&id)
            {
                if stops_seen == 0 {
                    r.cancel(&by);
                } else {
                    r.kill(&by);
                }
                stops_seen = stops;
            }
            let woke = self.waker.wait(HEARTBEAT);
            while let Ok(done) = self.done_rx.try_recv() {
                self.unrecorded.push(done);
            }
            self.settle()?;
            while let Ok(fetched) = self.fetched_rx.try_recv() {
                self.fetched(fetched)?;
            }
            if woke {
                self.stop_requested()?;
            }
            self.register_again_if_needed()?;
        }
        let job = self.queue.job(id)?.ok_or_else(|| QueueError::Corrupt(format!("job {id} vanished")))?;
        Ok(Foreground::Ran(Box::new(job)))
    }

    /// Inserts `new` running as soon as it may start; `Err`: why it never will.
    fn wait_to_start(
        &mut self,
        new: &NewJob,
        force: bool,
        control: &Control,
        on_wait: &mut dyn FnMut(Option<&Busy>),
    ) -> Result<Result<Job, Foreground>, QueueError> {
        let mut last_busy = None;
        loop {
            match self.queue.start_now(new, self.id, self.clock.now(), self.settings.max_jobs, force)? {
                Ok(job) => {
                    if last_busy.is_some() {
                        on_wait(None);
                    }
                    return Ok(Ok(job));
                }
                Err(Busy::Suppressed(until)) => return Ok(Err(Foreground::Suppressed(until))),
                Err(busy) => {
                    if last_busy.as_ref() != Some(&busy) {
                        on_wait(Some(&busy));
                        last_busy = Some(busy);
                    }
                    // Tried again at each change to the queue (and the slow poll).
                    loop {
                        if control.stops() > 0 {
                            return Ok(Err(Foreground::StoppedWaiting));
                        }
                        self.register_again_if_needed()?;
                        if self.waker.wait(HEARTBEAT) {
                            break;
                        }
                    }
                }
            }
        }
    }
}
