//! `webhook`: a signed GitHub delivery → the jobs its project asks for (docs/web.md).
//!
//! The web server checks the body, the signature and the headers, then hands the project (a
//! namespace), the event name, the delivery id and the payload here. [`Webhook::decide`] reads
//! only the catalogue: unknown project, `ping`, which triggers match (or why none does) and
//! their params from JSON pointers. What is left to do is a [`Delivery`], a command like any
//! other (`Command::Deliver`): it writes every matching trigger's job and the delivery record,
//! in one transaction, unless the delivery was handled before.

mod provenance;
mod triggers;

use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::Namespace;
use crate::queue::model::{Args, JobId, Origin, rfc3339, ser_opt_ts, ser_ts};
use crate::queue::{DeliveryOutcome, NewJob, Queue, WebhookDelivery};

use super::access::{Allowed, Caller, Scope};
use super::{Action, CommandError, Context, resolve};

pub use triggers::{BadPointer, is_project};

#[derive(Debug, Clone)]
pub struct Webhook {
    /// The `<project>` of `/github/<project>/`: a namespace.
    pub project: String,
    /// `X-GitHub-Event`.
    pub event: String,
    /// `X-GitHub-Delivery`.
    pub delivery: String,
    /// The payload: a JSON object.
    pub payload: serde_json::Value,
    /// SHA-256 of the raw body, in hex: a body already handled for this project under another
    /// delivery id (a replay) schedules nothing.
    pub body_sha256: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// No namespace of that name has a trigger or the implicit deploy rule.
    #[error("Unknown project: {0}")]
    UnknownProject(String),
    /// A matching trigger's param could not be read from the payload; nothing was scheduled.
    #[error("{rule}: param `{param}`: {problem}; nothing was scheduled")]
    BadParam { rule: String, param: String, problem: BadPointer },
    /// A restricted project that pins no repository takes no delivery.
    #[error(
        "`{project}` is restricted, and a restricted project takes webhooks only from the repository \
         it pins: add `github_repository = \"owner/name\"` to `[{project}]` in jobs.toml; nothing was scheduled"
    )]
    Unpinned { project: String },
    /// The delivery comes from a repository the project does not pin.
    #[error(
        "this delivery is from {}, but `{project}` takes deliveries only from `{pinned}`; nothing was scheduled",
        from.as_ref().map_or_else(|| "no repository (it has no `repository.full_name`)".to_owned(), |f| format!("`{f}`"))
    )]
    WrongRepository { project: String, pinned: String, from: Option<String> },
    #[error(transparent)]
    Command(#[from] CommandError),
}

impl WebhookError {
    /// The request's fault (400), as opposed to ebmbot's (500).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::UnknownProject(_) | Self::BadParam { .. } | Self::Unpinned { .. } | Self::WrongRepository { .. } => {
                true
            }
            Self::Command(e) => e.is_bad_input(),
        }
    }
}

/// What a delivery asks for, before anything is written.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Deciding was all there was to do: `ping`, or nothing matches.
    Settled(WebhookResult),
    /// Jobs to schedule: run `delivery` (through [`super::execute`]) for `caller`.
    Schedule { delivery: Delivery, caller: Caller },
}

/// A delivery's jobs, one per matching trigger, scheduled with the delivery record in one
/// transaction; a redelivery schedules nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `X-GitHub-Delivery`.
    pub delivery: String,
    pub project: String,
    pub event: String,
    /// SHA-256 of the body, hex (see [`Webhook::body_sha256`]).
    pub body_sha256: Option<String>,
    pub jobs: Vec<DeliveryJob>,
}

/// One job a delivery asks for, with the rule that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryJob {
    pub namespace: String,
    pub job: String,
    pub args: Args,
    pub delay: Duration,
    /// `trigger #N (event)` or `deploy on merge`.
    pub rule: String,
}

/// One job scheduled for a delivery.
#[derive(Debug, Clone, Serialize)]
pub struct ScheduledJob {
    pub id: JobId,
    #[serde(rename = "type")]
    pub job_type: crate::config::JobType,
    /// `trigger #N (event)` or `deploy on merge`.
    pub rule: String,
    /// Joined an identical pending job.
    pub merged: bool,
    #[serde(serialize_with = "ser_ts")]
    pub start_after: Timestamp,
    /// Queued into a suppression window ending then; it runs after it.
    #[serde(serialize_with = "ser_opt_ts")]
    pub suppressed_until: Option<Timestamp>,
}

/// What the delivery did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum WebhookResult {
    Pong,
    Ignored {
        reason: String,
    },
    Scheduled {
        jobs: Vec<ScheduledJob>,
    },
    /// A redelivery: the first delivery scheduled these jobs; nothing was scheduled now.
    AlreadyHandled {
        jobs: Vec<JobId>,
    },
    /// The same body, under another delivery id, scheduled these jobs: a replay; nothing was
    /// scheduled now.
    Replayed {
        first_delivery: String,
        jobs: Vec<JobId>,
    },
}

impl WebhookResult {
    /// A one-line summary for GitHub's delivery log.
    pub fn message(&self, delivery: &str) -> String {
        match self {
            Self::Pong => "pong".to_owned(),
            Self::Ignored { reason } => format!("ignored: {reason}"),
            Self::Scheduled { jobs } => {
                let each: Vec<String> = jobs.iter().map(describe).collect();
                format!("scheduled {}", each.join("; "))
            }
            Self::AlreadyHandled { jobs } => {
                let ids: Vec<String> = jobs.iter().map(ToString::to_string).collect();
                let s = if jobs.len() == 1 { "" } else { "s" };
                format!("already handled: delivery {delivery} scheduled job{s} {}", ids.join(", "))
            }
            Self::Replayed { first_delivery, jobs } => {
                let ids: Vec<String> = jobs.iter().map(ToString::to_string).collect();
                let s = if jobs.len() == 1 { "" } else { "s" };
                format!(
                    "already handled: the same body came as delivery {first_delivery}, which scheduled job{s} {}; \
                     nothing was scheduled for {delivery}",
                    ids.join(", ")
                )
            }
        }
    }

