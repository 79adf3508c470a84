//! The triggers and the implicit deploy rule, end to end with the fixture payloads: what is
//! scheduled, with which args, delay and origin; why nothing was; redeliveries; suppression.

use std::time::Duration;

use ebmbot::queue::model::{JobId, JobState, Origin, Outcome};
use ebmbot::queue::{NewDispatcher, Options, Queue};
use jiff::Timestamp;
use serde_json::Value;

use super::JOBS;
use crate::support::web::{Reply, Server, delivery, fixture, merged_pr};

fn job_ids(reply: &Reply) -> Vec<i64> {
    reply.json["jobs"].as_array().unwrap_or_else(|| panic!("no jobs: {reply:?}")).iter().map(job_id).collect()
}

fn job_id(job: &Value) -> i64 {
    job.get("id").and_then(Value::as_i64).or_else(|| job.as_i64()).unwrap()
}

fn seconds_from_now(rfc3339: &str) -> i64 {
    let at: Timestamp = rfc3339.parse().unwrap();
    at.duration_since(Timestamp::now()).as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_pull_request_deploys_its_merge_commit() {
    let server = Server::start(JOBS).await;
    let id = delivery();
    let reply = server.deliver("app", "pull_request", &id, merged_pr()).await;
    assert_eq!((reply.status, reply.json["result"].as_str()), (200, Some("scheduled")), "{reply:?}");
    let job = &reply.json["jobs"][0];
    assert_eq!(job["type"], "app_deploy");
    assert!((25..=30).contains(&seconds_from_now(job["start_after"].as_str().unwrap())), "{job}");
    assert!(reply.message().starts_with(&format!("scheduled job {} (`app_deploy`", job_id(job))), "{reply:?}");

    let jobs = server.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].args.0["sha"], "c4295bd74fb0f4fda03689c3df3f2803b658fd85");
    let expected = Origin::Github { delivery: id, project: "app".into(), channel: Some("#deploys".into()) };
    assert_eq!(jobs[0].requests[0].origin, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_request_closed_without_merging_is_ignored_saying_why() {
    let server = Server::start(JOBS).await;
    let reply = server.deliver("app", "pull_request", &delivery(), fixture("pull_request.closed.json")).await;
    assert_eq!((reply.status, reply.json["result"].as_str()), (200, Some("ignored")), "{reply:?}");
    let message = reply.message();
    assert!(message.starts_with("ignored: no trigger of `app` matches this `pull_request` event"), "{message}");
    assert!(message.contains("trigger #1 (pull_request) wants a merged pull request, this one is not merged"));
    assert!(message.contains("trigger #4 (pull_request) wants action `opened`, the payload's is `closed`"));
    assert!(server.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_matching_trigger_schedules_once_per_delivery() {
    let server = Server::start(JOBS).await;
    let id = delivery();
    let reply = server.deliver("app", "push", &id, fixture("push.branch.json")).await;
    let ids = job_ids(&reply);
    assert_eq!(ids.len(), 2, "build (branch master) and lint (any push): {reply:?}");
    let types: Vec<String> = server.jobs().iter().map(|j| j.job_type().to_string()).collect();
    assert_eq!(types, ["app_build", "app_lint"]);
    assert_eq!(server.jobs()[0].args.0["sha"], "6113728f27ae82c7b1a177c8d03f9e96e0adf246");

    let again = server.deliver("app", "push", &id, fixture("push.branch.json")).await;
    assert_eq!((again.status, again.json["result"].as_str()), (200, Some("already_handled")), "{again:?}");
    assert_eq!(again.message(), format!("already handled: delivery {id} scheduled jobs {}, {}", ids[0], ids[1]));
    assert_eq!(server.jobs().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_deletes_its_ref_never_matches() {
    let server = Server::start(JOBS).await;
    let reply = server.deliver("app", "push", &delivery(), fixture("push.tag.json")).await;
    assert_eq!(reply.json["result"], "ignored", "{reply:?}");
    assert!(reply.message().contains("it deletes `refs/tags/simple-tag`"), "{reply:?}");
    assert!(server.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_no_trigger_is_for_are_ignored() {
    let server = Server::start(JOBS).await;
    for (event, file) in [
        ("issue_comment", "issue_comment.created.json"),
        ("release", "release.published.json"),
        ("workflow_run", "workflow_run.completed.json"),
    ] {
        let reply = server.deliver("app", event, &delivery(), fixture(file)).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.message(),
            format!("ignored: no trigger of `app` is for `{event}` events (they are for `pull_request`, `push`)")
        );
    }
    assert!(server.jobs().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strings_numbers_and_booleans_become_the_args_text() {
    let server = Server::start(JOBS).await;
    let reply = server.deliver("app", "pull_request", &delivery(), fixture("pull_request.opened.json")).await;
    assert_eq!(job_ids(&reply).len(), 1, "{reply:?}");
    let args = &server.jobs()[0].args.0;
    assert_eq!((args["number"].as_str(), args["draft"].as_str()), ("2", "false"));
    assert_eq!(args["title"], "Update the README with new information.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pointers_at_null_objects_arrays_or_nothing_are_400_and_schedule_nothing() {
    let server = Server::start(JOBS).await;
    for (project, what) in [
        ("ptr-null", "points at null"),
        ("ptr-object", "points at an object"),
        ("ptr-array", "points at an array"),
        ("ptr-missing", "points at nothing in the payload"),
    ] {
        let reply = server.deliver(project, "pull_request", &delivery(), fixture("pull_request.opened.json")).await;
        assert_eq!(reply.status, 400, "{project}: {reply:?}");
        assert!(reply.message().contains(what), "{project}: {reply:?}");
        assert!(reply.message().contains("param `value`"), "{project}: {reply:?}");
        assert!(reply.message().ends_with("nothing was scheduled"), "{project}: {reply:?}");
    }
    assert!(server.jobs().is_empty(), "ptr-null's other trigger must not have scheduled either");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_implicit_rule_deploys_a_minute_after_a_merge_into_the_default_branch() {
    let server = Server::builder(JOBS).settings(|s| s.slack_logs_channel = Some("#logs".into())).start().await;
    let reply = server.deliver("site", "pull_request", &delivery(), merged_pr()).await;
    let job = &reply.json["jobs"][0];
    assert_eq!(
        (job["type"].as_str(), job["rule"].as_str()),
        (Some("site_deploy"), Some("deploy on merge")),
        "{reply:?}"
    );
    assert!((55..=60).contains(&seconds_from_now(job["start_after"].as_str().unwrap())), "{job}");
    // No default_channel: the logs channel.
    assert_eq!(server.jobs()[0].requests[0].origin.channel(), Some("#logs"));

    let unmerged = server.deliver("site", "pull_request", &delivery(), fixture("pull_request.closed.json")).await;
    assert!(unmerged.message().contains("closed without merging"), "{unmerged:?}");
    let push = server.deliver("site", "push", &delivery(), fixture("push.branch.json")).await;
    assert!(push.message().contains("this is a `push` event"), "{push:?}");
    let other_base = serde_json::to_vec(&serde_json::json!({
        "action": "closed",
        "pull_request": {"merged": true, "base": {"ref": "release"}},
        "repository": {"default_branch": "master"}
    }))
    .unwrap();
    let reply = server.deliver("site", "pull_request", &delivery(), other_base).await;
    assert!(reply.message().contains("merged into `release`, not the default branch `master`"), "{reply:?}");
    assert_eq!(server.jobs().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_schedules_nothing_even_after_the_job_finished() {
    let server = Server::start(JOBS).await;
    let id = delivery();
    let first = server.deliver("app", "pull_request", &id, merged_pr()).await;
    let job = JobId(job_ids(&first)[0]);

    // Run it to the end, as a dispatcher would.
    let mut queue = server.queue();
    let me = NewDispatcher {
        kind: "test".into(),
        host: "h".into(),
        boot_id: "b".into(),
        pid: 1,
        pid_start: 1,
        timezone: "UTC".into(),
        lease: std::time::Duration::from_secs(60),
    };
    let dispatcher = queue.register_dispatcher(&me, Timestamp::now()).unwrap();
    let later = Timestamp::now() + Duration::from_secs(60);
    let claimed = queue.claim(dispatcher, later, later, 8).unwrap().unwrap();
    assert_eq!(claimed.id, job);
    queue.finish(job, &Outcome::Succeeded, later).unwrap();

    let again = server.deliver("app", "pull_request", &id, merged_pr()).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.message(), format!("already handled: delivery {id} scheduled job {job}"));
    let jobs = server.jobs();
    assert_eq!((jobs.len(), jobs[0].state()), (1, JobState::Succeeded));
    // The same body under a new delivery id is a replay (issue 9, item 1): nothing scheduled.
    let replay_id = delivery();
    let replay = server.deliver("app", "pull_request", &replay_id, merged_pr()).await;
    assert_eq!((replay.status, replay.json["result"].as_str()), (200, Some("replayed")), "{replay:?}");
    assert_eq!(
        replay.message(),
        format!(
            "already handled: the same body came as delivery {id}, which scheduled job {job}; nothing was \
             scheduled for {replay_id}"
        )
    );
    assert_eq!(server.jobs().len(), 1);
    // Another event (another body) is a new request.
    let other = String::from_utf8(merged_pr()).unwrap().replacen("\"number\": ", "\"number\": 1", 1);
    let fresh = server.deliver("app", "pull_request", &delivery(), other.into_bytes()).await;
    assert_eq!(fresh.json["result"], "scheduled", "{fresh:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_scheduled_into_a_suppression_is_queued_and_its_channel_told() {
    let server = Server::start(JOBS).await;
    let mut queue: Queue = Queue::open(&server.db, Options::default()).unwrap();
    let now = Timestamp::now();
    queue.suppress("app_deploy", now, now + Duration::from_secs(3600), now).unwrap();

    let reply = server.deliver("app", "pull_request", &delivery(), merged_pr()).await;
    assert_eq!(reply.json["result"], "scheduled", "{reply:?}");
    let until = reply.json["jobs"][0]["suppressed_until"].as_str().unwrap();
    assert!((3590..=3600).contains(&seconds_from_now(until)));
    assert!(reply.message().contains("suppressed until"), "{reply:?}");
    assert_eq!(server.jobs()[0].state(), JobState::Pending);
    // The `suppressed` event waits for the Slack reporter (the namespace has a channel).
    assert_eq!(queue.delivery_status().unwrap().undelivered, 1);
}
