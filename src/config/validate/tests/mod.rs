//! One test per rule of `validate` (README.md, "jobs.toml"): each bad file is refused with a message that names the
//! namespace/job/command and says how to fix it.

use std::path::Path;
use std::time::Duration;

use crate::config::{Catalog, ConfigError, Settings};

mod github;
mod listeners;
mod namespace;
mod params;
mod slack;

const BASE: &str = r#"
[example]
description = "Example jobs"

[example.jobs.hello]
run_args_template = "echo Hello {name}"

[example.jobs.hello_world]
run_args_template = "echo Hello World"
"#;

fn parse_with(settings: &Settings, text: &str) -> Result<Catalog, ConfigError> {
    Catalog::from_str(text, Path::new("/srv/jobs.toml"), settings)
}

fn parse(text: &str) -> Result<Catalog, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    parse_with(&Settings::for_root(dir.path()), text)
}

/// The one-line message for a refused file.
fn error(text: &str) -> String {
    match parse(text) {
        Err(err @ (ConfigError::Invalid { .. } | ConfigError::Toml { .. })) => {
            let message = err.to_string()["/srv/jobs.toml: ".len()..].to_owned();
            assert!(!message.contains('\n'), "{message}");
            message
        }
        other => panic!("expected an invalid file, got {other:?}"),
    }
}

/// `BASE` plus `extra`.
fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// One `[[example.slack]]` entry.
fn slack_entry(command: &str, action: &str, job: &str) -> String {
    format!(
        "[[example.slack]]\ncommand = \"{command}\"\nhelp = \"h\"\naction = \"{action}\"\n\
         job_type = \"{job}\"\n"
    )
}

/// `BASE` plus one Slack command (its header is line 10).
fn command(command: &str, action: &str, job: &str) -> String {
    with(&slack_entry(command, action, job))
}

/// `BASE` plus one GitHub trigger, with `body` as its extra lines.
fn trigger(body: &str) -> String {
    with(&format!("[[example.github]]\n{body}\n"))
}

#[test]
fn namespace_names() {
    assert!(parse("[a]\n[b-2]\n[0x]\n").is_ok());
    assert_eq!(
        error("[Example]\n"),
        "namespace `Example` is not a valid name; use up to 32 lowercase letters, digits and \
         `-`, starting with a letter or digit; did you mean `example`? (line 1)"
    );
    assert!(error("[my_ns]\n").contains("did you mean `my-ns`?"));
    assert!(error("[-x]\n").starts_with("namespace `-x` is not a valid name"));
    assert!(parse(&format!("[{}]\n", "a".repeat(32))).is_ok());
    assert!(error(&format!("[{}]\n", "a".repeat(33))).contains("up to 32"));
}

#[test]
fn reserved_namespaces() {
    for name in ["help", "status", "logs", "cancel", "remove", "dry", "timers"] {
        assert_eq!(
            error(&format!("[{name}]\n")),
            format!("namespace `{name}` is reserved for the built-in `{name}` command; rename it (line 1)")
        );
    }
}

#[test]
fn job_names() {
    assert!(parse("[a.jobs.b_c-1]\nrun_args_template = \"x\"\n").is_ok());
    let msg = error("[example.jobs.Hello]\nrun_args_template = \"x\"\n");
    assert_eq!(
        msg,
        "job `Hello` in `example` is not a valid name; use up to 64 lowercase letters, digits, \
         `_` and `-`, starting with a letter or digit (line 1)"
    );
    assert!(error("[example.jobs._x]\nrun_args_template = \"x\"\n").contains("job `_x`"));
    let long = "j".repeat(65);
    assert!(error(&format!("[a.jobs.{long}]\nrun_args_template = \"x\"\n")).contains("up to 64"));
}

#[test]
fn placeholder_inside_quotes() {
    let msg = error("[example.jobs.hello]\nrun_args_template = 'echo \"Hello {name}\"'\n");
    assert_eq!(
        msg,
        "placeholder `{name}` in `example_hello` is inside quotes; remove them, ebmbot quotes \
         values (line 1)"
    );
}

