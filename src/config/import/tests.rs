//! `config import` on hand-written JSON of the original's `raw_config` shape.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::{Action, Catalog, ReportFormat, Settings};

/// Converts `json` with an empty workspace, checks the result loads, and returns it.
fn import(json: &str) -> (Imported, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    import_in(dir.path(), json)
}

fn import_in(root: &Path, json: &str) -> (Imported, Catalog) {
    let settings = Settings::for_root(root);
    let imported = convert("raw.json", json, &settings.workspace_dir).expect("converts");
    let catalog = Catalog::from_str(&imported.toml, Path::new("jobs.toml"), &settings)
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    (imported, catalog)
}

/// The notes of `kind`, but those about the support listeners every import adds (one test
/// looks at those: [`listener_notes`]).
fn notes(imported: &Imported, kind: NoteKind) -> Vec<&str> {
    listener_notes(imported, kind).1
}

/// (notes about the added support listeners, the others) of `kind`.
fn listener_notes(imported: &Imported, kind: NoteKind) -> (Vec<&str>, Vec<&str>) {
    imported
        .notes
        .iter()
        .filter(|n| n.kind == kind)
        .map(|n| n.text.as_str())
        .partition(|t| t.starts_with("`techsupport`: added the original's") || t.starts_with("added a `techsupport`"))
}

const ORIGINAL: &str = r##"{
  "ops": {
    "restricted": true,
    "description": "Operations",
    "fabfile": "https://example.org/ops/fabfile.py",
    "jobs": {
      "deploy": {"run_args_template": "fab deploy:production", "report_success": false},
      "status": {"run_args_template": "fab status", "report_stdout": true, "report_format": "code"},
      "dump": {"run_args_template": "fab dump:{table}", "report_stdout": true, "report_format": "file"},
      "board": {"run_args_template": "python board.py", "report_stdout": true, "report_format": "blocks"},
      "plain": {"run_args_template": "echo hi", "report_stdout": true, "report_format": "text"}
    },
    "slack": [
      {"command": "deploy", "help": "deploy after a minute", "action": "schedule_job", "job_type": "deploy", "delay_seconds": 60},
      {"command": "deploy now", "help": "deploy now", "action": "schedule_job", "job_type": "deploy"},
      {"command": "deploy cancel", "help": "cancel pending deploys", "action": "cancel_job", "job_type": "deploy"},
      {"command": "deploy suppress from [start_at] to [end_at]", "help": "no deploys between (HH:MM)", "action": "schedule_suppression", "job_type": "deploy"},
      {"command": "deploy suppress cancel", "help": "allow deploys again", "action": "cancel_suppression", "job_type": "deploy"},
      {"command": "status", "help": ["Shows the status.", "Takes a while."], "action": "schedule_job", "job_type": "status"},
      {"command": "dump [table]", "help": "dumps [table]", "action": "schedule_job", "job_type": "dump"},
      {"command": "board", "help": "the board", "action": "schedule_job", "job_type": "board"},
      {"command": "plain", "help": "plain text", "action": "schedule_job", "job_type": "plain"}
    ]
  },
  "team": {
    "description": "Team things",
    "default_channel": "#team",
    "jobs": {
      "hello": {"run_args_template": "python jobs.py --name={name}", "report_stdout": true}
    },
    "slack": [
      {"command": "hello [name]", "help": "says hello to [name]", "action": "schedule_job", "job_type": "hello", "delay_seconds": 0}
    ]
  }
}"##;

#[test]
fn every_namespace_job_and_command_comes_across_in_the_original_order() {
    let (imported, catalog) = import(ORIGINAL);
    assert_eq!(catalog.namespaces.len(), 3, "ops, team, and techsupport for the support listeners");
    let ops = &catalog.namespaces["ops"];
    assert!(ops.restricted, "restricted namespaces stay restricted");
    assert_eq!(ops.description.as_deref(), Some("Operations"));
    assert_eq!(ops.fabfile.as_deref(), Some("https://example.org/ops/fabfile.py"));
    assert_eq!(ops.jobs.len(), 5);
    assert_eq!(ops.slack.len(), 9);
    assert!(!catalog.namespaces["team"].restricted);
    // The original's order, not alphabetical: ops before team, deploy before status.
    let at = |needle: &str| imported.toml.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    assert!(at("[ops]") < at("[team]"));
    assert!(at("[ops.jobs.deploy]") < at("[ops.jobs.status]") && at("[ops.jobs.status]") < at("[ops.jobs.board]"));
}

