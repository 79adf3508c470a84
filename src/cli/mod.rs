//! The command line: clap definitions, building command-layer structs from argv, and rendering
//! their results as tables or `--json`. Results go to stdout; logs and progress to stderr.

mod args;
mod banner;
mod bot;
pub mod completions;
mod config_import;
mod exit;
mod hints;
mod params;
mod render;
mod reporter;
mod request;
mod serve;
mod signals;
mod spinner;
mod startup;
mod transfer;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

pub use args::Cli;
use args::{Command, ConfigCommand, JobArgs, QueueCommand, SlackCommand};
pub use exit::exit_code;
use params::For;

use crate::clock::{Clock, SystemClock};
use crate::commands::access::Caller;
use crate::commands::{self, CommandError, Context, Output};
use crate::config::Overrides;
use crate::config::{Catalog, LiveCatalog, Settings};
use crate::grammar::Grammar;
use crate::queue::Queue;
use crate::queue::model::{JobId, Origin};

/// Runs one invocation. Errors are printed here (as text, or JSON with `--json`).
pub fn run(mut cli: Cli) -> ExitCode {
    // A job's reaper, started by the dispatcher: it reads nothing and must start at once.
    if let Command::Reap { grace_ms, command } = &cli.command {
        return crate::runner::process::reaper::main(Duration::from_millis(*grace_ms), command);
    }
    // Neither reads settings nor jobs.toml: they work in any environment.
    let printed = match &cli.command {
        Command::Completions { shell } => {
            Some(completions::write_script(*shell, &mut std::io::stdout().lock()).map_err(anyhow::Error::from))
        }
        Command::Man { command } => Some(completions::write_man(command.as_deref(), &mut std::io::stdout().lock())),
        _ => None,
    };
    if let Some(result) = printed {
        return result.map_or_else(|e| report(cli.json, &e), |()| ExitCode::SUCCESS);
    }
    // Flags given among a job's params (`schedule ns job --name x --json`) count too.
    let mut flags = None;
    let job_words = match &mut cli.command {
        Command::Schedule(a) => Some((std::mem::take(&mut a.rest), For::Schedule)),
        Command::Run(a) => Some((std::mem::take(&mut a.rest), For::Run)),
        _ => None,
    };
    if let Some((words, kind)) = job_words {
        match params::parse(words, kind) {
            Ok(f) => {
                cli.json |= f.json;
                cli.config = f.config.clone().or(cli.config.take());
                cli.db = f.db.clone().or(cli.db.take());
                flags = Some(f);
            }
            Err(e) => return report(cli.json, &anyhow::Error::new(e)),
        }
    }
    let json = cli.json;
    match execute(cli, flags) {
        Ok(code) => code,
        Err(e) => report(json, &e),
    }
}

fn report(json: bool, e: &anyhow::Error) -> ExitCode {
    // `ebmbot queue list --json | head`: the reader left; nothing is wrong (as ripgrep does).
    let broken_pipe = e
        .chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe));
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    let code = exit_code(e);
    if json {
        let kind = if code == 2 { "bad_input" } else { "failure" };
        let doc = serde_json::json!({ "error": { "kind": kind, "message": hints::message(e) } });
        let _ = writeln!(std::io::stdout(), "{doc}");
    } else {
        let _ = writeln!(std::io::stderr(), "error: {}", hints::message(e));
    }
    ExitCode::from(code)
}

/// Everything a command needs from its surroundings, loaded once.
struct Env {
    settings: Settings,
    catalog: Catalog,
    json: bool,
}

impl Env {
    fn ctx<'a>(&'a self, clock: &'a dyn Clock) -> Context<'a> {
        Context { settings: &self.settings, catalog: &self.catalog, clock, mention: None }
    }

    fn queue(&self) -> anyhow::Result<Queue> {
        commands::open_queue(&self.settings).map_err(|e| CommandError::Queue(e).into())
    }

