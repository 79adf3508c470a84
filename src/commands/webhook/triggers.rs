//! Which of a namespace's triggers a delivery matches, and the params they read from it.
//!
//! A trigger matches when its `event` is the delivery's and each filter it has holds: `action`
//! equals the payload's `action`; `merged` equals `pull_request.merged`; `branch` is the pull
//! request's base branch, or the pushed ref is `refs/heads/<branch>`. A push that deletes its
//! ref never matches. Without `[[ns.github]]` triggers, a namespace whose `deploy` job takes no
//! params deploys 60 s after a pull request is merged into the default branch (the original's
//! rule).

use std::time::Duration;

use serde_json::Value;

use crate::config::{Namespace, Trigger};

use super::{IMPLICIT_DEPLOY_DELAY, WebhookError};

/// A job a delivery asks for.
#[derive(Debug)]
pub(super) struct Planned<'a> {
    pub job: &'a str,
    pub args: Vec<(String, String)>,
    pub delay: Duration,
    /// `trigger #N (event)` or `deploy on merge`.
    pub rule: String,
}

#[derive(Debug)]
pub(super) enum Plan<'a> {
    Jobs(Vec<Planned<'a>>),
    Ignored(String),
}

/// A namespace is a webhook project when it has triggers or the implicit deploy rule.
pub fn is_project(ns: &Namespace) -> bool {
    !ns.github.is_empty() || implicit_deploy(ns)
}

fn implicit_deploy(ns: &Namespace) -> bool {
    ns.github.is_empty() && ns.jobs.get("deploy").is_some_and(|job| job.template.params().next().is_none())
}

pub(super) fn plan<'a>(ns: &'a Namespace, event: &str, payload: &Value) -> Result<Plan<'a>, WebhookError> {
    if implicit_deploy(ns) {
        return Ok(match merged_into_default(event, payload) {
            Ok(()) => Plan::Jobs(vec![Planned {
                job: "deploy",
                args: Vec::new(),
                delay: IMPLICIT_DEPLOY_DELAY,
                rule: "deploy on merge".to_owned(),
            }]),
            Err(why) => Plan::Ignored(format!("`{}` deploys when a pull request is merged; {why}", ns.name)),
        });
    }
    let mut planned = Vec::new();
    let mut misses = Vec::new();
    for (i, trigger) in ns.github.iter().enumerate().filter(|(_, t)| t.event == event) {
        let rule = format!("trigger #{} ({})", i + 1, trigger.event);
        if let Some(why) = mismatch(trigger, event, payload) {
            misses.push(format!("{rule} {why}"));
            continue;
        }
        let mut args = Vec::with_capacity(trigger.params.len());
        for (param, pointer) in &trigger.params {
            let value = param_value(payload, pointer).map_err(|problem| WebhookError::BadParam {
                rule: format!("`{}` {rule}", ns.name),
                param: param.clone(),
                problem,
            })?;
            args.push((param.clone(), value));
        }
        planned.push(Planned { job: &trigger.job, args, delay: trigger.delay, rule });
    }
    if !planned.is_empty() {
        return Ok(Plan::Jobs(planned));
    }
    Ok(Plan::Ignored(if misses.is_empty() {
        let mut events: Vec<&str> = ns.github.iter().map(|t| t.event.as_str()).collect();
        events.sort_unstable();
        events.dedup();
        format!("no trigger of `{}` is for `{event}` events (they are for `{}`)", ns.name, events.join("`, `"))
    } else {
        format!("no trigger of `{}` matches this `{event}` event: {}", ns.name, misses.join("; "))
    }))
}

