//! Shell completions and the man page.
//!
//! `ebmbot completions SHELL` prints a small script that registers a completion function with
//! the shell; that function calls `ebmbot` back (with `EBMBOT_COMPLETE=SHELL` in its
//! environment) for each completion, so subcommands and flags come from the clap definitions
//! and namespace, job and param names from the `jobs.toml` in force at that moment
//! (`--config`, else `EBMBOT_CONFIG`, else `./jobs.toml`). The file is read leniently: names
//! complete even from a file that `config check` would refuse, and nothing completes from one
//! that does not parse.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::PathBuf;

use clap::{CommandFactory, ValueEnum};
use clap_complete::env::EnvCompleter;
use clap_complete::{CompleteEnv, CompletionCandidate};

use super::Cli;
use crate::commands::CommandError;
use crate::config::Template;

/// The variable that turns a run of `ebmbot` into a completion request.
const VAR: &str = "EBMBOT_COMPLETE";

/// The shells `ebmbot completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

impl Shell {
    fn completer(self) -> &'static dyn EnvCompleter {
        match self {
            Shell::Bash => &clap_complete::env::Bash,
            Shell::Zsh => &clap_complete::env::Zsh,
            Shell::Fish => &clap_complete::env::Fish,
            Shell::Elvish => &clap_complete::env::Elvish,
            Shell::Powershell => &clap_complete::env::Powershell,
        }
    }
}

/// Answers a completion request and exits, when this run is one; returns otherwise. Called
/// first thing in `main`, before anything is written to stdout.
pub fn complete_from_env() {
    CompleteEnv::with_factory(Cli::command).var(VAR).bin("ebmbot").complete();
}

/// `ebmbot completions SHELL`: the registration script for `shell`. The script calls back the
/// binary by the name it was run as (`ebmbot` through `PATH`), or by its absolute path when it
/// was run by path (`./target/debug/ebmbot`).
pub fn write_script(shell: Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let argv0 = PathBuf::from(std::env::args_os().next().unwrap_or_else(|| OsString::from("ebmbot")));
    let completer = if argv0.components().count() > 1 { std::path::absolute(&argv0)? } else { argv0 };
    shell.completer().write_registration(VAR, "ebmbot", "ebmbot", &completer.to_string_lossy(), out)
}

/// `ebmbot man [COMMAND]`: the man page, or one command's (`ebmbot-schedule(1)`), in roff.
pub fn write_man(command: Option<&str>, out: &mut dyn Write) -> anyhow::Result<()> {
    use clap_mangen::roff::{Roff, bold, roman};
    let cli = Cli::command();
    let Some(name) = command else {
        clap_mangen::Man::new(cli.clone()).render(out)?;
        return Ok(write_extra_sections(&cli, out)?);
    };
    let Some(sub) = cli.get_subcommands().find(|s| s.get_name() == name && !s.is_hide_set()) else {
        let names: Vec<&str> =
            cli.get_subcommands().filter(|s| !s.is_hide_set()).map(clap::Command::get_name).collect();
        return Err(CommandError::BadValue {
            what: "command",
            text: name.to_owned(),
            reason: format!("`ebmbot man COMMAND` has a page for each of {}", names.join(", ")),
        }
        .into());
    };
    let page = sub.clone().name(format!("ebmbot-{name}")).bin_name(format!("ebmbot {name}"));
    clap_mangen::Man::new(page).render(out)?;
    let mut roff = Roff::default();
    roff.control("SH", ["SEE ALSO"]);
    roff.text([bold("ebmbot"), roman("(1)")]);
    Ok(roff.to_writer(out)?)
}

/// What clap does not know: exit codes, the main settings, where the rest is documented.
fn write_extra_sections(cli: &clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    use clap_mangen::roff::{Roff, bold, roman};
    let mut roff = Roff::default();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        ("0", "success"),
        ("2", "bad input: an unknown namespace, job, param or id, an invalid config, a bad time"),
        ("1", "anything else; run exits with its job's code (124 on timeout, 130 when cancelled)"),
    ] {
        roff.control("TP", [] as [&str; 0]).text([bold(code)]).text([roman(meaning)]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    roff.text([roman(
        "Settings are read once, from the environment, at start. The main ones: EBMBOT_CONFIG (jobs.toml), \
         EBMBOT_DB (the SQLite queue), WORKSPACE_DIR, LOGS_DIR, EBMBOT_JOB_TIMEOUT, EBMBOT_MAX_JOBS, \
         SLACK_BOT_TOKEN and SLACK_APP_TOKEN (the Slack bot), GITHUB_WEBHOOK_SECRET (webhooks). \
         The README lists every setting and its default.",
    )]);
    roff.control("SH", ["SEE ALSO"]);
    let pages: Vec<String> = cli
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| format!("ebmbot-{}(1)", s.get_name()))
        .collect();
    roff.text([roman(format!("{} (ebmbot man COMMAND); README.md and docs/ in the repository.", pages.join(", ")))]);
    roff.to_writer(out)
}

