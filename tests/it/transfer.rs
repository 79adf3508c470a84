//! `queue export` / `queue import`: from a SQLite queue into this half's database (PostgreSQL
//! in the `pg` half) and back into a new SQLite file, each export equal to the first; bad files.

use std::os::unix::fs::PermissionsExt;

use ebmbot::queue::model::{DispatcherId, Origin};
use ebmbot::queue::{Location, NewDispatcher, NewJob, NewReply, Options, Queue};

use crate::env;
use crate::support::TestEnv;

/// A SQLite queue at `source.db` with what an export carries, and one running job it does not.
fn source(env: &TestEnv) -> String {
    let db = env.path("source.db").display().to_string();
    let at = |args: &[&str]| {
        let mut all = vec!["--db", db.as_str()];
        all.extend_from_slice(args);
        env.ok(&all)
    };
    // A job that finished with its Slack report still undelivered (no Slack here).
    at(&["schedule", "t", "echo", "--value", "done", "--notify", "C1"]);
    at(&["dispatch", "--once"]);
    at(&["schedule", "t", "echo", "--value", "Bob", "--delay", "1h"]);
    at(&["schedule", "t", "echo", "--value=Bob", "--delay", "2h", "--notify", "C2"]);
    at(&["schedule", "t", "args", "--value", "it's $(id)", "--delay", "10m"]);
    at(&["suppress", "t", "fail", "--until", "+3h"]);
    let mut q = Queue::open(Location::sqlite(env.path("source.db")), Options::default()).unwrap();
    let now = jiff::Timestamp::now();
    q.store_slack_event("Ev1", "C1", "1.1", r#"{"event":{"user":"U1","text":"status"}}"#, now).unwrap();
    let reply = NewReply { channel: "C1".into(), text: Some("Nothing is happening".into()), ..NewReply::default() };
    q.add_reply(None, &reply, now).unwrap();
    let d = NewDispatcher {
        kind: "test".into(),
        host: "h".into(),
        boot_id: "b".into(),
        pid: 1,
        pid_start: 1,
        timezone: "UTC".into(),
        lease: std::time::Duration::from_secs(60),
    };
    let d: DispatcherId = q.register_dispatcher(&d, now).unwrap();
    let origin = Origin::Terminal { user: "me".into(), notify: None };
    let slow = NewJob {
        namespace: "t".into(),
        job: "slow".into(),
        args: [("seconds", "9")].into_iter().collect(),
        delay: std::time::Duration::ZERO,
        origin,
    };
    q.schedule(&slow, now).unwrap();
    q.claim(d, now, now, 8).unwrap().expect("the slow job is running");
    db
}

/// The lines after the header.
fn body(text: &str) -> Vec<&str> {
    assert!(text.starts_with(r#"{"version":1,"kind":"header""#), "{text}");
    text.lines().skip(1).collect()
}

#[test]
fn sqlite_to_this_database_and_back_gives_the_same_export() {
    let env = env();
    let sqlite = source(&env);
    let out = env.run(&["--db", &sqlite, "queue", "export", "first.jsonl"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: 1 running job(s) (id 4)") && stderr.contains("stop every dispatcher"),
        "{stderr}"
    );
    assert!(stderr.contains("exported 2 pending job(s), 1 finished job(s) with 2 undelivered message(s)"), "{stderr}");
    let first = std::fs::read_to_string(env.path("first.jsonl")).unwrap();
    assert!(!first.contains(r#""slow""#), "the running job is not exported");
    assert_eq!(std::fs::metadata(env.path("first.jsonl")).unwrap().permissions().mode() & 0o777, 0o600);

    // Into this half's database (PostgreSQL in the pg half), twice: the second adds nothing.
    let report = env.json(&["queue", "import", "first.jsonl"]);
    assert_eq!((report["jobs"].as_u64(), report["events"].as_u64()), (Some(3), Some(2)), "{report}");
    let again = env.ok(&["queue", "import", "first.jsonl"]);
    assert!(again.contains("0 new job(s), 0 joined an identical pending job, 3 already here"), "{again}");
    let here = env.ok(&["queue", "export", "-"]);
    assert_eq!(body(&here), body(&first));

    // And back into a new SQLite file, from stdin.
    let back = env.path("back.db").display().to_string();
    env.cmd().args(["--db", &back, "queue", "import", "-"]).write_stdin(here.clone()).assert().success();
    assert_eq!(body(&env.ok(&["--db", &back, "queue", "export"])), body(&first));

    // The imported jobs are the same jobs: same ids, requests merged as they were, and they run.
    let jobs = env.json(&["queue", "list"]);
    let bob = jobs.as_array().unwrap().iter().find(|j| j["args"]["value"] == "Bob").unwrap();
    assert_eq!((bob["id"].as_i64(), bob["requests"].as_array().unwrap().len()), (Some(2), 2));
    let new = env.json(&["schedule", "t", "echo", "--value", "new"]);
    assert_eq!(new["id"], 4, "new jobs come after the imported ones");
}

#[test]
fn an_import_into_a_busy_queue_merges_and_renumbers() {
    let env = env();
    let sqlite = source(&env);
    env.ok(&["--db", &sqlite, "queue", "export", "first.jsonl"]);
    for value in ["x", "y", "Bob"] {
        env.schedule(&["t", "echo", "--value", value]);
    }
    let text = env.ok(&["queue", "import", "first.jsonl"]);
    assert!(text.contains("2 new job(s), 1 joined an identical pending job"), "{text}");
    assert!(text.contains("job 1 is job 4 here (its id was taken)\njob 3 is job 5 here"), "{text}");
    let jobs = env.json(&["queue", "list"]);
    let bobs: Vec<_> = jobs.as_array().unwrap().iter().filter(|j| j["args"]["value"] == "Bob").collect();
    assert_eq!(bobs.len(), 1, "one pending Bob, not two");
    assert_eq!(bobs[0]["requests"].as_array().unwrap().len(), 3);
}

#[test]
fn bad_files_are_refused_whole_naming_the_line() {
    let env = env();
    let sqlite = source(&env);
    let good = env.ok(&["--db", &sqlite, "queue", "export", "-"]);
    let lines: Vec<&str> = good.lines().collect();
    let write = |name: &str, lines: &[&str]| std::fs::write(env.path(name), lines.join("\n") + "\n").unwrap();
    let v2 = lines[0].replace(r#""version":1"#, r#""version":2"#);
    write("v2.jsonl", &[&v2, lines[1]]);
    let widget = r#"{"version":1,"kind":"widget","name":"nightly"}"#;
    write("kind.jsonl", &[lines[0], lines[1], widget]);
    let cut = &lines[2][..lines[2].len() / 2];
    write("cut.jsonl", &[lines[0], lines[1], cut, lines[3]]);
    write("noheader.jsonl", &lines[1..3]);
    let outside = lines[1].replacen(r#""log_dir":""#, r#""log_dir":"/etc/"#, 1);
    assert_ne!(outside, lines[1], "the first job is the finished one, with its log dir");
    write("outside.jsonl", &[lines[0], &outside]);
    write("empty.jsonl", &[]);
    for (file, says) in [
        ("v2.jsonl", "line 1: export format version 2; this ebmbot reads version 1"),
        ("kind.jsonl", "line 3: unknown kind `widget`"),
        ("cut.jsonl", "line 3: not a JSON object"),
        ("noheader.jsonl", "line 1: this is not an ebmbot queue export"),
        ("outside.jsonl", "line 2: log path `/etc/"),
        ("empty.jsonl", "it is empty"),
        ("missing.jsonl", "no such file"),
    ] {
        let stderr = env.fails(2, &["queue", "import", file]);
        assert!(stderr.contains(says), "{file}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
    assert_eq!(env.json(&["queue", "list"]), serde_json::json!([]), "nothing of a refused file was imported");
}
