//! `queue export [FILE|-]` writes the command layer's records, one JSON line each, to a file
//! (mode 0600: it holds job args and Slack messages) or stdout; its summary and warnings go to
//! stderr (with `--json` and a file, the summary to stdout). `queue import` reports here.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use crate::clock::Clock;
use crate::commands::access::Caller;
use crate::commands::queue_export::{Exported, QueueExport};
use crate::commands::queue_import::ImportReport;
use crate::commands::{self, CommandError};

use super::Env;

pub(super) fn export(env: &Env, clock: &dyn Clock, caller: &Caller, file: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut queue = env.queue()?;
    let r = commands::execute(QueueExport, &env.ctx(clock), caller, &mut queue)?;
    let file = file.filter(|f| *f != "-");
    let io = |what, source| CommandError::Io { what, path: file.unwrap_or("stdout").into(), source };
    let out: Box<dyn Write> = match file {
        None => Box::new(std::io::stdout().lock()),
        Some(path) => Box::new(create_private(path).map_err(|e| io("cannot create", e))?),
    };
    let mut out = BufWriter::new(out);
    for record in &r.records {
        writeln!(out, "{}", record.to_line()).map_err(|e| io("cannot write", e))?;
    }
    out.flush().map_err(|e| io("cannot write", e))?;
    drop(out);
    for warning in warnings(&r) {
        eprintln!("warning: {warning}");
    }
    match file {
        Some(_) if env.json => env.print(&r, String::new)?,
        _ => eprintln!("{}", summary(&r, file.unwrap_or("stdout"))),
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates (or truncates) the export, readable by its owner only.
fn create_private(path: &str) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)
}

fn warnings(r: &Exported) -> Vec<String> {
    let mut out = Vec::new();
    if !r.running.is_empty() {
        let ids: Vec<String> = r.running.iter().map(ToString::to_string).collect();
        out.push(format!(
            "{} running job(s) (id {}) and their {} undelivered message(s) are not exported; stop every \
             dispatcher (`ebmbot dispatch`, `ebmbot serve`; they let running jobs finish) and export again",
            r.running.len(),
            ids.join(", "),
            r.running_events
        ));
    } else if r.dispatcher_alive {
        out.push(
            "a dispatcher is running: jobs it starts from now on are not in this export; stop every dispatcher \
             (`ebmbot dispatch`, `ebmbot serve`) and export again"
                .to_owned(),
        );
    }
    out
}

fn summary(r: &Exported, to: &str) -> String {
    format!(
        "exported {} pending job(s), {} finished job(s) with {} undelivered message(s), {} suppression window(s), \
         {} Slack command(s), {} Slack reply(ies), {} request(s) waiting for a Confirm, the state of {} timer(s) \
         and {} out-of-office period(s) to {to}",
        r.pending,
        r.finished,
        r.events,
        r.suppressions,
        r.slack_commands,
        r.slack_replies,
        r.slack_confirmations,
        r.timers,
        r.out_of_office
    )
}

/// `queue import`'s report as text.
pub(super) fn imported(r: &ImportReport) -> String {
    let i = &r.imported;
    let mut text = format!(
        "imported from {}: {} new job(s), {} joined an identical pending job, {} already here; {} request(s), \
         {} undelivered message(s), {} suppression window(s), {} Slack command(s), {} Slack reply(ies), \
         {} request(s) waiting for a Confirm, {} timer log row(s), {} out-of-office period(s), {} Slack channel mark(s); {} line(s) already here",
        r.file,
        i.jobs,
        i.merged,
        i.present,
        i.requests,
        i.events,
        i.suppressions,
        i.slack_commands,
        i.slack_replies,
        i.slack_confirmations,
        i.timers,
        i.out_of_office,
        i.slack_channels,
        i.skipped
    );
    for (from, to) in &i.renumbered {
        text.push_str(&format!("\njob {from} is job {to} here (its id was taken)"));
    }
    text
}
