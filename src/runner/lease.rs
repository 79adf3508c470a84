//! A dispatcher's lease on its running jobs (docs/postgres.md, "Several hosts").
//!
//! Another host cannot see a dispatcher's processes, so it declares the dispatcher's jobs lost
//! only once the dispatcher's lease has ended without a renewal. The other side of that promise
//! is kept here: the keeper renews the lease on a connection of its own, and the watchdog stops
//! the dispatcher's jobs when no renewal has succeeded for [`Settings::fence_after`] (half the
//! lease), so that they have ended — TERM, kill grace, KILL — before the lease does and another
//! host may run them again. Each is a thread of its own: a call hanging on a dead connection
//! holds up neither the watchdog nor the dispatcher's loop.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::config::Settings;
use crate::queue::Queue;
use crate::queue::model::{DispatcherId, JobId};

use super::process::JobHandle;

/// Who stopped a job whose lease could not be renewed, as its outcome and logs say.
pub const FENCED_BY: &str = "ebmbot (cut off from the queue)";

/// The lease of one dispatcher: shared by its loop, the keeper and the watchdog.
pub struct Lease {
    state: Mutex<State>,
    changed: Condvar,
    every: Duration,
    fence_after: Duration,
    length: Duration,
}

struct State {
    id: DispatcherId,
    /// When the newest renewal that succeeded was sent.
    renewed: Instant,
    /// The running jobs, to stop if the lease cannot be renewed.
    jobs: HashMap<JobId, JobHandle>,
    /// Jobs stopped because it could not: recorded as lost, not cancelled.
    fenced: HashSet<JobId>,
    /// No renewal in time: nothing is claimed until one succeeds.
    cut_off: bool,
    /// The dispatcher's row is gone (another host declared it lost): it must register again.
    unregistered: bool,
    stop: bool,
}

impl Lease {
    /// Starts keeping the lease of dispatcher `id`, registered just now, on `queue` (a
    /// connection of its own).
    pub fn start(queue: Queue, id: DispatcherId, settings: &Settings) -> Arc<Lease> {
        let lease = Arc::new(Lease {
            state: Mutex::new(State {
                id,
                renewed: Instant::now(),
                jobs: HashMap::new(),
                fenced: HashSet::new(),
                cut_off: false,
                unregistered: false,
                stop: false,
            }),
            changed: Condvar::new(),
            every: settings.heartbeat_every(),
            fence_after: settings.fence_after(),
            length: settings.lease,
        });
        let keeper = Arc::clone(&lease);
        std::thread::Builder::new()
            .name("lease-keeper".into())
            .spawn(move || keeper.keep(queue))
            .expect("spawn the lease keeper");
        let watchdog = Arc::clone(&lease);
        std::thread::Builder::new()
            .name("lease-watchdog".into())
            .spawn(move || watchdog.watch())
            .expect("spawn the lease watchdog");
        lease
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends the keeper and the watchdog (the dispatcher is leaving).
    pub fn stop(&self) {
        self.lock().stop = true;
        self.changed.notify_all();
    }

    /// A job started: stopped with the others if the lease cannot be renewed (at once when
    /// it already could not).
    pub fn track(&self, id: JobId, handle: JobHandle) {
        let mut s = self.lock();
        if s.cut_off || s.unregistered {
            handle.cancel(FENCED_BY.to_owned());
            s.fenced.insert(id);
        } else {
            s.jobs.insert(id, handle);
        }
    }

    /// Whether the job was stopped because the lease could not be renewed.
    pub fn is_fenced(&self, id: JobId) -> bool {
        self.lock().fenced.contains(&id)
    }

    /// A job's outcome is recorded.
    pub fn untrack(&self, id: JobId) {
        let mut s = self.lock();
        s.jobs.remove(&id);
        s.fenced.remove(&id);
    }

    /// Whether the dispatcher may claim: its lease is renewed and its row is there.
    pub fn may_claim(&self) -> bool {
        let s = self.lock();
        !s.cut_off && !s.unregistered
    }

    /// True once when the dispatcher's row was found gone: it must register again.
    pub fn take_unregistered(&self) -> bool {
        std::mem::take(&mut self.lock().unregistered)
    }

    /// The dispatcher registered again as `id`.
    pub fn registered_as(&self, id: DispatcherId) {
        let mut s = self.lock();
        s.id = id;
        s.renewed = Instant::now();
        s.cut_off = false;
        drop(s);
        self.changed.notify_all();
    }

    /// The keeper: renews every [`Settings::heartbeat_every`].
    fn keep(&self, mut queue: Queue) {
        let mut failing = false;
        loop {
            let id = {
                let s = self.lock();
                if s.stop {
                    return;
                }
                s.id
            };
            let sent = Instant::now();
            match queue.heartbeat(id, Timestamp::now(), self.length) {
                Ok(true) => self.renewed(id, sent, &mut failing),
                Ok(false) => self.lost_registration(id),
                Err(e) => {
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!(
                            error = &e as &dyn std::error::Error,
                            "dispatcher: cannot renew its lease; its jobs are stopped if this lasts {}",
                            crate::config::duration::format(self.fence_after)
                        );
                    }
                }
            }
            let s = self.lock();
            if s.stop {
                return;
            }
            drop(self.changed.wait_timeout(s, self.every).unwrap_or_else(PoisonError::into_inner));
        }
    }

    fn renewed(&self, id: DispatcherId, sent: Instant, failing: &mut bool) {
        let mut s = self.lock();
        if s.id != id {
            return;
        }
        s.renewed = s.renewed.max(sent);
        if std::mem::take(failing) || s.cut_off {
            tracing::info!("dispatcher: its lease is renewed again");
        }
        s.cut_off = false;
    }

    /// Our row is gone: another host found our lease ended and declared our jobs lost. Stop
    /// them now (they may be running elsewhere already) and register again.
    pub fn lost_registration(&self, id: DispatcherId) {
        let mut s = self.lock();
        if s.id != id || s.unregistered {
            return;
        }
        tracing::error!(dispatcher = id.0, "dispatcher: its lease ended and another host took its jobs; stopping them");
        s.unregistered = true;
        fence(&mut s);
        drop(s);
        self.changed.notify_all();
    }

    /// The watchdog: stops every job once no renewal has succeeded for `fence_after`.
    fn watch(&self) {
        let mut s = self.lock();
        loop {
            if s.stop {
                return;
            }
            let deadline = s.renewed + self.fence_after;
            let now = Instant::now();
            if now >= deadline && !s.cut_off {
                s.cut_off = true;
                if !s.jobs.is_empty() {
                    tracing::error!(
                        jobs = s.jobs.len(),
                        "dispatcher: its lease was not renewed for {}; stopping its jobs before the lease ends",
                        crate::config::duration::format(self.fence_after)
                    );
                }
                fence(&mut s);
            }
            let wait = if s.cut_off { self.every } else { deadline.saturating_duration_since(now) };
            s = self.changed.wait_timeout(s, wait).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

/// Stops every tracked job (TERM, kill grace, KILL); their outcomes are recorded as lost.
fn fence(s: &mut State) {
    for (id, handle) in s.jobs.drain() {
        handle.cancel(FENCED_BY.to_owned());
        s.fenced.insert(id);
    }
}
