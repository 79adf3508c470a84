//! Several hosts on one queue (docs/postgres.md, "Several hosts"): a job of a dispatcher on
//! another host is lost only once that dispatcher's lease has ended, and its output can be read
//! from any host. (The partition itself, through a TCP proxy: `partition.rs`, PostgreSQL only.)

use std::time::Duration;

use ebmbot::queue::model::{DispatcherId, JobId};
use ebmbot::queue::{NewDispatcher, Options, Queue};
use jiff::Timestamp;

use crate::support::TestEnv;

const JOBS: &str = r#"
[h.jobs.work]
run_args_template = "./work.sh"
on_lost = "retry"
"#;

fn hosts_env() -> TestEnv {
    let env = TestEnv::new(JOBS);
    env.script("h", "work.sh", "#!/usr/bin/env bash\necho ran here\n");
    env
}

/// Registers a dispatcher of host `other-host` whose lease (1 min) was renewed `ago`, and has it
/// claim `job`, as that host would have.
fn claimed_by_another_host(env: &TestEnv, job: i64, ago: Duration) -> DispatcherId {
    let mut queue = Queue::open(env.location(), Options::default()).expect("open the queue");
    let other = NewDispatcher {
        kind: "dispatch".into(),
        host: "other-host".into(),
        boot_id: "another-boot".into(),
        pid: 1,
        pid_start: 1,
        timezone: "UTC".into(),
        lease: Duration::from_secs(60),
    };
    let then = Timestamp::now() - ago;
    let id = queue.register_dispatcher(&other, then).expect("register");
    let claimed = queue.claim(id, then, Timestamp::now(), 8).expect("claim").expect("a job to claim");
    assert_eq!(claimed.id, JobId(job));
    id
}

#[test]
fn a_job_of_a_host_whose_lease_ended_is_lost_then_run_here() {
    let env = hosts_env();
    let id = env.schedule(&["h", "work"]);
    claimed_by_another_host(&env, id, Duration::from_secs(120));
    env.ok(&["dispatch", "--once"]);
    let lost = env.job(id);
    assert_eq!(lost["state"], "lost", "{lost:#}");
    let detail = lost["detail"].as_str().unwrap();
    assert!(detail.starts_with("its dispatcher on host `other-host` stopped renewing its lease"), "{detail}");
    let jobs = env.json(&["queue", "list", "--all"]);
    let retry = jobs.as_array().unwrap().iter().find(|j| j["retry_of"] == id).expect("a retry");
    assert_eq!(retry["state"], "succeeded", "{retry:#}");
    let statuses = env.json(&["status"]);
    assert!(!statuses.to_string().contains("other-host"), "the gone host's dispatcher is forgotten: {statuses:#}");
}

#[test]
fn a_job_of_another_host_within_its_lease_is_left_running() {
    let env = hosts_env();
    let id = env.schedule(&["h", "work"]);
    claimed_by_another_host(&env, id, Duration::from_secs(10));
    env.ok(&["dispatch", "--once"]);
    assert_eq!(env.job(id)["state"], "running", "its host may still be running it");
}

#[test]
fn logs_of_a_job_run_on_another_host_come_from_the_queue() {
    let env = hosts_env();
    env.script("h", "work.sh", "#!/usr/bin/env bash\nfor i in $(seq 1 50); do echo line $i; done\necho oops >&2\n");
    let id = env.schedule(&["h", "work"]);
    // The default on PostgreSQL; SQLite's queue is one host's, and keeps none unless told.
    env.cmd().env("EBMBOT_DB_LOG_MAX", "1MB").args(["dispatch", "--once"]).assert().success();
    env.wait_state(id, "succeeded");
    // This "host" has no log files: they were on the host that ran the job.
    let dir = env.job(id)["log_dir"].as_str().unwrap().to_owned();
    std::fs::remove_dir_all(&dir).unwrap();
    let out = env.ok(&["logs", &id.to_string()]);
    assert!(out.contains("line 1\n") && out.contains("line 50\n"), "{out}");
    let tail = env.ok(&["logs", &id.to_string(), "--tail", "2"]);
    assert_eq!(tail.lines().filter(|l| l.starts_with("line")).count(), 2, "{tail}");
    let stderr = env.ok(&["logs", &id.to_string(), "--stderr"]);
    assert!(stderr.contains("oops"), "{stderr}");
    let followed = env.ok(&["logs", &id.to_string(), "--follow"]);
    assert!(followed.contains("line 50\n"), "{followed}");
}

#[test]
fn only_the_end_of_a_long_output_is_kept_in_the_queue() {
    let env = hosts_env();
    env.script("h", "work.sh", "#!/usr/bin/env bash\nfor i in $(seq 1 5000); do echo line $i; done\n");
    let id = env.schedule(&["h", "work"]);
    env.cmd().env("EBMBOT_DB_LOG_MAX", "1KiB").args(["dispatch", "--once"]).assert().success();
    let dir = env.job(id)["log_dir"].as_str().unwrap().to_owned();
    std::fs::remove_dir_all(&dir).unwrap();
    let out = env.ok(&["logs", &id.to_string()]);
    assert!(out.contains("line 5000\n"), "{out}");
    assert!(!out.contains("line 1\n") && out.len() <= 1024 + 200, "{} bytes: {out}", out.len());
}
