//! `--dry-run` on `schedule`, `run` and `say`: the command line shown is byte for byte the one
//! the shell gets, whatever the values; nothing is queued; the environment is shown by name.

use crate::support::TestEnv;

/// A job that prints the command line its shell was started with (`/proc/$$/cmdline`: the
/// shell, `-c`, the command, each ending in NUL), so a test sees exactly what ran.
const JOBS: &str = r#"
[d]
pass_secrets = ["SLACK_BOT_TOKEN"]

[d.jobs.show]
run_args_template = "cat /proc/$$/cmdline; : {v}"
timeout = "90s"

[d.jobs.show.params.v]
allow_dash = true

[[d.slack]]
command = "show [v]"
help = "Shows the command line"
action = "schedule_job"
job_type = "show"
"#;

const HOSTILE: &[&str] = &[
    "'; touch pwned; echo '",
    "$(touch pwned)",
    "`touch pwned`",
    "\"; touch pwned; \"",
    "a\nb; touch pwned",
    "\\' \\\" \\\\",
    "--help",
    "* ? [a] ~ {v} {{ }} %s $HOME ${HOME}",
    "Grüße, 世界 🎉",
    "",
    "   spaced   out   ",
];

fn env() -> TestEnv {
    let env = TestEnv::new(JOBS);
    env.workspace("d");
    env
}

/// The argv of the job's shell, as it printed it.
fn ran(env: &TestEnv, id: i64) -> Vec<String> {
    let out = env.log(id, "stdout");
    let mut argv: Vec<String> = out.split('\0').map(str::to_owned).collect();
    assert_eq!(argv.pop().as_deref(), Some(""), "cmdline ends in NUL: {out:?}");
    argv
}

#[test]
fn the_line_shown_is_exactly_what_runs_for_hostile_values() {
    let env = env();
    for (i, value) in HOSTILE.iter().enumerate() {
        let param = format!("--v={value}");
        let plan = env.json(&["schedule", "d", "show", &param, "--dry-run"]);
        let command = plan["command"].as_str().unwrap().to_owned();
        assert_eq!(plan["shell"], "bash");
        assert_eq!(env.json(&["queue", "list", "--all"]).as_array().unwrap().len(), i, "the dry run queued nothing");

        let text = env.ok(&["schedule", "d", "show", &param, "--dry-run"]);
        assert!(text.ends_with(&format!("\ncommand:\n{command}\n")), "the text shows the same line: {text}");
        let run_plan = env.json(&["run", "d", "show", &param, "--dry-run"]);
        assert_eq!(run_plan["command"], command.as_str(), "`run --dry-run` shows the same line");

        let id = env.schedule(&["d", "show", &param]);
        env.ok(&["dispatch", "--once"]);
        assert_eq!(ran(&env, id), ["bash", "-c", command.as_str()], "value {value:?}");
        assert!(!env.path("workspace/d/pwned").exists(), "value {value:?} ran code");

        // The invocation line, pasted into a shell, runs the same command.
        let invocation = plan["invocation"].as_str().unwrap();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("{invocation} </dev/null"))
            .current_dir(env.path("workspace/d"))
            .output()
            .unwrap();
        let pasted = String::from_utf8(out.stdout).unwrap();
        assert_eq!(pasted.split('\0').nth(2), Some(command.as_str()), "value {value:?}");
    }
}

#[test]
fn say_dry_run_shows_what_the_same_text_runs() {
    let env = env();
    for value in ["it's $(touch pwned) `id`", "x; touch pwned", "Grüße"] {
        let words = ["say", "--dry-run", "d", "show", value];
        let reply = env.ok(&words);
        let command = reply.split("Command:\n```").nth(1).and_then(|c| c.strip_suffix("```\n")).unwrap_or_else(|| {
            panic!("no command in {reply}");
        });
        let command = command.to_owned();
        assert!(env.json(&["queue", "list", "--all"]).as_array().unwrap().is_empty());
        env.ok(&["say", "d", "show", value]);
        env.ok(&["dispatch", "--once"]);
        let id = env.json(&["queue", "list", "--all"])[0]["id"].as_i64().unwrap();
        assert_eq!(ran(&env, id)[2], command, "value {value:?}");
        env.ok(&["queue", "prune", "--older-than", "0s"]);
    }
    assert!(!env.path("workspace/d/pwned").exists());
}

#[test]
fn a_dry_run_names_the_environment_and_never_a_value() {
    let env = env();
    let out = env
        .cmd()
        .args(["run", "d", "show", "--v", "x", "--dry-run", "--notify", "#ops"])
        .env("SLACK_BOT_TOKEN", "xoxb-very-secret")
        .env("SLACK_APP_TOKEN", "xapp-also-secret")
        .env("MY_API_KEY", "hunter2")
        .env("SLACK_LOGS_CHANNEL", "#logs")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for secret in ["xoxb-very-secret", "xapp-also-secret", "hunter2"] {
        assert!(!text.contains(secret), "a value was shown: {text}");
    }
    let line = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{label}:")))
            .unwrap_or_else(|| panic!("no {label} in {text}"))
            .to_owned()
    };
    assert!(line("env set").contains("SLACK_BOT_TOKEN") && line("env set").contains("EBMBOT_JOB_ID"), "{text}");
    assert!(line("env removed").contains("SLACK_APP_TOKEN"), "{text}");
    assert!(line("env inherited").contains("MY_API_KEY"), "a foreground run lists what it inherits: {text}");
    assert!(!line("env inherited").contains("SLACK_APP_TOKEN"));
    assert!(line("timeout").starts_with("timeout:       1m30s, then SIGTERM, 200ms grace"), "{text}");
    assert!(line("directory").ends_with("/workspace/d"), "{text}");
    assert!(
        line("reports to").contains("this terminal") && line("reports to").contains("Slack channel #ops"),
        "{text}"
    );
    assert_eq!(line("start notice"), "start notice:  #logs");

    let plan = env.json(&["schedule", "d", "show", "--v", "x", "--dry-run", "--delay", "5m"]);
    assert!(plan["env"]["inherited"].is_null(), "a dispatcher's environment is not this one");
    assert!(plan["start_after"].as_str().unwrap().ends_with('Z'));
    assert!(!env.path("ebmbot.db").exists() || env.json(&["queue", "list", "--all"]).as_array().unwrap().is_empty());
}

#[test]
fn a_dry_run_checks_params_as_scheduling_does() {
    let env = env();
    let err = env.fails(2, &["schedule", "d", "show", "--dry-run"]);
    assert!(err.contains("`d_show` needs param `v`"), "{err}");
    let err = env.fails(2, &["schedule", "d", "show", "--v", "x", "--w", "y", "--dry-run"]);
    assert!(err.contains("has no param `w`"), "{err}");
    let err = env.fails(2, &["run", "d", "nope", "--dry-run"]);
    assert!(err.contains("unknown job `d_nope`"), "{err}");
}