/// Candidates for `ebmbot man COMMAND`: the visible subcommands.
pub fn commands(current: &OsStr) -> Vec<CompletionCandidate> {
    let cli = Cli::command();
    let names = cli
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| (s.get_name().to_owned(), s.get_about().map(ToString::to_string)))
        .collect::<Vec<_>>();
    matching(current, names)
}

/// Candidates for `<namespace>`.
pub fn namespaces(current: &OsStr) -> Vec<CompletionCandidate> {
    let words = Words::from_env();
    let Some(catalog) = words.catalog() else {
        return Vec::new();
    };
    matching(current, catalog.namespaces())
}

/// Candidates for `timers pause|resume <name>`: every timer's name, and `namespace/name`.
pub fn timers(current: &OsStr) -> Vec<CompletionCandidate> {
    let words = Words::from_env();
    let Some(catalog) = words.catalog() else {
        return Vec::new();
    };
    matching(current, catalog.timers())
}

/// Candidates for `<job>`: the jobs of the namespace before it on the line.
pub fn jobs(current: &OsStr) -> Vec<CompletionCandidate> {
    let words = Words::from_env();
    let (Some(catalog), Some(ns)) = (words.catalog(), words.positional(0)) else {
        return Vec::new();
    };
    matching(current, catalog.jobs(&ns))
}

/// Candidates for the words after `<namespace> <job>` of `schedule` and `run`: the job's params
/// not given yet, as `--name`, and the command's own flags.
pub fn job_params(current: &OsStr) -> Vec<CompletionCandidate> {
    let words = Words::from_env();
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    // The value of a flag: nothing to offer.
    if !current.starts_with('-') && words.before.last().is_some_and(|w| w.starts_with("--") && !w.contains('=')) {
        return Vec::new();
    }
    let (Some(catalog), Some(ns), Some(job)) = (words.catalog(), words.positional(0), words.positional(1)) else {
        return Vec::new();
    };
    let given: Vec<String> = words
        .before
        .iter()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| w.split('=').next().unwrap_or(w).to_owned())
        .collect();
    let own: &[(&str, &str)] = match words.subcommand().as_deref() {
        Some("schedule") => &[
            ("delay", "start after D (90s, 5m, 1h30m)"),
            ("notify", "also report to this Slack channel"),
            ("dry-run", "show what would run; queue nothing"),
        ],
        Some("run") => &[
            ("force", "run even if the type is suppressed"),
            ("notify", "also report to this Slack channel"),
            ("dry-run", "show what would run; run nothing"),
        ],
        _ => &[],
    };
    let params = catalog.params(&ns, &job).into_iter().map(|p| (p, "a param of the job".to_owned()));
    let flags = own.iter().map(|(name, help)| ((*name).to_owned(), (*help).to_owned()));
    let candidates = params
        .chain(flags)
        .filter(|(name, _)| !given.contains(name))
        .map(|(name, help)| (format!("--{name}"), Some(help)));
    matching(current.as_ref(), candidates)
}

/// Candidates whose value starts with `current`.
fn matching(current: &OsStr, all: impl IntoIterator<Item = (String, Option<String>)>) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    all.into_iter()
        .filter(|(value, _)| value.starts_with(current.as_ref()))
        .map(|(value, help)| CompletionCandidate::new(value).help(help.map(Into::into)))
        .collect()
}

/// The command line being completed: the words before the one under the cursor.
struct Words {
    before: Vec<String>,
}

impl Words {
    /// From our own argv in a completion request: `ebmbot -- ebmbot <words>...`, with the
    /// index of the word under the cursor in `_CLAP_COMPLETE_INDEX` (else the last word).
    fn from_env() -> Words {
        let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
        let words = args.iter().position(|a| a == "--").map_or(&args[..0], |i| &args[i + 1..]);
        let index = std::env::var("_CLAP_COMPLETE_INDEX")
            .ok()
            .and_then(|i| i.parse::<usize>().ok())
            .unwrap_or_else(|| words.len().saturating_sub(1))
            .min(words.len());
        Words { before: words[..index].to_vec() }
    }

    /// The subcommand, if one has been typed.
    fn subcommand(&self) -> Option<String> {
        let matches = Cli::command().ignore_errors(true).try_get_matches_from(&self.before).ok()?;
        matches.subcommand_name().map(str::to_owned)
    }