    /// A short name for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Pong => "ping",
            Self::Ignored { .. } => "ignored",
            Self::Scheduled { .. } => "scheduled",
            Self::AlreadyHandled { .. } | Self::Replayed { .. } => "already_handled",
        }
    }
}

fn describe(job: &ScheduledJob) -> String {
    let mut text = format!("job {} (`{}`, {}", job.id, job.job_type, job.rule);
    if job.merged {
        text.push_str(", joined an identical pending job");
    }
    text.push_str(&format!(") to start at {}", rfc3339(job.start_after)));
    if let Some(until) = job.suppressed_until {
        text.push_str(&format!(", suppressed until {}: it stays queued and runs then", rfc3339(until)));
    }
    text
}

impl Webhook {
    /// Decides what the delivery asks for, reading only the catalogue.
    pub fn decide(self, ctx: &Context<'_>) -> Result<Decision, WebhookError> {
        let ns = ctx
            .catalog
            .namespace(&self.project)
            .filter(|ns| is_project(ns))
            .ok_or_else(|| WebhookError::UnknownProject(self.project.clone()))?;
        provenance::check(ns, &self.payload)?;
        if self.event == "ping" {
            return Ok(Decision::Settled(WebhookResult::Pong));
        }
        let planned = match triggers::plan(ns, &self.event, &self.payload)? {
            triggers::Plan::Ignored(reason) => return Ok(Decision::Settled(WebhookResult::Ignored { reason })),
            triggers::Plan::Jobs(planned) => planned,
        };
        let channel = ns.default_channel.clone().or_else(|| ctx.settings.slack_logs_channel.clone());
        let origin = Origin::Github { delivery: self.delivery.clone(), project: self.project.clone(), channel };
        let mut jobs = Vec::with_capacity(planned.len());
        for p in planned {
            let job = resolve::job(ctx.catalog, &ns.name, p.job)?;
            let args = resolve::args(job, p.args)?;
            jobs.push(DeliveryJob {
                namespace: ns.name.clone(),
                job: p.job.to_owned(),
                args,
                delay: p.delay,
                rule: p.rule,
            });
        }
        let delivery = Delivery {
            delivery: self.delivery,
            project: self.project,
            event: self.event,
            body_sha256: self.body_sha256,
            jobs,
        };
        Ok(Decision::Schedule { delivery, caller: Caller::webhook(origin) })
    }
}

impl Action for Delivery {
    type Output = WebhookResult;

    fn scope(&self) -> Scope<'_> {
        Scope::TrustedOnly("a webhook delivery")
    }

    /// Schedules the decided jobs with the delivery record, in one transaction.
    fn run(self, ctx: &Context<'_>, caller: &Caller, queue: &mut Queue, _: Allowed) -> super::Result<WebhookResult> {
        let Delivery { delivery, project, event, body_sha256, jobs } = self;
        let (news, rules): (Vec<NewJob>, Vec<String>) = jobs
            .into_iter()
            .map(|j| {
                let origin = caller.origin.clone();
                (NewJob { namespace: j.namespace, job: j.job, args: j.args, delay: j.delay, origin }, j.rule)
            })
            .unzip();
        let record =
            WebhookDelivery { id: &delivery, project: &project, event: &event, body_sha256: body_sha256.as_deref() };
        let scheduled = match queue.schedule_delivery(record, &news, ctx.clock.now())? {
            DeliveryOutcome::AlreadyHandled(ids) => return Ok(WebhookResult::AlreadyHandled { jobs: ids }),
            DeliveryOutcome::Replayed { delivery: first_delivery, jobs } => {
                return Ok(WebhookResult::Replayed { first_delivery, jobs });
            }
            DeliveryOutcome::Scheduled(scheduled) => scheduled,
        };
        let jobs: Vec<ScheduledJob> = scheduled
            .into_iter()
            .zip(news.iter().zip(rules))
            .map(|(s, (new, rule))| ScheduledJob {
                id: s.id,
                job_type: new.job_type(),
                rule,
                merged: s.merged,
                start_after: s.start_after,
                suppressed_until: s.suppressed_until,
            })
            .collect();
        log_suppressed(ctx, &delivery, &news, &jobs);
        Ok(WebhookResult::Scheduled { jobs })
    }
}

/// A job queued into a suppression window has a `suppressed` event for the Slack reporter; when
/// Slack cannot tell anyone (no bot token, or no channel), the log says it instead.
fn log_suppressed(ctx: &Context<'_>, delivery: &str, news: &[NewJob], jobs: &[ScheduledJob]) {
    for (new, job) in news.iter().zip(jobs) {
        let Some(until) = job.suppressed_until else { continue };
        if ctx.settings.slack_bot_token.is_some() && new.origin.channel().is_some() {
            continue;
        }
        tracing::warn!(
            job = job.id.0,
            delivery,
            "webhook job `{}` is suppressed until {}; it stays queued and runs then",
            job.job_type,
            rfc3339(until)
        );
    }
}

/// How long after the merge the implicit rule's deploy starts (the original's minute).
pub const IMPLICIT_DEPLOY_DELAY: Duration = Duration::from_secs(60);

/// The namespace's name, if it is a project (for listing projects).
pub fn project_name(ns: &Namespace) -> Option<&str> {
    is_project(ns).then_some(ns.name.as_str())
}
