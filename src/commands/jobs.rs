//! `jobs`: the catalogue as users see it: namespaces, jobs with their effective timeouts,
//! Slack commands, webhook triggers, timers with their next run, and support listeners.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Catalog, duration};

#[derive(Debug, Clone, Default)]
pub struct Jobs;

#[derive(Debug, Clone, Serialize)]
pub struct NamespaceSummary {
    pub name: String,
    pub description: Option<String>,
    pub restricted: bool,
    pub default_channel: Option<String>,
    pub workdir: String,
    pub jobs: Vec<JobSummary>,
    pub slack: Vec<CommandSummary>,
    pub github: Vec<TriggerSummary>,
    pub timers: Vec<TimerSummary>,
    pub listeners: Vec<ListenerSummary>,
}

/// A timer as the catalogue has it; `next_run` by its schedule from now (`ebmbot timers` adds
/// what the queue knows: pauses, the last fire).
#[derive(Debug, Clone, Serialize)]
pub struct TimerSummary {
    pub name: String,
    pub job: String,
    pub cron: String,
    pub timezone: String,
    pub params: BTreeMap<String, String>,
    pub notify: Option<String>,
    pub missed: &'static str,
    #[serde(serialize_with = "crate::queue::model::ser_opt_ts")]
    pub next_run: Option<jiff::Timestamp>,
}

/// A support listener (`[[ns.listeners]]`).
#[derive(Debug, Clone, Serialize)]
pub struct ListenerSummary {
    pub name: String,
    #[serde(rename = "match")]
    pub words: Vec<String>,
    pub channel: String,
    pub reaction: String,
    pub out_of_office: bool,
}

impl From<&crate::config::Listener> for ListenerSummary {
    fn from(l: &crate::config::Listener) -> ListenerSummary {
        ListenerSummary {
            name: l.name.clone(),
            words: l.words.clone(),
            channel: l.channel.clone(),
            reaction: l.reaction.clone(),
            out_of_office: l.out_of_office,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct JobSummary {
    #[serde(rename = "type")]
    pub job_type: crate::config::JobType,
    pub job: String,
    pub params: Vec<String>,
    /// Each param's rule in words ("a whole number from 1 to 30").
    pub rules: BTreeMap<String, String>,
    pub command: String,
    /// `none`, or a duration such as `1h`.
    pub timeout: String,
    pub report_format: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommandSummary {
    pub command: String,
    pub help: String,
    pub action: &'static str,
    pub job: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TriggerSummary {
    pub event: String,
    pub action: Option<String>,
    pub merged: Option<bool>,
    pub branch: Option<String>,
    pub job: String,
    pub delay_seconds: u64,
}

impl Jobs {
    pub fn execute(self, catalog: &Catalog, now: jiff::Timestamp) -> Vec<NamespaceSummary> {
        catalog
            .namespaces
            .values()
            .map(|ns| NamespaceSummary {
                name: ns.name.clone(),
                description: ns.description.clone(),
                restricted: ns.restricted,
                default_channel: ns.default_channel.clone(),
                workdir: ns.workdir.display().to_string(),
                jobs: ns
                    .jobs
                    .values()
                    .map(|j| JobSummary {
                        job_type: j.job_type(),
                        job: j.name.clone(),
                        params: j.template.params().map(str::to_owned).collect(),
                        rules: j.params.iter().map(|(name, rule)| (name.clone(), rule.describe())).collect(),
                        command: j.template.source().to_owned(),
                        timeout: j.timeout.map_or_else(|| "none".to_owned(), duration::format),
                        report_format: j.report_format.as_str(),
                    })
                    .collect(),
                slack: ns
                    .slack
                    .iter()
                    .map(|c| CommandSummary {
                        command: format!("{} {}", ns.name, c.text),
                        help: c.help.clone(),
                        action: c.action.as_str(),
                        job: c.job.clone(),
                    })
                    .collect(),
                github: ns
                    .github
                    .iter()
                    .map(|t| TriggerSummary {
                        event: t.event.clone(),
                        action: t.action.clone(),
                        merged: t.merged,
                        branch: t.branch.clone(),
                        job: t.job.clone(),
                        delay_seconds: t.delay.as_secs(),
                    })
                    .collect(),
                timers: ns
                    .timers
                    .iter()
                    .map(|t| TimerSummary {
                        name: t.name.clone(),
                        job: t.job.clone(),
                        cron: t.cron.as_str().to_owned(),
                        timezone: t.timezone_name().to_owned(),
                        params: t.params.clone(),
                        notify: t.notify.clone(),
                        missed: t.missed.as_str(),
                        next_run: t.next_after(now),
                    })
                    .collect(),
                listeners: ns.listeners.iter().map(ListenerSummary::from).collect(),
            })
            .collect()
    }
}