    /// The `n`th positional word after the subcommand (0: the namespace, 1: the job).
    fn positional(&self, n: usize) -> Option<String> {
        let matches = Cli::command().ignore_errors(true).try_get_matches_from(&self.before).ok()?;
        let (_, sub) = matches.subcommand()?;
        let id = ["namespace", "job"].get(n)?;
        sub.try_get_one::<String>(id).ok().flatten().cloned()
    }

    /// The jobs.toml named on the line, in the environment, or `./jobs.toml`, read leniently.
    fn catalog(&self) -> Option<Names> {
        let matches = Cli::command().ignore_errors(true).try_get_matches_from(&self.before).ok();
        let flag = matches.as_ref().and_then(|m| {
            m.subcommand()
                .and_then(|(_, sub)| sub.try_get_one::<PathBuf>("config").ok().flatten())
                .or_else(|| m.try_get_one::<PathBuf>("config").ok().flatten())
                .cloned()
        });
        let path = flag
            .or_else(|| std::env::var_os("EBMBOT_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("jobs.toml"));
        let text = std::fs::read_to_string(path).ok()?;
        Names::parse(&text)
    }
}

/// The names in a `jobs.toml`, without validating it.
struct Names(toml::Table);

impl Names {
    fn parse(text: &str) -> Option<Names> {
        text.parse::<toml::Table>().ok().map(Names)
    }

    fn namespaces(&self) -> Vec<(String, Option<String>)> {
        self.0
            .iter()
            .filter(|(_, ns)| ns.is_table())
            .map(|(name, ns)| (name.clone(), ns.get("description").and_then(|d| d.as_str()).map(str::to_owned)))
            .collect()
    }

    fn jobs(&self, namespace: &str) -> Vec<(String, Option<String>)> {
        let jobs = self.0.get(namespace).and_then(|ns| ns.get("jobs")).and_then(|j| j.as_table());
        jobs.into_iter()
            .flatten()
            .map(|(name, job)| (name.clone(), job.get("run_args_template").and_then(|t| t.as_str()).map(str::to_owned)))
            .collect()
    }

    /// Each timer as `name` (with its job as help) and as `namespace/name`.
    fn timers(&self) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        for (namespace, ns) in &self.0 {
            let timers = ns.get("timers").and_then(|t| t.as_array());
            for timer in timers.into_iter().flatten() {
                let Some(name) = timer.get("name").and_then(|n| n.as_str()) else { continue };
                let help = timer.get("cron").and_then(|c| c.as_str()).map(|c| format!("{c} ({namespace})"));
                out.push((name.to_owned(), help.clone()));
                out.push((format!("{namespace}/{name}"), help));
            }
        }
        out
    }

    fn params(&self, namespace: &str, job: &str) -> Vec<String> {
        let template = self
            .0
            .get(namespace)
            .and_then(|ns| ns.get("jobs"))
            .and_then(|jobs| jobs.get(job))
            .and_then(|j| j.get("run_args_template"))
            .and_then(|t| t.as_str())
            .and_then(|t| Template::parse(t).ok());
        let mut params: Vec<String> = template.iter().flat_map(|t| t.params().map(str::to_owned)).collect();
        params.dedup();
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOBS: &str = r#"
[ops]
description = "Operations"
[ops.jobs.restart]
run_args_template = "systemctl restart {service} --reason {reason}"
[ops.jobs.disk]
run_args_template = "df -h"
[reports.jobs.weekly]
run_args_template = "python3 weekly.py"
"#;

    #[test]
    fn names_come_from_the_file_without_validating_it() {
        let names = Names::parse(JOBS).unwrap();
        let ns: Vec<String> = names.namespaces().into_iter().map(|(n, _)| n).collect();
        assert_eq!(ns, ["ops", "reports"]);
        let jobs: Vec<String> = names.jobs("ops").into_iter().map(|(n, _)| n).collect();
        assert_eq!(jobs, ["disk", "restart"]);
        assert_eq!(names.params("ops", "restart"), ["service", "reason"]);
        assert!(names.jobs("nope").is_empty() && names.params("ops", "nope").is_empty());
        assert!(Names::parse("[broken").is_none());
    }

    #[test]
    fn candidates_match_the_start_of_the_word() {
        let names = Names::parse(JOBS).unwrap();
        let got: Vec<String> = matching(OsStr::new("re"), names.namespaces())
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["reports"]);
    }

    #[test]
    fn the_man_page_is_roff_naming_every_command() {
        let mut out = Vec::new();
        write_man(None, &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.starts_with(".ie"), "{}", &page[..40]);
        assert!(page.contains(".TH ebmbot"));
        for command in ["schedule", "dispatch", "completions", "man"] {
            assert!(page.contains(command), "{command}");
        }
    }
}
