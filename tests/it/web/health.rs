//! `/check/`, `/healthz`, `/readyz`, `/metrics`, and what other paths answer.

use std::sync::Arc;
use std::time::Duration;

use ebmbot::metrics::Metrics;
use ebmbot::queue::NewDispatcher;
use ebmbot::queue::model::Outcome;
use jiff::Timestamp;

use super::JOBS;
use crate::support::web::{Server, delivery, fixture, merged_pr, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_healthz_answer_ok() {
    let server = Server::start(JOBS).await;
    for path in ["/check/", "/healthz"] {
        let reply = send(server.client.get(server.url(path))).await;
        assert_eq!((reply.status, reply.text.as_str()), (200, "ok"), "{path}");
    }
    assert_eq!(send(server.client.get(server.url("/nope"))).await.status, 404);
    assert_eq!(send(server.client.get(server.url("/github/app/"))).await.status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_checks_the_database() {
    let server = Server::start(JOBS).await;
    let reply = send(server.client.get(server.url("/readyz"))).await;
    assert_eq!((reply.status, reply.text.as_str()), (200, "ready\ndatabase: ok\n"));
}

/// Issue 11, item 2: Slack refusing the token degrades readiness but keeps it (webhooks behind
/// a load balancer go on), and shows as a metric.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_slack_delivery_is_degraded_not_unready_and_a_metric() {
    let metrics = Arc::new(Metrics::new());
    let mut builder = Server::builder(JOBS);
    builder.metrics = Some(metrics);
    let server = builder.start().await;
    let gauge = |text: &str| text.lines().find(|l| l.starts_with("ebmbot_slack_delivery_paused ")).map(str::to_owned);
    let reply = send(server.client.get(server.url("/metrics"))).await;
    assert_eq!(gauge(&reply.text).as_deref(), Some("ebmbot_slack_delivery_paused 0"), "{}", reply.text);
    let since: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
    server.queue().pause_slack("token_revoked", since).unwrap();
    let reply = send(server.client.get(server.url("/readyz"))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text,
        "ready\ndatabase: ok\nslack: degraded: delivery paused since 2026-03-01T10:00:00.000Z (Slack answered `token_revoked`)\n"
    );
    let reply = send(server.client.get(server.url("/metrics"))).await;
    assert_eq!(gauge(&reply.text).as_deref(), Some("ebmbot_slack_delivery_paused 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_in_serve_checks_the_dispatcher_heartbeat() {
    let pid = 4_000_000; // above any real pid: only the row below makes it "running"
    let mut builder = Server::builder(JOBS);
    builder.dispatcher_pid = Some(pid);
    let server = builder.start().await;
    let reply = send(server.client.get(server.url("/readyz"))).await;
    assert_eq!(reply.status, 503);
    assert!(reply.text.contains("dispatcher: not running"), "{}", reply.text);

    let mut queue = server.queue();
    let me = NewDispatcher {
        kind: "serve".into(),
        host: "h".into(),
        boot_id: "b".into(),
        pid: pid.into(),
        pid_start: 1,
        timezone: "UTC".into(),
        lease: std::time::Duration::from_secs(60),
    };
    let stale = Timestamp::now() - Duration::from_secs(120);
    let id = queue.register_dispatcher(&me, stale).unwrap();
    let reply = send(server.client.get(server.url("/readyz"))).await;
    assert_eq!(reply.status, 503);
    assert!(reply.text.contains("dispatcher: stale (heartbeat 12"), "{}", reply.text);

    queue.heartbeat(id, Timestamp::now(), std::time::Duration::from_secs(60)).unwrap();
    let reply = send(server.client.get(server.url("/readyz"))).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.text.contains("dispatcher: ok (heartbeat 0s ago)"), "{}", reply.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_jobs_from_the_database_and_this_process_counters() {
    let metrics = Arc::new(Metrics::new());
    let mut builder = Server::builder(JOBS);
    builder.metrics = Some(Arc::clone(&metrics));
    let server = builder.start().await;
    server.deliver("app", "pull_request", &delivery(), merged_pr()).await;
    server.deliver("app", "push", &delivery(), fixture("push.tag.json")).await;
    send(server.client.post(server.url("/github/app/")).body("{}")).await;
    metrics.slack_call("chat.postMessage", "ok");

    // Run the deploy for 2 s of recorded time.
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
    let d = queue.register_dispatcher(&me, Timestamp::now()).unwrap();
    let start = Timestamp::now() + Duration::from_secs(60);
    let job = queue.claim(d, start, start, 8).unwrap().unwrap();
    queue.finish(job.id, &Outcome::Failed { exit_code: 1 }, start + Duration::from_secs(2)).unwrap();
    server.deliver("app", "push", &delivery(), fixture("push.branch.json")).await;

    let reply = send(server.client.get(server.url("/metrics"))).await;
    assert_eq!(reply.status, 200);
    let text = &reply.text;
    for line in [
        r#"ebmbot_webhook_deliveries_total{result="scheduled"} 2"#,
        r#"ebmbot_webhook_deliveries_total{result="ignored"} 1"#,
        r#"ebmbot_webhook_deliveries_total{result="bad_signature"} 1"#,
        r#"ebmbot_slack_api_calls_total{method="chat.postMessage",result="ok"} 1"#,
        r#"ebmbot_jobs_finished_total{type="app_deploy",outcome="failed"} 1"#,
        r#"ebmbot_job_duration_seconds_bucket{type="app_deploy",le="1"} 0"#,
        r#"ebmbot_job_duration_seconds_bucket{type="app_deploy",le="5"} 1"#,
        r#"ebmbot_job_duration_seconds_bucket{type="app_deploy",le="21600"} 1"#,
        r#"ebmbot_job_duration_seconds_bucket{type="app_deploy",le="+Inf"} 1"#,
        r#"ebmbot_job_duration_seconds_sum{type="app_deploy"} 2.0"#,
        r#"ebmbot_job_duration_seconds_count{type="app_deploy"} 1"#,
        "ebmbot_queue_depth 2",
        "ebmbot_jobs_running 0",
        "# TYPE ebmbot_job_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
    }

    // Another process on the same database reports the same jobs, and its own counters.
    let other = Server::builder(JOBS).sharing(&server).start().await;
    let theirs = send(other.client.get(other.url("/metrics"))).await.text;
    assert!(theirs.contains(r#"ebmbot_jobs_finished_total{type="app_deploy",outcome="failed"} 1"#), "{theirs}");
    assert!(!theirs.contains("ebmbot_webhook_deliveries_total{"), "{theirs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_of_other_parts_are_served_beside_these() {
    let mut builder = Server::builder(JOBS);
    builder.extra_routes = Some(axum::Router::new().route("/slack/events", axum::routing::post(|| async { "events" })));
    let server = builder.start().await;
    let reply = send(server.client.post(server.url("/slack/events"))).await;
    assert_eq!((reply.status, reply.text.as_str()), (200, "events"));
    assert_eq!(send(server.client.get(server.url("/check/"))).await.text, "ok");
    assert_eq!(send(server.client.get(server.url("/nope"))).await.status, 404);
}