    /// Prints a JSON array whose items `produce` hands over one at a time (compact, one item
    /// per line on a pipe), without holding them all.
    #[allow(clippy::unused_self, reason = "every output goes through `Env`, as `print` does")]
    fn print_each<T: serde::Serialize>(
        &self,
        produce: impl FnOnce(&mut dyn FnMut(&T) -> commands::Result<()>) -> commands::Result<()>,
    ) -> anyhow::Result<()> {
        let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        let pretty = std::io::stdout().is_terminal();
        let mut first = true;
        // Each item is serialized into one reused buffer, then written whole: serde_json's
        // many small writes cost a third of a 10,000-job list when they go through `BufWriter`.
        let mut buf = Vec::with_capacity(1024);
        stdout.write_all(b"[")?;
        produce(&mut |item| {
            buf.clear();
            buf.extend_from_slice(if first { b"\n" } else { b",\n" });
            let serialized = if pretty {
                serde_json::to_writer_pretty(&mut buf, item)
            } else {
                serde_json::to_writer(&mut buf, item)
            };
            serialized
                .map_err(std::io::Error::from)
                .and_then(|()| stdout.write_all(&buf))
                .map_err(|e| CommandError::Io { what: "cannot write to", path: "stdout".into(), source: e })?;
            first = false;
            Ok(())
        })?;
        stdout.write_all(if first { b"]\n" } else { b"\n]\n" })?;
        stdout.flush()?;
        Ok(())
    }

    /// Prints a result: JSON with `--json`, else `text()`.
    fn print<T: serde::Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
        let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
        if self.json {
            // Pretty for people, compact for programs (a 10,000-job list is half the size).
            if std::io::stdout().is_terminal() {
                serde_json::to_writer_pretty(&mut stdout, value)?;
            } else {
                serde_json::to_writer(&mut stdout, value)?;
            }
            writeln!(stdout)?;
        } else {
            let out = text();
            if !out.is_empty() {
                writeln!(stdout, "{out}")?;
            }
        }
        stdout.flush()?;
        Ok(())
    }
}

