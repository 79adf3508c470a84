//! The one text grammar, shared by the Slack bot and `ebmbot say` (docs/slack.md §4): a text
//! becomes a [`Command`] of the command layer, the same one the CLI builds from argv.
//!
//! Text (already cleaned by `bot::text`, or argv joined with spaces) is split into words on
//! whitespace. The built-ins come first and match case-insensitively: `help`, `<ns> help`,
//! `help <ns>`, `status`, `cancel job id N`, `remove job id N` (a queued job only),
//! `logs N [stdout|stderr] [head|tail|all]`, `dry run <command>` (a configured command that
//! runs a job, shown and not run), `timers [pause|resume NAME]` and `ooo â¦` (support listeners'
//! out of office). Otherwise the first word names a namespace and the
//! rest is compared with that namespace's `[[ns.slack]]` patterns, compiled once by
//! [`Grammar::new`] (the matching rules are in `patterns.rs`).

mod patterns;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::commands::Command;
use crate::commands::cancel::{CancelId, CancelType};
use crate::commands::dry_run::DryRun;
use crate::commands::help::{Help, NamespaceHelp};
use crate::commands::logs::{DEFAULT_LINES, Logs, Part, Stream};
use crate::commands::ooo::Ooo;
use crate::commands::schedule::Schedule;
use crate::commands::status::Status;
use crate::commands::suppress::{Suppress, Unsuppress};
use crate::commands::timers::{PauseTimer, Timers};
use crate::config::{Action, Catalog, SlackCommand};
use crate::queue::model::JobId;
use patterns::Pattern;

/// The grammar of one catalogue: the built-ins plus every namespace's command patterns.
#[derive(Debug, Clone)]
pub struct Grammar {
    /// Namespace name, lowercased → its name as in the catalogue and its compiled commands.
    namespaces: BTreeMap<String, CompiledNamespace>,
}

#[derive(Debug, Clone)]
struct CompiledNamespace {
    name: String,
    /// In the order of `Namespace::slack` (the first written wins a tie).
    commands: Vec<Configured>,
}

/// A `[[ns.slack]]` command: its pattern and what it does.
#[derive(Debug, Clone)]
struct Configured {
    pattern: Pattern,
    action: Action,
    job: String,
    delay: Duration,
}

/// What a text asks for: a command, or why it is none.
pub type Parsed = Result<Command, NotUnderstood>;

/// Lines of a log a text asks for with `head` or `tail`, or with neither.
pub const LOG_LINES: usize = DEFAULT_LINES;

/// Why a text did not parse; frontends answer with the general help and an apology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotUnderstood {
    /// Nothing but whitespace.
    Empty,
    /// The first word (or the word after `help`) is no built-in and no namespace.
    /// `given` is the word as typed; `suggestion` the closest namespace, if any is close.
    UnknownNamespace { given: String, suggestion: Option<String> },
    /// The namespace exists but none of its commands fits the rest of the text.
    UnknownCommand { namespace: String },
    /// A built-in with the wrong words after it, e.g. `logs abc`.
    Malformed { builtin: BuiltIn },
}

/// The built-in commands, for [`NotUnderstood::Malformed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltIn {
    Help,
    Status,
    Cancel,
    Logs,
    Dry,
    Timers,
    Ooo,
}

/// The first words that name a built-in (in any case); `remove` is the original's name for
/// `cancel` of a queued job only. The parser dispatches on this list, and a test ties it to
/// [`crate::config::RESERVED_NAMESPACES`], so no namespace can shadow a built-in.
pub const KEYWORDS: [(&str, BuiltIn); 8] = [
    ("help", BuiltIn::Help),
    ("status", BuiltIn::Status),
    ("cancel", BuiltIn::Cancel),
    ("remove", BuiltIn::Cancel),
    ("logs", BuiltIn::Logs),
    ("dry", BuiltIn::Dry),
    ("timers", BuiltIn::Timers),
    ("ooo", BuiltIn::Ooo),
];

impl BuiltIn {
    /// How the built-in is written.
    pub fn usage(self) -> &'static str {
        match self {
            Self::Help => "help [namespace]",
            Self::Status => "status",
            Self::Cancel => "cancel job id N",
            Self::Logs => "logs N [stdout|stderr] [head|tail|all]",
            Self::Dry => "dry run <a command that runs a job>",
            Self::Timers => "timers [pause|resume NAME]",
            Self::Ooo => "ooo [<listener> [from T] until T | <listener> off]",
        }
    }
}

