//! Typed params: the rule each value of a `{param}` must follow before it is queued
//! (`[ns.jobs.job.params.name]` in `jobs.toml`), and [`Alphabet`], the characters a rule lets
//! through, which decides whether a placeholder may stand where bash re-reads a value
//! (see [`super::template::Reread`]).
//!
//! Every path that queues a job (terminal, Slack, webhooks, timers) checks its values with
//! [`ParamRule::check`], through `commands::resolve::args`; the runner checks them again against
//! the catalogue it runs with.

use std::fmt;

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};

use super::template::Reread;

/// What a value is: `type = "int" | "url" | "path" | "string"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamType {
    /// Any text (NUL aside).
    String,
    /// `-?[0-9]+`, within `min..=max`.
    Int { min: Option<i64>, max: Option<i64> },
    /// An absolute `http`/`https` URL with a host and no credentials.
    Url,
    /// A relative path: not absolute, no `..` component, no control characters.
    Path,
}

impl ParamType {
    pub fn name(&self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Int { .. } => "int",
            Self::Url => "url",
            Self::Path => "path",
        }
    }
}

/// The rule for one param. Placeholders without a table get [`ParamRule::default`]: any text
/// that does not begin with `-`.
#[derive(Debug, Clone)]
pub struct ParamRule {
    pub kind: ParamType,
    /// The whole value must match (the `pattern` as written, and compiled anchored).
    pub pattern: Option<(String, Regex)>,
    pub choices: Vec<String>,
    /// Values may begin with `-`.
    pub allow_dash: bool,
    /// A value that passes, shown in refusals and help.
    pub example: String,
}

impl Default for ParamRule {
    fn default() -> Self {
        ParamRule {
            kind: ParamType::String,
            pattern: None,
            choices: Vec::new(),
            allow_dash: false,
            example: "text".to_owned(),
        }
    }
}

/// Why a value was refused: the param, what was wrong, the rule and a good value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("param `{param}` of `{job_type}` {reason}; give {rule}, for example `{example}`")]
pub struct ParamError {
    pub job_type: String,
    pub param: String,
    pub reason: Refusal,
    pub rule: String,
    pub example: String,
}

/// What is wrong with a value, said of it: "is not a whole number".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("is not one of the choices")]
    NotAChoice,
    #[error("does not match the pattern `{pattern}`")]
    NoMatch { pattern: String },
    #[error("begins with `-`, which a program would read as an option")]
    Dash,
    #[error("is not a whole number")]
    NotWhole,
    #[error("is too large a number")]
    TooLarge,
    #[error("is {n}, below the minimum {min}")]
    BelowMin { n: i64, min: i64 },
    #[error("is {n}, above the maximum {max}")]
    AboveMax { n: i64, max: i64 },
    #[error("contains spaces or control characters")]
    UrlSpaces,
    #[error("is not a URL")]
    NotUrl,
    #[error("is not an http or https URL")]
    NotHttp,
    #[error("carries credentials (`user:password@`)")]
    Credentials,
    #[error("has no host")]
    NoHost,
    #[error("is empty")]
    Empty,
    #[error("is an absolute path")]
    Absolute,
    #[error("contains control characters")]
    Control,
    #[error("contains a `..` component")]
    DotDot,
}

/// Why the parts of a `[ns.jobs.job.params.name]` table make no rule: the fix-it half of a
/// config message.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuleError {
    #[error("min {min} is above max {max}; swap them")]
    MinAboveMax { min: i64, max: i64 },
    #[error("min {min} is negative, but values may not begin with `-` by default; add `allow_dash = true`")]
    NegativeMin { min: i64 },
    #[error("pattern `{pattern}` is not a valid regex ({})", one_line(source))]
    Pattern { pattern: String, source: regex::Error },
    #[error("choice `{choice}` {refusal}; fix the choice or the other rules")]
    Choice { choice: String, refusal: Refusal },
    #[error("example `{example}` {refusal}; give an example that passes")]
    Example { example: String, refusal: Refusal },
    #[error("no example value passes these rules; add `example = \"…\"` with one that does")]
    NoExample,
}