fn execute(cli: Cli, flags: Option<params::JobFlags>) -> anyhow::Result<ExitCode> {
    // Before the secrets are read: the commands that hold them for long, or run jobs.
    let long_running =
        matches!(cli.command, Command::Serve { .. } | Command::Web { .. } | Command::Bot | Command::Dispatch { .. });
    if long_running || matches!(cli.command, Command::Run(_)) {
        startup::not_dumpable();
    }
    let overrides = Overrides {
        config: cli.config.clone(),
        db: cli.db.clone(),
        bind: match &cli.command {
            Command::Web { bind } | Command::Serve { bind } => bind.clone(),
            _ => None,
        },
    };
    let settings = Settings::from_env(&overrides).map_err(CommandError::Settings)?;
    if long_running {
        startup::warn(&settings);
    }
    // Commands that only read the queue work with a broken or missing jobs.toml.
    let needs_catalog = !matches!(
        cli.command,
        Command::Config(_)
            | Command::Slack(_)
            | Command::Logs { .. }
            | Command::Queue(QueueCommand::Prune { .. } | QueueCommand::Export { .. })
            | Command::Status
            | Command::Cancel { id: Some(_), .. }
    );
    let catalog = match Catalog::load(&settings.config, &settings) {
        Ok(catalog) => catalog,
        Err(e) if needs_catalog => return Err(CommandError::Config(e).into()),
        Err(_) => Catalog::empty(&settings.config),
    };
    let env = Env { settings, catalog, json: cli.json };
    let clock = SystemClock;
    let by = terminal_user();

    match cli.command {
        Command::Run(a) => run_job(&env, &clock, a, flags.unwrap_or_default(), &by),
        Command::Dispatch { once } => dispatch(&env, &clock, once),
        Command::Logs { id, stderr, follow: true, .. } => follow(&env, JobId(id), stderr),
        Command::Jobs => {
            let r = commands::jobs::Jobs.execute(&env.catalog, clock.now());
            env.print(&r, || render::catalog(&r))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Check) => {
            let r = commands::config_check::ConfigCheck.execute(&env.settings)?;
            env.print(&r, || render::config_summary(&r))?;
            for warning in &r.warnings {
                eprintln!("warning: {warning}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Import { file }) => config_import::run(&env, &file),
        Command::Say { words, dry_run: false, yes } => say(&env, &clock, &words.join(" "), by, yes),
        Command::Say { words, dry_run: true, .. } => {
            say(&env, &clock, &format!("dry run {}", words.join(" ")), by, true)
        }
        Command::Bot => bot::run(&env),
        Command::Slack(SlackCommand::Manifest { events_api_url }) => bot::manifest(&env, events_api_url.as_deref()),
        Command::Web { .. } => serve::run(&env, false),
        Command::Serve { .. } => serve::run(&env, true),
        Command::Completions { .. } | Command::Man { .. } | Command::Reap { .. } => unreachable!("handled in `run`"),
        subcommand => queue_command(&env, &clock, subcommand, flags.unwrap_or_default(), by),
    }
}

/// A command of the queue (`schedule`, `cancel`, `queue list`, …) from argv.
fn queue_command(
    env: &Env,
    clock: &dyn Clock,
    subcommand: Command,
    mut flags: params::JobFlags,
    by: String,
) -> anyhow::Result<ExitCode> {
    if flags.help {
        return subcommand_help("schedule");
    }
    if let Command::Schedule(a) = &subcommand {
        prompt_missing(env, a, &mut flags.params)?;
        if !flags.dry_run && !confirmed(env, &a.namespace, &a.job, flags.yes)? {
            eprintln!("Not queued: not confirmed.");
            return Ok(ExitCode::FAILURE);
        }
    }
    let caller = Caller::terminal(by, flags.notify.take());
    if let Command::Queue(QueueCommand::Export { file }) = &subcommand {
        return transfer::export(env, clock, &caller, file.as_deref());
    }
    let command = request::command(subcommand, flags)?;
    execute_command(env, clock, &caller, command)
}

/// Runs a command of the queue for the terminal and prints its result.
fn execute_command(
    env: &Env,
    clock: &dyn Clock,
    caller: &Caller,
    command: commands::Command,
) -> anyhow::Result<ExitCode> {
    let mut queue = env.queue()?;
    let ctx = env.ctx(clock);
    if let commands::Command::List(list) = command {
        if env.json {
            env.print_each(|emit| list.each(&ctx, caller, &queue, |job| emit(&job)))?;
            return Ok(ExitCode::SUCCESS);
        }
        let all = list.all;
        let jobs = commands::execute(list, &ctx, caller, &mut queue)?;
        env.print(&jobs, || render::jobs_table(&jobs, all))?;
        return Ok(ExitCode::SUCCESS);
    }
    match command.execute(&ctx, caller, &mut queue)? {
        Output::Scheduled(r) => {
            if !r.dispatcher_alive {
                eprintln!(
                    "warning: no dispatcher has been seen in the last 60 s; start one with `ebmbot dispatch` (or cron `ebmbot dispatch --once`)"
                );
            }
            env.print(&r, || render::scheduled(&r))?;
        }
        Output::CancelledJob(mut r) => {
            if r.was_running {
                let wait = env.settings.kill_grace + Duration::from_secs(5);
                r.job = commands::cancel::wait_until_finished(&queue, r.job, wait)?;
            }
            env.print(&r, || render::cancelled_job(&r))?;
        }
        Output::CancelledType(r) => env.print(&r, || render::cancelled_type(&r))?,
        Output::Suppressed(r) => env.print(&r, || render::suppressed(&r))?,
        Output::Unsuppressed(r) => {
            env.print(&r, || format!("removed {} suppression window(s) of `{}`", r.removed, r.job_type))?;
        }
        Output::Pruned(r) => env.print(&r, || {
            format!(
                "pruned {} job(s), {} delivered message(s) and {} webhook delivery record(s)",
                r.jobs, r.events, r.deliveries
            )
        })?,
        Output::Status(r) => env.print(&r, || render::status(&r))?,
        Output::Imported(r) => {
            for warning in &r.warnings {
                eprintln!("warning: {warning}");
            }
            env.print(&r, || transfer::imported(&r))?;
        }
        Output::Timers(r) => env.print(&r, || render::timers(&r))?,
        Output::Plan(p) => env.print(&p, || render::plan(&p))?,
        Output::Logs(r) if !env.json => {
            if let Some(note) = &r.note {
                eprintln!("{note}");
            }
            std::io::stdout().lock().write_all(r.text.as_bytes())?;
        }
        // The rest come from Slack texts and webhooks; the bot's words serve the terminal too.
        other => env.print(&other, || crate::bot::reply::render(&other, &ctx))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `say`: a Slack text through the bot's grammar, answered in the bot's words.
fn say(env: &Env, clock: &dyn Clock, text: &str, by: String, yes: bool) -> anyhow::Result<ExitCode> {
    let grammar = Grammar::new(&env.catalog);
    // A `confirm = true` job asks here, as `schedule` does.
    if let Ok(commands::Command::Schedule(s)) = grammar.parse(text)
        && !confirmed(env, &s.namespace, &s.job, yes)?
    {
        eprintln!("Not queued: not confirmed.");
        return Ok(ExitCode::FAILURE);
    }
    let mut queue = env.queue()?;
    let caller = Caller::terminal(by, None);
    let r = crate::bot::reply::answer(&grammar, &env.ctx(clock), &caller, &mut queue, text)?;
    env.print(&r, || r.text.clone())?;
    Ok(if r.understood && !r.bad_input { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// The user at the terminal, for `EBMBOT_REQUESTED_BY` and "cancelled by".
fn terminal_user() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A `confirm = true` job: asked "Run `ns job` now?" on a terminal (default no); elsewhere it
/// needs `--yes` (exit 2 without). True when it may go ahead.
fn confirmed(env: &Env, namespace: &str, job: &str, yes: bool) -> anyhow::Result<bool> {
    if yes || !env.catalog.job(namespace, job).is_some_and(|j| j.confirm) {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() || env.json {
        let job_type = format!("{namespace}_{job}");
        return Err(CommandError::NeedsConfirmation { job_type }.into());
    }
    let prompt = commands::schedule::question(namespace, job);
    Ok(dialoguer::Confirm::new().with_prompt(prompt).default(false).interact()?)
}

/// Asks for missing params on a terminal; elsewhere the command layer's error lists them.
fn prompt_missing(env: &Env, a: &JobArgs, params: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() || env.json {
        return Ok(());
    }
    let Some(job) = env.catalog.job(&a.namespace, &a.job) else {
        return Ok(());
    };
    for name in commands::resolve::missing_params(job, params) {
        let value: String = dialoguer::Input::new().with_prompt(&name).allow_empty(true).interact_text()?;
        params.push((name, value));
    }
    Ok(())
}

fn run_job(env: &Env, clock: &dyn Clock, a: JobArgs, mut f: params::JobFlags, by: &str) -> anyhow::Result<ExitCode> {
    if f.help {
        return subcommand_help("run");
    }
    prompt_missing(env, &a, &mut f.params)?;
    if !f.dry_run && !confirmed(env, &a.namespace, &a.job, f.yes)? {
        eprintln!("Not run: not confirmed.");
        return Ok(ExitCode::FAILURE);
    }
    if f.dry_run {
        let caller = Caller::terminal(by, f.notify);
        let schedule =
            commands::schedule::Schedule { namespace: a.namespace, job: a.job, args: f.params, delay: Duration::ZERO };
        let dry_run = commands::dry_run::DryRun { schedule, foreground: true };
        return execute_command(env, clock, &caller, commands::Command::DryRun(dry_run));
    }
    let queue = env.queue()?;
    let control = signals::install(signals::Purpose::Run)?;
    let origin = Origin::Terminal { user: by.to_owned(), notify: f.notify };
    let run = commands::run::Run { namespace: a.namespace, job: a.job, args: f.params, force: f.force, origin };
    let mut waiting = spinner::Waiting::on_stderr();
    let reporter = reporter::Foreground;
    let outcome = run.execute(&env.ctx(clock), queue, &reporter, &control, &mut |busy| waiting.update(busy))?;
    drop(waiting);
    let code = match &outcome {
        commands::run::RunOutcome::Ran(job) => {
            if env.json {
                env.print(job, String::new)?;
            } else if job.state() != crate::queue::model::JobState::Succeeded {
                eprintln!("{}", render::finished_line(job));
            }
            exit::job_exit_code(job)
        }
        commands::run::RunOutcome::StoppedWaiting => {
            eprintln!("stopped before the job started");
            130
        }
    };
    Ok(ExitCode::from(code))
}

fn dispatch(env: &Env, clock: &dyn Clock, once: bool) -> anyhow::Result<ExitCode> {
    let queue = env.queue()?;
    let live = LiveCatalog::new(env.catalog.clone());
    let control = signals::install(signals::Purpose::Dispatch(live.clone(), Box::new(env.settings.clone())))?;
    let reporter = reporter::Terminal;
    let summary = bot::with_deliverer(env, &live, once, || {
        Ok(commands::dispatch::Dispatch { once }.execute(&env.ctx(clock), queue, &reporter, &control)?)
    })?;
    if once && !env.json {
        eprintln!("dispatched {} job(s)", summary.started);
    }
    Ok(ExitCode::SUCCESS)
}

/// `logs --follow`: the log as it grows, until the job ends.
fn follow(env: &Env, id: JobId, stderr: bool) -> anyhow::Result<ExitCode> {
    let stream = if stderr { commands::logs::Stream::Stderr } else { commands::logs::Stream::Stdout };
    let queue = env.queue()?;
    let job = commands::logs::follow(&queue, id, stream, &mut std::io::stdout().lock())?;
    eprintln!("{}", render::finished_line(&job));
    Ok(ExitCode::SUCCESS)
}

fn subcommand_help(name: &str) -> anyhow::Result<ExitCode> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    if let Some(sub) = cmd.find_subcommand_mut(name) {
        sub.print_help()?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Logs go to stderr; `RUST_LOG` wins over `-v`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,ebmbot=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