/// `stdout` or `stderr`, in any case.
fn stream_word(word: &str) -> Option<Stream> {
    [Stream::Stdout, Stream::Stderr].into_iter().find(|s| word.eq_ignore_ascii_case(s.file_name()))
}

/// `head`, `tail` or `all`, in any case.
fn part_word(word: &str) -> Option<Part> {
    let parts = [("head", Part::Head(LOG_LINES)), ("tail", Part::Tail(LOG_LINES)), ("all", Part::All)];
    parts.into_iter().find(|(w, _)| word.eq_ignore_ascii_case(w)).map(|(_, part)| part)
}

impl Configured {
    fn compile(cmd: &SlackCommand) -> Configured {
        Configured { pattern: Pattern::compile(cmd), action: cmd.action, job: cmd.job.clone(), delay: cmd.delay }
    }

    /// The command this configured command is, with the placeholders' values.
    fn command(&self, namespace: &str, mut args: BTreeMap<String, String>) -> Command {
        let (namespace, job) = (namespace.to_owned(), self.job.clone());
        match self.action {
            Action::ScheduleJob => {
                Command::Schedule(Schedule { namespace, job, args: args.into_iter().collect(), delay: self.delay })
            }
            Action::CancelJob => Command::CancelType(CancelType { namespace, job }),
            Action::ScheduleSuppression => Command::Suppress(Suppress {
                namespace,
                job,
                from: args.remove("start_at"),
                until: args.remove("end_at").unwrap_or_default(),
            }),
            Action::CancelSuppression => Command::Unsuppress(Unsuppress { namespace, job }),
        }
    }
}

impl Grammar {
    /// Compiles every namespace's command patterns, once.
    pub fn new(catalog: &Catalog) -> Grammar {
        let namespaces = catalog
            .namespaces
            .values()
            .map(|ns| {
                let compiled = CompiledNamespace {
                    name: ns.name.clone(),
                    commands: ns.slack.iter().map(Configured::compile).collect(),
                };
                (patterns::fold_case(&ns.name), compiled)
            })
            .collect();
        Grammar { namespaces }
    }

    /// Parses one command text. Never panics; work is linear in the length of the text.
    pub fn parse(&self, text: &str) -> Parsed {
        let words: Vec<&str> = text.split_whitespace().collect();
        let Some((&first, rest)) = words.split_first() else {
            return Err(NotUnderstood::Empty);
        };
        let builtin = KEYWORDS.iter().find(|(keyword, _)| first.eq_ignore_ascii_case(keyword));
        match builtin.map(|&(_, builtin)| builtin) {
            Some(BuiltIn::Help) => self.help(rest),
            Some(BuiltIn::Status) => match rest {
                [] => Ok(Command::Status(Status)),
                _ => malformed(BuiltIn::Status),
            },
            Some(BuiltIn::Cancel) => {
                // `remove job id N` keeps the original's meaning: a queued job only.
                let pending_only = first.eq_ignore_ascii_case("remove");
                parse_cancel(rest, pending_only).map_or_else(|| malformed(BuiltIn::Cancel), Ok)
            }
            Some(BuiltIn::Logs) => parse_logs(rest).map_or_else(|| malformed(BuiltIn::Logs), Ok),
            Some(BuiltIn::Dry) => self.dry_run(rest),
            Some(BuiltIn::Timers) => parse_timers(rest).map_or_else(|| malformed(BuiltIn::Timers), Ok),
            Some(BuiltIn::Ooo) => parse_ooo(rest).map_or_else(|| malformed(BuiltIn::Ooo), Ok),
            None => self.configured(first, rest),
        }
    }

    /// `dry run <command>`: the command must be one that runs a job.
    fn dry_run(&self, rest: &[&str]) -> Parsed {
        let [run, text @ ..] = rest else { return malformed(BuiltIn::Dry) };
        if !run.eq_ignore_ascii_case("run") || text.is_empty() {
            return malformed(BuiltIn::Dry);
        }
        match self.parse(&text.join(" "))? {
            Command::Schedule(schedule) => Ok(Command::DryRun(DryRun { schedule, foreground: false })),
            _ => malformed(BuiltIn::Dry),
        }
    }

