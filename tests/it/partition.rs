//! A network partition (PostgreSQL only: SQLite is one host's file). Two dispatchers as two
//! hosts; `host-a` reaches PostgreSQL through a proxy the test cuts while a job runs there.
//! `host-a` must stop its job before its lease ends, `host-b` declare it lost only after the
//! lease and run it again (`on_lost = "retry"`), and no two runs may ever overlap: every run
//! appends its start and end times to a file, which the test reads. Both deliver to a fake
//! Slack: each run's start notice is posted once.

use std::net::ToSocketAddrs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::fake_slack::Fake;
use crate::support::proxy::Proxy;
use crate::support::slack::text;
use crate::support::{TestEnv, stop, wait_until};

const JOBS: &str = r#"
[p.jobs.deploy]
run_args_template = "./deploy.sh"
on_lost = "retry"
"#;

/// The first run lasts until stopped (saying when it ends); the next ones a moment.
const DEPLOY: &str = r#"#!/usr/bin/env bash
echo "start $(date +%s%N) $EBMBOT_JOB_ID" >> runs.log
if [ ! -e first-ran ]; then
  touch first-ran
  trap 'echo "end $(date +%s%N) $EBMBOT_JOB_ID" >> runs.log; exit 143' TERM
  sleep 120 & wait
fi
sleep 0.2
echo "end $(date +%s%N) $EBMBOT_JOB_ID" >> runs.log
"#;

/// Two hosts' settings: a lease as short as `EBMBOT_KILL_GRACE` (200ms) allows.
const LEASE: &str = "9s";

fn refs<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

/// (start, end, job id) of each run, in the order they started.
fn runs(env: &TestEnv) -> Vec<(u128, Option<u128>, String)> {
    let text = std::fs::read_to_string(env.workspace("p").join("runs.log")).unwrap_or_default();
    let mut runs: Vec<(u128, Option<u128>, String)> = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        let (at, job) = (parts[1].parse().unwrap(), parts[2].to_owned());
        if parts[0] == "start" {
            runs.push((at, None, job));
        } else {
            // A run's last word counts: a TERM delivered twice runs the trap twice, and the
            // later line shows the run was still alive then.
            let run = runs.iter_mut().rev().find(|r| r.2 == job).expect("a run to end");
            run.1 = Some(run.1.map_or(at, |end| end.max(at)));
        }
    }
    runs
}

#[test]
fn a_dispatcher_cut_off_stops_its_job_before_its_lease_ends_and_the_other_host_runs_it_once() {
    let env = TestEnv::new(JOBS);
    env.script("p", "deploy.sh", DEPLOY);
    let url = env.db();
    let server = url.split('@').nth(1).and_then(|rest| rest.split('/').next()).expect("host:port in the URL");
    let proxy = Proxy::start(server.to_socket_addrs().unwrap().next().unwrap());
    let proxied = url.replace(server, &proxy.addr.to_string());
    let slack = Fake::start();
    slack.add_channel(serde_json::json!({"id": "CLOGS", "name": "ebmbot-logs"}));
    let host = |id: &str| {
        vec![
            ("EBMBOT_HOST_ID", id.to_owned()),
            ("EBMBOT_LEASE", LEASE.to_owned()),
            ("SLACK_BOT_TOKEN", "xoxb-test-token".to_owned()),
            ("SLACK_API_URL", slack.url.clone()),
            ("SLACK_LOGS_CHANNEL", "CLOGS".to_owned()),
        ]
    };
    let (mut a_vars, b_vars) = (host("host-a"), host("host-b"));
    a_vars.push(("EBMBOT_DB", proxied));
    let mut a = env.cmd_spawn_with(&["dispatch"], &refs(&a_vars));
    let id = env.schedule(&["p", "deploy"]);
    wait_until("the first run to start on host-a", || (runs(&env).len() == 1).then_some(()));
    let mut b = env.cmd_spawn_with(&["dispatch"], &refs(&b_vars));

    // The first run's start notice is posted and its delivery recorded before the cut: a cut
    // between Slack's answer and that record would have it posted again after the deliverer's
    // lease (the at-least-once window, docs/architecture.md §4).
    slack.wait("the first start notice", |f| {
        f.posts().iter().any(|p| text(p).contains("about to start (job 1)")).then_some(())
    });
    wait_until("its delivery recorded", || (env.json(&["status"])["delivery"]["undelivered"] == 0).then_some(()));
    proxy.cut();
    let cut_at = now_ns();
    let lost = env.wait_state(id, "lost");
    let detail = lost["detail"].as_str().unwrap();
    assert!(detail.starts_with("its dispatcher on host `host-a` stopped renewing its lease"), "{detail}");
    wait_until("the retry to finish on host-b", || {
        let runs = runs(&env);
        (runs.len() == 2 && runs[1].1.is_some()).then_some(())
    });
    let runs = runs(&env);
    let first_end = runs[0].1.expect("host-a stopped its run (its TERM trap wrote the end)");
    let lease = Duration::from_secs(9).as_nanos();
    assert!(first_end < cut_at + lease, "host-a stopped its job {} ms after the cut", (first_end - cut_at) / 1_000_000);
    assert!(first_end < runs[1].0, "the runs overlap: {runs:?}");
    let retry = env.json(&["queue", "list", "--all"]);
    let retry = retry.as_array().unwrap().iter().find(|j| j["retry_of"] == id).expect("a retry").clone();
    assert_eq!(retry["state"], "succeeded", "{retry:#}");

    let retry_id = retry["id"].as_i64().unwrap();
    let starts = |job: i64| {
        let notice = format!("about to start (job {job})");
        slack.posts().iter().filter(|p| text(p).contains(&notice)).count()
    };
    slack.wait("the retry's start notice", |_| (starts(retry_id) == 1).then_some(()));

    // The partition heals: host-a learns that its job was taken, registers again, runs nothing twice.
    proxy.heal();
    let deadline = std::time::Instant::now() + crate::support::DEADLINE;
    while env.json(&["status"])["dispatchers"].as_array().is_none_or(|d| !d.iter().any(|d| d["host"] == "host-a")) {
        if std::time::Instant::now() > deadline {
            let a_out = stop(&mut a);
            panic!("host-a did not register again; its log:\n{}", String::from_utf8_lossy(&a_out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(self::runs(&env).len(), 2, "nothing ran a third time");
    assert_eq!(env.job(id)["state"], "lost", "host-a's late record changes nothing");
    assert_eq!((starts(id), starts(retry_id)), (1, 1), "each start notice posted once: {:#?}", slack.posts());
    let a_out = stop(&mut a);
    let a_err = String::from_utf8_lossy(&a_out.stderr);
    assert!(a_err.contains("stopping its jobs before the lease ends"), "{a_err}");
    stop(&mut b);
}