/// Why `trigger` does not match (its event already does), or `None` if it matches.
fn mismatch(trigger: &Trigger, event: &str, payload: &Value) -> Option<String> {
    if event == "push" && payload.get("deleted").and_then(Value::as_bool) == Some(true) {
        let r = payload.get("ref").and_then(Value::as_str).unwrap_or("a ref");
        return Some(format!("does not run for this push: it deletes `{r}`"));
    }
    if let Some(want) = &trigger.action {
        match payload.get("action").and_then(Value::as_str) {
            Some(action) if action == want => {}
            Some(action) => return Some(format!("wants action `{want}`, the payload's is `{action}`")),
            None => return Some(format!("wants action `{want}`, the payload has none")),
        }
    }
    if let Some(want) = trigger.merged {
        match payload.pointer("/pull_request/merged").and_then(Value::as_bool) {
            Some(merged) if merged == want => {}
            Some(_) => {
                let (wants, is) = if want { ("a merged", "not merged") } else { ("an unmerged", "merged") };
                return Some(format!("wants {wants} pull request, this one is {is}"));
            }
            None => return Some("wants `pull_request.merged`, which the payload lacks".to_owned()),
        }
    }
    if let Some(want) = &trigger.branch {
        match branch_of(payload) {
            BranchOf::Branch(b) if b == want => {}
            BranchOf::Branch(b) => return Some(format!("wants branch `{want}`, this is for branch `{b}`")),
            BranchOf::OtherRef(r) => return Some(format!("wants branch `{want}`, this is for `{r}`, not a branch")),
            BranchOf::Nothing => return Some(format!("wants branch `{want}`, the payload names no branch")),
        }
    }
    None
}

enum BranchOf<'a> {
    Branch(&'a str),
    OtherRef(&'a str),
    Nothing,
}

/// The pull request's base branch, or the branch a push is to.
fn branch_of(payload: &Value) -> BranchOf<'_> {
    if let Some(base) = payload.pointer("/pull_request/base/ref").and_then(Value::as_str) {
        return BranchOf::Branch(base);
    }
    match payload.get("ref").and_then(Value::as_str) {
        Some(r) => r.strip_prefix("refs/heads/").map_or(BranchOf::OtherRef(r), BranchOf::Branch),
        None => BranchOf::Nothing,
    }
}

/// Why a delivery is no merge into the default branch (the implicit rule's reason to ignore it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum NotMerged {
    #[error("this is a `{0}` event")]
    OtherEvent(String),
    #[error("this pull request was `{0}`, not closed")]
    NotClosed(String),
    #[error("this pull request was closed without merging")]
    Unmerged,
    #[error("this one was merged into `{base}`, not the default branch `{default}`")]
    OtherBase { base: String, default: String },
}

/// The implicit rule: a closed, merged pull request whose base is the repository's default
/// branch (when the payload names one).
fn merged_into_default(event: &str, payload: &Value) -> Result<(), NotMerged> {
    if event != "pull_request" {
        return Err(NotMerged::OtherEvent(event.to_owned()));
    }
    let action = payload.get("action").and_then(Value::as_str).unwrap_or("");
    if action != "closed" {
        return Err(NotMerged::NotClosed(action.to_owned()));
    }
    if payload.pointer("/pull_request/merged").and_then(Value::as_bool) != Some(true) {
        return Err(NotMerged::Unmerged);
    }
    let base = payload.pointer("/pull_request/base/ref").and_then(Value::as_str);
    let default = payload.pointer("/repository/default_branch").and_then(Value::as_str);
    match (base, default) {
        (Some(base), Some(default)) if base != default => {
            Err(NotMerged::OtherBase { base: base.to_owned(), default: default.to_owned() })
        }
        _ => Ok(()),
    }
}

/// Why a trigger's JSON pointer gives no param value: the sender's mistake, said plainly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadPointer {
    #[error("the JSON pointer `{0}` points at nothing in the payload")]
    Nothing(String),
    #[error("the JSON pointer `{pointer}` points at {kind}; it must reach a string, number or boolean")]
    NotAValue { pointer: String, kind: &'static str },
}

/// The text of the value at `pointer`: strings as they are, numbers and booleans as JSON
/// writes them.
fn param_value(payload: &Value, pointer: &str) -> Result<String, BadPointer> {
    let kind = match payload.pointer(pointer) {
        Some(Value::String(s)) => return Ok(s.clone()),
        Some(Value::Number(n)) => return Ok(n.to_string()),
        Some(Value::Bool(b)) => return Ok(b.to_string()),
        None => return Err(BadPointer::Nothing(pointer.to_owned())),
        Some(Value::Null) => "null",
        Some(Value::Object(_)) => "an object",
        Some(Value::Array(_)) => "an array",
    };
    Err(BadPointer::NotAValue { pointer: pointer.to_owned(), kind })
}

#[cfg(test)]
mod tests;
