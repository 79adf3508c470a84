//! The dispatcher loop: claim due jobs, run them, record their outcomes, stop the ones someone
//! cancelled, and shut down cleanly.
//!
//! The loop and its chores are here; [`foreground`] is `ebmbot run`'s one job, and [`jobs`]
//! starts a claimed job (fetching its fabfile first, on a thread of its own) and records how it
//! ended.
//!
//! It sleeps until something happens: a commit to the queue by any process (the queue's
//! [`Waker`]: another process scheduling or cancelling a job wakes it within milliseconds), one
//! of its jobs ending, a stop request, or the next due time, suppression end or chore. Idle, it
//! does next to nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::clock::Clock;
use crate::config::{Catalog, LiveCatalog, Settings};
use crate::queue::model::{DispatcherId, JobId};
use crate::queue::{NewDispatcher, Queue, QueueError, Waker};

use super::lease::Lease;
use super::process::{Done, Finished, JobHandle, JobSpec};
use super::retention::{self, Amount};
use super::ship::{SHIP_EVERY, Shipper};
use super::{Reporter, proc, recovery};

mod foreground;
mod jobs;

pub use foreground::Foreground;

/// How often `ebmbot run` looks at the queue while it waits, without a change notification.
/// (Heartbeats are the lease keeper's: `runner::lease`.)
const HEARTBEAT: Duration = Duration::from_secs(10);
/// A dispatcher whose heartbeat is older than this counts as stale in `status`, `/readyz` and
/// `schedule`'s warning. Staleness never declares a dispatcher dead: recovery
/// checks its process.
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(60);
/// How often running jobs of dead dispatchers are looked for (and at start); more often with a
/// lease shorter than a minute (half the lease), so that a job of a host gone is settled soon
/// after its lease ends.
const RECOVERY: Duration = Duration::from_secs(30);
/// Retention prunes a little at a time: one batch this often.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Requests from outside the loop (signal handlers, the web server's shutdown), and the
/// process's catalogue, which SIGHUP replaces.
#[derive(Debug, Default)]
pub struct Control {
    stops: AtomicUsize,
    catalog: OnceLock<LiveCatalog>,
    /// The dispatcher to wake when a stop is requested.
    waker: Mutex<Option<Waker>>,
}

impl Control {
    /// First call: stop claiming and let running jobs finish within the shutdown grace.
    /// Second call: stop them now.
    pub fn request_stop(&self) {
        self.stops.fetch_add(1, Ordering::SeqCst);
        if let Some(waker) = &*self.waker.lock().unwrap_or_else(PoisonError::into_inner) {
            waker.poke();
        }
    }

    /// Stop requests wake `waker`'s dispatcher.
    fn wake_on_stop(&self, waker: Waker) {
        *self.waker.lock().unwrap_or_else(PoisonError::into_inner) = Some(waker);
    }

    pub fn stops(&self) -> usize {
        self.stops.load(Ordering::SeqCst)
    }

    /// Takes each new version of `live` (SIGHUP re-reads it) at the next turn of the loop.
    pub fn follow(&self, live: LiveCatalog) {
        let _ = self.catalog.set(live);
    }

    fn catalog(&self) -> Option<LiveCatalog> {
        self.catalog.get().cloned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Until stopped.
    Forever,
    /// `dispatch --once`: run everything due at start (and what frees up behind it), then return.
    Once,
}

/// What a dispatcher did, for the caller's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub started: u64,
    pub finished: u64,
}