impl ParamRule {
    /// A rule from the parts of its table; `example` is checked (or made) here. Errors are the
    /// fix-it half of a config message.
    pub fn new(
        kind: ParamType,
        pattern: Option<String>,
        choices: Vec<String>,
        allow_dash: bool,
        example: Option<String>,
    ) -> Result<ParamRule, RuleError> {
        if let ParamType::Int { min: Some(min), max: Some(max) } = kind
            && min > max
        {
            return Err(RuleError::MinAboveMax { min, max });
        }
        if let ParamType::Int { min: Some(min), .. } = kind
            && min < 0
            && !allow_dash
        {
            return Err(RuleError::NegativeMin { min });
        }
        let pattern = match pattern {
            None => None,
            Some(p) => {
                let anchored = format!(r"\A(?:{p})\z");
                let regex =
                    Regex::new(&anchored).map_err(|source| RuleError::Pattern { pattern: p.clone(), source })?;
                Some((p, regex))
            }
        };
        let mut rule = ParamRule { kind, pattern, choices, allow_dash, example: String::new() };
        for choice in &rule.choices {
            if let Err(refusal) = rule.refusal(choice) {
                return Err(RuleError::Choice { choice: choice.clone(), refusal });
            }
        }
        rule.example = match example {
            Some(e) => {
                if let Err(refusal) = rule.refusal(&e) {
                    return Err(RuleError::Example { example: e, refusal });
                }
                e
            }
            None => rule.make_example().ok_or(RuleError::NoExample)?,
        };
        Ok(rule)
    }

    /// Checks one value of this param of `job_type`.
    pub fn check(&self, job_type: &str, param: &str, value: &str) -> Result<(), ParamError> {
        self.refusal(value).map_err(|reason| ParamError {
            job_type: job_type.to_owned(),
            param: param.to_owned(),
            reason,
            rule: self.describe(),
            example: self.example.clone(),
        })
    }

    /// `Err(reason)` when `value` breaks the rule ("begins with `-`…").
    fn refusal(&self, value: &str) -> Result<(), Refusal> {
        // The admin's own list or pattern decides, dashes included; otherwise a value may not
        // begin with `-` unless `allow_dash` says so.
        if !self.choices.is_empty() && !self.choices.iter().any(|c| c == value) {
            return Err(Refusal::NotAChoice);
        }
        if let Some((source, regex)) = &self.pattern
            && !regex.is_match(value)
        {
            return Err(Refusal::NoMatch { pattern: source.clone() });
        }
        if self.choices.is_empty() && self.pattern.is_none() && !self.allow_dash && value.starts_with('-') {
            return Err(Refusal::Dash);
        }
        match &self.kind {
            ParamType::String => Ok(()),
            ParamType::Int { min, max } => int(value, *min, *max),
            ParamType::Url => url(value),
            ParamType::Path => path(value),
        }
    }

    /// The rule in words: "a whole number from 1 to 30", "one of `daily`, `weekly`", …
    pub fn describe(&self) -> String {
        let mut text = match &self.kind {
            ParamType::String => "text".to_owned(),
            ParamType::Int { min, max } => {
                // Without `allow_dash` (or a pattern or choices) a value cannot be negative.
                let floor =
                    if self.allow_dash || self.pattern.is_some() || !self.choices.is_empty() { None } else { Some(0) };
                match (min.or(floor), max) {
                    (Some(min), Some(max)) => format!("a whole number from {min} to {max}"),
                    (Some(min), None) => format!("a whole number of at least {min}"),
                    (None, Some(max)) => format!("a whole number of at most {max}"),
                    (None, None) => "a whole number".to_owned(),
                }
            }
            ParamType::Url => "an http or https URL without credentials".to_owned(),
            ParamType::Path => "a relative path without `..`".to_owned(),
        };
        if !self.choices.is_empty() {
            let list: Vec<String> = self.choices.iter().map(|c| format!("`{c}`")).collect();
            if self.kind == ParamType::String {
                text = format!("one of {}", list.join(", "));
            } else {
                text.push_str(&format!(", one of {}", list.join(", ")));
            }
        } else if let Some((source, _)) = &self.pattern {
            text.push_str(&format!(" matching `{source}`"));
        } else if !self.allow_dash && matches!(self.kind, ParamType::String | ParamType::Path) {
            text.push_str(" not beginning with `-`");
        }
        text
    }

