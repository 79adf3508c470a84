//! Faults ebmbot must survive with a clear word and no lost row.

use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use crate::env;

#[test]
fn an_unwritable_log_directory_fails_the_job_with_the_reason() {
    let env = env();
    std::fs::write(env.path("not-a-dir"), "").unwrap();
    let id = env.schedule(&["t", "echo", "--value", "x"]);
    let out = env.cmd().args(["dispatch", "--once"]).env("LOGS_DIR", "not-a-dir/logs").output().unwrap();
    assert!(out.status.success());
    let job = env.job(id);
    assert_eq!(job["state"], "failed");
    let detail = job["detail"].as_str().unwrap();
    assert!(detail.contains("not-a-dir/logs"), "{detail}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not-a-dir/logs"));
    // The next run, with a usable directory, carries on.
    let next = env.schedule(&["t", "echo", "--value", "y"]);
    env.ok(&["dispatch", "--once"]);
    assert_eq!(env.job(next)["state"], "succeeded");
}

#[test]
fn a_database_locked_by_another_program_only_delays_a_command() {
    let env = env();
    env.ok(&["queue", "list"]);
    let mut conn = Connection::open(env.path("ebmbot.db")).unwrap();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
    let mut schedule = env.spawn(&["schedule", "t", "echo", "--value", "x"]);
    // Hold the write lock for a while (the fault being injected), then let go.
    let held = Instant::now();
    while held.elapsed() < Duration::from_millis(700) {
        assert!(schedule.try_wait().is_none(), "schedule did not wait for the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    tx.commit().unwrap();
    let out = schedule.output();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.json(&["queue", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn a_long_running_dispatcher_prunes_old_history() {
    let env = env();
    let id = env.schedule(&["t", "echo", "--value", "x"]);
    env.ok(&["dispatch", "--once"]);
    let dir = env.job(id)["log_dir"].as_str().unwrap().to_owned();
    let mut dispatcher = env.cmd_spawn_with(&["dispatch"], &[("EBMBOT_RETENTION", "1ms")]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !env.json(&["queue", "list", "--all"]).as_array().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "never pruned");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!std::path::Path::new(&dir).exists());
    crate::support::stop(&mut dispatcher);
}
