//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use clap_complete::ArgValueCompleter;

use super::completions::{self, Shell};

#[derive(Debug, Parser)]
#[command(name = "ebmbot", version, about = "Runs shell jobs when people ask for them", max_term_width = 100)]
pub struct Cli {
    /// The job catalogue [env: EBMBOT_CONFIG] [default: ./jobs.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The queue: a SQLite file or a postgres:// URL [env: EBMBOT_DB, DB_PATH] [default: ./ebmbot.db]
    #[arg(long, global = true, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Print results as JSON
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v, -vv)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Queue a job: `ebmbot schedule example hello --name Bob`
    Schedule(JobArgs),
    /// Cancel pending jobs of a type, or one job by id (stopping it if it runs)
    #[command(arg_required_else_help = true)]
    Cancel {
        #[arg(add = ArgValueCompleter::new(completions::namespaces))]
        namespace: Option<String>,
        #[arg(add = ArgValueCompleter::new(completions::jobs))]
        job: Option<String>,
        /// Cancel this job; a running one is stopped (TERM, grace, KILL)
        #[arg(long, value_name = "N", conflicts_with_all = ["namespace", "job"])]
        id: Option<i64>,
        /// With --id: only a queued job; a running one is left alone (Slack's `remove job id N`)
        #[arg(long, requires = "id")]
        pending_only: bool,
    },
    /// Hold back a job type for a while: jobs asked for meanwhile run when the window ends
    Suppress {
        #[arg(add = ArgValueCompleter::new(completions::namespaces))]
        namespace: String,
        #[arg(add = ArgValueCompleter::new(completions::jobs))]
        job: String,
        /// Start: HH:MM or HHMM (today, EBMBOT_TIMEZONE), RFC 3339, `now`, +30m [default: now]
        #[arg(long, value_name = "T", allow_hyphen_values = true)]
        from: Option<String>,
        /// End, in the same forms
        #[arg(long, value_name = "T", allow_hyphen_values = true)]
        until: String,
    },
    /// Remove every suppression window of a job type
    Unsuppress {
        #[arg(add = ArgValueCompleter::new(completions::namespaces))]
        namespace: String,
        #[arg(add = ArgValueCompleter::new(completions::jobs))]
        job: String,
    },
    /// List or prune the queue
    #[command(subcommand)]
    Queue(QueueCommand),
    /// What is running, scheduled and suppressed; dispatchers; undelivered messages
    Status,
    /// Run a job now in the foreground; exits with the job's exit code
    Run(JobArgs),
    /// Run queued jobs until stopped (SIGTERM/SIGINT), or with --once what is due now
    Dispatch {
        /// Run every job due now (and what frees up behind them), then exit
        #[arg(long)]
        once: bool,
    },
    /// Print a job's output
    Logs {
        id: i64,
        /// stderr instead of stdout
        #[arg(long)]
        stderr: bool,
        /// The first N lines [default: 20]
        #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "20", conflicts_with = "tail")]
        head: Option<usize>,
        /// The last N lines [default: 20]
        #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "20")]
        tail: Option<usize>,
        /// Wait for a pending job to start and print its output as it comes, until it ends
        #[arg(long, short, conflicts_with_all = ["head", "tail"])]
        follow: bool,
    },
    /// Namespaces, jobs (with effective timeouts), Slack commands, webhook triggers, timers, listeners
    Jobs,
    /// Recurring jobs (`[[ns.timers]]`) with their last and next fires; pause or resume one
    Timers {
        #[command(subcommand)]
        action: Option<TimersCommand>,
    },
    /// A support listener's out of office: `ebmbot ooo tech-support --until 2026-12-24`; alone,
    /// the periods set
    Ooo {
        /// The listener (`[[ns.listeners]]` with `out_of_office = true`)
        listener: Option<String>,
        /// Start: a date (2026-12-24), HH:MM, RFC 3339, `now`, +2h [default: now]
        #[arg(long, value_name = "T", allow_hyphen_values = true, requires = "listener", conflicts_with = "off")]
        from: Option<String>,
        /// End: a date (the last day away, inclusive), or a time in the same forms
        #[arg(long, value_name = "T", allow_hyphen_values = true, requires = "listener", conflicts_with = "off")]
        until: Option<String>,
        /// End the listener's out of office now
        #[arg(long, requires = "listener")]
        off: bool,
    },
    /// Check jobs.toml, or import the Python bot's configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// A Slack-style command from the terminal: `ebmbot say example say hello Bob`
    Say {
        /// Show the job the text would run, and where it would report; queue nothing
        #[arg(long)]
        dry_run: bool,
        /// A `confirm = true` job runs without the question (needed when not on a terminal)
        #[arg(short, long)]
        yes: bool,
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// The Slack bot
    Bot,
    /// The Slack app: `ebmbot slack manifest` prints the manifest to create it from
    #[command(subcommand)]
    Slack(SlackCommand),
    /// The webhook server
    Web {
        /// Address to listen on [env: EBMBOT_BIND] [default: 127.0.0.1:9000]
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Runs one job's shell under a subreaper and stops all it leaves behind (started by the
    /// dispatcher, not by people)
    #[command(name = "__reap", hide = true)]
    Reap {
        /// SIGTERM to SIGKILL, for what is left
        #[arg(long, value_name = "MS")]
        grace_ms: u64,
        /// The shell and its arguments
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<std::ffi::OsString>,
    },
    /// Web server, dispatcher and (with tokens) the Slack bot in one process
    Serve {
        /// Address to listen on [env: EBMBOT_BIND] [default: 127.0.0.1:9000]
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
    },
    /// Print a shell's completion script: `source <(ebmbot completions bash)`
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff): `ebmbot man | man -l -`; `ebmbot man schedule` for one command's
    Man {
        /// A command, for its own page (`ebmbot-schedule(1)`)
        #[arg(value_name = "COMMAND", add = ArgValueCompleter::new(completions::commands))]
        command: Option<String>,
    },
}

