//! `ebmbot config import`: the Python bot's `raw_config`, dumped as docs/migrating.md says, to a
//! `jobs.toml` that ebmbot runs.

use std::process::Command;

use crate::support::TestEnv;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/python_bot");

/// The dump one-liner of docs/migrating.md, word for word.
const ONE_LINER: &str = r#"import ast,json,sys; t=ast.parse(open(sys.argv[1]).read()); print(json.dumps(next(ast.literal_eval(n.value) for n in t.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "raw_config")))"#;

fn env() -> TestEnv {
    TestEnv::new("")
}

#[test]
fn the_documented_dump_piped_in_becomes_a_jobs_toml_that_runs() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/migrating.md")).unwrap();
    assert!(docs.contains(ONE_LINER), "docs/migrating.md gives the one-liner this test runs");
    let dump =
        Command::new("python3").arg("-c").arg(ONE_LINER).arg(format!("{FIXTURE}/job_configs.py")).output().unwrap();
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));

    let env = env();
    let out = env.cmd().args(["config", "import", "-"]).write_stdin(dump.stdout).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.ends_with(
            "the imported jobs.toml is valid: 4 namespace(s), 7 job(s), 10 Slack command(s), 0 webhook trigger(s)\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("changed: `rota` command `weekly`: joined its help, a list of 2 strings, into one"),
        "{stderr}"
    );

    // The result is the user's new jobs.toml: it checks, lists and runs.
    std::fs::write(env.path("jobs.toml"), &out.stdout).unwrap();
    let check = env.ok(&["config", "check"]);
    assert!(check.contains("deploy-site  2 job(s), 5 Slack command(s)"), "{check}");
    assert!(check.contains("techsupport  0 job(s), 0 Slack command(s), 2 support listener(s)"), "{check}");
    env.script("test", "jobs.py", "");
    let reply = env.ok(&["say", "test", "greet", "$(touch pwned) Bob"]);
    assert!(reply.contains("is queued"), "{reply}");
    env.ok(&["dispatch", "--once"]);
    assert_eq!(env.log(1, "stdout"), "Hello $(touch pwned) Bob, welcome\n", "the value reached echo as one literal");
    assert!(!env.path("workspace/test/pwned").exists());
}

#[test]
fn notes_go_to_stderr_and_only_the_toml_to_stdout() {
    let env = env();
    let out = env.run(&["config", "import", &format!("{FIXTURE}/raw_config.json")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let toml = String::from_utf8(out.stdout).unwrap();
    assert!(toml.starts_with("# Imported from the Python bot's raw_config"), "{toml}");
    toml.parse::<toml::Table>().expect("stdout is TOML alone");
    let stderr = String::from_utf8(out.stderr).unwrap();
    for line in stderr.lines() {
        assert!(
            line.starts_with("changed: ") || line.starts_with("check: ") || line.starts_with("the imported"),
            "{line}"
        );
    }
    assert!(stderr.contains("changed: `deploy-site`: added `allow_reminders = true`"), "{stderr}");
    assert!(toml.contains("\nallow_reminders = true\n"), "{toml}");

    let json = env.json(&["config", "import", &format!("{FIXTURE}/raw_config.json")]);
    assert_eq!(json["toml"], toml);
    assert_eq!(json["summary"]["namespaces"], 4);
    assert!(json["notes"].as_array().unwrap().iter().any(|n| n["kind"] == "changed"));
}

#[test]
fn a_result_that_does_not_validate_is_printed_and_exits_2() {
    let env = env();
    // The original accepted a command that never gave its job's placeholder.
    let raw = r#"{"flows": {"jobs": {"show_group": {"run_args_template": "python jobs.py show --group {group}"}},
        "slack": [{"command": "show-group", "help": "shows a group", "action": "schedule_job", "job_type": "show_group"}]}}"#;
    std::fs::write(env.path("raw.json"), raw).unwrap();
    let out = env.run(&["config", "import", "raw.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("[flows.jobs.show_group]"), "the TOML is not lost");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let last = stderr.lines().last().unwrap();
    assert!(last.starts_with("error: the imported jobs.toml: ") && last.contains("add `[group]`"), "{stderr}");

    let out = env.run(&["config", "import", "raw.json", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["error"]["kind"], "bad_input");
    assert!(doc["toml"].as_str().unwrap().contains("show_group") && doc["summary"].is_null());
}

#[test]
fn input_that_is_not_a_dump_is_bad_input_in_one_line() {
    let env = env();
    let err = env.fails(2, &["config", "import", "missing.json"]);
    assert_eq!(err, "error: missing.json does not exist; give the JSON dump of `raw_config` (or `-` for stdin)\n");
    std::fs::write(env.path("raw.py"), "raw_config = {'a': {}}\n").unwrap();
    let err = env.fails(2, &["config", "import", "raw.py"]);
    assert!(
        err.starts_with("error: raw.py is not JSON: expected value (line 1, column 1); dump `raw_config`"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn the_python_bots_database_is_named_and_left_alone() {
    let env = env();
    let old = env.path("bennettbot.db");
    let created = Command::new("python3")
        .arg("-c")
        .arg("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table job (id integer primary key, type text)'); c.execute('create table suppression (id integer primary key, job_type text)'); c.commit()")
        .arg(&old)
        .status()
        .unwrap();
    assert!(created.success());
    let before = std::fs::read(&old).unwrap();
    let out = env.cmd().args(["queue", "list"]).env("DB_PATH", &old).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("is the Python bot's database") && err.contains("docs/migrating.md"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(std::fs::read(&old).unwrap(), before, "the old file is untouched");
}
