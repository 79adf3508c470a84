//! argv → a [`Command`] of the command layer: the same commands the grammar builds from a
//! Slack text (the table test below holds the two together).

use std::time::Duration;

use super::args::{self, QueueCommand, TimersCommand};
use super::params::JobFlags;
use crate::commands::cancel::{CancelId, CancelType};
use crate::commands::dry_run::DryRun;
use crate::commands::list::List;
use crate::commands::logs::{Logs, Part, Stream};
use crate::commands::ooo::Ooo;
use crate::commands::prune::Prune;
use crate::commands::queue_export::QueueExport;
use crate::commands::queue_import::{QueueImport, Source};
use crate::commands::schedule::Schedule;
use crate::commands::status::Status;
use crate::commands::suppress::{Suppress, Unsuppress};
use crate::commands::timers::{PauseTimer, Timers};
use crate::commands::{Command, CommandError, time};
use crate::config::duration;
use crate::queue::model::JobId;

/// The command a subcommand asks for; `flags` are the words after `schedule <ns> <job>`.
/// The CLI's own modes (`run`, `dispatch`, `logs --follow`, `jobs`, `config`, `say`, `bot`,
/// `web`, `serve`) are not commands of the queue: they are a usage error here.
pub(super) fn command(subcommand: args::Command, flags: JobFlags) -> Result<Command, CommandError> {
    Ok(match subcommand {
        args::Command::Schedule(a) => {
            let delay = flags.delay.as_deref().map(time::parse_delay).transpose()?.unwrap_or_default();
            let schedule = Schedule { namespace: a.namespace, job: a.job, args: flags.params, delay };
            if flags.dry_run {
                Command::DryRun(DryRun { schedule, foreground: false })
            } else {
                Command::Schedule(schedule)
            }
        }
        args::Command::Cancel { id: Some(id), pending_only, .. } => {
            Command::CancelId(CancelId { id: JobId(id), pending_only })
        }
        args::Command::Cancel { namespace: Some(namespace), job: Some(job), .. } => {
            Command::CancelType(CancelType { namespace, job })
        }
        args::Command::Cancel { .. } => {
            return Err(CommandError::Usage(
                "`cancel` needs `<namespace> <job>` (pending jobs of a type) or `--id N` (one job)",
            ));
        }
        args::Command::Suppress { namespace, job, from, until } => {
            Command::Suppress(Suppress { namespace, job, from, until })
        }
        args::Command::Unsuppress { namespace, job } => Command::Unsuppress(Unsuppress { namespace, job }),
        args::Command::Queue(QueueCommand::List { all, since, limit }) => {
            let since = since.map(|s| parse_duration("--since", &s)).transpose()?;
            Command::List(List { all, since, limit })
        }
        args::Command::Queue(QueueCommand::Export { .. }) => Command::Export(QueueExport),
        args::Command::Queue(QueueCommand::Import { file }) => {
            Command::Import(QueueImport { source: if file == "-" { Source::Stdin } else { Source::File(file.into()) } })
        }
        args::Command::Queue(QueueCommand::Prune { older_than }) => {
            let older_than = older_than.map(|s| parse_duration("--older-than", &s)).transpose()?;
            Command::Prune(Prune { older_than })
        }
        args::Command::Status => Command::Status(Status),
        args::Command::Timers { action: None } => Command::Timers(Timers),
        args::Command::Timers { action: Some(TimersCommand::Pause { name }) } => {
            Command::PauseTimer(PauseTimer { name, pause: true })
        }
        args::Command::Timers { action: Some(TimersCommand::Resume { name }) } => {
            Command::PauseTimer(PauseTimer { name, pause: false })
        }
        args::Command::Ooo { listener, from, until, off } => Command::Ooo(ooo(listener, from, until, off)?),
        args::Command::Logs { id, stderr, head, tail, follow: false } => {
            let part = match (head, tail) {
                (Some(n), _) => Part::Head(n),
                (_, Some(n)) => Part::Tail(n),
                _ => Part::All,
            };
            let stream = if stderr { Stream::Stderr } else { Stream::Stdout };
            Command::Logs(Logs { id: JobId(id), stream: Some(stream), part, limit: None })
        }
        args::Command::Run(_)
        | args::Command::Dispatch { .. }
        | args::Command::Logs { follow: true, .. }
        | args::Command::Jobs
        | args::Command::Config(_)
        | args::Command::Say { .. }
        | args::Command::Bot
        | args::Command::Slack(_)
        | args::Command::Web { .. }
        | args::Command::Serve { .. }
        | args::Command::Completions { .. }
        | args::Command::Man { .. }
        | args::Command::Reap { .. } => {
            return Err(CommandError::Usage("this subcommand is run by the CLI itself, not the queue"));
        }
    })
}

