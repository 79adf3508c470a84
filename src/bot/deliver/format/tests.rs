use std::path::Path;

use jiff::Timestamp;

use super::*;
use crate::queue::model::{Args, DispatcherId, JobId, JobStatus, Process, Run};

/// A job of `namespace` t, job `fail`, in `state` (finished ones with a typical outcome).
pub(crate) fn job(state: JobState) -> Job {
    let outcome = match state {
        JobState::Pending | JobState::Running => None,
        JobState::Succeeded => Some(Outcome::Succeeded),
        JobState::Failed => Some(Outcome::Failed { exit_code: 1 }),
        JobState::TimedOut => Some(Outcome::TimedOut { after: std::time::Duration::from_secs(3600) }),
        JobState::Cancelled => Some(Outcome::Cancelled { by: "U1".into() }),
        JobState::Lost => Some(Outcome::Lost { detail: String::new() }),
    };
    let run = Run { started_at: Timestamp::UNIX_EPOCH, dispatcher: DispatcherId(1), process: None };
    let status = match outcome {
        None if state == JobState::Pending => JobStatus::Pending,
        None => JobStatus::Running { run, stop_requested_by: None },
        Some(outcome) => JobStatus::Finished { run: Some(run), finished_at: Timestamp::UNIX_EPOCH, outcome },
    };
    Job {
        id: JobId(7),
        namespace: "t".into(),
        job: "fail".into(),
        args: Args::default(),
        created_at: Timestamp::UNIX_EPOCH,
        start_after: Timestamp::UNIX_EPOCH,
        retry_of: None,
        status,
        requests: Vec::new(),
    }
}

/// `job` finished with `outcome`.
pub(crate) fn ended(outcome: Outcome) -> Job {
    let mut j = job(outcome.state());
    if let JobStatus::Finished { outcome: o, .. } = &mut j.status {
        *o = outcome;
    }
    j
}

/// `j` with its process's logs in `dir`.
fn logged(mut j: Job, dir: &str) -> Job {
    match &mut j.status {
        JobStatus::Running { run, .. } | JobStatus::Finished { run: Some(run), .. } => {
            run.process = Some(Process { log_dir: dir.to_owned(), pgid: None });
        }
        JobStatus::Pending | JobStatus::Finished { run: None, .. } => unreachable!("a job that ran"),
    }
    j
}

#[test]
fn headlines_say_how_a_job_ended() {
    let s = Settings::for_root(Path::new("/srv"));
    let out = Output::default();
    let said = |outcome: Outcome| failure(&ended(outcome), &s, false, &out);
    assert_eq!(said(Outcome::Failed { exit_code: 3 }), "`t_fail` failed (exit 3)");
    assert_eq!(said(Outcome::Killed { signal: 9 }), "`t_fail` failed (killed by signal 9)");
    assert_eq!(
        said(Outcome::Error { detail: "workspace directory /x is missing".into() }),
        "`t_fail` failed: workspace directory /x is missing"
    );
    assert_eq!(said(Outcome::TimedOut { after: std::time::Duration::from_secs(3600) }), "`t_fail` timed out after 1h");
    assert_eq!(
        said(Outcome::Lost { detail: "ebmbot stopped while this job was running".into() }),
        "`t_fail` lost (ebmbot stopped while this job was running)"
    );
    assert_eq!(said(Outcome::Cancelled { by: "U123".into() }), "`t_fail` cancelled by <@U123>");
    assert_eq!(said(Outcome::Cancelled { by: "terminal:alice".into() }), "`t_fail` cancelled by terminal:alice");
    assert_eq!(said(Outcome::Cancelled { by: "ebmbot shut down".into() }), "`t_fail` cancelled by ebmbot shut down");
}

