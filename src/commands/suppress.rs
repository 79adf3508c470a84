//! `suppress` and `unsuppress`: windows in which no job of a type starts.

use jiff::Timestamp;
use serde::Serialize;

use crate::queue::Queue;
use crate::queue::model::{rfc3339, ser_ts};

use super::access::{Allowed, Caller, Scope};
use super::time::parse_time;
use super::{Action, CommandError, Context, Result, resolve};

/// Suppress a job type from `from` (default now) until `until`, both as the user wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppress {
    pub namespace: String,
    pub job: String,
    pub from: Option<String>,
    pub until: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Suppressed {
    #[serde(rename = "type")]
    pub job_type: crate::config::JobType,
    #[serde(serialize_with = "ser_ts")]
    pub start: Timestamp,
    #[serde(serialize_with = "ser_ts")]
    pub end: Timestamp,
}

impl Action for Suppress {
    type Output = Suppressed;

    fn scope(&self) -> Scope<'_> {
        Scope::Namespace(&self.namespace)
    }

    fn run(self, ctx: &Context<'_>, _: &Caller, queue: &mut Queue, _: Allowed) -> Result<Suppressed> {
        let job_type = resolve::job(ctx.catalog, &self.namespace, &self.job)?.job_type();
        let now = ctx.clock.now();
        let tz = &ctx.settings.timezone;
        let start = match &self.from {
            Some(t) => parse_time(t, now, tz)?,
            None => now,
        };
        let end = parse_time(&self.until, now, tz)?;
        if end <= now {
            return Err(CommandError::EndInPast { text: self.until, end: rfc3339(end) });
        }
        if start >= end {
            return Err(CommandError::EmptyWindow { start: rfc3339(start), end: rfc3339(end) });
        }
        queue.suppress(&job_type, start, end, now)?;
        Ok(Suppressed { job_type, start, end })
    }
}

/// Remove every suppression window of a job type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsuppress {
    pub namespace: String,
    pub job: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unsuppressed {
    #[serde(rename = "type")]
    pub job_type: crate::config::JobType,
    /// How many windows (current or future) were removed.
    pub removed: u64,
}

impl Action for Unsuppress {
    type Output = Unsuppressed;

    fn scope(&self) -> Scope<'_> {
        Scope::Namespace(&self.namespace)
    }

    fn run(self, ctx: &Context<'_>, _: &Caller, queue: &mut Queue, _: Allowed) -> Result<Unsuppressed> {
        let job_type = resolve::job(ctx.catalog, &self.namespace, &self.job)?.job_type();
        let removed = queue.unsuppress(&job_type, ctx.clock.now())?;
        Ok(Unsuppressed { job_type, removed })
    }
}
