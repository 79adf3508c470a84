//! `ebmbot run`: foreground jobs and their exit codes.

use crate::env;
use crate::support::{TestEnv, stop, wait_until};

#[test]
fn run_streams_output_and_exits_with_the_job_code() {
    let env = env();
    let out = env.run(&["run", "t", "echo", "--value", "live"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "live");

    let out = env.run(&["run", "t", "fail"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("oops"));

    assert_eq!(env.run(&["run", "t", "hang"]).status.code(), Some(124));
    assert_eq!(env.run(&["run", "t", "nocmd"]).status.code(), Some(127));

    let jobs = env.json(&["queue", "list", "--all"]);
    assert_eq!(jobs.as_array().unwrap().len(), 4, "run records its jobs");
    assert_eq!(jobs[0]["state"], "succeeded");
}

#[test]
fn run_exit_code_for_a_signal_is_128_plus_n() {
    let env = TestEnv::new("[k.jobs.die]\nrun_args_template = \"kill -9 $$\"\n");
    env.workspace("k");
    assert_eq!(env.run(&["run", "k", "die"]).status.code(), Some(137));
}

#[test]
fn run_refuses_a_suppressed_type_unless_forced() {
    let env = env();
    env.ok(&["suppress", "t", "echo", "--until", "+1h"]);
    let err = env.fails(2, &["run", "t", "echo", "--value", "x"]);
    assert!(err.contains("suppressed until") && err.contains("--force"), "{err}");
    assert_eq!(env.run(&["run", "t", "echo", "--value", "x", "--force"]).status.code(), Some(0));
}

#[test]
fn run_is_cancelled_by_sigterm_with_130() {
    let env = env();
    let mut run = env.spawn(&["run", "t", "slow", "--seconds", "30"]);
    let id = wait_until("`run` to insert its job", || {
        let jobs = env.json(&["queue", "list"]);
        jobs.as_array().unwrap().iter().find(|j| j["state"] == "running").and_then(|j| j["id"].as_i64())
    });
    // The process group is recorded with the log dir, just after the row is inserted.
    env.wait_for(id, "started", |j| j["log_dir"].is_string());
    let out = stop(&mut run);
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.job(id)["state"], "cancelled");
}

/// A job that runs until the test creates `release` in its directory (or 60 s pass).
const GATE: &str = "
[g.jobs.gate]
run_args_template = \"while [ ! -e release ]; do sleep 0.01; done\"
timeout = \"60s\"
";

#[test]
fn run_waits_for_a_running_job_of_its_type() {
    let env = TestEnv::new(GATE);
    let release = env.workspace("g").join("release");
    let mut dispatcher = env.spawn(&["dispatch"]);
    let id = env.schedule(&["g", "gate"]);
    env.wait_state(id, "running");

    let mut run = env.spawn(&["run", "g", "gate"]);
    run.stderr_lines().wait_for(&format!("waiting for job {id}"));
    std::fs::write(&release, "").unwrap();
    let out = run.output();
    assert!(out.status.success(), "{out:?}");

    let first = env.job(id);
    let jobs = env.json(&["queue", "list", "--all"]);
    let second = jobs.as_array().unwrap().iter().find(|j| j["id"] != id).unwrap();
    assert!(second["started_at"].as_str() >= first["finished_at"].as_str());
    stop(&mut dispatcher);
}

#[test]
fn run_is_stopped_by_cancel_id_from_another_terminal() {
    let env = env();
    let run = env.spawn(&["run", "t", "slow", "--seconds", "30"]);
    let id = wait_until("`run` to start its job", || {
        let jobs = env.json(&["queue", "list"]);
        jobs.as_array().unwrap().iter().find(|j| j["log_dir"].is_string()).map(|job| job["id"].as_i64().unwrap())
    });
    env.ok(&["cancel", "--id", &id.to_string()]);
    let job = env.wait_state(id, "cancelled");
    assert!(job["detail"].as_str().unwrap().starts_with("cancelled by terminal:"), "{job}");
    assert_eq!(run.output().status.code(), Some(130));
}

/// Issue 9, item 1: a project's own webhook secret (`github_secret`) is ebmbot's, not its jobs'.
#[test]
fn a_job_sees_no_project_webhook_secret() {
    let env = TestEnv::new(
        r#"
[site]
github_secret = "SITE_HOOK_SECRET"
github_repository = "octo-org/octo-repo"
[site.jobs.deploy]
run_args_template = "env"

[other.jobs.show]
run_args_template = "env"
"#,
    );
    let secret_file = env.path("site-hook-secret");
    std::fs::write(&secret_file, "file-hook-secret-value\n").unwrap();
    for (ns, job) in [("site", "deploy"), ("other", "show")] {
        let out = env
            .cmd()
            .args(["run", ns, job])
            .env("SITE_HOOK_SECRET", "env-hook-secret-value")
            .env("SITE_HOOK_SECRET_FILE", &secret_file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let seen = String::from_utf8_lossy(&out.stdout);
        assert!(seen.contains("PATH="), "{seen}");
        assert!(!seen.contains("SITE_HOOK_SECRET"), "{ns}: {seen}");
        assert!(!seen.contains("hook-secret-value"), "{ns}: {seen}");
    }
}
