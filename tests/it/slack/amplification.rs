//! Issue 9, item 7: Slack amplification. `logs N stdout all` of a huge log read it whole and
//! stored the reply's text in the database; a user could queue requests without end.

use crate::support::slack::{Slack, mention, text};

#[test]
fn logs_of_a_huge_log_send_its_last_megabyte_as_a_file_and_store_a_reference() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "5.1", "t echo x");
    t.dispatch_once();
    t.fake.wait_reaction("C1", "5.1", "white_check_mark");
    // The job's stdout becomes 3 MB, with a secret of ebmbot's printed near its end.
    let dir = t.jobs()[0]["log_dir"].as_str().unwrap().to_owned();
    let mut big = (0..300_000).fold(String::new(), |mut big, i| {
        big.push_str(&format!("line {i:06}\n"));
        big
    });
    big.push_str("the token is xoxb-test-token\nlast line\n");
    std::fs::write(std::path::Path::new(&dir).join("stdout"), &big).unwrap();

    t.mention("C1", "5.2", "logs 1 stdout all");
    let complete = t.fake.wait("the upload", |f| f.calls("files.completeUploadExternal").first().cloned());
    let id = complete["files"][0]["id"].as_str().unwrap().to_owned();
    let content = String::from_utf8(t.fake.state().uploads.get(&id).cloned().unwrap()).unwrap();
    assert!(content.len() <= 1_000_000, "{} bytes uploaded", content.len());
    assert!(content.ends_with("the token is [redacted]\nlast line\n"), "{}", &content[content.len() - 100..]);
    assert!(content.starts_with("line "), "a line cut by the limit is dropped");
    let comment = complete["initial_comment"].as_str().unwrap_or_default().to_owned();
    assert!(comment.contains(&format!("its last megabyte of {} bytes, as a file", big.len())), "{complete}");
    assert!(comment.contains("logs 1 stdout head"), "{comment}");

    // The reply row holds a reference to the log, not its text.
    let (longest, log_path): (i64, Option<String>) = if let Some(pg) = &t.env.pg {
        let mut db = postgres::Client::connect(&pg.url, postgres::NoTls).unwrap();
        let row = db.query_one("SELECT max(length(text))::bigint, max(log_path) FROM slack_replies", &[]).unwrap();
        (row.get(0), row.get(1))
    } else {
        let db = rusqlite::Connection::open(t.env.path("ebmbot.db")).unwrap();
        db.query_row("SELECT max(length(text)), max(log_path) FROM slack_replies", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
    };
    assert!(longest < 1_000, "a reply stored {longest} characters");
    assert_eq!(log_path.as_deref(), Some(format!("{dir}/stdout").as_str()));
}

#[test]
fn a_user_with_too_many_requests_waiting_is_refused() {
    let mut t = Slack::new();
    t.set("EBMBOT_SLACK_MAX_PENDING", "3");
    t.start_bot();
    // No dispatcher runs: each job stays pending.
    for i in 1..=3 {
        t.send(&format!("EvP{i}"), mention("C1", &format!("6.{i}"), "U1", &format!("t echo v{i}")));
        t.fake.wait_post(&format!("Job {i} (`t_echo`) is queued."));
        t.fake.wait_reaction("C1", &format!("6.{i}"), "eyes");
        t.fake.wait("the reply recorded as delivered", |_| {
            (t.status()["delivery"]["undelivered"].as_u64() == Some(0)).then_some(())
        });
    }
    t.send("EvP4", mention("C1", "6.4", "U1", "t echo v4"));
    let refused = t.fake.wait_post("Sorry, you have 3 requests waiting");
    assert!(text(&refused).contains("wait until some are done, or cancel some"), "{refused}");
    assert_eq!(t.jobs().len(), 3, "nothing more was scheduled");
    // Another user is not held up by it.
    t.send("EvP5", mention("C1", "6.5", "UNOBODY", "t echo other"));
    t.fake.wait_post("Job 4 (`t_echo`) is queued.");
}
