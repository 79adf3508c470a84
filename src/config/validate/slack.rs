//! `[[ns.slack]]` commands: the pattern, the action, the job, and which placeholders fit.

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::super::catalog::{Action, JobDef, PatternWord, SlackCommand};
use super::super::invalid::{Invalid, Problem, SlackProblem};
use super::super::raw::RawSlack;
use super::super::template::is_param_name;
use super::{Source, at, bad_choice, delay, unknown_job};

pub(super) fn commands(
    namespace: &str,
    raw: Vec<Spanned<RawSlack>>,
    jobs: &BTreeMap<String, JobDef>,
    src: &Source<'_>,
) -> Result<Vec<SlackCommand>, Invalid> {
    let mut out: Vec<SlackCommand> = Vec::with_capacity(raw.len());
    for entry in raw {
        let line = src.at(entry.span());
        let command =
            command(namespace, entry.into_inner(), jobs).map_err(|problem| Invalid { problem, line, column: None })?;
        if let Some(other) = out.iter().find(|c| same_texts(&c.pattern, &command.pattern)) {
            let (first, second) = (other.text.clone(), command.text);
            return Err(at(line)(Problem::SameTexts { namespace: namespace.to_owned(), first, second }));
        }
        out.push(command);
    }
    Ok(out)
}

fn command(namespace: &str, raw: RawSlack, jobs: &BTreeMap<String, JobDef>) -> Result<SlackCommand, Box<Problem>> {
    let text = raw.command.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(Box::new(Problem::EmptySlackCommand { namespace: namespace.to_owned() }));
    }
    let fail = |problem| Box::new(Problem::Slack { namespace: namespace.to_owned(), command: text.clone(), problem });
    let pattern = pattern(&text).map_err(fail)?;
    let action = Action::parse(&raw.action).ok_or_else(|| {
        fail(SlackProblem::Action(bad_choice("action", &raw.action, &Action::ALL.map(Action::as_str))))
    })?;
    let job = jobs
        .get(&raw.job_type)
        .ok_or_else(|| fail(SlackProblem::UnknownJob(unknown_job(namespace, &raw.job_type, jobs))))?;
    check_params(&pattern, action, job).map_err(fail)?;
    let delay = delay(raw.delay_seconds).map_err(|e| fail(SlackProblem::Delay(e)))?;
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
fn pattern(text: &str) -> Result<Vec<PatternWord>, SlackProblem> {
    text.split_whitespace()
        .map(|word| match word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
            Some(name) if is_param_name(name) => Ok(PatternWord::Param(name.to_owned())),
            Some(name) => Err(SlackProblem::PlaceholderName(name.to_owned())),
            None if word.contains(['[', ']']) => Err(SlackProblem::StrayBracket(word.to_owned())),
            None => Ok(PatternWord::Literal(word.to_lowercase())),
        })
        .collect()
}

/// The placeholders a command must have: the template's for `schedule_job`, `[start_at]` and
/// `[end_at]` for `schedule_suppression`, none for the `cancel_*` actions.
fn check_params(pattern: &[PatternWord], action: Action, job: &JobDef) -> Result<(), SlackProblem> {
    let mut have = BTreeSet::new();
    for word in pattern {
        if let PatternWord::Param(name) = word
            && !have.insert(name.as_str())
        {
            return Err(SlackProblem::PlaceholderTwice(name.clone()));
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
    let owned = |set: BTreeSet<&&str>| set.into_iter().map(|p| (*p).to_owned()).collect();
    Err(SlackProblem::Placeholders {
        action,
        job_type: job.job_type().to_string(),
        missing: owned(want.difference(&have).collect()),
        extra: owned(have.difference(&want).collect()),
        want: want.into_iter().map(str::to_owned).collect(),
    })
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