#[test]
fn report_fields_and_formats_are_kept() {
    let (_, catalog) = import(ORIGINAL);
    let ops = &catalog.namespaces["ops"];
    let format = |job: &str| ops.jobs[job].report_format;
    assert_eq!(format("status"), ReportFormat::Code);
    assert_eq!(format("dump"), ReportFormat::File);
    assert_eq!(format("board"), ReportFormat::Blocks);
    assert_eq!(format("plain"), ReportFormat::Text);
    assert!(!ops.jobs["deploy"].report_success && !ops.jobs["deploy"].report_stdout);
    assert!(ops.jobs["status"].report_stdout);
}

#[test]
fn suppression_and_cancel_commands_keep_their_actions_and_delays() {
    let (_, catalog) = import(ORIGINAL);
    let ops = &catalog.namespaces["ops"];
    let command = |text: &str| ops.slack.iter().find(|c| c.text == text).unwrap_or_else(|| panic!("no `{text}`"));
    assert_eq!(command("deploy").delay, Duration::from_secs(60));
    assert_eq!(command("deploy now").delay, Duration::ZERO);
    assert_eq!(command("deploy cancel").action, Action::CancelJob);
    assert_eq!(command("deploy suppress from [start_at] to [end_at]").action, Action::ScheduleSuppression);
    assert_eq!(command("deploy suppress cancel").action, Action::CancelSuppression);
    assert!(ops.slack.iter().all(|c| c.job == "deploy" || c.action == Action::ScheduleJob));
}

#[test]
fn a_help_given_as_a_list_is_joined_and_said() {
    let (imported, catalog) = import(ORIGINAL);
    let status = catalog.namespaces["ops"].slack.iter().find(|c| c.text == "status").unwrap();
    assert_eq!(status.help, "Shows the status. Takes a while.");
    assert!(
        notes(&imported, NoteKind::Changed)
            .contains(&"`ops` command `status`: joined its help, a list of 2 strings, into one")
    );
}

#[test]
fn the_original_behaviour_is_kept_where_defaults_differ() {
    let (imported, catalog) = import(ORIGINAL);
    assert!(catalog.jobs().all(|j| j.timeout.is_none()), "the original had no job timeout");
    assert_eq!(imported.toml.lines().filter(|l| *l == "timeout = \"none\"").count(), 6);
    // The original's deploy webhook reported to #tech unless told otherwise.
    assert_eq!(catalog.namespaces["ops"].default_channel.as_deref(), Some("#tech"));
    assert_eq!(catalog.namespaces["team"].default_channel.as_deref(), Some("#team"));
    let changed = notes(&imported, NoteKind::Changed);
    assert!(changed.iter().any(|n| n.starts_with("`ops`: added `default_channel = \"#tech\"`")), "{changed:?}");
    // An explicit timeout is the user's own and stays.
    let (_, catalog) = import(r#"{"a": {"jobs": {"j": {"run_args_template": "true", "timeout": "5m"}}, "slack": []}}"#);
    assert_eq!(catalog.namespaces["a"].jobs["j"].timeout, Some(Duration::from_secs(300)));
}

#[test]
fn restricted_and_fabfile_namespaces_get_something_to_check() {
    let (imported, _) = import(ORIGINAL);
    let check = notes(&imported, NoteKind::Check);
    // The original let reminders run restricted commands: the import keeps that, and says so.
    let changed = notes(&imported, NoteKind::Changed);
    assert!(changed.iter().any(|n| n.starts_with("`ops`: added `allow_reminders = true`")), "{changed:?}");
    assert!(!changed.iter().any(|n| n.starts_with("`team`: added `allow_reminders")), "{changed:?}");
    assert!(check.iter().any(|n| n.starts_with("`ops`: its jobs run a fabfile fetched at run time")), "{check:?}");
    assert!(check.iter().any(|n| n.starts_with("`team`: its scripts are not here to read")), "{check:?}");
    let (_, catalog) = import(ORIGINAL);
    assert!(catalog.namespaces["ops"].allow_reminders && !catalog.namespaces["team"].allow_reminders);
}

#[test]
fn scripts_that_read_a_secret_are_listed_for_pass_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("workspace/team/lib");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(scripts.join("slack.py"), "token = os.environ['SLACK_BOT_TOKEN']\n").unwrap();
    std::fs::write(dir.path().join("workspace/team/jobs.py"), "print('hi')\n").unwrap();
    let json = r#"{"team": {"jobs": {"hello": {"run_args_template": "python jobs.py; echo $GITHUB_WEBHOOK_SECRET"}}, "slack": []}}"#;
    let (imported, catalog) = import_in(dir.path(), json);
    assert!(catalog.namespaces["team"].pass_secrets.is_empty(), "listed, never granted");
    assert!(
        imported.toml.contains("# pass_secrets = [\"SLACK_BOT_TOKEN\", \"GITHUB_WEBHOOK_SECRET\"]"),
        "{}",
        imported.toml
    );
    let check = notes(&imported, NoteKind::Check);
    assert_eq!(
        check,
        ["`team`: `SLACK_BOT_TOKEN`, `GITHUB_WEBHOOK_SECRET` appear in its templates, `workspace/team/lib/slack.py`; \
          the original gave every job all of its environment, ebmbot gives a job its secrets only when its namespace \
          lists them: add `pass_secrets = [\"SLACK_BOT_TOKEN\", \"GITHUB_WEBHOOK_SECRET\"]` to `[team]` if they need \
          them (a commented line is in the file)"]
    );
}

