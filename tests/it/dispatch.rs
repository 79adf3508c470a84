//! The dispatcher: running jobs, one at a time per type, timeouts, cancellation, logs.

use crate::env;
use crate::support::{alive, stop, wait_gone, wait_until};

#[test]
fn dispatch_once_runs_due_jobs_and_leaves_delayed_ones() {
    let env = env();
    let now = env.schedule(&["t", "echo", "--value", "hello"]);
    let later = env.schedule(&["t", "echo", "--value", "later", "--delay", "1h"]);
    let out = env.cmd().args(["dispatch", "--once"]).output().unwrap();
    assert!(out.status.success());
    let job = env.job(now);
    assert_eq!(job["state"], "succeeded");
    assert_eq!(job["exit_code"], 0);
    assert_eq!(env.log(now, "stdout"), "hello");
    assert_eq!(env.job(later)["state"], "pending");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("job {now} `t_echo` succeeded")), "{stderr}");
}

#[test]
fn one_job_per_type_at_a_time_followers_run_after() {
    let env = env();
    // Same type, different args: not merged, so they queue behind each other.
    let env_ids: Vec<i64> = (0..3).map(|i| env.schedule(&["t", "slow", "--seconds", &format!("0.{i}")])).collect();
    let other = env.schedule(&["t", "echo", "--value", "x"]);
    env.ok(&["dispatch", "--once"]);
    let jobs: Vec<_> = env_ids.iter().map(|id| env.job(*id)).collect();
    for pair in jobs.windows(2) {
        assert_eq!(pair[1]["state"], "succeeded");
        assert!(pair[1]["started_at"].as_str() >= pair[0]["finished_at"].as_str(), "overlap: {pair:#?}");
    }
    assert_eq!(env.job(other)["state"], "succeeded");
}

#[test]
fn failures_keep_their_exit_code_and_stderr() {
    let env = env();
    let id = env.schedule(&["t", "fail"]);
    env.ok(&["dispatch", "--once"]);
    let job = env.job(id);
    assert_eq!(job["state"], "failed");
    assert_eq!(job["exit_code"], 3);
    assert_eq!(env.log(id, "stderr"), "oops\n");
    assert_eq!(env.ok(&["logs", &id.to_string(), "--stderr"]), "oops\n");
}

#[test]
fn a_command_that_is_not_found_fails_and_the_dispatcher_carries_on() {
    let env = env();
    let bad = env.schedule(&["t", "nocmd"]);
    let good = env.schedule(&["t", "echo", "--value", "after"]);
    env.ok(&["dispatch", "--once"]);
    assert_eq!(env.job(bad)["state"], "failed");
    assert_eq!(env.job(bad)["exit_code"], 127);
    assert!(env.log(bad, "stderr").contains("command not found"));
    assert_eq!(env.job(good)["state"], "succeeded");
}

