//! Reading `jobs.toml`: TOML and serde errors, a full valid file, and the repo's own file.

use std::time::Duration;

use super::*;
use crate::config::{Action, OnLost, PatternWord, ReportFormat, SecretName};

fn parse_in(dir: &Path, text: &str) -> Result<Catalog, ConfigError> {
    Catalog::from_str(text, Path::new("/srv/jobs.toml"), &Settings::for_root(dir))
}

/// The message of the error `text` gives, checked to be one line naming the file.
fn error(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let err = parse_in(dir.path(), text).expect_err("the file should be refused");
    let shown = err.to_string();
    assert!(shown.starts_with("/srv/jobs.toml: "), "{shown}");
    assert!(!shown.contains('\n'), "{shown}");
    assert!(matches!(err, ConfigError::Toml { .. } | ConfigError::Invalid { .. }), "{err:?}");
    shown["/srv/jobs.toml: ".len()..].to_owned()
}

#[test]
fn empty_file_is_an_empty_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    for text in ["", "# nothing yet\n", "\n\n"] {
        let catalog = parse_in(dir.path(), text).unwrap();
        assert!(catalog.namespaces.is_empty());
        assert_eq!(catalog.path, Path::new("/srv/jobs.toml"));
    }
}

#[test]
fn unknown_key_in_a_job_suggests_the_nearest() {
    let text = "[example]\n\n[example.jobs.hello]\nreport_stdout = true\nrun_arg_template = \"echo hi\"\n";
    assert_eq!(
        error(text),
        "`example.jobs.hello`: unknown key `run_arg_template`; did you mean `run_args_template`? \
         (line 5, column 1)"
    );
}

#[test]
fn unknown_key_without_a_near_name_lists_the_valid_ones() {
    let msg = error("[example]\ncolour = \"red\"\n");
    assert!(
        msg.starts_with("`example`: unknown key `colour`; remove it, or use one of `description`, `restricted`"),
        "{msg}"
    );
    assert!(msg.ends_with("(line 2, column 1)"), "{msg}");
}

#[test]
fn unknown_keys_in_commands_and_triggers_name_the_entry() {
    let slack = "[[example.slack]]\ncommand = \"a\"\nhelp = \"\"\naction = \"cancel_job\"\n\
                 job_type = \"x\"\ndelay = 1\n";
    assert_eq!(
        error(slack),
        "`[[example.slack]]` #1: unknown key `delay`; did you mean `delay_seconds`? (line 6, column 1)"
    );
    let github = "[[example.github]]\nevent = \"push\"\njob_type = \"x\"\n\
                  [[example.github]]\nevent = \"push\"\njob_type = \"x\"\nbrnch = \"main\"\n";
    assert_eq!(
        error(github),
        "`[[example.github]]` #2: unknown key `brnch`; did you mean `branch`? (line 7, column 1)"
    );
}

#[test]
fn missing_run_args_template() {
    assert_eq!(
        error("[example.jobs.hello]\nreport_stdout = true\n"),
        "`example.jobs.hello`: missing `run_args_template`; add \
         `run_args_template = \"echo Hello {name}\"` (line 1, column 1)"
    );
    let inline = error("[example.jobs]\nhello = { report_stdout = true }\n");
    assert!(inline.starts_with("`example.jobs.hello`: missing `run_args_template`"), "{inline}");
    assert!(inline.ends_with("(line 2, column 9)"), "{inline}");
}

#[test]
fn missing_command_keys() {
    let msg = error("[[example.slack]]\ncommand = \"say hi\"\n");
    assert_eq!(msg, "`[[example.slack]]` #1: missing `help`; add `help = \"Says hello to [name]\"` (line 1, column 1)");
}

