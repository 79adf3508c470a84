use std::path::Path;

use serde_json::json;

use super::*;
use crate::config::{Catalog, Settings};

const JOBS: &str = r#"
[app]
[app.jobs.build]
run_args_template = "make {sha}"
[app.jobs.tag]
run_args_template = "echo {number} {draft}"

[[app.github]]
event = "push"
branch = "main"
job_type = "build"
params = { sha = "/after" }

[[app.github]]
event = "pull_request"
action = "closed"
merged = true
branch = "main"
job_type = "tag"
params = { number = "/number", draft = "/pull_request/draft" }

[site]
[site.jobs.deploy]
run_args_template = "./deploy.sh"

[other]
[other.jobs.deploy]
run_args_template = "./deploy.sh {where}"
"#;

fn catalog() -> Catalog {
    let root = Path::new("/nonexistent");
    Catalog::from_str(JOBS, &root.join("jobs.toml"), &Settings::for_root(root)).unwrap()
}

/// (job, args, delay in seconds)
type Job = (String, Vec<(String, String)>, u64);

fn jobs(plan: Plan<'_>) -> Vec<Job> {
    match plan {
        Plan::Jobs(p) => p.into_iter().map(|p| (p.job.to_owned(), p.args, p.delay.as_secs())).collect(),
        Plan::Ignored(why) => panic!("ignored: {why}"),
    }
}

fn ignored(plan: Plan<'_>) -> String {
    match plan {
        Plan::Ignored(why) => why,
        Plan::Jobs(p) => panic!("scheduled {p:?}"),
    }
}

fn merged_pr(base: &str, default: &str) -> serde_json::Value {
    json!({"action": "closed", "number": 7, "pull_request": {"merged": true, "draft": false, "base": {"ref": base}},
           "repository": {"default_branch": default}})
}

#[test]
fn projects_are_namespaces_with_triggers_or_a_plain_deploy_job() {
    let c = catalog();
    assert!(is_project(c.namespace("app").unwrap()));
    assert!(is_project(c.namespace("site").unwrap()));
    assert!(!is_project(c.namespace("other").unwrap()), "its deploy job takes a param");
}

#[test]
fn push_to_the_branch_with_params() {
    let c = catalog();
    let app = c.namespace("app").unwrap();
    let push = json!({"ref": "refs/heads/main", "after": "abc123", "deleted": false});
    assert_eq!(jobs(plan(app, "push", &push).unwrap()), [("build".into(), vec![("sha".into(), "abc123".into())], 0)]);
    let other = json!({"ref": "refs/heads/dev", "after": "abc123"});
    assert!(ignored(plan(app, "push", &other).unwrap()).contains("wants branch `main`, this is for branch `dev`"));
    let tag = json!({"ref": "refs/tags/v1", "after": "abc123"});
    assert!(ignored(plan(app, "push", &tag).unwrap()).contains("`refs/tags/v1`, not a branch"));
}

#[test]
fn a_deleting_push_never_matches() {
    let c = catalog();
    let push = json!({"ref": "refs/heads/main", "after": "0000", "deleted": true});
    assert!(
        ignored(plan(c.namespace("app").unwrap(), "push", &push).unwrap()).contains("it deletes `refs/heads/main`")
    );
}

#[test]
fn numbers_and_booleans_become_text() {
    let c = catalog();
    let planned = jobs(plan(c.namespace("app").unwrap(), "pull_request", &merged_pr("main", "main")).unwrap());
    assert_eq!(planned, [("tag".into(), vec![("draft".into(), "false".into()), ("number".into(), "7".into())], 0)]);
}

#[test]
fn filters_say_why_they_did_not_match() {
    let c = catalog();
    let app = c.namespace("app").unwrap();
    let mut pr = merged_pr("main", "main");
    pr["pull_request"]["merged"] = json!(false);
    assert!(ignored(plan(app, "pull_request", &pr).unwrap()).contains("wants a merged pull request, this one is not"));
    pr["action"] = json!("opened");
    assert!(
        ignored(plan(app, "pull_request", &pr).unwrap()).contains("wants action `closed`, the payload's is `opened`")
    );
    let why = ignored(plan(app, "issues", &json!({})).unwrap());
    assert_eq!(why, "no trigger of `app` is for `issues` events (they are for `pull_request`, `push`)");
}

#[test]
fn pointers_that_reach_no_scalar_are_refused() {
    let c = catalog();
    let app = c.namespace("app").unwrap();
    for (after, kind) in [(json!(null), "null"), (json!({"a": 1}), "an object"), (json!([1]), "an array")] {
        let push = json!({"ref": "refs/heads/main", "after": after});
        let err = plan(app, "push", &push).unwrap_err().to_string();
        assert!(err.contains(&format!("points at {kind}")), "{err}");
        assert!(err.contains("trigger #1 (push): param `sha`"), "{err}");
    }
    let err = plan(app, "push", &json!({"ref": "refs/heads/main"})).unwrap_err().to_string();
    assert!(err.contains("`/after` points at nothing in the payload"), "{err}");
}

#[test]
fn implicit_deploy_on_merge_into_the_default_branch() {
    let c = catalog();
    let site = c.namespace("site").unwrap();
    assert_eq!(jobs(plan(site, "pull_request", &merged_pr("main", "main")).unwrap()), [("deploy".into(), vec![], 60)]);
    let no_default = json!({"action": "closed", "pull_request": {"merged": true, "base": {"ref": "x"}}});
    assert_eq!(jobs(plan(site, "pull_request", &no_default).unwrap()).len(), 1, "no default branch named");
    assert!(ignored(plan(site, "pull_request", &merged_pr("dev", "main")).unwrap()).contains("not the default branch"));
    let mut unmerged = merged_pr("main", "main");
    unmerged["pull_request"]["merged"] = json!(false);
    assert!(ignored(plan(site, "pull_request", &unmerged).unwrap()).contains("closed without merging"));
    assert!(ignored(plan(site, "push", &json!({"ref": "refs/heads/main"})).unwrap()).contains("a `push` event"));
}