#[test]
fn a_workspace_removed_while_the_job_waits_fails_it_with_the_reason() {
    let env = env();
    let mut dispatcher = env.spawn(&["dispatch"]);
    // Wait until the dispatcher has loaded jobs.toml (it registers in the queue).
    wait_until("the dispatcher to register", || {
        (!env.json(&["status"])["dispatchers"].as_array().unwrap().is_empty()).then_some(())
    });
    std::fs::remove_dir_all(env.workspace("t")).unwrap();
    let id = env.schedule(&["t", "echo", "--value", "x"]);
    let job = env.wait_for(id, "finished", |j| j["finished_at"].is_string());
    assert_eq!(job["state"], "failed");
    assert!(env.log(id, "stderr").contains("workspace directory"), "{}", env.log(id, "stderr"));
    assert!(env.log(id, "stderr").contains("is missing"));
    let after = env.schedule(&["t", "fail"]);
    env.wait_for(after, "finished", |j| j["finished_at"].is_string());
    let out = stop(&mut dispatcher);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_timeout_stops_the_whole_process_group() {
    let env = env();
    let id = env.schedule(&["t", "hang"]);
    env.ok(&["dispatch", "--once"]);
    let job = env.job(id);
    assert_eq!(job["state"], "timed_out");
    assert_eq!(job["detail"], "timed out after 300ms");
    let pid: i32 = std::fs::read_to_string(env.workspace("t").join("grandchild.pid")).unwrap().trim().parse().unwrap();
    assert!(wait_gone(pid), "grandchild {pid} survived the timeout");
}

#[test]
fn hostile_values_reach_the_job_as_one_literal_argument() {
    let env = env();
    let long = "x".repeat(100_000);
    let values =
        ["; rm -rf ~", "$(id)", "`id`", "it's \"quoted\"", "line1\nline2", "héllo wörld ✓", "-n", "", long.as_str()];
    let ids: Vec<i64> = values.iter().map(|v| env.schedule(&["t", "args", &format!("--value={v}")])).collect();
    env.ok(&["dispatch", "--once"]);
    for (id, value) in ids.iter().zip(values) {
        assert_eq!(env.job(*id)["state"], "succeeded");
        assert_eq!(env.log(*id, "stdout"), format!("1\n{value}"), "value {:?}", &value[..value.len().min(20)]);
    }
}

#[test]
fn the_job_environment_has_ebmbot_variables_and_no_secrets() {
    let env = env();
    let id = env.schedule(&["t", "env"]);
    env.cmd()
        .args(["dispatch", "--once"])
        .env("SLACK_BOT_TOKEN", "xoxb-secret-token")
        .env("GITHUB_WEBHOOK_SECRET", "gh-secret")
        .assert()
        .success();
    let vars = env.log(id, "stdout");
    assert!(!vars.contains("xoxb-secret-token") && !vars.contains("gh-secret"), "secrets leaked");
    assert!(vars.contains(&format!("EBMBOT_JOB_ID={id}\n")));
    assert!(vars.contains("EBMBOT_JOB_TYPE=t_env\n"));
    assert!(vars.contains("EBMBOT_REQUESTED_BY=terminal:"));
    let ws = env.root.join("workspace");
    assert!(vars.contains(&format!("PYTHONPATH={}:{}\n", env.root.display(), ws.display())), "{vars}");
}

#[test]
fn cancel_by_id_stops_a_running_job() {
    let env = env();
    let mut dispatcher = env.spawn(&["dispatch"]);
    let id = env.schedule(&["t", "slow", "--seconds", "30"]);
    let job = env.wait_state(id, "running");
    assert!(job["started_at"].is_string());
    let r = env.json(&["cancel", "--id", &id.to_string()]);
    assert_eq!(r["job"]["state"], "cancelled", "{r:#}");
    assert!(r["job"]["detail"].as_str().unwrap().starts_with("cancelled by terminal:"));
    let out = stop(&mut dispatcher);
    assert!(out.status.success());
}

#[test]
fn a_running_dispatcher_picks_up_new_jobs_and_stops_on_sigterm() {
    let env = env();
    let mut dispatcher = env.spawn(&["dispatch"]);
    let ids: Vec<i64> = (0..5).map(|i| env.schedule(&["t", "echo", "--value", &i.to_string()])).collect();
    for id in &ids {
        env.wait_state(*id, "succeeded");
    }
    let pid = i32::try_from(dispatcher.id()).unwrap();
    let out = stop(&mut dispatcher);
    assert!(out.status.success());
    assert!(!alive(pid));
    assert!(env.json(&["status"])["dispatchers"].as_array().unwrap().is_empty(), "unregistered on exit");
}

#[test]
fn shutdown_waits_for_running_jobs_then_cancels_them() {
    let env = env();
    let mut dispatcher = env.cmd_spawn_with(&["dispatch"], &[("EBMBOT_SHUTDOWN_GRACE", "300ms")]);
    let id = env.schedule(&["t", "slow", "--seconds", "30"]);
    env.wait_state(id, "running");
    let out = stop(&mut dispatcher);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let job = env.job(id);
    assert_eq!(job["state"], "cancelled");
    assert_eq!(job["detail"], "cancelled by ebmbot shut down");
}

#[test]
fn logs_head_tail_and_follow() {
    let env = env();
    let id = env.schedule(&["t", "args", "--value", "a\nb\nc"]);
    env.ok(&["dispatch", "--once"]);
    let sid = id.to_string();
    assert_eq!(env.ok(&["logs", &sid]), "1\na\nb\nc");
    assert_eq!(env.ok(&["logs", &sid, "--head", "2"]), "1\na\n");
    assert_eq!(env.ok(&["logs", &sid, "--tail", "1"]), "c");
    assert_eq!(env.ok(&["logs", &sid, "--tail"]), "1\na\nb\nc");
    assert_eq!(env.ok(&["logs", &sid, "--follow"]), "1\na\nb\nc", "a finished job is printed whole");

    // A pending job: --follow waits for it to start and ends when it finishes.
    let pending = env.schedule(&["t", "args", "--value", "followed"]).to_string();
    let follower = env.spawn(&["logs", &pending, "--follow"]);
    env.ok(&["dispatch", "--once"]);
    let out = follower.output();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\nfollowed");
}

/// A fabfile whose server does not answer (the fault injected) holds up no other job: the other
/// job finishes while the fetch is still waiting; then the server answers, and the fabfile job
/// runs with the fetched file.
#[test]
fn a_slow_fabfile_fetch_holds_up_no_other_job() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (release, released) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            // Answer once the test says so (or it has given up).
            let _ = released.recv_timeout(crate::support::DEADLINE);
            let body = "print('fetched')\n";
            let _ =
                write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    let jobs = format!(
        "{}\n[fab]\nfabfile = \"http://127.0.0.1:{port}/fabfile.py\"\n\n[fab.jobs.show]\nrun_args_template = \"cat fabfile.py\"\n",
        crate::JOBS
    );
    let env = crate::support::TestEnv::new(&jobs);
    env.workspace("t");
    let fab = env.schedule(&["fab", "show"]);
    let echo = env.schedule(&["t", "echo", "--value", "meanwhile"]);
    let dispatcher = env.spawn(&["dispatch", "--once"]);
    env.wait_state(echo, "succeeded");
    assert_eq!(env.job(fab)["state"], "running", "the fetch is still waiting for its answer");
    release.send(()).unwrap();
    let out = dispatcher.output();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(env.job(fab)["state"], "succeeded", "{:#}", env.job(fab));
    assert_eq!(env.log(fab, "stdout"), "print('fetched')\n");
}

