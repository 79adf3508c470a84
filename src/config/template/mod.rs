//! `run_args_template`: `{param}` placeholders, `{{`/`}}` literal braces, and the one function
//! through which user-supplied values reach a shell: [`quote`].
//!
//! Parsing also finds where each placeholder stands in the shell text ([`shell`]): inside quotes
//! or right after `$` or `\` it is refused; where bash reads a value again after quote removal
//! ([`Reread`]) the loader refuses it unless the param's rule keeps the dangerous characters out.

mod shell;

use std::collections::BTreeMap;
use std::fmt;

use shell::{Place, Tok};

use super::params;
pub use shell::{Reread, RereadKind};

/// A parsed `run_args_template`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
    /// Placeholder occurrences where bash reads the value again.
    rereads: Vec<(String, Reread)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// A placeholder; with the kind of place when bash removes no quotes there ([`bare`]).
    Param(String, Option<RereadKind>),
}

/// Why a template was refused. `Display` gives the reason; the loader adds file and job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unmatched `{brace}` at byte {at}; write `{brace}{brace}` for a literal brace")]
    StrayBrace { brace: char, at: usize },
    #[error("placeholder `{{{name}}}` is not a valid name; names match ^[a-z_][a-z0-9_]{{0,31}}$")]
    BadName { name: String },
    #[error("placeholder `{{{name}}}` is inside quotes; remove them, ebmbot quotes values")]
    InsideQuotes { name: String },
    #[error(
        "placeholder `{{{name}}}` follows `$`, which would make bash reinterpret the value; put a space or quote between them"
    )]
    AfterDollar { name: String },
    #[error("placeholder `{{{name}}}` follows `\\`, which would take the value's opening quote; remove the backslash")]
    AfterBackslash { name: String },
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let (toks, names) = tokens(source)?;
        let places = shell::places(&toks, names.len());
        let mut rereads = Vec::new();
        let mut bare_at = vec![None; names.len()];
        for (n, (name, place)) in names.iter().zip(places).enumerate() {
            match place {
                Place::Plain => {}
                Place::Reread(r) if r.bare => {
                    bare_at[n] = Some(r.kind);
                    rereads.push((name.clone(), r));
                }
                Place::Quoted => return Err(TemplateError::InsideQuotes { name: name.clone() }),
                Place::AfterDollar => return Err(TemplateError::AfterDollar { name: name.clone() }),
                Place::AfterBackslash => return Err(TemplateError::AfterBackslash { name: name.clone() }),
                Place::Reread(r) => rereads.push((name.clone(), r)),
            }
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        for tok in toks {
            match tok {
                Tok::Char(c) => literal.push(c),
                Tok::Param(n) => {
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Param(names[n].clone(), bare_at[n]));
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { source: source.to_owned(), parts, rereads })
    }

    /// Placeholder occurrences where bash reads the value again, with the place.
    pub fn rereads(&self) -> impl Iterator<Item = (&str, &Reread)> {
        self.rereads.iter().map(|(n, r)| (n.as_str(), r))
    }

    /// The template as written in `jobs.toml`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The placeholders, each once, in order of first appearance.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        let mut seen: Vec<&str> = Vec::new();
        self.parts.iter().filter_map(move |p| match p {
            Part::Param(n, _) if !seen.contains(&n.as_str()) => {
                seen.push(n);
                Some(n.as_str())
            }
            _ => None,
        })
    }

    /// As [`Template::render`], but quoting every value, even where bash removes no quotes:
    /// what ebmbot did before, so tests can show the attacks that bare places stop.
    #[cfg(test)]
    fn render_all_quoted(&self, args: &BTreeMap<String, String>) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(l) => out.push_str(l),
                Part::Param(n, _) => out.push_str(&quote(args.get(n)?)),
            }
        }
        Some(out)
    }

    /// The shell command: literals as written, each `{param}` replaced by `quote(value)` (or
    /// [`bare`] where bash removes no quotes). Returns `None` when `args` lacks a placeholder's
    /// value, or a value does not fit a place that takes it bare (its rule should have
    /// refused it: nothing runs).
    pub fn render(&self, args: &BTreeMap<String, String>) -> Option<String> {
        let mut out = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Literal(l) => out.push_str(l),
                Part::Param(n, None) => out.push_str(&quote(args.get(n)?)),
                Part::Param(n, Some(kind)) => out.push_str(&bare(*kind, args.get(n)?)?),
            }
        }
        Some(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// The template as characters and placeholder occurrences, with the name of each occurrence.
fn tokens(source: &str) -> Result<(Vec<Tok>, Vec<String>), TemplateError> {
    let mut toks = Vec::with_capacity(source.len());
    let mut names = Vec::new();
    let mut chars = source.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, n)| n) == Some('{') => {
                chars.next();
                toks.push(Tok::Char('{'));
            }
            '}' if chars.peek().map(|&(_, n)| n) == Some('}') => {
                chars.next();
                toks.push(Tok::Char('}'));
            }
            '{' => {
                let mut name = String::new();
                let mut closed = false;
                for (_, n) in chars.by_ref() {
                    if n == '}' {
                        closed = true;
                        break;
                    }
                    name.push(n);
                }
                if !closed {
                    return Err(TemplateError::StrayBrace { brace: '{', at });
                }
                if !is_param_name(&name) {
                    return Err(TemplateError::BadName { name });
                }
                toks.push(Tok::Param(names.len()));
                names.push(name);
            }
            '}' => return Err(TemplateError::StrayBrace { brace: '}', at }),
            c => toks.push(Tok::Char(c)),
        }
    }
    Ok((toks, names))
}

/// `^[a-z_][a-z0-9_]{0,31}$`
pub fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && name.len() <= 32
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// POSIX single-quoting: the one way a user-supplied value reaches a shell.
///
/// The value is wrapped in `'…'`; each `'` inside becomes `'\''` (close, escaped quote, reopen).
/// Inside single quotes a POSIX shell interprets nothing — no `$`, backtick, backslash or
/// newline handling — so any string (NUL excepted, refused at scheduling) arrives as exactly one
/// literal argument.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod properties;
/// A value where bash removes no quotes (`$(( … ))`, a subscript, a here-document), which
/// only a param whose rule keeps the place's special characters out may reach (checked at
/// load): the value as it is, a number in parentheses (`1-(-3)`, `${x:(-1)}`), and `None` for
/// anything with a character the place does not take.
pub fn bare(kind: RereadKind, value: &str) -> Option<String> {
    if !params::Alphabet::of_str(value).within(kind.safe()) {
        return None;
    }
    match kind {
        RereadKind::Arithmetic => {
            let digits = value.strip_prefix('-').unwrap_or(value);
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then(|| format!("({value})"))
        }
        _ => Some(value.to_owned()),
    }
}

#[cfg(test)]
mod tests;