/// `ooo`, `ooo L --off`, `ooo L [--from T] --until T`.
fn ooo(listener: Option<String>, from: Option<String>, until: Option<String>, off: bool) -> Result<Ooo, CommandError> {
    match (listener, until) {
        (None, _) => Ok(Ooo::Show),
        (Some(listener), _) if off => Ok(Ooo::Off { listener }),
        (Some(listener), Some(until)) => Ok(Ooo::Set { listener, from, until }),
        (Some(_), None) => Err(CommandError::Usage(
            "`ooo <listener>` needs `--until T` (and maybe `--from T`) to set out of office, or `--off` to end it",
        )),
    }
}

fn parse_duration(what: &'static str, text: &str) -> Result<Duration, CommandError> {
    duration::parse(text).map_err(|e| CommandError::BadValue { what, text: text.to_owned(), reason: e.to_string() })
}

/// STYLE rule 4: every Slack command form and its argv twin are the same [`Command`].
#[cfg(test)]
mod same_command {
    use std::path::Path;

    use clap::Parser;

    use super::super::Cli;
    use super::super::params::{For, parse};
    use crate::commands::Command;
    use crate::commands::help::{Help, NamespaceHelp};
    use crate::commands::logs::{Logs, Part, Stream};
    use crate::config::{Action, Catalog, Settings};
    use crate::grammar::{Grammar, KEYWORDS, LOG_LINES};
    use crate::queue::model::JobId;

    /// The CLI's command for `argv` (after `ebmbot`).
    fn from_argv(argv: &[&str]) -> Command {
        let mut cli = Cli::try_parse_from(std::iter::once("ebmbot").chain(argv.iter().copied())).unwrap();
        let flags = match &mut cli.command {
            super::args::Command::Schedule(a) => parse(std::mem::take(&mut a.rest), For::Schedule).unwrap(),
            _ => super::JobFlags::default(),
        };
        sorted(super::command(cli.command, flags).unwrap())
    }

    /// Params in name order (argv keeps the order typed; the grammar, the pattern's).
    fn sorted(mut command: Command) -> Command {
        match &mut command {
            Command::Schedule(s) | Command::DryRun(crate::commands::dry_run::DryRun { schedule: s, .. }) => {
                s.args.sort();
            }
            _ => {}
        }
        command
    }

    /// The repo's catalogue, plus a namespace with what the table needs and it lacks: every
    /// configured action, and a delay.
    fn catalog() -> Catalog {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut catalog = Catalog::load(&root.join("jobs.toml"), &Settings::for_root(root)).unwrap();
        let extra = Catalog::from_str(
            r#"
            [ops]
            [ops.jobs.deploy]
            run_args_template = "deploy {branch} {msg}"
            [[ops.slack]]
            command = "deploy [branch] [msg]"
            help = "deploys"
            action = "schedule_job"
            job_type = "deploy"
            delay_seconds = 90
            [[ops.slack]]
            command = "stop deploys"
            help = "cancels pending deploys"
            action = "cancel_job"
            job_type = "deploy"
            [[ops.slack]]
            command = "pause deploy [start_at] [end_at]"
            help = "pauses deploys"
            action = "schedule_suppression"
            job_type = "deploy"
            [[ops.slack]]
            command = "resume deploy"
            help = "resumes deploys"
            action = "cancel_suppression"
            job_type = "deploy"
            "#,
            &root.join("ops.toml"),
            &Settings::for_root(root),
        )
        .unwrap();
        catalog.namespaces.extend(extra.namespaces);
        catalog
    }

