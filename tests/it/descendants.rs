//! A job's descendants are stopped with it, however they left its process group — `setsid`, a
//! double fork, `nohup`, one that ignores SIGTERM — when it ends, times out, is cancelled, or is
//! found lost after its dispatcher was killed (docs/security.md §4). Each job starts one such
//! process and waits until it has written its pid; the test then checks it is gone.

use std::time::Duration;

use crate::support::{TestEnv, alive, stop, wait_gone};

const JOBS: &str = r#"
[e.jobs.leave]
run_args_template = "./leave.sh {how}"

[e.jobs.leave_and_stay]
run_args_template = "./leave.sh {how}; echo staying; sleep 300"

[e.jobs.leave_and_stop_the_reaper]
run_args_template = "./leave.sh {how}; kill -STOP $PPID; sleep 300"
timeout = "300ms"

[e.jobs.leave_and_hang]
run_args_template = "./leave.sh {how}; sleep 300"
timeout = "300ms"
"#;

/// Starts a process that leaves the job in the way `$1` says, waits for its pid file.
const LEAVE: &str = r#"#!/usr/bin/env bash
rm -f "$1.pid"
case "$1" in
  setsid)   setsid bash -c 'echo $$ > setsid.pid; exec sleep 300' </dev/null >/dev/null 2>&1 & ;;
  double)   ( (bash -c 'echo $$ > double.pid; exec sleep 300' </dev/null >/dev/null 2>&1 &) & ) ;;
  nohup)    nohup bash -c 'echo $$ > nohup.pid; exec sleep 300' </dev/null >/dev/null 2>&1 & ;;
  stubborn) setsid bash -c 'trap "" TERM; echo $$ > stubborn.pid; exec sleep 300' </dev/null >/dev/null 2>&1 & ;;
  setsid_double) ( (setsid bash -c 'echo $$ > setsid_double.pid; exec sleep 300' </dev/null >/dev/null 2>&1 &) & ) ;;
esac
until [ -s "$1.pid" ]; do sleep 0.01; done
echo "left: $1"
"#;

const WAYS: [&str; 5] = ["setsid", "double", "nohup", "stubborn", "setsid_double"];

fn leave_env() -> TestEnv {
    let env = TestEnv::new(JOBS);
    env.script("e", "leave.sh", LEAVE);
    env
}

fn pid(env: &TestEnv, how: &str) -> i32 {
    let text = std::fs::read_to_string(env.workspace("e").join(format!("{how}.pid"))).expect("pid file");
    text.trim().parse().expect("a pid")
}

/// Waits until job `id` has started its escapee and says so.
fn wait_staying(env: &TestEnv, id: i64) {
    env.wait_for(id, "staying", |job| {
        job["log_dir"].as_str().is_some_and(|dir| {
            std::fs::read_to_string(std::path::Path::new(dir).join("stdout")).is_ok_and(|out| out.contains("staying"))
        })
    });
}

#[test]
fn what_a_job_leaves_behind_is_stopped_when_it_ends() {
    let env = leave_env();
    for how in WAYS {
        let out = env.ok(&["run", "e", "leave", "--how", how]);
        assert_eq!(out, format!("left: {how}\n"));
        let escaped = pid(&env, how);
        // `run` returns once the job's subreaper has stopped and reaped everything under it.
        assert!(!alive(escaped), "{how}: process {escaped} outlived its job");
    }
}

#[test]
fn what_a_job_leaves_behind_is_stopped_when_it_times_out() {
    let env = leave_env();
    for how in ["setsid", "stubborn"] {
        let out = env.run(&["run", "e", "leave_and_hang", "--how", how]);
        assert_eq!(out.status.code(), Some(124), "{}", String::from_utf8_lossy(&out.stderr));
        let escaped = pid(&env, how);
        assert!(!alive(escaped), "{how}: process {escaped} outlived its job's timeout");
    }
}

#[test]
fn a_job_that_stops_its_reaper_still_loses_what_it_left() {
    // SIGSTOP freezes the reaper, but its tree stays whole: the dispatcher's SIGKILL, after the
    // kill grace and the reaper's margin, walks it.
    let env = leave_env();
    let out = env.run(&["run", "e", "leave_and_stop_the_reaper", "--how", "stubborn"]);
    assert_eq!(out.status.code(), Some(124), "{}", String::from_utf8_lossy(&out.stderr));
    let escaped = pid(&env, "stubborn");
    assert!(!alive(escaped), "process {escaped} outlived its job");
}

#[test]
fn what_a_job_leaves_behind_is_stopped_when_it_is_cancelled() {
    let env = leave_env();
    let mut dispatcher = env.spawn(&["dispatch"]);
    let ids: Vec<(&str, i64)> =
        ["setsid", "double", "nohup"].map(|how| (how, env.schedule(&["e", "leave_and_stay", "--how", how]))).into();
    for (how, id) in ids {
        wait_staying(&env, id);
        let escaped = pid(&env, how);
        assert!(alive(escaped));
        env.ok(&["cancel", "--id", &id.to_string()]);
        assert_eq!(env.wait_state(id, "cancelled")["state"], "cancelled");
        assert!(wait_gone(escaped), "{how}: process {escaped} outlived its job's cancellation");
    }
    let out = stop(&mut dispatcher);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn what_a_lost_job_left_behind_is_stopped_by_recovery() {
    let env = leave_env();
    let id = env.schedule(&["e", "leave_and_stay", "--how", "stubborn"]);
    let mut first = env.spawn(&["dispatch"]);
    wait_staying(&env, id);
    let escaped = pid(&env, "stubborn");
    first.kill9();
    assert!(alive(escaped), "the job and what it started outlive a SIGKILLed dispatcher");

    let out = env.cmd().args(["dispatch", "--once"]).timeout(Duration::from_secs(60)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.job(id)["state"], "lost");
    assert!(wait_gone(escaped), "process {escaped}, which left the lost job's group, was stopped");
}
