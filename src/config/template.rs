//! `run_args_template`: `{param}` placeholders, `{{`/`}}` literal braces, and the one function
//! through which user-supplied values reach a shell: [`quote`].

use std::collections::BTreeMap;
use std::fmt;

/// A parsed `run_args_template`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Param(String),
}

/// Why a template was refused. `Display` gives the reason; the loader adds file and job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unmatched `{brace}` at byte {at}; write `{brace}{brace}` for a literal brace")]
    StrayBrace { brace: char, at: usize },
    #[error("placeholder `{{{name}}}` is not a valid name; names match ^[a-z_][a-z0-9_]{{0,31}}$")]
    BadName { name: String },
    #[error("placeholder `{{{name}}}` appears twice; use each placeholder once")]
    Repeated { name: String },
    #[error("placeholder `{{{name}}}` is inside quotes; remove them, ebmbot quotes values")]
    InsideQuotes { name: String },
    #[error(
        "placeholder `{{{name}}}` follows `$`, which would make bash reinterpret the value; put a space or quote between them"
    )]
    AfterDollar { name: String },
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = source.char_indices().peekable();
        // Quote-aware scan: which quote (if any) is open at this point of the shell text.
        let mut quote: Option<char> = None;
        let mut escaped = false;
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, n)| n) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|&(_, n)| n) == Some('}') => {
                    chars.next();
                    literal.push('}');
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
                    if quote.is_some() {
                        return Err(TemplateError::InsideQuotes { name });
                    }
                    if literal.ends_with('$') && !escaped {
                        return Err(TemplateError::AfterDollar { name });
                    }
                    if parts.iter().any(|p| matches!(p, Part::Param(n) if *n == name)) {
                        return Err(TemplateError::Repeated { name });
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Param(name));
                    escaped = false;
                    continue;
                }
                '}' => return Err(TemplateError::StrayBrace { brace: '}', at }),
                _ => literal.push(c),
            }
            // Track shell quoting on the literal text.
            if escaped {
                escaped = false;
                continue;
            }
            match (quote, c) {
                (None | Some('"' | '`'), '\\') => escaped = true,
                (None, '\'' | '"' | '`') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                _ => {}
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { source: source.to_owned(), parts })
    }

    /// The template as written in `jobs.toml`.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The placeholders, in order of appearance.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Param(n) => Some(n.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The shell command: literals as written, each `{param}` replaced by `quote(value)`.
    /// Returns `None` when `args` lacks a placeholder's value.
    pub fn render(&self, args: &BTreeMap<String, String>) -> Option<String> {
        let mut out = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Literal(l) => out.push_str(l),
                Part::Param(n) => out.push_str(&quote(args.get(n)?)),
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
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn renders_quoted_values() {
        let t = Template::parse("echo Hello {name}").unwrap();
        assert_eq!(t.params().collect::<Vec<_>>(), ["name"]);
        assert_eq!(t.render(&args(&[("name", "Bob")])).unwrap(), "echo Hello 'Bob'");
        assert_eq!(t.render(&args(&[("name", "it's")])).unwrap(), r"echo Hello 'it'\''s'");
        assert_eq!(t.render(&args(&[])), None);
    }

    #[test]
    fn double_braces_are_literal() {
        let t = Template::parse("awk '{{print $1}}' {file}").unwrap();
        assert_eq!(t.render(&args(&[("file", "x")])).unwrap(), "awk '{print $1}' 'x'");
    }

    #[test]
    fn refuses_bad_templates() {
        use TemplateError::*;
        assert!(matches!(Template::parse("echo {"), Err(StrayBrace { brace: '{', .. })));
        assert!(matches!(Template::parse("echo }"), Err(StrayBrace { brace: '}', .. })));
        assert!(matches!(Template::parse("echo {Name}"), Err(BadName { .. })));
        assert!(matches!(Template::parse("echo {a} {a}"), Err(Repeated { .. })));
        assert!(matches!(Template::parse("echo \"{a}\""), Err(InsideQuotes { .. })));
        assert!(matches!(Template::parse("echo '{a}'"), Err(InsideQuotes { .. })));
        assert!(matches!(Template::parse("echo `{a}`"), Err(InsideQuotes { .. })));
        assert!(matches!(Template::parse("echo ${a}"), Err(AfterDollar { .. })));
        assert!(Template::parse("echo \"x\" {a} 'y' \\' {b}").is_ok());
    }

    #[test]
    fn quote_neutralises_shell_syntax() {
        assert_eq!(quote(""), "''");
        assert_eq!(quote("; rm -rf ~"), "'; rm -rf ~'");
        assert_eq!(quote("$(id)"), "'$(id)'");
        assert_eq!(quote("'"), r"''\'''");
    }
}

#[cfg(test)]
mod properties {
    use std::collections::BTreeMap;
    use std::process::Command;

    use proptest::prelude::*;

    use super::Template;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever a user sends (NUL aside, refused at scheduling) reaches the job as exactly
        /// one argument, byte for byte, through a real `/bin/sh -c`.
        #[test]
        fn quoting_round_trips_through_sh(value in "[^\u{0}]{0,64}|[$`'\"\\\\;&|<>(){}\n\t *?~#!-]{0,32}") {
            let template = Template::parse("f() {{ printf '%s|%s' \"$#\" \"$1\"; }}; f {v}").unwrap();
            let args = BTreeMap::from([("v".to_owned(), value.clone())]);
            let command = template.render(&args).unwrap();
            let out = Command::new("/bin/sh").arg("-c").arg(&command).output().unwrap();
            prop_assert!(out.status.success(), "{command}");
            prop_assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("1|{value}"));
        }

        /// Parsing any text as a template never panics.
        #[test]
        fn parse_never_panics(text in ".{0,200}") {
            let _ = Template::parse(&text);
        }
    }
}