    /// Every Slack command form and its argv twin.
    const TWINS: &[(&str, &[&str])] = &[
        // Configured commands: schedule_job, cancel_job, schedule_suppression, cancel_suppression.
        ("example say hello", &["schedule", "example", "hello_world"]),
        ("example say hello Bob", &["schedule", "example", "hello", "--name", "Bob"]),
        ("EXAMPLE Say Hello Ann  Lee", &["schedule", "example", "hello", "--name", "Ann Lee"]),
        ("example greet it's $(id)", &["schedule", "example", "greet", "--name=it's $(id)"]),
        ("example slow 30", &["schedule", "example", "slow", "--seconds", "30"]),
        ("example fail", &["schedule", "example", "fail"]),
        (
            "ops deploy main fix it",
            &["schedule", "ops", "deploy", "--msg", "fix it", "--branch", "main", "--delay", "90s"],
        ),
        ("ops stop deploys", &["cancel", "ops", "deploy"]),
        ("ops pause deploy 14:00 +2h", &["suppress", "ops", "deploy", "--from", "14:00", "--until", "+2h"]),
        ("ops resume deploy", &["unsuppress", "ops", "deploy"]),
        // Dry runs of a configured command.
        ("dry run example say hello Bob", &["schedule", "example", "hello", "--name", "Bob", "--dry-run"]),
        (
            "DRY RUN ops deploy main fix it",
            &["schedule", "ops", "deploy", "--dry-run", "--branch", "main", "--msg", "fix it", "--delay", "90s"],
        ),
        // Built-ins.
        ("status", &["status"]),
        ("cancel job id 12", &["cancel", "--id", "12"]),
        ("remove job id 12", &["cancel", "--id", "12", "--pending-only"]),
        ("logs 7 stdout all", &["logs", "7"]),
        ("logs 7 stderr all", &["logs", "7", "--stderr"]),
        ("logs 7 stdout head", &["logs", "7", "--head"]),
        ("logs 7 stderr tail", &["logs", "7", "--stderr", "--tail"]),
        ("logs 7 stdout tail", &["logs", "7", "--tail", "20"]),
        ("timers", &["timers"]),
        ("Timers pause op/nightly", &["timers", "pause", "op/nightly"]),
        ("timers RESUME nightly", &["timers", "resume", "nightly"]),
        ("ooo", &["ooo"]),
        ("OOO ts from 09:00 until +2h", &["ooo", "ts", "--from", "09:00", "--until", "+2h"]),
        ("ooo ts --from now --until 2026-12-24", &["ooo", "ts", "--until", "2026-12-24", "--from", "now"]),
        ("ooo tech-support off", &["ooo", "tech-support", "--off"]),
    ];

    /// The command a text without an argv twin parses to.
    type Expected = fn() -> Command;

    /// The Slack forms with no argv twin, what they are, and why the terminal has none.
    const NO_TWIN: &[(&str, Expected, &str)] = &[
        ("help", || Command::Help(Help), HELP_IS_CLAP),
        ("help example", || namespace_help("example"), HELP_IS_CLAP),
        ("example help", || namespace_help("example"), HELP_IS_CLAP),
        ("logs 7", || logs(None, Part::Tail(LOG_LINES)), STREAM_BY_STATE),
        ("logs 7 head", || logs(None, Part::Head(LOG_LINES)), STREAM_BY_STATE),
    ];
    const HELP_IS_CLAP: &str = "the terminal's help is clap's `--help` and `ebmbot jobs` (the whole catalogue); \
                                `ebmbot help` is clap's own subcommand, so a `Help` command there would shadow it";
    const STREAM_BY_STATE: &str = "`ebmbot logs` always names a stream (stdout, or `--stderr`); only chat lets \
                                   the job's state choose it";

    fn namespace_help(namespace: &str) -> Command {
        Command::NamespaceHelp(NamespaceHelp { namespace: namespace.to_owned() })
    }

    fn logs(stream: Option<Stream>, part: Part) -> Command {
        Command::Logs(Logs { id: JobId(7), stream, part, limit: None })
    }

    #[test]
    fn slack_text_and_argv_agree() {
        let grammar = Grammar::new(&catalog());
        for (text, argv) in TWINS {
            let slack = grammar.parse(text).unwrap_or_else(|e| panic!("`{text}` did not parse: {e:?}"));
            assert_eq!(sorted(slack), from_argv(argv), "`{text}` and `ebmbot {}`", argv.join(" "));
        }
        for (text, command, why) in NO_TWIN {
            assert_eq!(grammar.parse(text), Ok(command()), "`{text}` (no argv twin: {why})");
        }
    }

    /// The tables cover every form: each built-in keyword and each configured action.
    #[test]
    fn the_table_covers_every_slack_command_form() {
        let texts: Vec<String> =
            TWINS.iter().map(|(t, _)| t).chain(NO_TWIN.iter().map(|(t, _, _)| t)).map(|t| t.to_lowercase()).collect();
        for (keyword, _) in KEYWORDS {
            assert!(texts.iter().any(|t| t.starts_with(keyword)), "no row for the built-in `{keyword}`");
        }
        assert!(texts.iter().any(|t| t.ends_with(" help")), "no row for `<namespace> help`");
        let catalog = catalog();
        for action in Action::ALL {
            let command = catalog.namespaces["ops"].slack.iter().find(|c| c.action == action).unwrap();
            let first_word = command.text.split(' ').next().unwrap();
            let row = format!("ops {first_word} ");
            assert!(texts.iter().any(|t| t.starts_with(&row)), "no row for `{}` (`{}`)", action.as_str(), command.text);
        }
    }
}
