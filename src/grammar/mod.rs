//! The one text grammar, shared by the Slack bot and `ebmbot say` (docs/slack.md §4).
//!
//! Text (already cleaned by `bot::text`, or argv joined with spaces) is split into words on
//! whitespace. The built-ins come first and match case-insensitively: `help`, `<ns> help`,
//! `help <ns>`, `status`, `cancel job id N` (alias `remove job id N`) and
//! `logs N [stdout|stderr] [head|tail|all]`. Otherwise the first word names a namespace and the
//! rest is compared with that namespace's `[[ns.slack]]` patterns, compiled once by
//! [`Grammar::new`] (the matching rules are in `patterns.rs`).

mod patterns;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::config::{Catalog, SlackCommand};
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
    /// In the order of `Namespace::slack`, so a position is a `command_index`.
    commands: Vec<Pattern>,
}

/// What a text asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// `help`
    Help,
    /// `<ns> help` or `help <ns>`, for a known namespace.
    NamespaceHelp {
        namespace: String,
    },
    /// `status`
    Status,
    /// `cancel job id N`, or its alias `remove job id N`.
    CancelId {
        id: i64,
    },
    /// `logs N [stdout|stderr] [head|tail|all]`; `None` leaves the choice to the frontend.
    Logs {
        id: i64,
        stream: Option<LogStream>,
        part: Option<LogPart>,
    },
    /// One of the namespace's `[[ns.slack]]` commands; `command_index` indexes
    /// `Namespace::slack`, `args` maps each placeholder to its value.
    Configured {
        namespace: String,
        command_index: usize,
        args: BTreeMap<String, String>,
    },
    NotUnderstood {
        reason: NotUnderstood,
    },
}

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
}

impl BuiltIn {
    /// How the built-in is written.
    pub fn usage(self) -> &'static str {
        match self {
            Self::Help => "help [namespace]",
            Self::Status => "status",
            Self::Cancel => "cancel job id N",
            Self::Logs => "logs N [stdout|stderr] [head|tail|all]",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    fn from_word(word: &str) -> Option<LogStream> {
        [Self::Stdout, Self::Stderr].into_iter().find(|s| word.eq_ignore_ascii_case(s.as_str()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogPart {
    Head,
    Tail,
    All,
}

impl LogPart {
    fn from_word(word: &str) -> Option<LogPart> {
        [Self::Head, Self::Tail, Self::All].into_iter().find(|p| word.eq_ignore_ascii_case(p.as_str()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Tail => "tail",
            Self::All => "all",
        }
    }
}

/// How a configured command is typed: `<ns> <command text>`, e.g. `example say hello [name]`.
pub fn command_usage(cmd: &SlackCommand) -> String {
    std::iter::once(cmd.namespace.as_str()).chain(cmd.text.split_whitespace()).collect::<Vec<_>>().join(" ")
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
                    commands: ns.slack.iter().map(Pattern::compile).collect(),
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
            return not_understood(NotUnderstood::Empty);
        };
        let is = |keyword: &str| first.eq_ignore_ascii_case(keyword);
        if is("help") {
            self.help(rest)
        } else if is("status") {
            match rest {
                [] => Parsed::Status,
                _ => malformed(BuiltIn::Status),
            }
        } else if is("cancel") || is("remove") {
            parse_cancel(rest).unwrap_or_else(|| malformed(BuiltIn::Cancel))
        } else if is("logs") {
            parse_logs(rest).unwrap_or_else(|| malformed(BuiltIn::Logs))
        } else {
            self.configured(first, rest)
        }
    }

    fn help(&self, rest: &[&str]) -> Parsed {
        match rest {
            [] => Parsed::Help,
            [word] => match self.namespace(word) {
                Ok(ns) => Parsed::NamespaceHelp { namespace: ns.name.clone() },
                Err(reason) => not_understood(reason),
            },
            _ => malformed(BuiltIn::Help),
        }
    }

    fn configured(&self, first: &str, rest: &[&str]) -> Parsed {
        let ns = match self.namespace(first) {
            Ok(ns) => ns,
            Err(reason) => return not_understood(reason),
        };
        if let [word] = rest
            && word.eq_ignore_ascii_case("help")
        {
            return Parsed::NamespaceHelp { namespace: ns.name.clone() };
        }
        match patterns::best_match(&ns.commands, rest) {
            Some((command_index, args)) => Parsed::Configured { namespace: ns.name.clone(), command_index, args },
            None => not_understood(NotUnderstood::UnknownCommand { namespace: ns.name.clone() }),
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

/// `job id N` after `cancel` or `remove`.
fn parse_cancel(rest: &[&str]) -> Option<Parsed> {
    match rest {
        [job, id_word, n] if job.eq_ignore_ascii_case("job") && id_word.eq_ignore_ascii_case("id") => {
            Some(Parsed::CancelId { id: parse_id(n)? })
        }
        _ => None,
    }
}

/// `N [stdout|stderr] [head|tail|all]` after `logs`, in that order.
fn parse_logs(rest: &[&str]) -> Option<Parsed> {
    let (id, options) = rest.split_first()?;
    let id = parse_id(id)?;
    let mut options = options.iter().peekable();
    let stream = options.peek().and_then(|w| LogStream::from_word(w));
    if stream.is_some() {
        options.next();
    }
    let part = options.peek().and_then(|w| LogPart::from_word(w));
    if part.is_some() {
        options.next();
    }
    match options.next() {
        None => Some(Parsed::Logs { id, stream, part }),
        Some(_) => None,
    }
}

/// A job id: ASCII digits only (no sign), within `i64`.
fn parse_id(word: &str) -> Option<i64> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

fn not_understood(reason: NotUnderstood) -> Parsed {
    Parsed::NotUnderstood { reason }
}

fn malformed(builtin: BuiltIn) -> Parsed {
    not_understood(NotUnderstood::Malformed { builtin })
}
