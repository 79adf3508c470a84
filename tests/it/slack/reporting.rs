//! What is posted when jobs end: success, failure with logs and stderr, tech-support re-posts,
//! reactions on every requesting message, `--notify` channels by name.

use crate::support::slack::{LOGS, SUPPORT, Slack, dm, text};

#[test]
fn a_failure_says_how_and_where_the_logs_are_and_tech_support_gets_the_permalink() {
    let mut t = Slack::new();
    t.set("HOST_LOGS_DIR", "/srv/ebmbot/logs");
    t.start_bot();
    t.mention("C1", "10.1", "t fail");
    t.fake.wait_post("Job 1 (`t_fail`) is queued.");
    t.dispatch_once();
    let failure = t.fake.wait_post("`t_fail` failed (exit 3)");
    assert_eq!((failure["channel"].as_str(), failure.get("thread_ts")), (Some("C1"), None));
    let body = text(&failure);
    assert!(body.contains("Logs: `/srv/ebmbot/logs/t_fail/"), "{body}");
    assert!(body.contains("`@ebmbot logs 1 stderr`"), "{body}");
    assert!(body.contains("one\ntwo"), "the last lines of stderr: {body}");
    t.fake.wait_reaction("C1", "10.1", "x");
    let repost = t.fake.wait_post("`t_fail` (job 1) failed: https://team.slack.com/archives/C1/p");
    assert_eq!(repost["channel"], SUPPORT);
    let permalink = &t.fake.calls("chat.getPermalink")[0];
    assert_eq!((&permalink["channel"], &permalink["message_ts"]), (&failure["channel"], &failure["_ts"]));
}

#[test]
fn restricted_namespaces_keep_stderr_out_and_dms_are_not_reposted() {
    let mut t = Slack::new();
    t.start_bot();
    t.dm("11.1", "secret show");
    t.fake.wait_post("Job 1 (`secret_show`) is queued.");
    t.dispatch_once();
    let failure = t.fake.wait_post("`secret_show` failed (exit 1)");
    assert_eq!(failure["channel"], "D1");
    assert!(failure.get("thread_ts").is_none(), "a top-level DM gets a top-level answer");
    assert!(!text(&failure).contains("secret-stderr"), "no stderr from a restricted namespace: {failure}");
    t.fake.wait_reaction("D1", "11.1", "x");
    assert!(t.fake.posts().iter().all(|p| p["channel"] != SUPPORT), "DMs are never re-posted");
    assert!(t.fake.calls("chat.getPermalink").is_empty());
}

#[test]
fn terminal_jobs_notify_a_channel_by_name_and_tech_support_gets_the_text() {
    let t = Slack::new();
    let ok = t.run(&["schedule", "t", "quiet", "--notify", "#ops"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    t.run(&["schedule", "t", "fail", "--notify", "#ops"]);
    t.run(&["schedule", "t", "nosupport", "--notify", "COPS"]);
    t.dispatch_once();
    let success = t.fake.wait_post("`t_quiet` succeeded.");
    assert_eq!(success["channel"], "COPS", "#ops resolved through conversations.list");
    assert!(success.get("thread_ts").is_none());
    let failure = t.fake.wait_post("`t_fail` failed (exit 3)");
    assert_eq!(failure["channel"], "COPS");
    let support: Vec<String> = t.fake.posts().iter().filter(|p| p["channel"] == SUPPORT).map(text).collect();
    assert_eq!(support.len(), 1, "{support:?}");
    assert!(support[0].starts_with("`t_fail` failed (exit 3)"), "the text itself, not a link: {support:?}");
    assert!(t.fake.wait_post("`t_nosupport` failed").get("thread_ts").is_none());
    assert!(t.fake.calls("conversations.list").len() >= 2, "paginated (two channels a page)");
    let starts = t.fake.posts().iter().filter(|p| p["channel"] == LOGS && text(p).contains("about to start")).count();
    assert_eq!(starts, 3);
    assert!(t.fake.reactions().is_empty(), "terminal requests have no message to react to");
}

#[test]
fn every_requester_of_a_merged_job_hears_the_result() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "12.1", "t echo same");
    let first = t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    t.mention("C1", "12.2", "t echo same");
    let second = t.fake.wait_post("An identical `t_echo` job is already queued (job 1)");
    t.send("EvDm", dm("12.3", "U2", "t echo same"));
    t.fake.wait("three replies", |f| (f.posts().len() == 3).then_some(()));
    t.dispatch_once();
    for (channel, ts) in [("C1", "12.1"), ("C1", "12.2"), ("D1", "12.3")] {
        t.fake.wait_reaction(channel, ts, "white_check_mark");
    }
    let results: Vec<_> = t.fake.posts().into_iter().filter(|p| text(p) == "same").collect();
    assert_eq!(results.len(), 3, "{results:?}");
    assert_eq!(t.jobs().len(), 1);
    // Both requesters asked top level in C1: each one's own message says the job ended.
    let ended = t.fake.wait("three ends", |f| {
        let ended: Vec<_> = f.calls("chat.update").into_iter().filter(|c| text(c).contains("succeeded")).collect();
        (ended.len() == 3).then_some(ended)
    });
    let updated: Vec<&str> = ended.iter().filter(|c| c["channel"] == "C1").filter_map(|c| c["ts"].as_str()).collect();
    assert_eq!(updated, [&first["_ts"], &second["_ts"]].map(|ts| ts.as_str().unwrap()), "{ended:#?}");
}

/// A namespace's fabfile that cannot be fetched is said in the logs channel, as the Python bot
/// did, and its job still runs (with the previous file, here none).
#[test]
fn a_failed_fabfile_fetch_is_posted_to_the_logs_channel() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.read(&mut [0u8; 4096]);
            let _ = write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let t = Slack::new();
    let jobs = format!(
        "{}\n[fab]\nfabfile = \"http://user:s3cret@127.0.0.1:{port}/fabfile.py?token=s3cret\"\n\n\
         [fab.jobs.show]\nrun_args_template = \"echo ran\"\n",
        crate::support::slack::JOBS
    );
    std::fs::write(t.env.path("jobs.toml"), jobs).unwrap();
    t.run(&["schedule", "fab", "show", "--notify", "#ops"]);
    t.dispatch_once();
    t.fake.wait_post("`fab_show` succeeded.");
    let note = t.fake.wait_post(":warning: job 1 `fab_show`: could not fetch the fabfile of `fab`");
    assert_eq!(note["channel"], LOGS);
    assert!(note.get("thread_ts").is_none(), "{note}");
    let body = text(&note);
    assert!(body.contains("answered 404") && body.ends_with("; using the previous one"), "{body}");
    assert!(!body.contains("s3cret"), "the URL's credentials are never shown: {body}");
}
