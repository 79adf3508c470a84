//! Dry runs: what a job would run, where, for how long, with which environment (names only)
//! and where it would report, without queueing or running anything.
//!
//! The command line is made by the same call the dispatcher makes ([`Template::render`] over
//! the args as [`resolve::args`] checks them), so what is shown is byte for byte what `$SHELL -c`
//! would get. The access policy is the one of scheduling the job: a restricted namespace's
//! templates are shown only to those who may run them.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::template::quote;
use crate::config::{JobDef, Namespace, ReportFormat, Settings, duration};
use crate::queue::Queue;
use crate::queue::model::{JobId, Origin, ser_opt_ts};

use super::access::{Allowed, Caller, Scope};
use super::schedule::Schedule;
use super::{Action, Context, Result, resolve};

/// A dry run of scheduling (or, `foreground`, of `ebmbot run`-ing) a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRun {
    pub schedule: Schedule,
    /// `ebmbot run`: the job would run in this process, its output on this terminal.
    pub foreground: bool,
}

/// What would happen.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    #[serde(rename = "type")]
    pub job_type: crate::config::JobType,
    pub namespace: String,
    pub job: String,
    /// The shell (`EBMBOT_SHELL`), run as `<shell> -c <command>`.
    pub shell: String,
    /// Exactly what the shell would get after `-c`: the template with each value quoted.
    pub command: String,
    /// The whole invocation as one shell line that runs the same thing: `bash -c '…'`.
    pub invocation: String,
    pub workdir: String,
    pub workdir_state: WorkdirState,
    /// Fetched into the working directory as `fabfile.py` before the run.
    pub fabfile: Option<String>,
    /// `None`: no timeout.
    pub timeout: Option<String>,
    /// Between SIGTERM and SIGKILL of the job's process group.
    pub kill_grace: String,
    /// Where its stdout and stderr would be kept.
    pub log_dir: String,
    #[serde(serialize_with = "ser_opt_ts")]
    pub start_after: Option<Timestamp>,
    pub env: EnvNames,
    pub report: Report,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkdirState {
    Exists,
    /// Under `WRITEABLE_WORKSPACE_DIR`: made when the job starts.
    CreatedOnDemand,
    /// Under `WORKSPACE_DIR` and not there: the job would fail.
    Missing,
}

/// The job's environment, by name only: values are never shown.
#[derive(Debug, Clone, Serialize)]
pub struct EnvNames {
    /// Set by ebmbot (`PYTHONPATH`, `EBMBOT_JOB_ID`, …, and the secrets `pass_secrets` names).
    pub set: Vec<String>,
    /// Removed from what it inherits (ebmbot's secrets it does not pass).
    pub removed: Vec<String>,
    /// Inherited from this process, for a foreground run; `None` when a dispatcher runs it
    /// (it inherits that dispatcher's environment).
    pub inherited: Option<Vec<String>>,
}

/// Where the job would report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Where its result goes: the terminal, a Slack thread or channel, the log only.
    pub to: Vec<String>,
    /// "about to start" notices (`SLACK_LOGS_CHANNEL`).
    pub start_notice: Option<String>,
    /// What success posts.
    pub on_success: String,
    /// Where a failure is re-posted too (`SLACK_TECH_SUPPORT_CHANNEL`), if anywhere.
    pub tech_support: Option<String>,
}

impl Action for DryRun {
    type Output = Plan;

    fn scope(&self) -> Scope<'_> {
        self.schedule.scope()
    }

    fn run(self, ctx: &Context<'_>, caller: &Caller, _: &mut Queue, _: Allowed) -> Result<Plan> {
        let Schedule { namespace, job, args, delay } = self.schedule;
        let ns = resolve::namespace(ctx.catalog, &namespace)?;
        let def = resolve::job(ctx.catalog, &namespace, &job)?;
        let args = resolve::args(def, args)?;
        // `resolve::args` has checked that the args fill the template.
        let command = def.template.render(&args.0).unwrap_or_default();
        let settings = ctx.settings;
        let job_type = def.job_type();
        let log_dir = settings.logs_dir.join(&job_type).join("<YYYYMMDD-HHMMSS>-<id>");
        let (set, removed) = crate::runner::job_env(settings, ns, JobId(0), &job_type, &log_dir, "");
        let mut set: Vec<String> = set.into_iter().map(|(name, _value)| name).collect();
        set.sort();
        let inherited = self.foreground.then(|| {
            let mut names: Vec<String> = std::env::vars_os()
                .map(|(k, _)| k.to_string_lossy().into_owned())
                .filter(|k| !removed.contains(k) && !set.contains(k))
                .collect();
            names.sort();
            names
        });
        let now = ctx.clock.now();
        Ok(Plan {
            job_type,
            namespace,
            job,
            invocation: format!("{} -c {}", quote(&settings.shell), quote(&command)),
            shell: settings.shell.clone(),
            command,
            workdir: ns.workdir.display().to_string(),
            workdir_state: workdir_state(ns),
            fabfile: ns.fabfile.clone(),
            timeout: def.timeout.map(duration::format),
            kill_grace: duration::format(settings.kill_grace),
            log_dir: log_dir.display().to_string(),
            start_after: (!self.foreground && delay > Duration::ZERO).then(|| crate::queue::add_duration(now, delay)),
            env: EnvNames { set, removed, inherited },
            report: report(settings, ns, def, &caller.origin, self.foreground),
        })
    }
}

