//! Reading `jobs.toml`: serde with `deny_unknown_fields` into raw structs, then validation into
//! a [`Catalog`]. Every error names the file, the namespace/job/command, what is wrong and the fix.
//!
//! TOML and serde errors carry a byte span; this file turns them into one line with the table
//! they happened in and the line and column, e.g. "`example.jobs.hello`: unknown key
//! `run_arg_template`; did you mean `run_args_template`? (line 5, column 1)".

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};

use super::invalid::Invalid;
use super::raw::RawCatalog;
use super::suggest::closest;
use super::{Catalog, Settings, validate};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {} does not exist; create it, or point --config or EBMBOT_CONFIG at one", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// TOML that does not parse, or a key serde refused: `message` (made from toml's) names
    /// the table, the problem, the fix and the line.
    #[error("{}: {message}", path.display())]
    Toml { path: PathBuf, message: String },
    /// A rule of `jobs.toml` broken; on one line even where a name holds a newline.
    #[error("{}: {}", path.display(), error.to_string().replace('\n', " "))]
    Invalid { path: PathBuf, error: Invalid },
}

pub(super) fn load(path: &Path, settings: &Settings) -> Result<Catalog, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ConfigError::Missing { path: path.to_owned() }
        } else {
            ConfigError::Read { path: path.to_owned(), source }
        }
    })?;
    parse(&text, path, settings)
}

pub(super) fn parse(text: &str, path: &Path, settings: &Settings) -> Result<Catalog, ConfigError> {
    let toml = |message: String| ConfigError::Toml { path: path.to_owned(), message: message.replace('\n', " ") };
    let raw: RawCatalog = toml::from_str(text).map_err(|e| toml(describe(text, &e)))?;
    let namespaces = validate::catalog(raw, text, settings)
        .map_err(|error| ConfigError::Invalid { path: path.to_owned(), error })?;
    Ok(Catalog { path: std::path::absolute(path).unwrap_or_else(|_| path.to_owned()), namespaces })
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
pub(super) fn position(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// One line for a TOML or serde error: the table it is in, what is wrong, the fix, where.
fn describe(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().replace("expected i64", "expected an integer");
    let Some(span) = err.span() else {
        return message;
    };
    let (line, column) = position(text, span.start);
    let at = format!("(line {line}, column {column})");
    let path = error_path(text, &span);

    if message.starts_with("unknown field `") {
        // serde: "unknown field `x`, expected one of `a`, `b`" (or "expected `a` or `b`").
        let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
        let (unknown, valid) = quoted.split_first().unwrap_or((&"", &[]));
        let table =
            path.as_deref().map_or(String::new(), |p| format!("{}: ", render_path(&p[..p.len().saturating_sub(1)])));
        let fix = match closest(unknown, valid.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None if valid.is_empty() => "remove it".to_owned(),
            None => format!("remove it, or use one of {}", backticked(valid)),
        };
        return format!("{table}unknown key `{unknown}`; {fix} {at}");
    }
    if let Some(field) = message.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`')) {
        let table = path.as_deref().map_or(String::new(), |p| format!("{}: ", render_path(p)));
        return format!("{table}missing `{field}`; add {} {at}", example_line(field));
    }
    if message == "duplicate key" {
        let key = text.get(span.clone()).unwrap_or_default();
        return format!("duplicate key `{key}`; define each key and table only once {at}");
    }
    match path {
        Some(p) => format!("{}: {message} {at}", render_path(&p)),
        None => format!("invalid toml: {message} {at}"),
    }
}

/// A line to add for a missing required key.
fn example_line(field: &str) -> String {
    let example = match field {
        "run_args_template" => r#""echo Hello {name}""#,
        "command" => r#""say hello [name]""#,
        "help" => r#""Says hello to [name]""#,
        "action" => r#""schedule_job""#,
        "job_type" => r#""hello""#,
        "event" => r#""push""#,
        _ => "…",
    };
    format!("`{field} = {example}`")
}

fn backticked(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    /// 0-based index of a table in an array of tables (`[[example.slack]]`).
    Table(usize),
    /// 0-based index of a value in an array (`pass_secrets = [...]`).
    Item(usize),
}

/// Where in the document `span` is, as keys and array indices; `None` for syntax errors.
fn error_path(text: &str, span: &Range<usize>) -> Option<Vec<Segment>> {
    let doc = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    find_in_table(doc.get_ref(), span, &mut path).then_some(path)
}

/// Depth first, so that a table defined by a header matches before its parents.
fn find_in_table(table: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<Segment>) -> bool {
    for (key, value) in table {
        path.push(Segment::Key(key.get_ref().to_string()));
        if find_in_value(value.get_ref(), span, path) || key.span() == *span || value.span() == *span {
            return true;
        }
        path.pop();
    }
    false
}

fn find_in_value(value: &DeValue<'_>, span: &Range<usize>, path: &mut Vec<Segment>) -> bool {
    match value {
        DeValue::Table(table) => find_in_table(table, span, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(match item.get_ref() {
                    DeValue::Table(_) => Segment::Table(i),
                    _ => Segment::Item(i),
                });
                if find_in_value(item.get_ref(), span, path) || item.span() == *span {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

/// `example.jobs.hello`; in an array of tables "`[[example.slack]]` #2, `key`"; in an array of
/// values "`example.pass_secrets` item 1".
fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    let mut keys: Vec<&str> = Vec::new();
    for segment in path {
        match segment {
            Segment::Key(k) => keys.push(k),
            Segment::Table(i) => {
                out.push_str(&format!("`[[{}]]` #{}, ", keys.join("."), i + 1));
                keys.clear();
            }
            Segment::Item(i) => {
                out.push_str(&format!("`{}` item {}, ", keys.join("."), i + 1));
                keys.clear();
            }
        }
    }
    if keys.is_empty() {
        out.truncate(out.trim_end_matches(", ").len());
    } else {
        out.push_str(&format!("`{}`", keys.join(".")));
    }
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties {
    use std::path::Path;

    use proptest::prelude::*;

    use crate::config::{Catalog, Settings};

    /// TOML-shaped lines from the pieces a catalogue is made of, so that random files reach
    /// the validation rules and not only the TOML parser.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("[ns]".to_owned()),
            Just("[ns.jobs.a]".to_owned()),
            Just("[ns.jobs.b]".to_owned()),
            Just("[[ns.slack]]".to_owned()),
            Just("[[ns.github]]".to_owned()),
            Just("[help]".to_owned()),
            "run_args_template = \"[a-z {}'\"$`]{0,20}\"",
            "(command|help|action|job_type|event|branch|timeout|report_format|on_lost|default_channel|fabfile) = \"[a-z_ \\[\\]#:/.]{0,16}\"",
            "(delay_seconds|timeout) = -?[0-9]{1,3}",
            "(restricted|merged|report_stdout) = (true|false)",
            Just("params = { x = \"/a\" }".to_owned()),
            Just("pass_secrets = [\"SLACK_BOT_TOKEN\", \"X\"]".to_owned()),
            ".{0,30}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn loading_never_panics(lines in proptest::collection::vec(line(), 0..24)) {
            let settings = Settings::for_root(Path::new("/nonexistent"));
            let _ = Catalog::from_str(&lines.join("\n"), Path::new("/x/jobs.toml"), &settings);
        }

        #[test]
        fn loading_arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let settings = Settings::for_root(Path::new("/nonexistent"));
            let _ = Catalog::from_str(&text, Path::new("/x/jobs.toml"), &settings);
        }
    }
}