#[test]
fn wrong_types_name_the_key_and_position() {
    assert_eq!(
        error("[example.jobs.hello]\nrun_args_template = \"x\"\nreport_stdout = \"yes\"\n"),
        "`example.jobs.hello.report_stdout`: invalid type: string \"yes\", expected a boolean \
         (line 3, column 17)"
    );
    assert_eq!(
        error("[example]\npass_secrets = [\"SLACK_BOT_TOKEN\", 3]\n"),
        "`example.pass_secrets` item 2: invalid type: integer `3`, expected a string (line 2, column 36)"
    );
    assert_eq!(
        error("example = 3\n"),
        "`example`: invalid type: integer `3`, expected a namespace table such as `[example]` \
         (line 1, column 11)"
    );
    let delay = error(
        "[[example.slack]]\ncommand = \"a\"\nhelp = \"\"\naction = \"cancel_job\"\n\
         job_type = \"x\"\ndelay_seconds = 1.5\n",
    );
    assert!(
        delay.contains(
            "`[[example.slack]]` #1, `delay_seconds`: invalid type: floating point `1.5`, expected an integer"
        ),
        "{delay}"
    );
}

#[test]
fn syntax_errors_keep_line_and_column() {
    assert_eq!(
        error("[example]\ndescription = 'unterminated\n"),
        "invalid toml: invalid literal string, expected `'` (line 2, column 28)"
    );
    assert_eq!(
        error("[example]\n[example]\n"),
        "duplicate key `example`; define each key and table only once (line 2, column 2)"
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = Catalog::load(&path, &Settings::for_root(dir.path())).unwrap_err();
    assert!(matches!(err, ConfigError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.toml does not exist"), "{err}");
}

#[test]
fn positions_count_characters() {
    assert_eq!(position("abc", 0), (1, 1));
    assert_eq!(position("a\nbc", 3), (2, 2));
    assert_eq!(position("é\nx", 1), (1, 1));
    assert_eq!(position("é\nxé", 6), (2, 3));
    assert_eq!(position("ab", 99), (1, 3));
}

const FULL: &str = r##"
[example]
description = "Example jobs"
restricted = true
default_channel = "#tech"
fabfile = "https://example.org/fabfile.py"
pass_secrets = ["SLACK_BOT_TOKEN", "GITHUB_WEBHOOK_SECRET", "SLACK_BOT_TOKEN"]

[example.jobs.hello]
run_args_template = "echo Hello {name}"
report_stdout = true
report_success = false
report_format = "code"
call_tech_support_on_error = false
suppress_empty = true
timeout = "1h30m"
on_lost = "retry"

[example.jobs.deploy]
run_args_template = "fab deploy:sha={sha}"
timeout = "none"

[example.jobs.deploy.params.sha]
pattern = "^[0-9a-f]{40}$"

[[example.slack]]
command = "Say Hello [name]"
help = "Says hello to [name]"
action = "schedule_job"
job_type = "hello"
delay_seconds = 1

[[example.github]]
event = "pull_request"
action = "closed"
merged = true
branch = "main"
job_type = "deploy"
delay_seconds = 60
params = { sha = "/pull_request/merge_commit_sha" }

[other]
"##;

#[test]
fn full_example_parses_into_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = parse_in(dir.path(), FULL).unwrap();
    assert_eq!(catalog.namespaces.keys().collect::<Vec<_>>(), ["example", "other"]);

    let ns = catalog.namespace("example").unwrap();
    assert_eq!(ns.name, "example");
    assert_eq!(ns.description.as_deref(), Some("Example jobs"));
    assert!(ns.restricted);
    assert_eq!(ns.default_channel.as_deref(), Some("#tech"));
    assert_eq!(ns.fabfile.as_deref(), Some("https://example.org/fabfile.py"));
    assert_eq!(ns.pass_secrets, [SecretName::SlackBotToken, SecretName::GithubWebhookSecret]);
    assert_eq!(ns.workdir, dir.path().join("./workspace/example"));
    assert!(!ns.workdir_fixed);

    let hello = catalog.job("example", "hello").unwrap();
    assert_eq!(hello.job_type(), "example_hello");
    assert_eq!(hello.template.source(), "echo Hello {name}");
    assert!(hello.report_stdout && !hello.report_success);
    assert_eq!(hello.report_format, ReportFormat::Code);
    assert!(!hello.call_tech_support_on_error && hello.suppress_empty);
    assert_eq!(hello.timeout, Some(Duration::from_secs(5400)));
    assert_eq!(hello.on_lost, OnLost::Retry);

    let deploy = catalog.job("example", "deploy").unwrap();
    assert_eq!(deploy.timeout, None);
    assert_eq!(deploy.report_format, ReportFormat::Text);
    assert!(!deploy.report_stdout && deploy.report_success);
    assert!(deploy.call_tech_support_on_error && !deploy.suppress_empty);
    assert_eq!(deploy.on_lost, OnLost::Fail);

    let [say] = ns.slack.as_slice() else { panic!("{:?}", ns.slack) };
    assert_eq!(say.namespace, "example");
    assert_eq!(say.text, "Say Hello [name]");
    let literal = |w: &str| PatternWord::Literal(w.to_owned());
    assert_eq!(say.pattern, [literal("say"), literal("hello"), PatternWord::Param("name".into())]);
    assert_eq!(say.params().collect::<Vec<_>>(), ["name"]);
    assert_eq!(say.help, "Says hello to [name]");
    assert_eq!(say.action, Action::ScheduleJob);
    assert_eq!(say.job, "hello");
    assert_eq!(say.delay, Duration::from_secs(1));

    let [trigger] = ns.github.as_slice() else { panic!("{:?}", ns.github) };
    assert_eq!(trigger.namespace, "example");
    assert_eq!(trigger.event, "pull_request");
    assert_eq!(trigger.action.as_deref(), Some("closed"));
    assert_eq!(trigger.merged, Some(true));
    assert_eq!(trigger.branch.as_deref(), Some("main"));
    assert_eq!(trigger.job, "deploy");
    assert_eq!(trigger.delay, Duration::from_secs(60));
    assert_eq!(trigger.params["sha"], "/pull_request/merge_commit_sha");

    let other = catalog.namespace("other").unwrap();
    assert!(other.jobs.is_empty() && other.slack.is_empty() && other.github.is_empty());
    assert!(!other.restricted && other.pass_secrets.is_empty());
    assert_eq!(catalog.jobs().count(), 2);
}

#[test]
fn repo_jobs_toml_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_root(dir.path());
    settings.workspace_dir = root.join("workspace");
    let catalog = Catalog::load(&root.join("jobs.toml"), &settings).unwrap();

    let ns = catalog.namespace("example").unwrap();
    assert_eq!(ns.description.as_deref(), Some("Example jobs"));
    assert!(ns.workdir_fixed);
    assert_eq!(ns.workdir, root.join("workspace/example"));
    let jobs: Vec<&str> = ns.jobs.keys().map(String::as_str).collect();
    assert_eq!(jobs, ["blocks", "fail", "greet", "hello", "hello_world", "long_code", "slow"]);
    for command in &ns.slack {
        assert!(!command.help.is_empty(), "{} has no help", command.text);
    }
    for job in ns.jobs.values() {
        assert!(ns.slack.iter().any(|c| c.job == job.name), "{} has no command", job.name);
    }
    let actions: Vec<Action> = ns.slack.iter().map(|c| c.action).collect();
    for action in Action::ALL {
        assert!(actions.contains(&action), "no {} command", action.as_str());
    }
}

#[test]
fn repo_scripts_exist_and_are_executable() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workspace/example");
    for script in ["greet.py", "fail.sh", "blocks.sh", "long_code.sh", "slow.sh"] {
        let meta = std::fs::metadata(dir.join(script)).unwrap();
        assert!(meta.permissions().mode() & 0o111 != 0, "{script} is not executable");
    }
}
