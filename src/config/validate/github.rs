//! `[[ns.github]]` webhook triggers: the event filters, the job, and its params.

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::super::catalog::{JobDef, Trigger};
use super::super::raw::RawTrigger;
use super::{Source, delay, unknown_job};

pub(super) fn triggers(
    namespace: &str,
    raw: Vec<Spanned<RawTrigger>>,
    jobs: &BTreeMap<String, JobDef>,
    src: &Source<'_>,
) -> Result<Vec<Trigger>, String> {
    raw.into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let at = src.at(entry.span());
            trigger(namespace, i + 1, entry.into_inner(), jobs).map_err(|e| format!("{e} {at}"))
        })
        .collect()
}

fn trigger(
    namespace: &str,
    number: usize,
    raw: RawTrigger,
    jobs: &BTreeMap<String, JobDef>,
) -> Result<Trigger, String> {
    let subject = format!("`{namespace}` github trigger #{number} (`{}`)", raw.event);
    let fail = |problem: String| format!("{subject}: {problem}");
    if raw.event.is_empty() || !raw.event.chars().all(|c| matches!(c, 'a'..='z' | '_')) {
        return Err(fail(format!(
            "event `{}` is not a github event name; write the `X-GitHub-Event` value, such as \
             `push` or `pull_request`",
            raw.event
        )));
    }
    let job = jobs.get(&raw.job_type).ok_or_else(|| fail(unknown_job(namespace, &raw.job_type, jobs)))?;
    check_params(&raw.params, job).map_err(fail)?;
    if raw.merged.is_some() && raw.event != "pull_request" {
        return Err(fail("`merged` applies only to `event = \"pull_request\"`; remove it".to_owned()));
    }
    if let Some(action) = &raw.action {
        if raw.event == "push" {
            return Err(fail("push events have no `action`; remove it, or filter with `branch`".to_owned()));
        }
        if action.is_empty() {
            return Err(fail(
                "`action` is empty; write the payload's action, such as `\"closed\"`, or remove it".to_owned(),
            ));
        }
    }
    if let Some(branch) = &raw.branch {
        if branch.is_empty() {
            return Err(fail("`branch` is empty; write a branch name or remove it".to_owned()));
        }
        if let Some(name) = branch.strip_prefix("refs/heads/") {
            return Err(fail(format!("branch `{branch}` is a ref; write the branch name `{name}`")));
        }
    }
    let delay = delay(raw.delay_seconds).map_err(fail)?;
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
fn check_params(params: &BTreeMap<String, String>, job: &JobDef) -> Result<(), String> {
    let have: BTreeSet<&str> = params.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = job.template.params().collect();
    if have != want {
        let list = |set: BTreeSet<&str>| set.into_iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
        let mut fixes = Vec::new();
        let missing: BTreeSet<&str> = want.difference(&have).copied().collect();
        let extra: BTreeSet<&str> = have.difference(&want).copied().collect();
        if !missing.is_empty() {
            fixes.push(format!("add {} to `params`", list(missing)));
        }
        if !extra.is_empty() {
            fixes.push(format!("remove {} from `params`", list(extra)));
        }
        return Err(format!(
            "`params` must give exactly the placeholders of `{}`; {}",
            job.job_type(),
            fixes.join(" and ")
        ));
    }
    if let Some((name, pointer)) = params.iter().find(|(_, p)| !p.starts_with('/')) {
        return Err(format!(
            "`params.{name}` = `{pointer}` is not a JSON pointer; start it with `/`, such as \
             `/pull_request/merge_commit_sha`"
        ));
    }
    Ok(())
}
