//! Readiness and job metrics, for the web server's `/readyz` and `/metrics`.

use serde::Serialize;

use crate::queue::model::JobState;
use crate::queue::{JobMetrics, Queue};
use crate::runner::HEARTBEAT_STALE;

use super::{Context, Result};

/// Is this process ready to serve: the database answers and, when it runs a dispatcher (`serve`),
/// that dispatcher heartbeats.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    /// The pid whose dispatcher must heartbeat, if any.
    pub dispatcher_pid: Option<u32>,
}

/// One line of the answer: `database: ok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadinessReport {
    pub ready: bool,
    pub checks: Vec<Check>,
}

impl Readiness {
    /// Never fails: what cannot be checked is reported not ready.
    pub fn execute(self, ctx: &Context<'_>, queue: &Queue) -> ReadinessReport {
        let mut checks = vec![match queue.count_in(JobState::Running) {
            Ok(_) => Check { name: "database", ok: true, detail: "ok".to_owned() },
            Err(e) => Check { name: "database", ok: false, detail: format!("unreachable ({e})") },
        }];
        if let Some(pid) = self.dispatcher_pid {
            let mine = queue.dispatchers().map(|all| all.into_iter().find(|d| d.pid == i64::from(pid)));
            checks.push(match mine {
                Ok(Some(d)) => {
                    let age = ctx.clock.now().duration_since(d.heartbeat_at).as_secs().max(0);
                    let ok = age <= HEARTBEAT_STALE.as_secs().cast_signed();
                    let verdict = if ok { "ok" } else { "stale" };
                    Check { name: "dispatcher", ok, detail: format!("{verdict} (heartbeat {age}s ago)") }
                }
                Ok(None) => Check { name: "dispatcher", ok: false, detail: "not running".to_owned() },
                Err(e) => Check { name: "dispatcher", ok: false, detail: format!("unknown ({e})") },
            });
        }
        // Degraded, not unready: webhooks behind a load balancer keep flowing while Slack
        // refuses the token, and messages wait in the queue.
        if let Ok(Some(p)) = queue.slack_pause() {
            let since = crate::queue::model::rfc3339(p.since);
            let detail = format!("degraded: delivery paused since {since} (Slack answered `{}`)", p.code);
            checks.push(Check { name: "slack", ok: true, detail });
        }
        ReadinessReport { ready: checks.iter().all(|c| c.ok), checks }
    }
}

/// The job metrics kept in the database, read now.
pub fn job_metrics(queue: &Queue) -> Result<JobMetrics> {
    Ok(queue.job_metrics()?)
}