pub struct Dispatcher<'a> {
    queue: Queue,
    catalog: Catalog,
    /// The process's catalogue, when the loop follows one ([`Control::follow`]), and the
    /// version of it `catalog` is.
    live: Option<LiveCatalog>,
    catalog_version: u64,
    settings: &'a Settings,
    clock: &'a dyn Clock,
    reporter: &'a dyn Reporter,
    id: DispatcherId,
    /// `dispatch`, `serve`, `run`: how it registers (again, when its lease ended).
    kind: String,
    /// Renewed by threads of its own; stops our jobs when it cannot be.
    lease: Arc<Lease>,
    running: HashMap<JobId, Running>,
    /// Ships running jobs' output into the queue, for `logs` on other hosts.
    shipper: Shipper,
    /// Wakes the loop: a commit to the queue by anyone, a job that ended, a stop request.
    waker: Waker,
    done_tx: Done,
    done_rx: Receiver<Finished>,
    fetched_tx: Sender<Fetched>,
    fetched_rx: Receiver<Fetched>,
    /// Outcomes not yet written to the queue (a job stays in `running` until its is).
    unrecorded: Vec<Finished>,
    summary: Summary,
    /// Each timer's next fire time, as last computed: (namespace, name) → when to look again
    /// (`None`: at the next turn). Emptied when the catalogue changes.
    timers: HashMap<(String, String), Option<Timestamp>>,
}

struct Running {
    /// `None` while its namespace's fabfile is being fetched (on a thread of its own, so that a
    /// slow fetch holds up nothing else).
    handle: Option<JobHandle>,
    /// Who asked to stop it, once someone has.
    cancelled: Option<String>,
    /// Cancelled because ebmbot is shutting down: `on_lost = "retry"` jobs run again.
    by_shutdown: bool,
}

impl Running {
    fn cancel(&mut self, by: &str) {
        if self.cancelled.is_none() {
            if let Some(handle) = &self.handle {
                handle.cancel(by.to_owned());
            }
            self.cancelled = Some(by.to_owned());
        }
    }

    /// Stops it without the kill grace (a job still waiting for its fabfile never starts).
    fn kill(&mut self, by: &str) {
        if let Some(handle) = &self.handle {
            handle.kill(by.to_owned());
        }
        self.cancelled.get_or_insert_with(|| by.to_owned());
    }
}

/// A shutdown in progress: when the grace ends, and whether running jobs were told to stop.
#[derive(Debug, Default)]
struct Shutdown {
    deadline: Option<Instant>,
    stopped_all: bool,
}

/// The loop's bookkeeping between turns.
struct Turns {
    /// `Once`: jobs due by the start are run.
    due_by_once: Timestamp,
    /// Whether to look for work in this turn.
    look: bool,
    /// The next due time or suppression end the queue knows of.
    wake_at: Option<Instant>,
    chores: Chores,
}

enum Next {
    Continue,
    /// `Once`: nothing due is left.
    Done,
}

/// When the loop last did each of its chores.
struct Chores {
    recovery: Instant,
    shipped: Instant,
    prune: Option<Instant>,
}

/// A fabfile fetch that has ended, and the job waiting for it.
struct Fetched {
    spec: JobSpec,
    took: Duration,
    error: Option<String>,
}

/// How long the loop may sleep: until the next due time or suppression end, chore, or the end
/// of the shutdown grace, whichever comes first (a change to the queue wakes it sooner).
fn idle_for(mode: Mode, turns: &Turns, grace_ends: Option<Instant>, recovery: Duration) -> Duration {
    let chores = &turns.chores;
    let prune = chores.prune.map(|p| p + PRUNE_EVERY).filter(|_| mode == Mode::Forever);
    let mut until = (chores.recovery + recovery).min(Instant::now() + HEARTBEAT);
    for at in [prune, turns.wake_at, grace_ends].into_iter().flatten() {
        until = until.min(at);
    }
    until.saturating_duration_since(Instant::now())
}

