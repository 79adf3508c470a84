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

/// The dispatcher survives an error of the queue anywhere in its loop, not only while claiming:
/// here writing a job's outcome fails (a trigger stands in for a disk or lock fault). The
/// dispatcher says so, with the cause, keeps the outcome, writes it once the fault is gone, and
/// carries on with new work.
#[test]
fn a_dispatcher_survives_a_failing_write_of_an_outcome_and_loses_nothing() {
    let env = env();
    env.ok(&["queue", "list"]);
    let conn = Connection::open(env.path("ebmbot.db")).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER fault BEFORE UPDATE OF state ON jobs WHEN NEW.state NOT IN ('pending', 'running')
         BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
    )
    .unwrap();
    let mut dispatcher = env.spawn(&["dispatch"]);
    let id = env.schedule(&["t", "echo", "--value", "x"]);
    env.wait_state(id, "running");
    // The job has ended (its log is complete) but its outcome cannot be written.
    let deadline = Instant::now() + Duration::from_secs(20);
    while env.log(id, "stdout") != "x" {
        assert!(Instant::now() < deadline, "the job never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(dispatcher.try_wait().is_none(), "the dispatcher died of the fault");
    assert_eq!(env.job(id)["state"], "running");
    conn.execute_batch("DROP TRIGGER fault").unwrap();
    env.wait_state(id, "succeeded");
    let next = env.schedule(&["t", "echo", "--value", "y"]);
    env.wait_state(next, "succeeded");
    let out = crate::support::stop(&mut dispatcher);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("queue error, retrying in 1s") && stderr.contains("injected fault"), "{stderr}");
}