#[test]
fn unknown_keys_and_nulls_are_dropped_and_said() {
    let json = r#"{"a": {"owner": "x", "jobs": {"j": {"run_args_template": "true", "retries": 3, "report_format": null}},
        "slack": [{"command": "go", "help": "goes", "action": "schedule_job", "job_type": "j", "emoji": "rocket"}]}}"#;
    let (imported, _) = import(json);
    assert_eq!(
        notes(&imported, NoteKind::Changed),
        [
            "`a`: dropped the key `owner`, which ebmbot does not know",
            "`a.jobs.j`: dropped the key `retries`, which ebmbot does not know",
            "`a.jobs.j`: dropped `report_format`, which was null",
            "`a` command `go`: dropped the key `emoji`, which ebmbot does not know",
        ]
    );
    assert!(!imported.toml.contains("owner") && !imported.toml.contains("retries") && !imported.toml.contains("emoji"));
}

#[test]
fn a_dump_taken_after_job_configs_was_imported_is_unprefixed() {
    let json = r#"{"op": {"jobs": {"deploy": {"run_args_template": "fab deploy"}},
        "slack": [{"command": "op deploy", "help": "deploys", "action": "schedule_job", "job_type": "op_deploy", "delay_seconds": 60.0}]}}"#;
    let (imported, catalog) = import(json);
    let command = &catalog.namespaces["op"].slack[0];
    assert_eq!((command.text.as_str(), command.job.as_str()), ("deploy", "deploy"));
    assert_eq!(command.delay, Duration::from_secs(60));
    assert!(notes(&imported, NoteKind::Changed).iter().any(|n| n.contains("job_type `op_deploy` → `deploy`")));
}

#[test]
fn placeholders_in_quotes_are_moved_out_and_said() {
    let json = r#"{"a": {"jobs": {"j": {"run_args_template": "echo \"Hello {name}!\""}},
        "slack": [{"command": "hi [name]", "help": "hi", "action": "schedule_job", "job_type": "j"}]}}"#;
    let (imported, catalog) = import(json);
    assert_eq!(catalog.namespaces["a"].jobs["j"].template.source(), r#"echo "Hello "{name}"!""#);
    let changed = notes(&imported, NoteKind::Changed);
    assert_eq!(
        changed,
        [
            r#"`a.jobs.j`: moved `{name}` out of quotes (ebmbot quotes every value itself, and a value inside quotes could run code): `echo "Hello {name}!"` → `echo "Hello "{name}"!"`"#
        ]
    );
}

#[test]
fn what_has_no_rewrite_is_left_for_config_check_and_said() {
    let settings = Settings::for_root(Path::new("/nonexistent"));
    let json = r#"{"a": {"jobs": {"j": {"run_args_template": "echo `cat {file}`"}}, "slack": []}}"#;
    let imported = convert("raw.json", json, &settings.workspace_dir).unwrap();
    let check = notes(&imported, NoteKind::Check);
    assert!(check.iter().any(|n| n.starts_with("`a.jobs.j`: placeholder `{file}` is inside quotes")), "{check:?}");
    let err = Catalog::from_str(&imported.toml, Path::new("jobs.toml"), &settings).unwrap_err();
    assert!(err.to_string().contains("inside quotes"), "{err}");
}