/// `<ns> <job> [--param VALUE]... [--delay D] [--notify CHANNEL] [--force]`
#[derive(Debug, Args)]
pub struct JobArgs {
    #[arg(add = ArgValueCompleter::new(completions::namespaces))]
    pub namespace: String,
    #[arg(add = ArgValueCompleter::new(completions::jobs))]
    pub job: String,
    /// The job's params as `--name VALUE` or `--name=VALUE`; also --delay D (schedule),
    /// --force (run), --notify CHANNEL (report to Slack as well)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PARAMS",
        add = ArgValueCompleter::new(completions::job_params)
    )]
    pub rest: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Pending and running jobs; --all adds finished ones
    List {
        /// Also finished jobs (last 24 h unless --since, at most 200 unless --limit)
        #[arg(long)]
        all: bool,
        /// How far back finished jobs go, such as 2h or 7d
        #[arg(long, value_name = "D")]
        since: Option<String>,
        /// At most N jobs, the newest
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
    },
    /// Delete finished jobs, delivered messages and logs older than D [default: EBMBOT_RETENTION]
    Prune {
        #[arg(long, value_name = "D")]
        older_than: Option<String>,
    },
    /// Write pending jobs, suppressions and undelivered Slack messages as JSON lines, for
    /// `queue import` into another database (stop the dispatchers first: running jobs stay)
    Export {
        /// The file to write (mode 0600), or `-` for stdout [default: stdout]
        #[arg(value_name = "FILE")]
        file: Option<String>,
    },
    /// Add what `queue export` wrote to this queue; nothing already here is added twice
    Import {
        /// The export, or `-` for stdin
        #[arg(value_name = "FILE")]
        file: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SlackCommand {
    /// Print the Slack app's manifest (YAML; JSON with --json): the scopes and events ebmbot
    /// uses with these settings, named SLACK_APP_USERNAME; for Socket Mode unless --events-api-url
    Manifest {
        /// For the Events API: ebmbot's public https address (`/slack/events` is added)
        #[arg(long, value_name = "URL")]
        events_api_url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TimersCommand {
    /// Hold a timer: it fires nothing until resumed (kept in the queue, for every dispatcher)
    Pause {
        /// The timer's name, or `namespace/name` when two namespaces have one of that name
        #[arg(add = ArgValueCompleter::new(completions::timers))]
        name: String,
    },
    /// Release a paused timer: it fires from its next fire time on (none missed while paused)
    Resume {
        /// The timer's name, or `namespace/name`
        #[arg(add = ArgValueCompleter::new(completions::timers))]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate jobs.toml and print a summary (never creates the database)
    Check,
    /// Turn the Python bot's raw_config, dumped as JSON, into a jobs.toml on stdout (notes on
    /// stderr); see docs/migrating.md
    Import {
        /// The JSON dump, or `-` for stdin
        #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
        file: String,
    },
}
