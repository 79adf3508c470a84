//! `timers`: every `[[ns.timers]]` timer with its last and next fire; `timers pause NAME` and
//! `timers resume NAME` hold and release one (the state is kept in the queue, so every
//! dispatcher sees it). A timer is named `NAME` when no other namespace has a timer of that
//! name, else `NAMESPACE/NAME`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::{Catalog, Timer};
use crate::queue::model::{JobId, ser_opt_ts, ser_ts};
use crate::queue::{Queue, TimerEntryKind, TimerState};

use super::access::{self, Allowed, Caller, Scope};
use super::{Action, CommandError, Context, Result};

/// List every timer the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timers;

#[derive(Debug, Clone, Serialize)]
pub struct TimerView {
    pub namespace: String,
    pub name: String,
    #[serde(rename = "type")]
    pub job_type: crate::config::JobType,
    pub cron: String,
    pub timezone: String,
    /// The job's params; `None` where the caller may not see a restricted namespace's args.
    pub params: Option<BTreeMap<String, String>>,
    pub notify: Option<String>,
    pub missed: &'static str,
    pub paused: Option<Paused>,
    pub last_fire: Option<LastFire>,
    /// Its next fire time (in the past when it is overdue: no dispatcher has fired it yet);
    /// `None` while paused.
    #[serde(serialize_with = "ser_opt_ts")]
    pub next_fire: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Paused {
    pub by: String,
    #[serde(serialize_with = "ser_ts")]
    pub at: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastFire {
    /// The fire time.
    #[serde(serialize_with = "ser_ts")]
    pub at: Timestamp,
    /// `true`: its missed fire times were skipped (`missed = "skip"`), no job ran.
    pub skipped: bool,
    /// How many fire times it stood for (more than one after a downtime).
    pub covers: u64,
    pub job: Option<JobId>,
}

/// A timer's next fire time as its state in the queue says: none while paused; else the first
/// after its last entry (or after `now` for a timer no dispatcher has seen yet).
pub fn next_fire(timer: &Timer, state: &TimerState, now: Timestamp) -> Option<Timestamp> {
    if state.paused.is_some() {
        return None;
    }
    timer.next_after(state.since.unwrap_or(now))
}

/// One timer as `timers`, `jobs`, `status` and `<ns> help` show it.
pub fn view(timer: &Timer, state: TimerState, now: Timestamp, show_params: bool) -> TimerView {
    TimerView {
        namespace: timer.namespace.clone(),
        name: timer.name.clone(),
        job_type: crate::config::JobType::new(&timer.namespace, &timer.job),
        cron: timer.cron.as_str().to_owned(),
        timezone: timer.timezone_name().to_owned(),
        params: show_params.then(|| timer.params.clone()),
        notify: timer.notify.clone(),
        missed: timer.missed.as_str(),
        next_fire: next_fire(timer, &state, now),
        paused: state.paused.map(|(by, at)| Paused { by, at }),
        last_fire: state.last_fire.map(|e| LastFire {
            at: e.at,
            skipped: e.kind == TimerEntryKind::Skipped,
            covers: e.covers,
            job: e.job,
        }),
    }
}

/// Every timer of the namespaces `caller` may see, with their state.
pub fn views(ctx: &Context<'_>, caller: &Caller, queue: &Queue) -> Result<Vec<TimerView>> {
    let now = ctx.clock.now();
    ctx.catalog
        .timers()
        .filter(|t| access::may_see(ctx, caller, &t.namespace))
        .map(|t| {
            let state = queue.timer_state(&t.namespace, &t.name)?;
            Ok(view(t, state, now, access::may_see_args(ctx, caller, &t.namespace)))
        })
        .collect()
}

impl Action for Timers {
    type Output = Vec<TimerView>;

    fn scope(&self) -> Scope<'_> {
        Scope::Open
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, _: Allowed) -> Result<Vec<TimerView>> {
        views(ctx, caller, queue)
    }
}

/// `timers pause NAME` (`pause: true`) or `timers resume NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseTimer {
    pub name: String,
    pub pause: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimerPaused {
    pub namespace: String,
    pub name: String,
    pub paused: bool,
    /// False when it already was as asked.
    pub changed: bool,
    /// After a resume, its next fire time.
    #[serde(serialize_with = "ser_opt_ts")]
    pub next_fire: Option<Timestamp>,
}

impl Action for PauseTimer {
    type Output = TimerPaused;

    fn scope(&self) -> Scope<'_> {
        Scope::Timer(&self.name)
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, _: Allowed) -> Result<TimerPaused> {
        let timer = find(ctx.catalog, &self.name)?;
        let (now, who) = (ctx.clock.now(), caller.requested_by());
        let changed = if self.pause {
            queue.pause_timer(&timer.namespace, &timer.name, &who, now)?
        } else {
            queue.resume_timer(&timer.namespace, &timer.name, &who, now)?
        };
        let state = queue.timer_state(&timer.namespace, &timer.name)?;
        Ok(TimerPaused {
            namespace: timer.namespace.clone(),
            name: timer.name.clone(),
            paused: self.pause,
            changed,
            next_fire: next_fire(timer, &state, now),
        })
    }
}

/// The timer `name` names: `NAME` when only one namespace has it, or `NAMESPACE/NAME`.
pub fn find<'c>(catalog: &'c Catalog, name: &str) -> Result<&'c Timer> {
    let matches: Vec<&Timer> = match name.split_once('/') {
        Some((ns, timer)) => catalog.timers().filter(|t| t.namespace == ns && t.name == timer).collect(),
        None => catalog.timers().filter(|t| t.name == name).collect(),
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => {
            let names: Vec<String> =
                catalog.timers().map(|t| if name.contains('/') { qualified(t) } else { t.name.clone() }).collect();
            let suggestion = crate::config::closest(name, names.iter().map(String::as_str)).map(str::to_owned);
            Err(CommandError::UnknownTimer { name: name.to_owned(), suggestion })
        }
        many => Err(CommandError::AmbiguousTimer {
            name: name.to_owned(),
            candidates: many.iter().map(|t| qualified(t)).collect(),
        }),
    }
}

fn qualified(timer: &Timer) -> String {
    format!("{}/{}", timer.namespace, timer.name)
}