#[test]
fn names_toml_cannot_write_bare_are_quoted() {
    // Not valid ebmbot names, but the file must still be TOML so config check can say why.
    let json = r#"{"Bad Name": {"jobs": {"x.y": {"run_args_template": "true"}}, "slack": []}}"#;
    let settings = Settings::for_root(Path::new("/nonexistent"));
    let imported = convert("raw.json", json, &settings.workspace_dir).unwrap();
    assert!(imported.toml.contains("[\"Bad Name\".jobs.\"x.y\"]"), "{}", imported.toml);
    let err = Catalog::from_str(&imported.toml, Path::new("jobs.toml"), &settings).unwrap_err();
    assert!(err.to_string().contains("namespace `Bad Name`"), "{err}");
}

#[test]
fn input_that_is_not_raw_config_is_refused_in_one_line() {
    let ws = Path::new("/nonexistent");
    let err = convert("raw.json", "{\"a\": ", ws).unwrap_err().to_string();
    assert!(err.starts_with("raw.json is not JSON: EOF while parsing") && err.contains("(line 1, column 6)"), "{err}");
    assert!(err.contains("docs/migrating.md"), "{err}");
    let err = convert("raw.json", "[1, 2]", ws).unwrap_err().to_string();
    assert_eq!(err, "raw_config is a list, not an object; dump the `raw_config` dict itself");
    let err = convert("raw.json", r#"{"a": "x"}"#, ws).unwrap_err().to_string();
    assert!(err.starts_with("namespace `a` is a string, not an object"), "{err}");
    let err = convert("raw.json", r#"{"a": {"jobs": {}, "slack": {"x": 1}}}"#, ws).unwrap_err().to_string();
    assert_eq!(err, "`a.slack` is an object, not a list; slack is a list of commands");
}

#[test]
fn placeholders_where_the_value_is_read_again_get_a_narrow_rule_and_it_is_said() {
    let json = r#"{"ops": {"jobs": {
        "reconcile": {"run_args_template": "fab ncso_reconcile:{date},{count}"},
        "trim": {"run_args_template": "[[ {count} -gt 0 ]] && fab trim:{count}"}
    }}}"#;
    let (imported, catalog) = import(json);
    let reconcile = catalog.job("ops", "reconcile").unwrap();
    assert_eq!(reconcile.params["date"].describe(), "text matching `^[A-Za-z0-9_.-]+$`");
    assert!(reconcile.check_value("date", "2024-01-01").is_ok());
    assert!(reconcile.check_value("date", "x,evil=1").is_err());
    // The narrowest rule of every place the param stands in.
    assert_eq!(catalog.job("ops", "trim").unwrap().params["count"].describe(), "a whole number of at least 0");
    let changed = notes(&imported, NoteKind::Changed);
    assert!(
        changed.iter().any(|n| n.starts_with("`ops.jobs.reconcile`: `{date}` stands in a `fab` command line")
            && n.contains("added the rule `pattern = \"^[A-Za-z0-9_.-]+$\"`")),
        "{changed:?}"
    );
}

#[test]
fn the_original_support_listeners_are_added() {
    let (imported, catalog) = import(ORIGINAL);
    let names: Vec<(&str, &str, &str)> =
        catalog.listeners().map(|l| (l.namespace.as_str(), l.name.as_str(), l.reaction.as_str())).collect();
    assert_eq!(
        names,
        [("techsupport", "tech-support", "sos"), ("techsupport", "bennett-admins", "flamingo")],
        "{}",
        imported.toml
    );
    let admins = catalog.listener("bennett-admins").unwrap();
    assert!(admins.matches("ask Bennet-Admins") && !admins.out_of_office);
    assert!(catalog.listener("tech-support").unwrap().out_of_office);
    let (changed, _) = listener_notes(&imported, NoteKind::Changed);
    assert_eq!(changed, ["added a `techsupport` namespace for the original's support listeners"]);
    assert!(listener_notes(&imported, NoteKind::Check).0.iter().any(|n| n.contains("SLACK_BENNETT_ADMINS_CHANNEL")));
    // The original's own `techsupport` namespace (its out-of-office jobs) takes them.
    let with_ns = r#"{"techsupport": {"description": "Tech support", "jobs": {"out_of_office_on": {"run_args_template": "python jobs.py on"}}}}"#;
    let (imported, catalog) = import(with_ns);
    assert_eq!(catalog.namespace("techsupport").unwrap().listeners.len(), 2);
    assert_eq!(catalog.namespaces.len(), 1);
    assert!(
        notes(&imported, NoteKind::Check).iter().any(|n| n.contains("`ebmbot ooo tech-support`")),
        "{:?}",
        imported.notes
    );
}