#[test]
fn other_template_errors_name_the_job_type() {
    let bad = |template: &str| error(&format!("[ns.jobs.j]\nrun_args_template = '{template}'\n"));
    let msg = bad("echo ${HOME}");
    assert!(msg.starts_with("placeholder `{HOME}` in `ns_j` is not a valid name"), "{msg}");
    assert!(msg.contains("write `{{` and `}}` for literal braces"), "{msg}");
    assert_eq!(
        bad("echo \\{a}"),
        "placeholder `{a}` in `ns_j` follows `\\`, which would take the value's opening quote; remove the backslash (line 1)"
    );
    let msg = bad("awk {print}}");
    assert!(msg.starts_with("unmatched `}` at byte 11 of the `run_args_template` of `ns_j`"), "{msg}");
    assert!(msg.contains("write `}}` for a literal brace"), "{msg}");
}

#[test]
fn reserved_params() {
    for name in ["delay", "help", "json", "config", "db", "id", "force", "notify", "verbose"] {
        assert_eq!(
            error(&format!("[ns.jobs.j]\nrun_args_template = 'echo {{{name}}}'\n")),
            format!("placeholder `{{{name}}}` in `ns_j` is reserved (it is an ebmbot option); rename it (line 1)")
        );
    }
}

#[test]
fn report_format_and_on_lost() {
    let job = |line: &str| format!("[ns.jobs.j]\nrun_args_template = \"x\"\n{line}\n");
    for format in ["text", "blocks", "code", "file"] {
        assert!(parse(&job(&format!("report_format = \"{format}\""))).is_ok());
    }
    assert_eq!(
        error(&job("report_format = \"txt\"")),
        "`ns.jobs.j`: report_format `txt` is not valid; did you mean `text`? (one of `text`, \
         `blocks`, `code`, `file`) (line 1)"
    );
    assert_eq!(
        error(&job("report_format = \"html\"")),
        "`ns.jobs.j`: report_format `html` is not valid; use one of `text`, `blocks`, `code`, `file` (line 1)"
    );
    assert!(parse(&job("on_lost = \"retry\"")).is_ok());
    assert_eq!(
        error(&job("on_lost = \"rerun\"")),
        "`ns.jobs.j`: on_lost `rerun` is not valid; use one of `fail`, `retry` (line 1)"
    );
}

#[test]
fn timeouts() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_root(dir.path());
    settings.job_timeout = Some(Duration::from_secs(42));
    let timeout = |settings: &Settings, line: &str| {
        let text = format!("[ns.jobs.j]\nrun_args_template = \"x\"\n{line}\n");
        parse_with(settings, &text).map(|c| c.job("ns", "j").unwrap().timeout)
    };
    assert_eq!(timeout(&settings, "").unwrap(), Some(Duration::from_secs(42)));
    assert_eq!(timeout(&settings, "timeout = \"none\"").unwrap(), None);
    assert_eq!(timeout(&settings, "timeout = \"1h30m\"").unwrap(), Some(Duration::from_secs(5400)));
    assert_eq!(timeout(&settings, "timeout = 90").unwrap(), Some(Duration::from_secs(90)));
    settings.job_timeout = None;
    assert_eq!(timeout(&settings, "").unwrap(), None);

    let msg = error("[ns.jobs.j]\nrun_args_template = \"x\"\ntimeout = \"soon\"\n");
    assert!(msg.starts_with("`ns.jobs.j`: timeout `soon` is not a duration; write an integer with a unit"), "{msg}");
    assert!(msg.ends_with("or `\"none\"` (line 1)"), "{msg}");
    let msg = error("[ns.jobs.j]\nrun_args_template = \"x\"\ntimeout = \"0s\"\n");
    assert_eq!(msg, "`ns.jobs.j`: timeout is zero; write a positive duration, or `\"none\"` (line 1)");
    assert!(error("[ns.jobs.j]\nrun_args_template = \"x\"\ntimeout = -5\n").contains("timeout `-5` is negative"));
    assert!(
        error("[ns.jobs.j]\nrun_args_template = \"x\"\ntimeout = 1.5\n").contains("timeout `1.5` is not a duration")
    );
}