    /// True for the rule of a placeholder without a table.
    pub fn is_default(&self) -> bool {
        self.kind == ParamType::String && self.pattern.is_none() && self.choices.is_empty() && !self.allow_dash
    }

    /// Every character a value may hold, as far as the rule lets anyone tell.
    pub fn alphabet(&self) -> Alphabet {
        let mut alphabet = match self.kind {
            ParamType::Int { .. } => {
                let dash = self.allow_dash || self.pattern.is_some() || !self.choices.is_empty();
                Alphabet::of_str(if dash { "-0123456789" } else { "0123456789" })
            }
            _ => Alphabet::ANY,
        };
        if !self.choices.is_empty() {
            let mut of_choices = Alphabet::NONE;
            for c in &self.choices {
                of_choices = of_choices.union(Alphabet::of_str(c));
            }
            alphabet = alphabet.intersect(of_choices);
        }
        if let Some((source, _)) = &self.pattern {
            // Parsed again without anchors: only the characters matter.
            if let Ok(hir) = regex_syntax::parse(source) {
                alphabet = alphabet.intersect(Alphabet::of_hir(&hir));
            }
        }
        alphabet
    }

    /// Whether no value this rule accepts can carry the special characters of `place`.
    pub fn admits(&self, place: &Reread) -> bool {
        self.alphabet().within(place.kind.safe())
    }

    /// A value the rule accepts, for help and refusals.
    fn make_example(&self) -> Option<String> {
        let candidate = if let Some(first) = self.choices.first() {
            first.clone()
        } else if let Some((source, _)) = &self.pattern {
            regex_syntax::parse(source).ok().map(|hir| sample(&hir))?
        } else {
            match self.kind {
                ParamType::String => "text".to_owned(),
                ParamType::Int { min, max } => match (min, max) {
                    (Some(min), _) => min.to_string(),
                    (None, Some(max)) if max < 1 => max.to_string(),
                    _ => "1".to_owned(),
                },
                ParamType::Url => "https://example.com/".to_owned(),
                ParamType::Path => "data/file.csv".to_owned(),
            }
        };
        self.refusal(&candidate).is_ok().then_some(candidate)
    }
}

fn int(value: &str, min: Option<i64>, max: Option<i64>) -> Result<(), Refusal> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::NotWhole);
    }
    let n: i64 = value.parse().map_err(|_| Refusal::TooLarge)?;
    if let Some(min) = min.filter(|min| n < *min) {
        return Err(Refusal::BelowMin { n, min });
    }
    if let Some(max) = max.filter(|max| n > *max) {
        return Err(Refusal::AboveMax { n, max });
    }
    Ok(())
}

/// `url`: `http` or `https`, a host, no `user:password@`, no spaces or control characters
/// (which a URL parser would quietly drop).
fn url(value: &str) -> Result<(), Refusal> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Refusal::UrlSpaces);
    }
    let parsed = url::Url::parse(value).map_err(|_| Refusal::NotUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") || !value.get(..8).is_some_and(|p| p.contains("://")) {
        return Err(Refusal::NotHttp);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Refusal::Credentials);
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Refusal::NoHost);
    }
    Ok(())
}

/// `path`: relative, no `..` component, no control characters, not empty.
fn path(value: &str) -> Result<(), Refusal> {
    if value.is_empty() {
        return Err(Refusal::Empty);
    }
    if value.starts_with('/') {
        return Err(Refusal::Absolute);
    }
    if value.chars().any(char::is_control) {
        return Err(Refusal::Control);
    }
    if value.split('/').any(|part| part == "..") {
        return Err(Refusal::DotDot);
    }
    Ok(())
}

fn one_line(e: &regex::Error) -> String {
    e.to_string().lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_owned()
}

