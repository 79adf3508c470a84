//! Slack failing: rate limits (Retry-After), outages that end, errors that do not, and
//! ebmbot stopping between a job's end and its message.

use std::time::Duration;

use crate::support::fake_slack::Failure;
use crate::support::slack::{LOGS, Slack, text};

fn schedule_echo(t: &Slack, value: &str, channel: &str) {
    t.run_without_slack(&["schedule", "t", "echo", "--value", value, "--notify", channel]);
}

#[test]
fn ratelimited_waits_as_long_as_retry_after_says() {
    let mut t = Slack::new();
    t.start_bot();
    t.fake.fail("chat.postMessage", Failure::RateLimited(1), 1);
    t.fake.fail("chat.postMessage", Failure::Api("ratelimited"), 1);
    t.mention("C1", "30.1", "t echo patience");
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    let st = t.fake.state();
    let posts: Vec<_> = st.calls.iter().filter(|c| c.method == "chat.postMessage").collect();
    assert_eq!(posts.len(), 3, "429, then ok:false ratelimited, then delivered");
    assert!(posts[1].at - posts[0].at >= Duration::from_secs(1), "Retry-After: 1 was honoured");
}

#[test]
fn a_slack_outage_delays_messages_and_then_each_arrives_once_in_order() {
    let mut t = Slack::new();
    t.fake.fail("chat.postMessage", Failure::Status(500), 6);
    t.fake.fail("chat.postMessage", Failure::Api("internal_error"), 2);
    for i in 1..=5 {
        schedule_echo(&t, &format!("m{i}"), "C1");
    }
    // The jobs run and finish while no process delivers: nothing depends on Slack.
    t.run_without_slack(&["dispatch", "--once"]);
    assert!(t.jobs().iter().all(|j| j["state"] == "succeeded"));
    assert_eq!(t.status()["delivery"]["undelivered"], 10, "5 starts and 5 results");
    t.start_bot();
    let status = t.fake.wait("the outage to show in status", |f| {
        let s = t.status();
        (!f.calls("chat.postMessage").is_empty() && s["delivery"]["last_error"].is_string()).then_some(s)
    });
    assert!(status["delivery"]["undelivered"].as_u64().unwrap() > 0);
    t.fake.wait_post("m5");
    let results: Vec<String> = t.fake.posts().iter().filter(|p| p["channel"] == "C1").map(text).collect();
    assert_eq!(results, ["m1", "m2", "m3", "m4", "m5"]);
    t.fake.wait("status to clear", |_| (t.status()["delivery"]["undelivered"] == 0).then_some(()));
}

#[test]
fn a_refused_message_gets_two_more_tries_then_a_note_and_does_not_block_the_next() {
    let t = Slack::new();
    t.fake.refuse("chat.postMessage", "text", "poison", "msg_blocked");
    t.fake.refuse("chat.postMessage", "channel", "CGONE", "channel_not_found");
    schedule_echo(&t, "poison", "C1");
    schedule_echo(&t, "after", "C1");
    schedule_echo(&t, "lost", "CGONE");
    t.dispatch_once();
    let note = t.fake.wait_post("Could not notify slack: `msg_blocked` (poison in C1)");
    assert_eq!(note["channel"], "C1", "in the same thread");
    let tries = t.fake.calls("chat.postMessage").iter().filter(|p| p["text"] == "poison").count();
    assert_eq!(tries, 3);
    let c1: Vec<String> = t.fake.posts().iter().filter(|p| p["channel"] == "C1").map(text).collect();
    assert_eq!(c1.len(), 2);
    assert!(c1[0].starts_with("Could not notify slack") && c1[1] == "after", "{c1:?}");
    let moved = t.fake.wait_post("Could not notify slack: `channel_not_found` (lost in CGONE)");
    assert_eq!(moved["channel"], LOGS, "the target is the problem: the note goes to the logs channel");
    t.fake.wait("every delivery recorded", |_| (t.status()["delivery"]["undelivered"] == 0).then_some(()));
}

#[test]
fn already_reacted_counts_as_done_and_a_resumed_delivery_skips_what_was_sent() {
    let mut t = Slack::new();
    t.start_bot();
    t.fake.fail("reactions.add", Failure::Api("already_reacted"), 1);
    t.fake.fail("chat.getPermalink", Failure::Status(503), 3);
    t.mention("C1", "40.1", "t fail");
    t.fake.wait_post("Job 1 (`t_fail`) is queued.");
    t.dispatch_once();
    t.fake.wait_post("`t_fail` (job 1) failed: https://");
    let failures = t.fake.posts().iter().filter(|p| text(p).starts_with("`t_fail` failed")).count();
    assert_eq!(failures, 1, "the failure message is not posted again when the permalink is retried");
    assert_eq!(t.fake.calls("reactions.add").len(), 2, "eyes (already there) and x, each once");
    assert!(t.fake.posts().iter().all(|p| !text(p).contains("Could not notify")));
    // The last post is made before the delivery is recorded as done.
    t.fake.wait("every delivery recorded", |_| (t.status()["delivery"]["undelivered"] == 0).then_some(()));
}