/// Registers this process as a dispatcher of `kind` (`dispatch`, `serve`, `run`).
/// `timezone`: its `EBMBOT_TIMEZONE`, which every dispatcher of the queue must share; `lease`:
/// its `EBMBOT_LEASE`.
pub fn register(
    queue: &mut Queue,
    kind: &str,
    timezone: &str,
    lease: Duration,
    now: Timestamp,
) -> Result<DispatcherId, QueueError> {
    let pid = std::process::id();
    let pid_i32 = i32::try_from(pid).unwrap_or(i32::MAX);
    let me = NewDispatcher {
        kind: kind.to_owned(),
        host: proc::hostname(),
        boot_id: proc::boot_id(),
        pid: i64::from(pid),
        pid_start: proc::process_start_time(pid_i32).map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)),
        timezone: timezone.to_owned(),
        lease,
    };
    queue.register_dispatcher(&me, now)
}

impl Drop for Dispatcher<'_> {
    fn drop(&mut self) {
        self.lease.stop();
    }
}

impl<'a> Dispatcher<'a> {
    pub fn new(
        mut queue: Queue,
        catalog: Catalog,
        settings: &'a Settings,
        clock: &'a dyn Clock,
        reporter: &'a dyn Reporter,
        kind: &str,
    ) -> Result<Dispatcher<'a>, QueueError> {
        let id = register(&mut queue, kind, settings.timezone_name(), settings.lease, clock.now())?;
        let lease = Lease::start(queue.another()?, id, settings);
        let (done_tx, done_rx) = mpsc::channel();
        let (fetched_tx, fetched_rx) = mpsc::channel();
        let waker = queue.waker();
        let done_tx = Done::new(done_tx, Some(waker.clone()));
        Ok(Dispatcher {
            waker,
            queue,
            catalog,
            live: None,
            catalog_version: 0,
            settings,
            clock,
            reporter,
            id,
            kind: kind.to_owned(),
            lease,
            running: HashMap::new(),
            shipper: Shipper::new(settings.db_log_max),
            done_tx,
            done_rx,
            fetched_tx,
            fetched_rx,
            unrecorded: Vec::new(),
            summary: Summary::default(),
            timers: HashMap::new(),
        })
    }

    pub fn id(&self) -> DispatcherId {
        self.id
    }

    /// Runs until stopped (`Forever`) or until nothing due at start is left (`Once`).
    pub fn run(mut self, mode: Mode, control: &Control) -> Result<Summary, QueueError> {
        self.live = control.catalog();
        control.wake_on_stop(self.waker.clone());
        // Recovery first: a lost job's retry, queued now, is due by the start of `--once`;
        // then the timers: what fell due since their last fire is queued now, and so due too.
        self.recover()?;
        self.fire_timers()?;
        let mut turns = Turns {
            due_by_once: self.clock.now(),
            look: true,
            wake_at: None,
            chores: Chores { recovery: Instant::now(), shipped: Instant::now(), prune: None },
        };
        let mut shutdown = Shutdown::default();
        loop {
            if self.shut_down(control, &mut shutdown) {
                break;
            }
            self.follow_catalog();
            let claiming = shutdown.deadline.is_none();
            // The loop must be awake when the shutdown grace ends.
            let grace_ends = shutdown.deadline.filter(|_| !shutdown.stopped_all);
            match self.turn(mode, &mut turns, claiming, grace_ends) {
                Ok(Next::Continue) => {}
                Ok(Next::Done) => break,
                Err(e) if mode == Mode::Forever => {
                    tracing::error!(error = &e as &dyn std::error::Error, "dispatcher: queue error; retrying in 1 s");
                    self.reporter.note(&format!("queue error, retrying in 1s: {}", crate::error::describe(&e)));
                    std::thread::sleep(Duration::from_secs(1));
                    turns.look = true;
                }
                Err(e) => return Err(e),
            }
        }
        self.settle()?;
        self.queue.unregister_dispatcher(self.id)?;
        Ok(std::mem::take(&mut self.summary))
    }

    /// One turn of the loop: claim what may start (when `claiming`), record what ended, and the
    /// chores. An error leaves nothing half done: outcomes not yet written stay in
    /// `unrecorded`, and the next turn tries again.
    fn turn(
        &mut self,
        mode: Mode,
        turns: &mut Turns,
        claiming: bool,
        grace_ends: Option<Instant>,
    ) -> Result<Next, QueueError> {
        self.settle()?;
        if mode == Mode::Forever && claiming && self.fire_timers()? {
            turns.look = true;
        }
        if turns.look && claiming {
            turns.look = false;
            self.look(mode, turns.due_by_once)?;
            self.settle()?;
            // `look` claimed everything it could: with nothing running, nothing more due by
            // the start will become claimable through this dispatcher.
            if mode == Mode::Once && self.running.is_empty() {
                return Ok(Next::Done);
            }
            turns.wake_at = self.queue.next_wakeup(self.clock.now())?.map(|t| {
                let ms = (t.as_millisecond() - self.clock.now().as_millisecond()).max(0);
                Instant::now() + Duration::from_millis(ms.unsigned_abs())
            });
        }
        // Woken by a commit (any process), a job that ended, a fetch that ended, a stop, or
        // the slow poll: look again.
        let ship_at = (!self.shipper.is_idle()).then(|| turns.chores.shipped + SHIP_EVERY);
        let grace_or_ship = [grace_ends, ship_at].into_iter().flatten().min();
        turns.look |= self.waker.wait(idle_for(mode, turns, grace_or_ship, self.recovery_every()));
        while let Ok(done) = self.done_rx.try_recv() {
            self.unrecorded.push(done);
        }
        self.settle()?;
        while let Ok(fetched) = self.fetched_rx.try_recv() {
            self.fetched(fetched)?;
        }
        if turns.wake_at.is_some_and(|w| Instant::now() >= w) {
            turns.wake_at = None;
            turns.look = true;
        }
        turns.look |= self.chores(mode, &mut turns.chores)?;
        Ok(Next::Continue)
    }

    /// Acts on stop requests: the first starts the shutdown grace, the second ends it; once it
    /// is over, running jobs are cancelled. True when nothing runs any more and the loop ends.
    fn shut_down(&mut self, control: &Control, shutdown: &mut Shutdown) -> bool {
        let stops = control.stops();
        if stops > 0 && shutdown.deadline.is_none() {
            if !self.running.is_empty() {
                self.reporter.note(&format!(
                    "stopping: waiting up to {} for {} running job(s)",
                    crate::config::duration::format(self.settings.shutdown_grace),
                    self.running.len()
                ));
            }
            shutdown.deadline = Some(Instant::now() + self.settings.shutdown_grace);
        }
        if stops > 1 {
            shutdown.deadline = Some(Instant::now());
        }
        let Some(deadline) = shutdown.deadline else { return false };
        if self.running.is_empty() {
            return true;
        }
        if !shutdown.stopped_all && Instant::now() >= deadline {
            shutdown.stopped_all = true;
            for r in self.running.values_mut() {
                r.cancel("ebmbot shut down");
                r.by_shutdown = true;
            }
        }
        false
    }

    /// Registering again when needed, retention and recovery, each when due. True when
    /// recovery freed a type.
    fn chores(&mut self, mode: Mode, last: &mut Chores) -> Result<bool, QueueError> {
        self.register_again_if_needed()?;
        if last.shipped.elapsed() >= SHIP_EVERY {
            last.shipped = Instant::now();
            self.shipper.ship_all(&mut self.queue);
        }
        if mode == Mode::Forever && last.prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
            last.prune = Some(Instant::now());
            self.prune_a_little()?;
        }
        if last.recovery.elapsed() >= self.recovery_every() {
            last.recovery = Instant::now();
            return Ok(self.recover()? > 0);
        }
        Ok(false)
    }

    fn recovery_every(&self) -> Duration {
        RECOVERY.min(self.settings.lease / 2)
    }

    /// Registers again when another host has removed this dispatcher (its lease had ended:
    /// `runner::lease` stopped its jobs); jobs still stopping are recorded under the old id.
    fn register_again_if_needed(&mut self) -> Result<(), QueueError> {
        if self.lease.take_unregistered() {
            let id = register(
                &mut self.queue,
                &self.kind,
                self.settings.timezone_name(),
                self.settings.lease,
                self.clock.now(),
            )?;
            tracing::warn!(old = self.id.0, new = id.0, "dispatcher: registered again after its lease ended");
            self.id = id;
            self.lease.registered_as(id);
        }
        Ok(())
    }

    /// Stops the running jobs someone cancelled (`cancel --id`).
    fn stop_requested(&mut self) -> Result<(), QueueError> {
        for (id, by) in self.queue.stop_requests(self.id)? {
            if let Some(r) = self.running.get_mut(&id) {
                r.cancel(&by);
            }
        }
        Ok(())
    }

    /// Takes the process's newest catalogue, if SIGHUP has re-read `jobs.toml` since.
    fn follow_catalog(&mut self) {
        if let Some((version, catalog)) = self.live.as_ref().and_then(|live| live.newer_than(self.catalog_version)) {
            self.catalog = (*catalog).clone();
            self.catalog_version = version;
            self.timers.clear();
        }
    }

    /// Fires every timer whose next fire time has come (each timer's first look included).
    /// True when a job was queued.
    fn fire_timers(&mut self) -> Result<bool, QueueError> {
        let now = self.clock.now();
        let mut queued = false;
        for timer in self.catalog.timers() {
            let key = (timer.namespace.clone(), timer.name.clone());
            if self.timers.get(&key).is_some_and(|next| next.is_none_or(|n| n > now)) {
                continue;
            }
            let fired = super::timers::fire_due(&mut self.queue, timer, self.settings.timer_grace, now)?;
            for (at, job) in &fired.ran {
                tracing::info!(timer = %format!("{}/{}", timer.namespace, timer.name), fire_at = %at, job = job.0, "timer fired");
            }
            if let Some((at, count)) = fired.skipped {
                tracing::warn!(timer = %format!("{}/{}", timer.namespace, timer.name), latest = %at, count, "timer skipped missed fire times");
            }
            queued |= !fired.ran.is_empty();
            self.timers.insert(key, fired.next);
        }
        Ok(queued)
    }

    /// Stops the jobs someone cancelled, then claims and starts every job that may start.
    fn look(&mut self, mode: Mode, due_by_once: Timestamp) -> Result<(), QueueError> {
        self.stop_requested()?;
        loop {
            if !self.lease.may_claim() {
                return Ok(());
            }
            let now = self.clock.now();
            let due_by = if mode == Mode::Once { due_by_once } else { now };
            let job = match self.queue.claim(self.id, now, due_by, self.settings.max_jobs) {
                Ok(Some(job)) => job,
                Ok(None) => return Ok(()),
                Err(QueueError::NotRegistered(_)) => {
                    self.lease.lost_registration(self.id);
                    return self.register_again_if_needed();
                }
                Err(e) => return Err(e),
            };
            // A `jobs.toml` re-read before the job was scheduled must be the one it runs with.
            self.follow_catalog();
            self.start(job, false)?;
        }
    }

    /// One batch of retention (old history, its log directories, Slack's old tables).
    fn prune_a_little(&mut self) -> Result<(), QueueError> {
        let now = self.clock.now();
        let pruned = retention::prune(&mut self.queue, self.settings, now, self.settings.retention, Amount::OneBatch)?;
        if pruned.jobs > 0 || pruned.slack > 0 {
            tracing::info!(jobs = pruned.jobs, events = pruned.events, slack = pruned.slack, "pruned old history");
        }
        Ok(())
    }

    fn recover(&mut self) -> Result<usize, QueueError> {
        let now = self.clock.now();
        recovery::recover(&mut self.queue, &self.catalog, self.settings, self.id, now, self.reporter)
    }
}