/// The shortest-looking value a pattern matches: first alternatives, minimum repetitions,
/// a letter or digit where a class allows one.
fn sample(hir: &Hir) -> String {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => String::new(),
        HirKind::Literal(lit) => String::from_utf8_lossy(&lit.0).into_owned(),
        HirKind::Class(Class::Unicode(class)) => {
            let chars = class.ranges().iter().flat_map(|r| r.start()..=r.end());
            let mut first = None;
            for c in chars.take(512) {
                first.get_or_insert(c);
                if c.is_ascii_alphanumeric() {
                    return c.to_string();
                }
            }
            first.map(String::from).unwrap_or_default()
        }
        HirKind::Class(Class::Bytes(class)) => {
            class.ranges().first().map(|r| char::from(r.start()).to_string()).unwrap_or_default()
        }
        HirKind::Repetition(rep) => sample(&rep.sub).repeat(rep.min.min(64) as usize),
        HirKind::Capture(cap) => sample(&cap.sub),
        HirKind::Concat(subs) => subs.iter().map(sample).collect(),
        HirKind::Alternation(subs) => subs.first().map(sample).unwrap_or_default(),
    }
}

/// A set of characters: each ASCII character, and "anything beyond ASCII" as one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alphabet {
    ascii: u128,
    non_ascii: bool,
}

impl Alphabet {
    pub const ANY: Alphabet = Alphabet { ascii: u128::MAX, non_ascii: true };
    pub const NONE: Alphabet = Alphabet { ascii: 0, non_ascii: false };

    pub fn of_str(text: &str) -> Alphabet {
        let mut a = Alphabet::NONE;
        for c in text.chars() {
            a.insert(c);
        }
        a
    }

    fn insert(&mut self, c: char) {
        if c.is_ascii() {
            self.ascii |= 1 << (c as u32);
        } else {
            self.non_ascii = true;
        }
    }

    fn insert_range(&mut self, start: u32, end: u32) {
        for c in start..=end.min(127) {
            self.ascii |= 1 << c;
        }
        if end > 127 {
            self.non_ascii = true;
        }
    }

    #[must_use]
    pub fn union(self, other: Alphabet) -> Alphabet {
        Alphabet { ascii: self.ascii | other.ascii, non_ascii: self.non_ascii || other.non_ascii }
    }

    #[must_use]
    pub fn intersect(self, other: Alphabet) -> Alphabet {
        Alphabet { ascii: self.ascii & other.ascii, non_ascii: self.non_ascii && other.non_ascii }
    }

    /// True when every member is also in `other`.
    pub fn within(self, other: Alphabet) -> bool {
        self.ascii & !other.ascii == 0 && (!self.non_ascii || other.non_ascii)
    }

    /// The members that are not in `other` (ASCII only), for messages.
    pub fn outside(self, other: Alphabet) -> String {
        let extra = self.ascii & !other.ascii;
        let mut out: String = (0u8..128)
            .filter(|c| extra & (1 << c) != 0)
            .map(|c| match c {
                b'\n' => "\\n".to_owned(),
                b'\t' => "\\t".to_owned(),
                b' ' => "space".to_owned(),
                c if c.is_ascii_control() => format!("\\x{c:02x}"),
                c => char::from(c).to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        if self.non_ascii && !other.non_ascii {
            out.push_str(if out.is_empty() { "non-ASCII" } else { " non-ASCII" });
        }
        out
    }

    /// An over-approximation of the characters a regex can match.
    fn of_hir(hir: &Hir) -> Alphabet {
        let mut a = Alphabet::NONE;
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(lit) => {
                for c in String::from_utf8_lossy(&lit.0).chars() {
                    a.insert(c);
                }
            }
            HirKind::Class(Class::Unicode(class)) => {
                for r in class.ranges() {
                    a.insert_range(r.start() as u32, r.end() as u32);
                }
            }
            HirKind::Class(Class::Bytes(class)) => {
                for r in class.ranges() {
                    a.insert_range(u32::from(r.start()), u32::from(r.end()));
                }
            }
            HirKind::Repetition(rep) => a = Alphabet::of_hir(&rep.sub),
            HirKind::Capture(cap) => a = Alphabet::of_hir(&cap.sub),
            HirKind::Concat(subs) | HirKind::Alternation(subs) => {
                for sub in subs {
                    a = a.union(Alphabet::of_hir(sub));
                }
            }
        }
        a
    }
}

impl fmt::Display for ParamRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests;
