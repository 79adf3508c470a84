//! Real `bash` jobs. Nothing sleeps for time to pass: timeouts and graces are sub-second, and
//! waits are for something to happen, bounded.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::*;
use crate::config::{JobType, Template};
use crate::runner::logs::Stream;
use crate::runner::proc;

/// A job spec under `root`: workdir `root/work` (created on demand), logs in `root/logs/1`.
pub(crate) fn spec(root: &Path, command: &str) -> JobSpec {
    JobSpec {
        id: JobId(1),
        job_type: JobType::new("test", "job"),
        command: command.into(),
        shell: "bash".into(),
        workdir: root.join("work"),
        workdir_fixed: false,
        env: Vec::new(),
        env_remove: Vec::new(),
        log_dir: root.join("logs").join("1"),
        max_log: 1_000_000,
        // Only so that a broken test cannot hang; no test waits this long.
        timeout: Some(Duration::from_secs(20)),
        kill_grace: Duration::from_millis(200),
        tee: false,
        // This test executable is not ebmbot: jobs run without their reaper here; the
        // integration tests run them through the real binary (tests/it/descendants.rs).
        reaper: None,
    }
}

/// Runs `spec` to the end: (outcome, stdout log, stderr log).
pub(crate) fn run(spec: JobSpec) -> (Outcome, Vec<u8>, String) {
    let log_dir = spec.log_dir.clone();
    let (handle, done) = start_job(spec);
    let outcome = finish(&done, handle.id());
    let stdout = fs::read(log_dir.join(Stream::Stdout.file_name())).unwrap();
    let stderr = fs::read_to_string(log_dir.join(Stream::Stderr.file_name())).unwrap();
    (outcome, stdout, stderr)
}

fn start_job(spec: JobSpec) -> (JobHandle, Receiver<Finished>) {
    let (tx, rx) = mpsc::channel();
    let handle = spawn(spec, super::Done::new(tx, None)).unwrap();
    (handle, rx)
}

fn finish(done: &Receiver<Finished>, id: JobId) -> Outcome {
    let finished = done.recv_timeout(Duration::from_secs(15)).expect("Finished");
    assert_eq!(finished.id, id);
    assert!(done.recv_timeout(Duration::from_millis(50)).is_err(), "exactly one Finished");
    finished.outcome
}

/// Waits (bounded) for something to become true.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

fn stdout_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn exit_codes_become_outcomes() {
    let root = TempDir::new().unwrap();
    let outcome = |cmd: &str| run(spec(root.path(), cmd)).0;
    assert_eq!(outcome("true"), Outcome::Succeeded);
    assert_eq!(outcome("exit 3"), Outcome::Failed { exit_code: 3 });
    assert_eq!(outcome("kill -KILL $$"), Outcome::Killed { signal: 9 });
}

#[test]
fn hostile_values_reach_the_job_as_one_literal_argument() {
    let root = TempDir::new().unwrap();
    let work = root.path().join("work");
    fs::create_dir_all(work.join("home")).unwrap();
    fs::write(work.join("args.sh"), "printf '%s\\n' \"$#\"; printf '%s' \"$1\"").unwrap();
    let template = Template::parse("bash ./args.sh {value}").unwrap();
    let values = [
        "; rm -rf ~".to_owned(),
        "$(id)".to_owned(),
        "`id`".to_owned(),
        r#"it's "quoted" \ '' "#.to_owned(),
        "line one\nline two\n".to_owned(),
        "Grüße, 日本語 🎉".to_owned(),
        String::new(),
        "*".to_owned(),
        "x".repeat(100_000),
    ];
    for value in values {
        let args = BTreeMap::from([("value".to_owned(), value.clone())]);
        let mut job = spec(root.path(), &template.render(&args).unwrap());
        // Should quoting ever break, `~` is a scratch directory.
        job.env.push(("HOME".into(), work.join("home").display().to_string()));
        let (outcome, stdout, stderr) = run(job);
        assert_eq!(outcome, Outcome::Succeeded, "{stderr}");
        assert_eq!(stdout_text(stdout), format!("1\n{value}"));
    }
    assert!(work.join("home").is_dir());
}

#[test]
fn logs_keep_both_streams_and_raw_bytes() {
    let root = TempDir::new().unwrap();
    let (outcome, stdout, stderr) = run(spec(root.path(), r"printf 'out\n\xff\n'; echo err >&2"));
    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(stdout, b"out\n\xff\n");
    assert_eq!(stderr, "err\n");
    assert!(root.path().join("work").is_dir(), "created on demand");
}

#[test]
fn logs_are_capped_with_a_notice_and_the_job_carries_on() {
    let root = TempDir::new().unwrap();
    let mut job = spec(root.path(), "head -c 300000 /dev/zero | tr '\\0' a; echo finished >&2");
    job.max_log = 1000;
    let (outcome, stdout, stderr) = run(job);
    assert_eq!(outcome, Outcome::Succeeded);
    let expected = format!("{}\n[ebmbot: output cut at 1000 bytes]\n", "a".repeat(1000));
    assert_eq!(stdout_text(stdout), expected);
    assert_eq!(stderr, "finished\n");
}

#[test]
fn logs_grow_while_the_job_runs() {
    let root = TempDir::new().unwrap();
    let fifo = root.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let job = spec(root.path(), &format!("echo first; read line < {}; echo second", fifo.display()));
    let log = job.log_dir.join(Stream::Stdout.file_name());
    let (handle, done) = start_job(job);
    wait_until("the first line is in the log", || fs::read_to_string(&log).unwrap() == "first\n");
    fs::write(&fifo, "go\n").unwrap();
    assert_eq!(finish(&done, handle.id()), Outcome::Succeeded);
    assert_eq!(fs::read_to_string(&log).unwrap(), "first\nsecond\n");
}

