use std::path::Path;

use jiff::Timestamp;

use super::*;
use crate::queue::model::{Args, JobId};

pub(crate) fn job(state: JobState) -> Job {
    Job {
        id: JobId(7),
        namespace: "t".into(),
        job: "fail".into(),
        args: Args::default(),
        state,
        created_at: Timestamp::UNIX_EPOCH,
        start_after: Timestamp::UNIX_EPOCH,
        started_at: None,
        finished_at: None,
        exit_code: None,
        signal: None,
        detail: None,
        log_dir: None,
        dispatcher: None,
        pgid: None,
        retry_of: None,
        cancel_requested_by: None,
        requests: Vec::new(),
    }
}

#[test]
fn headlines_say_how_a_job_ended() {
    let s = Settings::for_root(Path::new("/srv"));
    let out = Output::default();
    let mut failed = job(JobState::Failed);
    failed.exit_code = Some(3);
    assert_eq!(failure(&failed, &s, false, &out), "`t_fail` failed (exit 3)");
    failed.exit_code = None;
    failed.signal = Some(9);
    assert_eq!(failure(&failed, &s, false, &out), "`t_fail` failed (killed by signal 9)");
    failed.signal = None;
    failed.detail = Some("workspace directory /x is missing".into());
    assert_eq!(failure(&failed, &s, false, &out), "`t_fail` failed: workspace directory /x is missing");
    let mut timed_out = job(JobState::TimedOut);
    timed_out.detail = Some("timed out after 1h".into());
    assert_eq!(failure(&timed_out, &s, false, &out), "`t_fail` timed out after 1h");
    let mut lost = job(JobState::Lost);
    lost.detail = Some("ebmbot stopped while this job was running".into());
    assert_eq!(failure(&lost, &s, false, &out), "`t_fail` lost (ebmbot stopped while this job was running)");
    let mut cancelled = job(JobState::Cancelled);
    cancelled.detail = Some("cancelled by U123".into());
    assert_eq!(failure(&cancelled, &s, false, &out), "`t_fail` cancelled by <@U123>");
    cancelled.detail = Some("cancelled by terminal:alice".into());
    assert_eq!(failure(&cancelled, &s, false, &out), "`t_fail` cancelled by terminal:alice");
}

#[test]
fn failures_point_at_the_host_logs_and_show_stderr_unless_restricted() {
    let mut s = Settings::for_root(Path::new("/srv"));
    s.host_logs_dir = "/host/logs".into();
    let mut failed = job(JobState::Failed);
    failed.exit_code = Some(1);
    failed.log_dir = Some("/srv/logs/t_fail/20260101-000000-7".into());
    let out = Output { stdout: String::new(), stderr_tail: "boom".into() };
    let text = failure(&failed, &s, false, &out);
    assert!(text.contains("Logs: `/host/logs/t_fail/20260101-000000-7`"), "{text}");
    assert!(text.contains("`@ebmbot logs 7 stderr`") && text.ends_with("```boom```"), "{text}");
    assert!(!failure(&failed, &s, true, &out).contains("boom"));
    let mut cancelled = failed.clone();
    cancelled.state = JobState::Cancelled;
    assert!(!failure(&cancelled, &s, false, &out).contains("boom"), "a cancellation is no failure");
}

#[test]
fn blocks_must_be_an_array_of_one_to_fifty_typed_objects() {
    assert!(blocks(r#"[{"type": "divider"}]"#).is_ok());
    assert!(blocks("not json").unwrap_err().contains("not JSON"));
    assert!(blocks(r#"{"type": "divider"}"#).unwrap_err().contains("not an array"));
    assert!(blocks("[]").unwrap_err().contains("0 blocks"));
    let many = format!("[{}]", vec![r#"{"type": "divider"}"#; 51].join(","));
    assert!(blocks(&many).unwrap_err().contains("51 blocks"));
    assert!(blocks(r#"[{"text": "x"}]"#).unwrap_err().contains("block 1 has no `type`"));
}

#[test]
fn reading_logs_keeps_the_last_ten_lines_and_replaces_bad_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let lines: String = (1..=15).map(|i| format!("line {i}\n")).collect();
    std::fs::write(dir.path().join("stderr"), lines).unwrap();
    std::fs::write(dir.path().join("stdout"), b"ok \xff\n").unwrap();
    let mut j = job(JobState::Failed);
    j.log_dir = Some(dir.path().display().to_string());
    let out = Output::read(&j);
    assert!(out.stderr_tail.starts_with("line 6\n") && out.stderr_tail.ends_with("line 15"), "{}", out.stderr_tail);
    assert_eq!(out.stdout, "ok \u{fffd}\n");
}

#[test]
fn text_is_escaped_so_output_never_becomes_markup() {
    assert_eq!(escape("<!channel> & <http://x|y>"), "&lt;!channel&gt; &amp; &lt;http://x|y&gt;");
    let mut cancelled = job(JobState::Cancelled);
    cancelled.detail = Some("cancelled by U1".into());
    let s = Settings::for_root(Path::new("/srv"));
    assert_eq!(
        failure(&cancelled, &s, false, &Output::default()),
        "`t_fail` cancelled by <@U1>",
        "our own mention stays"
    );
}
