//! Web server tests over real TCP on 127.0.0.1: in-process servers (`ebmbot::web::serve` on a
//! port-0 listener) for every route, rule and bad input, with the GitHub fixture payloads; the
//! real binary for `ebmbot web` / `ebmbot serve` start-up and shutdown.

mod binary;
mod caps;
mod github;
mod health;
mod params;
mod provenance;
mod slow;
mod triggers;

/// The catalogue the in-process servers use.
pub const JOBS: &str = r##"
[app]
default_channel = "#deploys"

[app.jobs.deploy]
run_args_template = "echo deploy {sha}"

[app.jobs.build]
run_args_template = "echo build {sha}"

[app.jobs.lint]
run_args_template = "echo lint"

[app.jobs.notify]
run_args_template = "echo {number} {draft} {title}"

# 1: deploy when a pull request is merged into master.
[[app.github]]
event = "pull_request"
action = "closed"
merged = true
branch = "master"
job_type = "deploy"
delay_seconds = 30
params = { sha = "/pull_request/merge_commit_sha" }

# 2: build on a push to master.
[[app.github]]
event = "push"
branch = "master"
job_type = "build"
params = { sha = "/after" }

# 3: lint on any push.
[[app.github]]
event = "push"
job_type = "lint"

# 4: numbers, booleans and strings become text.
[[app.github]]
event = "pull_request"
action = "opened"
job_type = "notify"
params = { number = "/number", draft = "/pull_request/draft", title = "/pull_request/title" }

# The original's rule: a `deploy` job without params and no triggers.
[site.jobs.deploy]
run_args_template = "echo deploying"

# A `deploy` job with a param and no triggers: not a project.
[quiet.jobs.deploy]
run_args_template = "echo {where}"

# Pointers that reach no text. Each namespace also has a trigger that would schedule.
[ptr-null.jobs.show]
run_args_template = "echo {value}"
[ptr-null.jobs.fine]
run_args_template = "echo fine"
[[ptr-null.github]]
event = "pull_request"
job_type = "fine"
[[ptr-null.github]]
event = "pull_request"
job_type = "show"
params = { value = "/pull_request/merge_commit_sha" }

[ptr-object.jobs.show]
run_args_template = "echo {value}"
[[ptr-object.github]]
event = "pull_request"
job_type = "show"
params = { value = "/repository" }

[ptr-array.jobs.show]
run_args_template = "echo {value}"
[[ptr-array.github]]
event = "pull_request"
job_type = "show"
params = { value = "/pull_request/labels" }

[ptr-missing.jobs.show]
run_args_template = "echo {value}"
[[ptr-missing.github]]
event = "pull_request"
job_type = "show"
params = { value = "/pull_request/no_such_field" }
"##;