fn gone(pid: i32) -> bool {
    !proc::is_alive(pid)
}

#[test]
fn timeout_stops_the_whole_group() {
    let root = TempDir::new().unwrap();
    let pidfile = root.path().join("pid");
    let mut job = spec(root.path(), &format!("sleep 30 & echo $! > {}; sleep 30", pidfile.display()));
    job.timeout = Some(Duration::from_millis(500));
    let (outcome, _, _) = run(job);
    assert_eq!(outcome, Outcome::TimedOut { after: Duration::from_millis(500) });
    let grandchild: i32 = fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    wait_until("the grandchild is gone", || gone(grandchild));
}

#[test]
fn a_job_that_ignores_sigterm_is_killed_after_the_grace() {
    let root = TempDir::new().unwrap();
    let mut job = spec(root.path(), "trap '' TERM; sleep 30; exit 0");
    job.timeout = Some(Duration::from_millis(200));
    let started = Instant::now();
    let (outcome, _, _) = run(job);
    assert!(matches!(outcome, Outcome::TimedOut { .. }));
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn a_grandchild_holding_the_pipe_does_not_hang_the_job() {
    let root = TempDir::new().unwrap();
    let pidfile = root.path().join("pid");
    let job = spec(root.path(), &format!("(sleep 30 & echo $! > {}); echo hi; exit 0", pidfile.display()));
    let started = Instant::now();
    let (outcome, stdout, _) = run(job);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(stdout_text(stdout), "hi\n");
    let grandchild: i32 = fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    wait_until("the rest of the group is stopped", || gone(grandchild));
}

#[test]
fn cancel_stops_the_job() {
    let root = TempDir::new().unwrap();
    let job = spec(root.path(), "echo started; sleep 30");
    let log = job.log_dir.join(Stream::Stdout.file_name());
    let (handle, done) = start_job(job);
    assert!(handle.pgid().is_some());
    wait_until("the job has started", || fs::read_to_string(&log).unwrap() == "started\n");
    handle.cancel("U123".into());
    handle.cancel("U456".into());
    assert_eq!(finish(&done, handle.id()), Outcome::Cancelled { by: "U123".into() });
    handle.cancel("late".into());
}

#[test]
fn kill_stops_a_job_that_ignores_sigterm_without_the_grace() {
    let root = TempDir::new().unwrap();
    let mut job = spec(root.path(), "trap '' TERM; echo started; sleep 30");
    // Far past `finish`'s deadline: only the kill can end the job in time.
    job.kill_grace = Duration::from_secs(60);
    let log = job.log_dir.join(Stream::Stdout.file_name());
    let (handle, done) = start_job(job);
    wait_until("the job has started", || fs::read_to_string(&log).unwrap() == "started\n");
    handle.cancel("U123".into());
    handle.kill("U456".into());
    assert_eq!(finish(&done, handle.id()), Outcome::Cancelled { by: "U123".into() }, "the first request names it");

    let root = TempDir::new().unwrap();
    let job = spec(root.path(), "echo started; sleep 30");
    let log = job.log_dir.join(Stream::Stdout.file_name());
    let (handle, done) = start_job(job);
    wait_until("the job has started", || fs::read_to_string(&log).unwrap() == "started\n");
    handle.kill("U456".into());
    assert_eq!(finish(&done, handle.id()), Outcome::Cancelled { by: "U456".into() });
}

#[test]
fn a_missing_fixed_workdir_is_an_error_in_the_log() {
    let root = TempDir::new().unwrap();
    let mut job = spec(root.path(), "true");
    job.workdir_fixed = true;
    let detail = format!("workspace directory {} is missing", job.workdir.display());
    let (outcome, _, stderr) = run(job);
    assert_eq!(outcome, Outcome::Error { detail: detail.clone() });
    assert_eq!(stderr, format!("{detail}\n"));
    assert!(!root.path().join("work").exists());
}

#[test]
fn command_not_found_is_exit_127_with_the_shells_message() {
    let root = TempDir::new().unwrap();
    let (outcome, _, stderr) = run(spec(root.path(), "no-such-command-ebmbot"));
    assert_eq!(outcome, Outcome::Failed { exit_code: 127 });
    assert!(stderr.contains("no-such-command-ebmbot: command not found"), "{stderr}");
}

#[test]
fn a_shell_that_cannot_start_is_an_error_in_the_log() {
    let root = TempDir::new().unwrap();
    let mut job = spec(root.path(), "true");
    job.shell = "/nonexistent/shell".into();
    let (outcome, _, stderr) = run(job);
    let Outcome::Error { detail } = outcome else { panic!("{outcome:?}") };
    assert!(detail.starts_with("cannot start the shell `/nonexistent/shell`"));
    assert_eq!(stderr, format!("{detail}\n"));
}

#[test]
fn unwritable_log_dir_is_refused_naming_the_path() {
    let root = TempDir::new().unwrap();
    fs::write(root.path().join("file"), "").unwrap();
    let mut job = spec(root.path(), "true");
    job.log_dir = root.path().join("file").join("1");
    let (tx, rx) = mpsc::channel();
    let err = spawn(job, super::Done::new(tx, None)).unwrap_err();
    assert!(matches!(err, SpawnError::LogDir { .. }));
    assert!(err.to_string().contains(&root.path().join("file/1").display().to_string()));
    assert!(rx.try_recv().is_err(), "nothing is sent for a refused job");
}
