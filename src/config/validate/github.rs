//! `[[ns.github]]` webhook triggers: the event filters, the job, and its params.

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::super::catalog::{JobDef, Trigger};
use super::super::invalid::{Invalid, Problem, TriggerProblem};
use super::super::raw::RawTrigger;
use super::{Source, at, delay, unknown_job};

pub(super) fn triggers(
    namespace: &str,
    raw: Vec<Spanned<RawTrigger>>,
    jobs: &BTreeMap<String, JobDef>,
    src: &Source<'_>,
) -> Result<Vec<Trigger>, Invalid> {
    raw.into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let invalid = at(src.at(entry.span()));
            let raw = entry.into_inner();
            let event = raw.event.clone();
            trigger(namespace, raw, jobs).map_err(|problem| {
                invalid(Problem::Trigger { namespace: namespace.to_owned(), number: i + 1, event, problem })
            })
        })
        .collect()
}

fn trigger(namespace: &str, raw: RawTrigger, jobs: &BTreeMap<String, JobDef>) -> Result<Trigger, TriggerProblem> {
    if raw.event.is_empty() || !raw.event.chars().all(|c| matches!(c, 'a'..='z' | '_')) {
        return Err(TriggerProblem::Event(raw.event));
    }
    let job = jobs
        .get(&raw.job_type)
        .ok_or_else(|| TriggerProblem::UnknownJob(unknown_job(namespace, &raw.job_type, jobs)))?;
    check_params(&raw.params, job)?;
    if raw.merged.is_some() && raw.event != "pull_request" {
        return Err(TriggerProblem::MergedNotPullRequest);
    }
    if let Some(action) = &raw.action {
        if raw.event == "push" {
            return Err(TriggerProblem::PushAction);
        }
        if action.is_empty() {
            return Err(TriggerProblem::EmptyAction);
        }
    }
    if let Some(branch) = &raw.branch {
        if branch.is_empty() {
            return Err(TriggerProblem::EmptyBranch);
        }
        if branch.starts_with("refs/heads/") {
            return Err(TriggerProblem::BranchIsRef { branch: branch.clone() });
        }
    }
    let delay = delay(raw.delay_seconds).map_err(TriggerProblem::Delay)?;
    Ok(Trigger {
        namespace: namespace.to_owned(),
        event: raw.event,
        action: raw.action,
        merged: raw.merged,
        branch: raw.branch,
        job: raw.job_type,
        delay,
        params: raw.params,
    })
}

/// The trigger's `params` keys must be the template's placeholders, each a JSON pointer.
fn check_params(params: &BTreeMap<String, String>, job: &JobDef) -> Result<(), TriggerProblem> {
    let have: BTreeSet<&str> = params.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = job.template.params().collect();
    if have != want {
        let owned = |set: BTreeSet<&&str>| set.into_iter().map(|p| (*p).to_owned()).collect();
        return Err(TriggerProblem::Params {
            job_type: job.job_type().to_string(),
            missing: owned(want.difference(&have).collect()),
            extra: owned(have.difference(&want).collect()),
        });
    }
    if let Some((name, pointer)) = params.iter().find(|(_, p)| !p.starts_with('/')) {
        return Err(TriggerProblem::NotAPointer { param: name.clone(), pointer: pointer.clone() });
    }
    Ok(())
}
