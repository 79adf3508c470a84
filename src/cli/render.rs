//! Rendering command results for people: tables (comfy-table) and one-line summaries.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use jiff::Timestamp;

use crate::commands::cancel::{CancelledJob, CancelledType};
use crate::commands::jobs::NamespaceSummary;
use crate::commands::schedule::Scheduled;
use crate::commands::status::StatusReport;
use crate::commands::suppress::Suppressed;
use crate::queue::Busy;
use crate::queue::model::{Job, Outcome, rfc3339};

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_header(header.to_vec());
    t
}

/// Seconds precision is enough on screen.
fn time(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

fn args(job: &Job) -> String {
    let pairs: Vec<String> = job.args.0.iter().map(|(k, v)| format!("{k}={}", short(v, 40))).collect();
    pairs.join(" ")
}

fn short(text: &str, max: usize) -> String {
    crate::commands::shorten(&text.replace('\n', "⏎"), max)
}

/// What happened to a job, in a few words: "succeeded", "failed (exit 3)", "timed out after 1s".
pub(super) fn outcome(job: &Job) -> String {
    let Some(outcome) = job.status.outcome() else { return job.state().to_string() };
    match outcome {
        Outcome::Succeeded => "succeeded".to_owned(),
        Outcome::Failed { exit_code } => format!("failed (exit {exit_code})"),
        Outcome::Killed { signal } => format!("failed (killed by signal {signal})"),
        Outcome::Error { detail } if detail.is_empty() => "failed".to_owned(),
        Outcome::Error { detail } => format!("failed: {detail}"),
        Outcome::TimedOut { after } => format!("timed out after {}", crate::config::duration::format(*after)),
        Outcome::Cancelled { by } => format!("cancelled by {by}"),
        Outcome::Lost { detail } if detail.is_empty() => "lost".to_owned(),
        Outcome::Lost { detail } => detail.clone(),
    }
}

pub(super) fn finished_line(job: &Job) -> String {
    // A lost job's detail already says where its logs are.
    let lost = matches!(job.status.outcome(), Some(Outcome::Lost { .. }));
    let logs = job.log_dir().filter(|_| !lost).map(|d| format!("; logs in {d}"));
    let logs = logs.unwrap_or_default();
    format!("job {} `{}` {}{logs}", job.id, job.job_type(), outcome(job))
}

/// `timers`: one row per timer, times in UTC like the other tables.
pub(super) fn timers(timers: &[crate::commands::timers::TimerView]) -> String {
    if timers.is_empty() {
        return "no timers in jobs.toml (add `[[namespace.timers]]`; see README.md, \"Timers\")".to_owned();
    }
    let mut t = table(&["timer", "job", "cron", "time zone", "last fire", "next fire"]);
    for timer in timers {
        let last = timer.last_fire.as_ref().map_or_else(
            || "-".to_owned(),
            |f| match (f.skipped, f.job) {
                (true, _) => format!("{} skipped", time(f.at)),
                (false, Some(job)) => format!("{} job {job}", time(f.at)),
                (false, None) => time(f.at),
            },
        );
        let next = match (&timer.paused, timer.next_fire) {
            (Some(p), _) => format!("paused by {}", p.by),
            (None, Some(at)) => time(at),
            (None, None) => "never".to_owned(),
        };
        t.add_row(vec![
            format!("{}/{}", timer.namespace, timer.name),
            timer.job_type.to_string(),
            timer.cron.clone(),
            timer.timezone.clone(),
            last,
            next,
        ]);
    }
    t.to_string()
}

pub(super) fn jobs_table(jobs: &[Job], all: bool) -> String {
    if jobs.is_empty() {
        return if all { "no jobs in this period".to_owned() } else { "no pending or running jobs".to_owned() };
    }
    let mut t = table(&["id", "type", "args", "state", "start after", "started", "finished", "detail"]);
    for job in jobs {
        t.add_row(vec![
            job.id.to_string(),
            job.job_type().to_string(),
            args(job),
            job.state().to_string(),
            time(job.start_after),
            job.started_at().map(time).unwrap_or_default(),
            job.finished_at().map(time).unwrap_or_default(),
            if job.is_finished() { outcome(job) } else { String::new() },
        ]);
    }
    t.to_string()
}

pub(super) fn scheduled(r: &Scheduled) -> String {
    let mut out = if r.merged {
        format!("joined pending job {} `{}` (an identical request was already queued)", r.id, r.job_type)
    } else {
        format!("scheduled job {} `{}`", r.id, r.job_type)
    };
    out.push_str(&format!(" to start after {}", rfc3339(r.start_after)));
    if let Some(until) = r.suppressed_until {
        out.push_str(&format!("\n`{}` is suppressed until {}; it will run then", r.job_type, rfc3339(until)));
    }
    if let Some(id) = r.running {
        out.push_str(&format!("\na job of this type is already running (job {id}); this one is queued behind it"));
    }
    out
}

pub(super) fn waiting(busy: &Busy) -> String {
    match busy {
        Busy::TypeRunning(id) => format!("waiting for job {id}, of the same type, to finish"),
        Busy::AtCapacity => "waiting: the maximum number of jobs (EBMBOT_MAX_JOBS) are running".to_owned(),
        Busy::Suppressed(until) => format!("suppressed until {}", rfc3339(*until)),
    }
}

pub(super) fn cancelled_type(r: &CancelledType) -> String {
    let mut out = format!("cancelled {} pending job(s) of `{}`", r.cancelled.len(), r.job_type);
    if let Some(id) = r.running {
        out.push_str(&format!("\njob {id} is running; stop it with `ebmbot cancel --id {id}`"));
    }
    out
}

pub(super) fn cancelled_job(r: &CancelledJob) -> String {
    if r.job.is_finished() {
        format!("job {} `{}` {}", r.job.id, r.job.job_type(), outcome(&r.job))
    } else {
        format!("asked job {} `{}` to stop; it is still {}", r.job.id, r.job.job_type(), r.job.state())
    }
}

pub(super) fn suppressed(r: &Suppressed) -> String {
    format!("`{}` is suppressed from {} until {}", r.job_type, rfc3339(r.start), rfc3339(r.end))
}

pub(super) fn status(r: &StatusReport) -> String {
    let mut out = Vec::new();
    if r.is_idle() {
        out.push("Nothing is happening".to_owned());
    } else {
        let active: Vec<Job> = r.running.iter().chain(&r.pending).cloned().collect();
        out.push(jobs_table(&active, false));
        if !r.suppressions.is_empty() {
            let mut t = table(&["suppressed type", "from", "until"]);
            for s in &r.suppressions {
                t.add_row(vec![s.job_type.clone(), time(s.start), time(s.end)]);
            }
            out.push(t.to_string());
        }
    }
    if !r.timers.is_empty() {
        out.push(timers(&r.timers));
    }
    if r.dispatchers.is_empty() {
        out.push("no dispatcher is running; start one with `ebmbot dispatch`".to_owned());
    } else {
        let mut t = table(&["dispatcher", "kind", "host", "pid", "last heartbeat"]);
        for d in &r.dispatchers {
            let age = format!("{}s ago{}", d.heartbeat_age_seconds, if d.stale { " (stale)" } else { "" });
            t.add_row(vec![
                d.dispatcher.id.0.to_string(),
                d.dispatcher.kind.clone(),
                d.dispatcher.host.clone(),
                d.dispatcher.pid.to_string(),
                age,
            ]);
        }
        out.push(t.to_string());
    }
    if let Some(l) = &r.listening {
        out.push(listening(l));
    }
    if let Some(p) = &r.delivery.paused {
        out.push(format!(
            "Slack delivery is paused since {} (Slack answered `{}`): messages stay queued until a new \
             SLACK_BOT_TOKEN is loaded (SIGHUP) or Slack accepts a call again",
            crate::queue::model::rfc3339(p.since),
            p.code
        ));
    }
    if r.delivery.undelivered > 0 {
        let mut line = format!("{} Slack message(s) not yet delivered", r.delivery.undelivered);
        if let Some(e) = &r.delivery.last_error {
            line.push_str(&format!("; last error: {e}"));
        }
        out.push(line);
    }
    out.join("\n")
}

/// "Support listeners (tech-support) hear the 12 channels ebmbot is in (listed …)".
pub(super) fn listening(l: &crate::commands::status::Listening) -> String {
    let names = l.listeners.join(", ");
    match l.channels.listed_at {
        Some(at) => format!(
            "support listeners ({names}) hear the {} channel(s) ebmbot is in (listed {}); invite ebmbot to others, \
             or set SLACK_AUTO_JOIN=true",
            l.channels.channels,
            time(at)
        ),
        None => format!(
            "support listeners ({names}) hear only the channels ebmbot is in; the bot has not listed them yet \
             (`ebmbot bot` or `serve` does on start)"
        ),
    }
}

pub(super) fn catalog(namespaces: &[NamespaceSummary]) -> String {
    if namespaces.is_empty() {
        return "no namespaces in jobs.toml".to_owned();
    }
    let mut out = Vec::new();
    for ns in namespaces {
        let mut head = format!("[{}]", ns.name);
        if let Some(d) = &ns.description {
            head.push_str(&format!(" {d}"));
        }
        if ns.restricted {
            head.push_str(" (restricted)");
        }
        head.push_str(&format!("\n  runs in {}", ns.workdir));
        out.push(head);
        let mut t = table(&["job", "params", "timeout", "command"]);
        for j in &ns.jobs {
            let params: Vec<String> = j.params.iter().map(|p| format!("{p}: {}", j.rules[p])).collect();
            t.add_row(vec![j.job_type.to_string(), params.join("\n"), j.timeout.clone(), j.command.clone()]);
        }
        out.push(t.to_string());
        if !ns.slack.is_empty() {
            let mut t = table(&["Slack command", "action", "job", "help"]);
            for c in &ns.slack {
                t.add_row(vec![c.command.clone(), c.action.to_owned(), c.job.clone(), c.help.clone()]);
            }
            out.push(t.to_string());
        }
        if !ns.github.is_empty() {
            let mut t = table(&["GitHub event", "action", "merged", "branch", "job", "delay"]);
            for g in &ns.github {
                t.add_row(vec![
                    g.event.clone(),
                    g.action.clone().unwrap_or_default(),
                    g.merged.map(|m| m.to_string()).unwrap_or_default(),
                    g.branch.clone().unwrap_or_default(),
                    g.job.clone(),
                    format!("{}s", g.delay_seconds),
                ]);
            }
            out.push(t.to_string());
        }
        if !ns.timers.is_empty() {
            let mut t = table(&["timer", "job", "cron", "time zone", "missed", "next run"]);
            for timer in &ns.timers {
                t.add_row(vec![
                    timer.name.clone(),
                    timer.job.clone(),
                    timer.cron.clone(),
                    timer.timezone.clone(),
                    timer.missed.to_owned(),
                    timer.next_run.map_or_else(|| "never".to_owned(), time),
                ]);
            }
            out.push(t.to_string());
        }
        if !ns.listeners.is_empty() {
            let mut t = table(&["support listener", "match", "re-posts to", "reaction", "out of office"]);
            for l in &ns.listeners {
                let ooo = if l.out_of_office { format!("yes (`ebmbot ooo {}`)", l.name) } else { "no".to_owned() };
                t.add_row(vec![l.name.clone(), l.words.join(", "), l.channel.clone(), l.reaction.clone(), ooo]);
            }
            out.push(t.to_string());
        }
    }
    out.join("\n")
}

/// `config check`: the totals, then one line per namespace validated.
pub(super) fn config_summary(r: &crate::commands::config_check::ConfigSummary) -> String {
    let mut out = format!(
        "{} is valid: {} namespace(s), {} job(s), {} Slack command(s), {} webhook trigger(s)",
        r.path, r.namespaces, r.jobs, r.slack_commands, r.github_triggers
    );
    let width = r.by_namespace.iter().map(|n| n.name.len()).max().unwrap_or(0);
    for ns in &r.by_namespace {
        out.push_str(&format!("\n  {:width$}  {} job(s), {} Slack command(s)", ns.name, ns.jobs, ns.slack_commands));
        if ns.github_triggers > 0 {
            out.push_str(&format!(", {} webhook trigger(s)", ns.github_triggers));
        }
        if ns.listeners > 0 {
            out.push_str(&format!(", {} support listener(s)", ns.listeners));
        }
    }
    out
}

/// A dry run: one labelled line each, then the command as it would run, byte for byte.
pub(super) fn plan(p: &crate::commands::dry_run::Plan) -> String {
    let mut out = String::new();
    let lines = p.lines();
    let width = lines.iter().map(|(label, _)| label.len()).max().unwrap_or(0) + 1;
    for (label, value) in &lines {
        if *label == "command" {
            out.push_str(&format!("command:\n{value}"));
        } else {
            out.push_str(&format!("{:width$} {value}\n", format!("{label}:")));
        }
    }
    out
}
