//! `status`: what is running, what is scheduled, suppressions, dispatchers and undelivered
//! messages.

use serde::Serialize;

use crate::queue::model::{Dispatcher, Job, JobState, Suppression};
use crate::queue::{DeliveryStatus, Queue};

use super::access::{self, Allowed, Caller, Scope};
use super::{Action, Context, Result};

/// What is happening. Everyone may ask; the args of jobs the caller may not see are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status;

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub running: Vec<Job>,
    pub pending: Vec<Job>,
    pub suppressions: Vec<Suppression>,
    /// Running jobs, pending jobs and suppressions of restricted namespaces that the caller may
    /// not see (`access::may_see`): counted, not listed.
    pub hidden: Hidden,
    pub dispatchers: Vec<DispatcherStatus>,
    pub delivery: DeliveryStatus,
    /// The timers of the namespaces the caller may see, with their next run.
    pub timers: Vec<super::timers::TimerView>,
    /// With support listeners configured: how many channels they hear (the bot's channels).
    pub listening: Option<Listening>,
}

/// Support listeners hear only the channels the bot is in.
#[derive(Debug, Clone, Serialize)]
pub struct Listening {
    pub listeners: Vec<String>,
    #[serde(flatten)]
    pub channels: crate::queue::ChannelsHeard,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Hidden {
    pub running: usize,
    pub pending: usize,
    pub suppressions: usize,
}

impl Hidden {
    pub fn is_empty(self) -> bool {
        self == Hidden::default()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DispatcherStatus {
    #[serde(flatten)]
    pub dispatcher: Dispatcher,
    pub heartbeat_age_seconds: i64,
    /// No heartbeat within [`crate::runner::HEARTBEAT_STALE`].
    pub stale: bool,
}

impl StatusReport {
    /// Nothing running, scheduled or suppressed: the original's "Nothing is happening".
    pub fn is_idle(&self) -> bool {
        self.running.is_empty() && self.pending.is_empty() && self.suppressions.is_empty() && self.hidden.is_empty()
    }
}

impl Action for Status {
    type Output = StatusReport;

    fn scope(&self) -> Scope<'_> {
        Scope::Open
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, _: Allowed) -> Result<StatusReport> {
        let now = ctx.clock.now();
        let dispatchers = queue
            .dispatchers()?
            .into_iter()
            .map(|d| {
                let age = (now.as_millisecond() - d.heartbeat_at.as_millisecond()) / 1000;
                let stale = age.unsigned_abs() > crate::runner::HEARTBEAT_STALE.as_secs();
                DispatcherStatus { dispatcher: d, heartbeat_age_seconds: age, stale }
            })
            .collect();
        let visible = |namespace: &str| access::may_see(ctx, caller, namespace);
        let (mut running, hidden_running): (Vec<Job>, Vec<Job>) =
            queue.jobs_in(JobState::Running)?.into_iter().partition(|j| visible(&j.namespace));
        let (mut pending, hidden_pending): (Vec<Job>, Vec<Job>) =
            queue.jobs_in(JobState::Pending)?.into_iter().partition(|j| visible(&j.namespace));
        for job in running.iter_mut().chain(pending.iter_mut()) {
            super::list::redact(ctx, caller, job);
        }
        // A suppression names a job type, `<namespace>_<job>`.
        let (suppressions, hidden_suppressions): (Vec<Suppression>, Vec<Suppression>) =
            queue.suppressions(now)?.into_iter().partition(|s| {
                ctx.catalog.jobs().find(|j| j.job_type().as_str() == s.job_type).is_none_or(|j| visible(&j.namespace))
            });
        let hidden = Hidden {
            running: hidden_running.len(),
            pending: hidden_pending.len(),
            suppressions: hidden_suppressions.len(),
        };
        let timers = super::timers::views(ctx, caller, queue)?;
        let listeners: Vec<String> = ctx.catalog.listeners().map(|l| l.name.clone()).collect();
        let listening =
            if listeners.is_empty() { None } else { Some(Listening { listeners, channels: queue.channels_heard()? }) };
        Ok(StatusReport {
            running,
            pending,
            suppressions,
            hidden,
            dispatchers,
            delivery: queue.delivery_status()?,
            timers,
            listening,
        })
    }
}