/// SIGHUP re-reads `jobs.toml`: a job added to the file runs; an invalid file is refused with
/// its reason and the catalogue in use is kept.
#[test]
fn sighup_reloads_jobs_toml_and_keeps_the_old_one_when_the_new_is_invalid() {
    let env = env();
    let mut dispatcher = env.spawn(&["dispatch"]);
    let mut stderr = dispatcher.stderr_lines();
    let hup = || {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(dispatcher.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    };
    wait_until("the dispatcher to register", || {
        (!env.json(&["status"])["dispatchers"].as_array().unwrap().is_empty()).then_some(())
    });

    let jobs = format!("{}\n[t.jobs.added]\nrun_args_template = \"echo added\"\n", crate::JOBS);
    std::fs::write(env.path("jobs.toml"), &jobs).unwrap();
    hup();
    stderr.wait_for("SIGHUP: reloaded");
    let added = env.schedule(&["t", "added"]);
    assert_eq!(env.wait_state(added, "succeeded")["state"], "succeeded");

    std::fs::write(env.path("jobs.toml"), format!("{jobs}\n[t.jobs.broken]\n")).unwrap();
    hup();
    assert!(stderr.wait_for("SIGHUP:").contains("keeping the previous jobs.toml"), "{}", stderr.seen());
    std::fs::write(env.path("jobs.toml"), &jobs).unwrap();
    let again = env.schedule(&["t", "added"]);
    env.wait_state(again, "succeeded");
    stop(&mut dispatcher);
}

/// Issue 10: a dispatcher sleeps until the queue changes (inotify on SQLite's WAL, LISTEN/NOTIFY
/// on PostgreSQL). With the slow poll at an hour, jobs that other processes schedule still run
/// one after another, a `cancel` from another process (itself woken when the job stops) still
/// stops a running job, SIGTERM still stops the dispatcher, and on PostgreSQL a listening
/// connection the server kills is made again and the dispatcher woken for what it missed.
#[test]
fn a_dispatcher_wakes_on_other_processes_writes_without_the_slow_poll() {
    const HOUR: (&str, &str) = ("EBMBOT_WAKE_POLL", "1h");
    let env = env();
    let mut dispatcher = env.cmd_spawn_with(&["dispatch"], &[HOUR]);
    for i in 0..3 {
        let id = env.schedule(&["t", "echo", "--value", &i.to_string()]);
        env.wait_state(id, "succeeded");
    }
    let slow = env.schedule(&["t", "slow", "--seconds", "30"]);
    env.wait_state(slow, "running");
    let out = env.cmd().env(HOUR.0, HOUR.1).args(["cancel", "--id", &slow.to_string(), "--json"]).output().unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(r["job"]["state"], "cancelled", "{r:#}");
    if let Some(pg) = &env.pg {
        kill_listeners(&pg.url);
        let id = env.schedule(&["t", "echo", "--value", "after"]);
        env.wait_state(id, "succeeded");
    }
    let out = stop(&mut dispatcher);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Kills the connections listening for queue changes on the test's PostgreSQL database (the
/// dispatcher's), once there is one.
fn kill_listeners(url: &str) {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let sql = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                   WHERE datname = current_database() AND application_name = 'ebmbot-listen'";
        wait_until("a listening connection", || (!admin.query(sql, &[]).unwrap().is_empty()).then_some(()));
    })
    .join()
    .unwrap();
}

/// Dispatchers sharing a queue must share EBMBOT_TIMEZONE (a timer's fire times and `HH:MM`
/// would mean different moments on different hosts): one that disagrees with a live one is
/// refused at start, naming both zones and the other's host.
#[test]
fn a_dispatcher_with_another_timezone_is_refused_at_start() {
    let env = env();
    let mut first = env.cmd_spawn_with(&["dispatch"], &[("EBMBOT_TIMEZONE", "Europe/London")]);
    wait_until("the dispatcher to register", || {
        (!env.json(&["status"])["dispatchers"].as_array().unwrap().is_empty()).then_some(())
    });
    let out = env.cmd().args(["dispatch", "--once"]).env("EBMBOT_TIMEZONE", "America/New_York").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("EBMBOT_TIMEZONE is `America/New_York` here but `Europe/London` for dispatcher"),
        "{stderr}"
    );
    assert!(stderr.contains("set the same EBMBOT_TIMEZONE on all of them"), "{stderr}");
    // The same zone is welcome.
    let same = env.cmd().args(["dispatch", "--once"]).env("EBMBOT_TIMEZONE", "Europe/London").output().unwrap();
    assert!(same.status.success(), "{}", String::from_utf8_lossy(&same.stderr));
    stop(&mut first);
}