#[test]
fn failures_point_at_the_host_logs_and_show_stderr_unless_restricted() {
    let mut s = Settings::for_root(Path::new("/srv"));
    s.host_logs_dir = "/host/logs".into();
    let failed = logged(job(JobState::Failed), "/srv/logs/t_fail/20260101-000000-7");
    let out = Output { stdout: String::new(), stderr_tail: "boom".into() };
    let text = failure(&failed, &s, false, &out);
    assert!(text.contains("Logs: `/host/logs/t_fail/20260101-000000-7`"), "{text}");
    assert!(text.contains("`@ebmbot logs 7 stderr`") && text.ends_with("```boom```"), "{text}");
    assert!(!failure(&failed, &s, true, &out).contains("boom"));
    let cancelled = logged(job(JobState::Cancelled), "/srv/logs/t_fail/20260101-000000-7");
    assert!(!failure(&cancelled, &s, false, &out).contains("boom"), "a cancellation is no failure");
}

#[test]
fn blocks_must_be_an_array_of_one_to_fifty_typed_objects() {
    assert!(blocks(r#"[{"type": "divider"}]"#).is_ok());
    assert!(blocks("not json").unwrap_err().to_string().contains("not JSON"));
    assert!(blocks(r#"{"type": "divider"}"#).unwrap_err().to_string().contains("not an array"));
    assert!(blocks("[]").unwrap_err().to_string().contains("0 blocks"));
    let many = format!("[{}]", vec![r#"{"type": "divider"}"#; 51].join(","));
    assert!(blocks(&many).unwrap_err().to_string().contains("51 blocks"));
    assert!(blocks(r#"[{"text": "x"}]"#).unwrap_err().to_string().contains("block 1 has no `type`"));
}

#[test]
fn reading_logs_keeps_the_last_ten_lines_and_replaces_bad_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let lines: String = (1..=15).fold(String::new(), |mut text, i| {
        text.push_str(&format!("line {i}\n"));
        text
    });
    std::fs::write(dir.path().join("stderr"), lines).unwrap();
    std::fs::write(dir.path().join("stdout"), b"ok \xff\n").unwrap();
    let j = logged(job(JobState::Failed), &dir.path().display().to_string());
    let out = Output::read(&j, &Settings::for_root(Path::new("/srv")));
    assert!(out.stderr_tail.starts_with("line 6\n") && out.stderr_tail.ends_with("line 15"), "{}", out.stderr_tail);
    assert_eq!(out.stdout, "ok \u{fffd}\n");
}

/// Issue 9, item 9: a job that prints a secret does not have it posted to Slack.
#[test]
fn secrets_printed_by_a_job_are_masked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stdout"), "token: xoxb-live-token-value\n").unwrap();
    std::fs::write(dir.path().join("stderr"), "hook secret gh-hook-secret-value in use\n").unwrap();
    let mut settings = Settings::for_root(Path::new("/srv"));
    settings.slack_bot_token = Some(crate::config::Secret::new("xoxb-live-token-value"));
    settings.github_webhook_secret = Some(crate::config::Secret::new("gh-hook-secret-value"));
    let j = logged(job(JobState::Failed), &dir.path().display().to_string());
    let out = Output::read(&j, &settings);
    assert_eq!(out.stdout, "token: [redacted]\n");
    assert_eq!(out.stderr_tail, "hook secret [redacted] in use");
}

#[test]
fn text_is_escaped_so_output_never_becomes_markup() {
    assert_eq!(escape("<!channel> & <http://x|y>"), "&lt;!channel&gt; &amp; &lt;http://x|y&gt;");
    assert_eq!(
        escape_keeping_mentions("<@UBOT> `help` <@W0A|x> <!here> <@U> <@U1 <#C1|a> <@U2>"),
        "<@UBOT> `help` &lt;@W0A|x&gt; &lt;!here&gt; &lt;@U&gt; &lt;@U1 &lt;#C1|a&gt; <@U2>"
    );
    let cancelled = job(JobState::Cancelled);
    let s = Settings::for_root(Path::new("/srv"));
    assert_eq!(
        failure(&cancelled, &s, false, &Output::default()),
        "`t_fail` cancelled by <@U1>",
        "our own mention stays"
    );
}
