//! Bad input: a clear one-line error, exit 2 (exit 1 for the database path), and nothing changed.

use crate::env;
use crate::support::TestEnv;

fn assert_nothing_queued(env: &TestEnv) {
    assert_eq!(env.json(&["queue", "list", "--all"]), serde_json::json!([]));
}

fn one_line(err: &str) -> &str {
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{err}");
    lines[0]
}

#[test]
fn unknown_namespace_or_job_suggests_the_nearest() {
    let env = env();
    let err = env.fails(2, &["schedule", "tt", "echo", "--value", "x"]);
    assert!(one_line(&err).contains("unknown namespace `tt`; did you mean `t`?"), "{err}");
    let err = env.fails(2, &["schedule", "t", "ecoh", "--value", "x"]);
    assert!(one_line(&err).contains("unknown job `t_ecoh`; did you mean `echo`?"), "{err}");
    assert_nothing_queued(&env);
}

#[test]
fn missing_unknown_and_repeated_params() {
    let env = env();
    let err = env.fails(2, &["schedule", "t", "echo"]);
    assert!(one_line(&err).contains("`t_echo` needs param `value`; pass --value VALUE"), "{err}");
    let err = env.fails(2, &["schedule", "t", "echo", "--value", "x", "--nme", "y"]);
    assert!(one_line(&err).contains("has no param `nme`"), "{err}");
    let err = env.fails(2, &["schedule", "t", "echo", "--value", "x", "--value", "y"]);
    assert!(one_line(&err).contains("given twice"), "{err}");
    let err = env.fails(2, &["schedule", "t", "echo", "x"]);
    assert!(one_line(&err).contains("`x` is not a param"), "{err}");
    let err = env.fails(2, &["schedule", "t", "echo", "--value"]);
    assert!(one_line(&err).contains("has no value"), "{err}");
    assert_nothing_queued(&env);
}

#[test]
fn bad_delays() {
    let env = env();
    for delay in ["-5", "soon", "5x", ""] {
        let err = env.fails(2, &["schedule", "t", "echo", "--value", "x", "--delay", delay]);
        assert!(one_line(&err).contains("delay"), "{delay}: {err}");
    }
    assert_nothing_queued(&env);
}

#[test]
fn bad_suppression_times() {
    let env = env();
    let err = env.fails(2, &["suppress", "t", "echo", "--until", "25:99"]);
    assert!(one_line(&err).contains("wrong time format: `25:99`; write HH:MM"), "{err}");
    assert_eq!(err.matches("wrong time format").count(), 1, "said once: {err}");
    let err = env.fails(2, &["suppress", "t", "echo", "--from", "+2h", "--until", "+1h"]);
    assert!(one_line(&err).contains("must start before it ends"), "{err}");
    let err =
        env.fails(2, &["suppress", "t", "echo", "--from", "2030-01-01T00:00:00Z", "--until", "2030-01-01T00:00:00Z"]);
    assert!(one_line(&err).contains("must start before it ends"), "{err}");
    assert_eq!(env.json(&["status"])["suppressions"], serde_json::json!([]));
}

#[test]
fn unknown_ids() {
    let env = env();
    assert!(one_line(&env.fails(2, &["cancel", "--id", "42"])).contains("no job has id 42"));
    assert!(one_line(&env.fails(2, &["logs", "42"])).contains("no job has id 42"));
}

#[test]
fn commands_over_the_limit_are_refused_at_scheduling() {
    let env = env();
    // Under Linux's 128 KiB limit for one argument, over ebmbot's 120 KiB for the command.
    let huge = "x".repeat(123_000);
    let err = env.fails(2, &["schedule", "t", "echo", "--value", &huge]);
    assert!(one_line(&err).contains("over the 120 KiB limit"), "{}", &err[..200.min(err.len())]);
    assert_nothing_queued(&env);
}

#[test]
fn a_missing_config_file_names_its_path() {
    let env = env();
    let err = env.fails(2, &["--config", "nope.toml", "jobs"]);
    assert!(one_line(&err).contains(&format!("{}/nope.toml does not exist", env.root.display())), "{err}");
    let err = env.cmd().args(["config", "check"]).env("EBMBOT_CONFIG", "/no/such.toml").output().unwrap();
    assert_eq!(err.status.code(), Some(2));
}

#[test]
fn an_invalid_config_is_exit_2_with_file_and_fix() {
    let env = TestEnv::new("[t.jobs.hello]\nrun_args_template = \"echo \\\"{name}\\\"\"\n");
    let err = env.fails(2, &["config", "check"]);
    assert!(one_line(&err).contains("jobs.toml"), "{err}");
    assert!(
        err.contains("placeholder `{name}` in `t_hello` is inside quotes; remove them, ebmbot quotes values"),
        "{err}"
    );
    let env = TestEnv::new("[t.jobs.hello]\nrun_arg_template = \"echo\"\n");
    let err = env.fails(2, &["schedule", "t", "hello"]);
    assert!(one_line(&err).contains("run_arg_template"), "{err}");
}

#[test]
fn a_database_in_a_missing_or_unusable_directory_is_exit_1_naming_the_path() {
    let env = env();
    let err = env.fails(1, &["--db", "no/such/dir/q.db", "queue", "list"]);
    assert!(one_line(&err).contains(&format!("{}/no/such/dir", env.root.display())), "{err}");
    std::fs::write(env.path("file"), "").unwrap();
    let err = env.fails(1, &["--db", "file/q.db", "queue", "list"]);
    assert!(one_line(&err).contains("file/q.db") || err.contains("/file"), "{err}");
}

#[test]
fn json_errors_are_json_with_the_same_exit_code() {
    let env = env();
    let out = env.run(&["schedule", "t", "nope", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "bad_input");
    assert!(doc["error"]["message"].as_str().unwrap().contains("unknown job"));
}

#[test]
fn bad_settings_are_exit_2_naming_the_variable() {
    let env = env();
    for (var, value) in [
        ("EBMBOT_MAX_JOBS", "abc"),
        ("EBMBOT_KILL_GRACE", "soon"),
        ("EBMBOT_TIMEZONE", "Mars/Olympus"),
        ("EBMBOT_SYNC", "maybe"),
        ("SLACK_REPLY_IN_THREAD", "sometimes"),
    ] {
        let out = env.cmd().args(["queue", "list"]).env(var, value).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(one_line(&err).contains(var), "{err}");
        assert_eq!(err.matches(value).count(), 1, "the value is named once: {err}");
    }
}

/// A project's own webhook secret that is not set stops `web` at start (issue 9, item 1);
/// `config check` warns about a project open to any repository.
#[test]
fn an_unset_project_secret_stops_web_and_config_check_warns() {
    let env = TestEnv::new(
        r#"
[site]
github_secret = "SITE_HOOK_SECRET"
[site.jobs.deploy]
run_args_template = "echo deploy"
"#,
    );
    let err = env.fails(2, &["web", "--bind", "127.0.0.1:0"]);
    let last = err.lines().last().unwrap_or_default();
    assert_eq!(
        last.trim_start_matches("error: "),
        "github_secret `SITE_HOOK_SECRET` is not valid: SITE_HOOK_SECRET is not set (nor SITE_HOOK_SECRET_FILE, \
         nor $CREDENTIALS_DIRECTORY/SITE_HOOK_SECRET); set it, or remove `github_secret = \"SITE_HOOK_SECRET\"` \
         from jobs.toml"
    );
    let out = env.run(&["config", "check"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: `site` takes webhooks from any repository"), "{err}");
}