fn workdir_state(ns: &Namespace) -> WorkdirState {
    if Path::new(&ns.workdir).is_dir() {
        WorkdirState::Exists
    } else if ns.workdir_fixed {
        WorkdirState::Missing
    } else {
        WorkdirState::CreatedOnDemand
    }
}

fn report(settings: &Settings, ns: &Namespace, def: &JobDef, origin: &Origin, foreground: bool) -> Report {
    let mut to = Vec::new();
    match origin {
        Origin::Terminal { notify, .. } => {
            to.push(
                if foreground { "this terminal (stdout, stderr and exit code)" } else { "the queue and its log" }
                    .to_owned(),
            );
            to.extend(notify.iter().map(|c| format!("Slack channel {c}")));
        }
        Origin::Slack { channel, thread_ts: Some(_), .. } => to.push(format!("this Slack thread (channel {channel})")),
        Origin::Slack { channel, thread_ts: None, .. } => {
            to.push(format!("this Slack conversation (channel {channel})"));
        }
        Origin::Github { channel, .. } | Origin::Timer { channel, .. } => {
            let channel =
                channel.clone().or_else(|| ns.default_channel.clone()).or_else(|| settings.slack_logs_channel.clone());
            to.push(channel.map_or_else(|| "the log only".to_owned(), |c| format!("Slack channel {c}")));
        }
    }
    let on_success = match (def.report_stdout, def.report_success) {
        (true, _) => {
            let how = match def.report_format {
                ReportFormat::Text => "its stdout as a message (a file when very long)",
                ReportFormat::Blocks => "its stdout as Slack blocks (a JSON array)",
                ReportFormat::Code => "its stdout as a code block (a file when long)",
                ReportFormat::File => "its stdout as a file",
            };
            if def.suppress_empty { format!("{how}; nothing when it is empty") } else { how.to_owned() }
        }
        (false, true) => "a \"succeeded\" message".to_owned(),
        (false, false) => "nothing".to_owned(),
    };
    Report {
        to,
        start_notice: settings.slack_logs_channel.clone(),
        on_success,
        tech_support: settings.slack_tech_support_channel.clone().filter(|_| def.call_tech_support_on_error),
    }
}

impl Plan {
    /// The plan as labelled lines, in plain words, for the terminal and Slack alike; the
    /// command comes last (it may span lines).
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let mut lines = vec![
            ("job", format!("`{}` (nothing is queued; this is a dry run)", self.job_type)),
            (
                "directory",
                format!(
                    "{}{}",
                    self.workdir,
                    match self.workdir_state {
                        WorkdirState::Exists => "",
                        WorkdirState::CreatedOnDemand => " (created when the job starts)",
                        WorkdirState::Missing => " (missing: the job would fail)",
                    }
                ),
            ),
        ];
        if let Some(url) = &self.fabfile {
            lines.push(("fabfile", format!("{url}, fetched to fabfile.py there before the run")));
        }
        if let Some(at) = self.start_after {
            lines.push(("starts", format!("after {}", crate::queue::model::rfc3339(at))));
        }
        let timeout = match &self.timeout {
            Some(t) => format!("{t}, then SIGTERM, {} grace, SIGKILL to its process group", self.kill_grace),
            None => "none".to_owned(),
        };
        lines.push(("timeout", timeout));
        lines.push(("logs", self.log_dir.clone()));
        lines.push(("env set", self.env.set.join(" ")));
        if !self.env.removed.is_empty() {
            lines.push(("env removed", self.env.removed.join(" ")));
        }
        lines.push((
            "env inherited",
            match &self.env.inherited {
                Some(names) => names.join(" "),
                None => "the dispatcher's environment".to_owned(),
            },
        ));
        lines.push(("reports to", self.report.to.join("; ")));
        lines.push(("on success", self.report.on_success.clone()));
        let mut failure = "a failure message with the log directory".to_owned();
        if let Some(support) = &self.report.tech_support {
            failure.push_str(&format!(", re-posted to {support}"));
        }
        lines.push(("on failure", failure));
        if let Some(logs) = &self.report.start_notice {
            lines.push(("start notice", logs.clone()));
        }
        lines.push(("runs", format!("{} -c <command>", self.shell)));
        lines.push(("command", self.command.clone()));
        lines
    }
}
