//! Timers with the real binary: two dispatchers sharing a queue fire each fire time of a
//! seconds timer once; `config check` refuses bad timers. (Missed fire times, pauses and
//! suppressions at chosen instants are unit tests of `runner::timers`.)

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::{TestEnv, stop, wait_until};

const TIMERS: &str = r#"
[t]
[t.jobs.tick]
run_args_template = "printf '%s' {word}"

[[t.timers]]
name = "every-second"
job_type = "tick"
cron = "* * * * * *"
params = { word = "tick" }
notify = "none"
"#;

/// (fire time, job id) of every request a timer made, from `queue list --all --json`.
fn fires(env: &TestEnv) -> Vec<(String, i64)> {
    let jobs = env.json(&["queue", "list", "--all", "--limit", "100000", "--since", "1d"]);
    let mut out = Vec::new();
    for job in jobs.as_array().unwrap() {
        for request in job["requests"].as_array().unwrap() {
            if request["origin"]["kind"] == "timer" {
                out.push((request["origin"]["fire_at"].as_str().unwrap().to_owned(), job["id"].as_i64().unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn dispatchers_of_two_hosts_fire_each_fire_time_of_a_seconds_timer_once() {
    let env = TestEnv::new(TIMERS);
    env.workspace("t");
    let mut a = env.cmd_spawn_with(&["dispatch"], &[("EBMBOT_HOST_ID", "host-a")]);
    let mut b = env.cmd_spawn_with(&["dispatch"], &[("EBMBOT_HOST_ID", "host-b")]);
    wait_until("both dispatchers to register", || {
        (env.json(&["status"])["dispatchers"].as_array().unwrap().len() == 2).then_some(())
    });
    wait_until("four fire times", || (fires(&env).len() >= 4).then_some(()));
    let (out_a, out_b) = (stop(&mut a), stop(&mut b));
    assert!(out_a.status.success() && out_b.status.success(), "{}", String::from_utf8_lossy(&out_b.stderr));
    let fired = fires(&env);
    // Each fire time once: no two requests for the same second, and none left out between the
    // first and the last (each a whole second).
    let times: BTreeSet<&str> = fired.iter().map(|(at, _)| at.as_str()).collect();
    assert_eq!(times.len(), fired.len(), "a fire time ran twice: {fired:?}");
    let seconds: Vec<i64> = times.iter().map(|t| t.parse::<jiff::Timestamp>().unwrap().as_millisecond()).collect();
    assert!(seconds.iter().all(|ms| ms % 1000 == 0), "{fired:?}");
    assert!(seconds.windows(2).all(|w| w[1] - w[0] == 1000), "a fire time was left out: {fired:?}");
    // Every fire's job exists, ran (or merged into one that ran) and printed the timer's value.
    let mut jobs: BTreeMap<i64, Value> = BTreeMap::new();
    for (_, id) in &fired {
        jobs.entry(*id).or_insert_with(|| env.job(*id));
    }
    for (id, job) in &jobs {
        assert_eq!(job["type"], "t_tick");
        assert_eq!(job["args"]["word"], "tick");
        if job["state"] == "succeeded" {
            assert_eq!(env.log(*id, "stdout"), "tick");
        }
    }
    // `ebmbot timers` shows the last fire and the next.
    let listed = env.json(&["timers"]);
    let shown = &listed.as_array().unwrap()[0];
    assert_eq!(shown["name"], "every-second");
    assert_eq!(shown["last_fire"]["at"].as_str().map(str::to_owned), fired.last().map(|f| f.0.clone()));
    assert!(shown["next_fire"].is_string(), "{shown:#}");
}

#[test]
fn config_check_refuses_a_bad_expression_or_time_zone_on_one_line() {
    let env = TestEnv::new(&TIMERS.replace("* * * * * *", "* * * *"));
    let err = env.fails(2, &["config", "check"]);
    assert!(
        err.contains(
            "`t` timer `every-second`: cron `* * * *` has 4 fields; write 5 (minute hour day-of-month month \
             day-of-week), or 6 with seconds first, such as `0 9 * * MON-FRI` (line 9, column 8)"
        ),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("jobs.toml"), "names the file: {err}");

    let env = TestEnv::new(&TIMERS.replace("notify = \"none\"", "timezone = \"Europe/Lundon\""));
    let err = env.fails(2, &["config", "check"]);
    assert!(
        err.contains(
            "`t` timer `every-second`: timezone `Europe/Lundon` is not a time zone; write an IANA name such as \
             `Europe/London` or `UTC`, or leave it out for EBMBOT_TIMEZONE (line 11, column 12)"
        ),
        "{err}"
    );

    let env = TestEnv::new(&TIMERS.replace("params = { word = \"tick\" }", "params = {}"));
    let err = env.fails(2, &["config", "check"]);
    assert!(err.contains("`params` must give every placeholder of `t_tick`; add `word`"), "{err}");

    let env = TestEnv::new(&TIMERS.replace("\"tick\" }", "\"-rf\" }"));
    let err = env.fails(2, &["config", "check"]);
    assert!(err.contains("param `word` of `t_tick`"), "checked like any value: {err}");

    let env = TestEnv::new(&format!(
        "{TIMERS}\n[[t.timers]]\nname = \"every-second\"\njob_type = \"tick\"\ncron = \"0 9 * * *\"\nparams = {{ word = \"a\" }}\n"
    ));
    let err = env.fails(2, &["config", "check"]);
    assert!(err.contains("another timer of `t` has this name"), "{err}");

    let env = TestEnv::new(&TIMERS.replace("notify = \"none\"", "missed = \"twice\""));
    let err = env.fails(2, &["config", "check"]);
    assert!(err.contains("missed `twice` is not valid"), "{err}");
}

const DAILY: &str = r#"
[t]
[t.jobs.tick]
run_args_template = "printf '%s' {word}"

[[t.timers]]
name = "daily"
job_type = "tick"
cron = "30 1 * * *"
timezone = "Europe/London"
params = { word = "tock" }
"#;

#[test]
fn jobs_status_help_and_timers_show_the_next_run_and_a_pause_holds_it() {
    let env = TestEnv::new(DAILY);
    let jobs = env.json(&["jobs"]);
    let next = jobs[0]["timers"][0]["next_run"].as_str().expect("a next run").to_owned();
    assert!(next.ends_with(":30:00.000Z"), "{next}");
    assert_eq!(env.json(&["status"])["timers"][0]["next_fire"], next.as_str());
    let help = env.ok(&["say", "t", "help"]);
    assert!(help.contains("Timers:\n• `t/daily` (`30 1 * * *` Europe/London) runs `t_tick`: next "), "{help}");

    let paused = env.ok(&["timers", "pause", "daily"]);
    assert!(paused.contains("Timer `t/daily` is paused"), "{paused}");
    let listed = env.json(&["timers"]);
    assert!(listed[0]["paused"]["by"].as_str().unwrap().starts_with("terminal:"), "{listed:#}");
    assert!(listed[0]["next_fire"].is_null(), "a paused timer has no next fire: {listed:#}");
    assert!(env.ok(&["timers"]).contains("paused by terminal:"));
    // The Slack words, through `say`: the same command.
    let resumed = env.ok(&["say", "timers", "resume", "t/daily"]);
    assert!(resumed.contains("Timer `t/daily` is resumed; next fire"), "{resumed}");
    assert!(env.json(&["timers"])[0]["next_fire"].is_string());

    let err = env.fails(2, &["timers", "pause", "dayly"]);
    assert!(err.contains("unknown timer `dayly`; did you mean `daily`?"), "{err}");
}

#[test]
fn dispatch_once_fires_what_fell_due_since_the_last_fire_and_runs_it() {
    let env = TestEnv::new(TIMERS);
    env.workspace("t");
    // The first run sees the timer; each later run fires the seconds that passed since.
    env.ok(&["dispatch", "--once"]);
    let fired = wait_until("a fire time from `dispatch --once`", || {
        env.ok(&["dispatch", "--once"]);
        let fired = fires(&env);
        (!fired.is_empty()).then_some(fired)
    });
    // Fired and run by the same `--once`: the job is done when it exits.
    let job = env.job(fired[0].1);
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(env.log(fired[0].1, "stdout"), "tick");
}
