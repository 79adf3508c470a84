//! `[[ns.slack]]` commands: the pattern, the action, the job, and which placeholders fit.

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::super::catalog::{Action, JobDef, PatternWord, SlackCommand};
use super::super::raw::RawSlack;
use super::super::template::is_param_name;
use super::{Source, bad_choice, delay, unknown_job};

pub(super) fn commands(
    namespace: &str,
    raw: Vec<Spanned<RawSlack>>,
    jobs: &BTreeMap<String, JobDef>,
    src: &Source<'_>,
) -> Result<Vec<SlackCommand>, String> {
    let mut out: Vec<SlackCommand> = Vec::with_capacity(raw.len());
    for entry in raw {
        let at = src.at(entry.span());
        let command = command(namespace, entry.into_inner(), jobs).map_err(|e| format!("{e} {at}"))?;
        if let Some(other) = out.iter().find(|c| same_texts(&c.pattern, &command.pattern)) {
            return Err(format!(
                "`{namespace}` slack commands `{}` and `{}` match exactly the same texts; \
                 change or remove one {at}",
                other.text, command.text
            ));
        }
        out.push(command);
    }
    Ok(out)
}

fn command(namespace: &str, raw: RawSlack, jobs: &BTreeMap<String, JobDef>) -> Result<SlackCommand, String> {
    let text = raw.command.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(format!(
            "`{namespace}`: a slack command has an empty `command`; write the words after the \
             namespace, such as `command = \"say hello [name]\"`"
        ));
    }
    let subject = format!("`{namespace}` slack command `{text}`");
    let pattern = pattern(&text).map_err(|e| format!("{subject}: {e}"))?;
    let action = Action::parse(&raw.action).ok_or_else(|| {
        let names = Action::ALL.map(Action::as_str);
        format!("{subject}: {}", bad_choice("action", &raw.action, &names))
    })?;
    let job =
        jobs.get(&raw.job_type).ok_or_else(|| format!("{subject}: {}", unknown_job(namespace, &raw.job_type, jobs)))?;
    check_params(&pattern, action, job).map_err(|e| format!("{subject}: {e}"))?;
    let delay = delay(raw.delay_seconds).map_err(|e| format!("{subject}: {e}"))?;
    Ok(SlackCommand {
        namespace: namespace.to_owned(),
        text,
        pattern,
        help: raw.help,
        action,
        job: raw.job_type,
        delay,
    })
}

/// `say hello [name]` → literal `say`, literal `hello`, param `name`.
fn pattern(text: &str) -> Result<Vec<PatternWord>, String> {
    text.split_whitespace()
        .map(|word| match word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
            Some(name) if is_param_name(name) => Ok(PatternWord::Param(name.to_owned())),
            Some(name) => Err(format!(
                "placeholder `[{name}]` is not a valid name; use lowercase letters, digits and \
                 `_` (at most 32, not starting with a digit)"
            )),
            None if word.contains(['[', ']']) => Err(format!(
                "word `{word}` has a stray bracket; write placeholders as `[name]`, separated \
                 by spaces"
            )),
            None => Ok(PatternWord::Literal(word.to_lowercase())),
        })
        .collect()
}

/// The placeholders a command must have: the template's for `schedule_job`, `[start_at]` and
/// `[end_at]` for `schedule_suppression`, none for the `cancel_*` actions.
fn check_params(pattern: &[PatternWord], action: Action, job: &JobDef) -> Result<(), String> {
    let mut have = BTreeSet::new();
    for word in pattern {
        if let PatternWord::Param(name) = word
            && !have.insert(name.as_str())
        {
            return Err(format!("placeholder `[{name}]` appears twice; use it once"));
        }
    }
    let want: BTreeSet<&str> = match action {
        Action::ScheduleJob => job.template.params().collect(),
        Action::ScheduleSuppression => ["start_at", "end_at"].into(),
        Action::CancelJob | Action::CancelSuppression => BTreeSet::new(),
    };
    if have == want {
        return Ok(());
    }
    let list = |set: &BTreeSet<&str>| set.iter().map(|p| format!("`[{p}]`")).collect::<Vec<_>>().join(", ");
    let mut fixes = Vec::new();
    let missing: BTreeSet<&str> = want.difference(&have).copied().collect();
    let extra: BTreeSet<&str> = have.difference(&want).copied().collect();
    if !missing.is_empty() {
        fixes.push(format!("add {}", list(&missing)));
    }
    if !extra.is_empty() {
        fixes.push(format!("remove {}", list(&extra)));
    }
    let needs = match action {
        Action::ScheduleJob if want.is_empty() => {
            format!("`{}` takes no placeholders", job.job_type())
        }
        Action::ScheduleJob => format!(
            "its placeholders must be those of `{}` ({})",
            job.job_type(),
            want.iter().map(|p| format!("`{{{p}}}`")).collect::<Vec<_>>().join(", ")
        ),
        Action::ScheduleSuppression => {
            "`schedule_suppression` commands take exactly `[start_at]` and `[end_at]`".to_owned()
        }
        Action::CancelJob | Action::CancelSuppression => {
            format!("`{}` commands take no placeholders", action.as_str())
        }
    };
    Err(format!("{needs}; {}", fixes.join(" and ")))
}

/// Two patterns match exactly the same texts when they have the same length, the same literals
/// (compared lowercase) and placeholders in the same places, whatever their names.
fn same_texts(a: &[PatternWord], b: &[PatternWord]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (PatternWord::Literal(x), PatternWord::Literal(y)) => x == y,
            (PatternWord::Param(_), PatternWord::Param(_)) => true,
            _ => false,
        })
}
