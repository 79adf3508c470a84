//! Several processes on one database: no job runs twice, no "database is locked".

use std::fmt::Write as _;
use std::thread;

use crate::support::TestEnv;

/// Ten job types that record which job ran.
fn recording_env() -> TestEnv {
    let mut jobs = String::new();
    for i in 0..10 {
        writeln!(jobs, "[r.jobs.j{i}]\nrun_args_template = \"echo $EBMBOT_JOB_ID >> ../../ran; true {{n}}\"").unwrap();
    }
    let env = TestEnv::new(&jobs);
    env.workspace("r");
    env
}

#[test]
fn two_dispatchers_never_run_a_job_twice() {
    const JOBS: usize = 300;
    let env = recording_env();
    // Schedule through one process per type to keep the test quick: 10 processes × 30 jobs.
    for i in 0..JOBS {
        env.ok(&["schedule", "r", &format!("j{}", i % 10), "--n", &i.to_string()]);
    }
    let a = env.spawn(&["dispatch", "--once"]);
    let b = env.spawn(&["dispatch", "--once"]);
    let (a, b) = (a.output(), b.output());
    assert!(a.status.success() && b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    // A --once dispatcher may exit while the other still runs jobs it could not claim; finish.
    env.ok(&["dispatch", "--once"]);
    let ran = std::fs::read_to_string(env.path("ran")).unwrap();
    let mut ids: Vec<i64> = ran.lines().map(|l| l.parse().unwrap()).collect();
    ids.sort_unstable();
    let expected: Vec<i64> = (1..=JOBS as i64).collect();
    assert_eq!(ids, expected, "every job ran exactly once");
}

#[test]
fn four_processes_scheduling_at_once_never_see_a_locked_database() {
    let env = recording_env();
    thread::scope(|s| {
        for p in 0..4 {
            let env = &env;
            s.spawn(move || {
                for i in 0..25 {
                    let out = env.run(&["schedule", "r", &format!("j{p}"), "--n", &i.to_string()]);
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    assert!(out.status.success(), "{stderr}");
                    assert!(!stderr.contains("locked"), "{stderr}");
                }
            });
        }
    });
    assert_eq!(env.json(&["queue", "list"]).as_array().unwrap().len(), 100);
}
