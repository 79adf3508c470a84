//! Scheduling, listing, dedupe, cancel and suppression from the terminal.

use crate::env;

#[test]
fn schedule_then_list_shows_the_job_with_every_field() {
    let env = env();
    let id = env.schedule(&["t", "echo", "--value", "Bob"]);
    let jobs = env.json(&["queue", "list"]);
    let job = &jobs[0];
    assert_eq!(job["id"], id);
    assert_eq!(job["type"], "t_echo");
    assert_eq!(job["namespace"], "t");
    assert_eq!(job["job"], "echo");
    assert_eq!(job["args"]["value"], "Bob");
    assert_eq!(job["state"], "pending");
    for field in [
        "created_at",
        "start_after",
        "started_at",
        "finished_at",
        "exit_code",
        "signal",
        "detail",
        "log_dir",
        "origin",
        "requests",
    ] {
        assert!(job.get(field).is_some(), "missing {field}");
    }
    assert!(job["started_at"].is_null() && job["exit_code"].is_null());
    assert_eq!(job["origin"]["kind"], "terminal");
    assert!(job["created_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn identical_pending_requests_merge() {
    let env = env();
    let a = env.json(&["schedule", "t", "echo", "--value", "Bob"]);
    let b = env.json(&["schedule", "t", "echo", "--value=Bob", "--delay", "1h"]);
    let c = env.json(&["schedule", "t", "echo", "--value", "Ann"]);
    assert_eq!(a["merged"], false);
    assert_eq!(b["merged"], true);
    assert_eq!(a["id"], b["id"]);
    assert_ne!(a["id"], c["id"]);
    let job = env.job(a["id"].as_i64().unwrap());
    assert_eq!(job["requests"].as_array().unwrap().len(), 2);
    assert_eq!(job["start_after"], b["start_after"], "the newest request's delay wins");
    assert_eq!(env.json(&["queue", "list"]).as_array().unwrap().len(), 2);
}

#[test]
fn the_text_output_is_a_table_and_schedule_warns_without_a_dispatcher() {
    let env = env();
    let out = env.cmd().args(["schedule", "t", "echo", "--value", "Bob"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("scheduled job 1 `t_echo`"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no dispatcher"));
    let table = env.ok(&["queue", "list"]);
    assert!(table.contains("t_echo") && table.contains("value=Bob") && table.contains("pending"), "{table}");
}

#[test]
fn cancel_pending_jobs_of_a_type() {
    let env = env();
    env.schedule(&["t", "echo", "--value", "1"]);
    env.schedule(&["t", "echo", "--value", "2"]);
    let out = env.ok(&["cancel", "t", "echo"]);
    assert!(out.contains("cancelled 2 pending job(s) of `t_echo`"), "{out}");
    assert!(env.ok(&["cancel", "t", "echo"]).contains("cancelled 0"), "N = 0 is not an error");
    let jobs = env.json(&["queue", "list", "--all"]);
    assert!(
        jobs.as_array()
            .unwrap()
            .iter()
            .all(|j| j["state"] == "cancelled" && j["detail"].as_str().unwrap().starts_with("cancelled by terminal:"))
    );
}

#[test]
fn cancel_by_id_of_a_pending_job_and_of_a_finished_one() {
    let env = env();
    let id = env.schedule(&["t", "echo", "--value", "1"]);
    let r = env.json(&["cancel", "--id", &id.to_string()]);
    assert_eq!(r["job"]["state"], "cancelled");
    let err = env.fails(2, &["cancel", "--id", &id.to_string()]);
    assert!(err.contains("already finished (cancelled)"), "{err}");
    let err = env.fails(2, &["cancel", "--id", "999"]);
    assert!(err.contains("no job has id 999"), "{err}");
}

#[test]
fn suppression_holds_jobs_until_unsuppressed() {
    let env = env();
    let s = env.json(&["suppress", "t", "echo", "--until", "+1h"]);
    assert_eq!(s["type"], "t_echo");
    let r = env.json(&["schedule", "t", "echo", "--value", "x"]);
    assert!(r["suppressed_until"].is_string(), "{r}");
    env.ok(&["dispatch", "--once"]);
    let id = r["id"].as_i64().unwrap();
    assert_eq!(env.job(id)["state"], "pending");
    let status = env.json(&["status"]);
    assert_eq!(status["suppressions"][0]["job_type"], "t_echo");
    assert!(env.ok(&["status"]).contains("t_echo"));

    assert_eq!(env.json(&["unsuppress", "t", "echo"])["removed"], 1);
    env.ok(&["dispatch", "--once"]);
    assert_eq!(env.job(id)["state"], "succeeded");
}

#[test]
fn a_future_window_does_not_hold_jobs_now() {
    let env = env();
    env.ok(&["suppress", "t", "echo", "--from", "+1h", "--until", "+2h"]);
    let id = env.schedule(&["t", "echo", "--value", "x"]);
    env.ok(&["dispatch", "--once"]);
    assert_eq!(env.job(id)["state"], "succeeded");
}

#[test]
fn status_says_nothing_is_happening_when_idle() {
    let env = env();
    assert!(env.ok(&["status"]).contains("Nothing is happening"));
    let s = env.json(&["status"]);
    assert_eq!(s["running"], serde_json::json!([]));
    assert_eq!(s["delivery"]["undelivered"], 0);
}

#[test]
fn prune_deletes_old_history_and_logs_say_so() {
    let env = env();
    let id = env.schedule(&["t", "echo", "--value", "x"]);
    env.ok(&["dispatch", "--once"]);
    let dir = env.job(id)["log_dir"].as_str().unwrap().to_owned();
    assert!(std::path::Path::new(&dir).exists());
    let r = env.json(&["queue", "prune", "--older-than", "0s"]);
    assert_eq!(r["jobs"], 1);
    assert!(!std::path::Path::new(&dir).exists(), "log dir removed");
    let err = env.fails(2, &["logs", &id.to_string()]);
    assert!(err.contains("deleted by retention"), "{err}");
}

#[test]
fn jobs_and_config_check_describe_the_catalogue() {
    let env = env();
    let jobs = env.json(&["jobs"]);
    assert_eq!(jobs[0]["name"], "t");
    let hang = jobs[0]["jobs"].as_array().unwrap().iter().find(|j| j["job"] == "hang").unwrap();
    assert_eq!(hang["timeout"], "300ms");
    let echo = jobs[0]["jobs"].as_array().unwrap().iter().find(|j| j["job"] == "echo").unwrap();
    assert_eq!(echo["timeout"], "1h", "the default timeout is shown");
    assert!(env.ok(&["jobs"]).contains("t echo [value]"));
    let check = env.json(&["config", "check"]);
    assert_eq!(check["namespaces"], 1);
    assert!(!env.path("ebmbot.db").exists(), "config check never creates the database");
}

#[test]
fn list_limit_keeps_the_newest_in_id_order_with_their_requests() {
    let env = env();
    for v in ["a", "b", "c", "d"] {
        env.schedule(&["t", "echo", "--value", v]);
    }
    env.schedule(&["t", "echo", "--value", "c"]);
    let jobs = env.json(&["queue", "list", "--limit", "2"]);
    let ids: Vec<i64> = jobs.as_array().unwrap().iter().map(|j| j["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [3, 4]);
    assert_eq!(jobs[0]["requests"].as_array().unwrap().len(), 2, "job 3 was asked for twice");
    assert_eq!(jobs[1]["requests"].as_array().unwrap().len(), 1);
}