    fn help(&self, rest: &[&str]) -> Parsed {
        match rest {
            [] => Ok(Command::Help(Help)),
            [word] => self.namespace(word).map(|ns| namespace_help(&ns.name)),
            _ => malformed(BuiltIn::Help),
        }
    }

    fn configured(&self, first: &str, rest: &[&str]) -> Parsed {
        let ns = self.namespace(first)?;
        if let [word] = rest
            && word.eq_ignore_ascii_case("help")
        {
            return Ok(namespace_help(&ns.name));
        }
        let patterns = ns.commands.iter().map(|c| &c.pattern);
        match patterns::best_match(patterns, rest) {
            Some((index, args)) => Ok(ns.commands[index].command(&ns.name, args)),
            None => Err(NotUnderstood::UnknownCommand { namespace: ns.name.clone() }),
        }
    }

    fn namespace(&self, word: &str) -> Result<&CompiledNamespace, NotUnderstood> {
        let key = patterns::fold_case(word);
        self.namespaces.get(&key).ok_or_else(|| NotUnderstood::UnknownNamespace {
            given: word.to_owned(),
            suggestion: crate::config::closest(&key, self.namespaces.keys().map(String::as_str))
                .and_then(|key| self.namespaces.get(key))
                .map(|ns| ns.name.clone()),
        })
    }
}

fn namespace_help(namespace: &str) -> Command {
    Command::NamespaceHelp(NamespaceHelp { namespace: namespace.to_owned() })
}

/// Nothing, `pause NAME` or `resume NAME` after `timers`.
fn parse_timers(rest: &[&str]) -> Option<Command> {
    match rest {
        [] => Some(Command::Timers(Timers)),
        [verb, name] if verb.eq_ignore_ascii_case("pause") || verb.eq_ignore_ascii_case("resume") => {
            Some(Command::PauseTimer(PauseTimer {
                name: (*name).to_owned(),
                pause: verb.eq_ignore_ascii_case("pause"),
            }))
        }
        _ => None,
    }
}

/// `job id N` after `cancel` or (`pending_only`) `remove`.
fn parse_cancel(rest: &[&str], pending_only: bool) -> Option<Command> {
    match rest {
        [job, id_word, n] if job.eq_ignore_ascii_case("job") && id_word.eq_ignore_ascii_case("id") => {
            Some(Command::CancelId(CancelId { id: parse_id(n)?, pending_only }))
        }
        _ => None,
    }
}

/// `N [stdout|stderr] [head|tail|all]` after `logs`, in that order. Without a stream the
/// command picks one by the job's state; without a part it is the tail.
fn parse_logs(rest: &[&str]) -> Option<Command> {
    let (id, options) = rest.split_first()?;
    let id = parse_id(id)?;
    let mut options = options.iter().peekable();
    let stream = options.peek().and_then(|w| stream_word(w));
    if stream.is_some() {
        options.next();
    }
    let part = options.peek().and_then(|w| part_word(w));
    if part.is_some() {
        options.next();
    }
    match options.next() {
        None => Some(Command::Logs(Logs { id, stream, part: part.unwrap_or(Part::Tail(LOG_LINES)), limit: None })),
        Some(_) => None,
    }
}

/// After `ooo`: nothing (show), `<listener> off`, or `<listener> [from T] until T` (the words
/// may be written as the CLI's flags, `--from`, `--until`, `--off`).
fn parse_ooo(rest: &[&str]) -> Option<Command> {
    let word = |w: &str, name: &str| {
        w.eq_ignore_ascii_case(name) || w.strip_prefix("--").is_some_and(|f| f.eq_ignore_ascii_case(name))
    };
    let ooo = match rest {
        [] => Ooo::Show,
        [listener, off] if word(off, "off") => Ooo::Off { listener: (*listener).to_owned() },
        [listener, until, t] if word(until, "until") => {
            Ooo::Set { listener: (*listener).to_owned(), from: None, until: (*t).to_owned() }
        }
        [listener, from, f, until, t] if word(from, "from") && word(until, "until") => {
            Ooo::Set { listener: (*listener).to_owned(), from: Some((*f).to_owned()), until: (*t).to_owned() }
        }
        _ => return None,
    };
    Some(Command::Ooo(ooo))
}

/// A job id: ASCII digits only (no sign), within `i64`.
fn parse_id(word: &str) -> Option<JobId> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok().map(JobId)
}

fn malformed(builtin: BuiltIn) -> Parsed {
    Err(NotUnderstood::Malformed { builtin })
}
