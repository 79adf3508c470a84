//! Recovery: a dispatcher killed with SIGKILL while its job runs; the next dispatcher knows.

use std::time::Duration;

use crate::support::{TestEnv, alive, wait_gone};

const JOBS: &str = r#"
[r.jobs.stuck]
run_args_template = "./stuck.sh {n}"

[r.jobs.again]
run_args_template = "./stuck.sh {n}"
on_lost = "retry"
"#;

fn recovery_env() -> TestEnv {
    let env = TestEnv::new(JOBS);
    // Runs for ever the first time; a run with a marker file present finishes at once.
    env.script(
        "r",
        "stuck.sh",
        "#!/usr/bin/env bash\nif [ -e \"done-$1\" ]; then echo second run; exit 0; fi\ntouch \"done-$1\"\nsleep 300 &\necho $! > grandchild.pid\necho $$ > main.pid\nsleep 300\n",
    );
    env
}

fn pid(env: &TestEnv, file: &str) -> i32 {
    let path = env.workspace("r").join(file);
    for _ in 0..1000 {
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{file} never written");
}

#[test]
fn a_job_whose_dispatcher_was_killed_becomes_lost_and_its_processes_are_stopped() {
    let env = recovery_env();
    let id = env.schedule(&["r", "stuck", "--n", "1"]);
    let mut first = env.spawn(&["dispatch"]);
    env.wait_state(id, "running");
    let (main, grandchild) = (pid(&env, "main.pid"), pid(&env, "grandchild.pid"));
    first.kill9();
    assert!(alive(main) && alive(grandchild), "the job outlives a SIGKILLed dispatcher");
    assert_eq!(env.job(id)["state"], "running", "nobody has noticed yet");

    std::fs::write(env.workspace("r").join("done-2"), "").unwrap();
    let next = env.schedule(&["r", "stuck", "--n", "2"]);
    let out = env.cmd().args(["dispatch", "--once"]).timeout(Duration::from_secs(60)).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let job = env.job(id);
    assert_eq!(job["state"], "lost");
    let detail = job["detail"].as_str().unwrap();
    assert!(detail.starts_with("ebmbot stopped while this job was running; its logs are in "), "{detail}");
    assert!(stderr.contains(&format!("job {id} `r_stuck` ebmbot stopped while this job was running")), "{stderr}");
    assert!(wait_gone(main) && wait_gone(grandchild), "the lost job's process group was stopped");
    assert_eq!(env.job(next)["state"], "succeeded", "the type is free again");
}

#[test]
fn on_lost_retry_queues_the_job_again_once() {
    let env = recovery_env();
    let id = env.schedule(&["r", "again", "--n", "1"]);
    let mut first = env.spawn(&["dispatch"]);
    env.wait_state(id, "running");
    let main = pid(&env, "main.pid");
    first.kill9();

    env.ok(&["dispatch", "--once"]);
    assert_eq!(env.job(id)["state"], "lost");
    assert!(wait_gone(main));
    let jobs = env.json(&["queue", "list", "--all"]);
    let retry = jobs.as_array().unwrap().iter().find(|j| j["retry_of"] == id).expect("a retry");
    assert_eq!(retry["state"], "succeeded", "{retry:#}");
    assert_eq!(retry["requests"].as_array().unwrap().len(), 1, "the requests come along");
    assert_eq!(env.log(retry["id"].as_i64().unwrap(), "stdout"), "second run\n");
}

#[test]
fn a_live_dispatcher_is_never_declared_gone() {
    let env = recovery_env();
    let id = env.schedule(&["r", "stuck", "--n", "1"]);
    let mut first = env.spawn(&["dispatch"]);
    env.wait_state(id, "running");
    // Another dispatcher starts, recovers, finds nothing to settle, and leaves.
    env.ok(&["dispatch", "--once"]);
    assert_eq!(env.job(id)["state"], "running");
    env.ok(&["cancel", "--id", &id.to_string()]);
    crate::support::stop(&mut first);
}

#[test]
fn a_retry_job_cancelled_by_shutdown_is_queued_again_once() {
    let env = recovery_env();
    let id = env.schedule(&["r", "again", "--n", "1"]);
    let mut dispatcher = env.cmd_spawn_with(&["dispatch"], &[("EBMBOT_SHUTDOWN_GRACE", "100ms")]);
    env.wait_state(id, "running");
    let out = crate::support::stop(&mut dispatcher);
    assert!(out.status.success());
    let job = env.job(id);
    assert_eq!(job["state"], "cancelled");
    assert_eq!(job["detail"], "cancelled by ebmbot shut down");
    let jobs = env.json(&["queue", "list"]);
    assert_eq!(jobs[0]["retry_of"], id, "{jobs:#}");
    assert_eq!(jobs[0]["state"], "pending");
}
