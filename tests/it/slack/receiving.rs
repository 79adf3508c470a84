//! Receiving: mentions and DMs become commands once; everything else is ignored, and every
//! envelope is acknowledged.

use serde_json::json;

use crate::support::fake_slack::BOT;
use crate::support::slack::{Slack, dm, mention, text};

#[test]
fn a_mention_queues_a_job_and_its_result_comes_back_top_level() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "100.1", "t echo hello world");
    let reply = t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    assert_eq!((reply["channel"].as_str(), reply.get("thread_ts")), (Some("C1"), None), "as the Python bot did");
    t.fake.wait_reaction("C1", "100.1", "eyes");
    let jobs = t.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["args"]["value"], "hello world");
    assert_eq!(jobs[0]["origin"]["kind"], "slack");

    t.dispatch_once();
    let result = t.fake.wait_post("hello world");
    assert_eq!((result["channel"].as_str(), result.get("thread_ts")), (Some("C1"), None));
    t.fake.wait_reaction("C1", "100.1", "white_check_mark");
    let start = t.fake.wait_post("Command `t_echo` about to start (job 1).");
    assert_eq!((start["channel"].as_str(), start.get("thread_ts")), (Some(crate::support::slack::LOGS), None));
    let posts: Vec<String> = t.fake.posts().iter().map(text).collect();
    let reply_at = posts.iter().position(|p| p.contains("is queued")).unwrap();
    let result_at = posts.iter().position(|p| p == "hello world").unwrap();
    assert!(reply_at < result_at, "the reply comes before the result: {posts:?}");

    // A request made in a thread is answered in that thread.
    let mut threaded = mention("C1", "100.3", "U1", "t echo in a thread");
    threaded["thread_ts"] = json!("100.2");
    t.send("EvInThread", threaded);
    assert_eq!(t.fake.wait_post("Job 2 (`t_echo`) is queued.")["thread_ts"], "100.2");
    t.dispatch_once();
    assert_eq!(t.fake.wait_post("in a thread")["thread_ts"], "100.2");
    // A Slackbot reminder's report is seen by everyone, not hidden in a thread.
    let reminder = json!({"type": "app_mention", "user": "USLACKBOT", "channel": "C1", "ts": "100.4",
                          "event_ts": "100.4", "text": format!("Reminder: <@{BOT}> t echo weekly report.")});
    t.send("EvReminder", reminder);
    t.fake.wait_post("Job 3 (`t_echo`) is queued.");
    t.dispatch_once();
    let report = t.fake.wait_post("weekly report");
    assert_eq!((report["channel"].as_str(), report.get("thread_ts")), (Some("C1"), None), "{report}");
    let (code, _) = t.stop_bot();
    assert_eq!(code, Some(0), "SIGTERM stops the bot cleanly");
}

#[test]
fn with_slack_reply_in_thread_a_request_is_answered_in_its_own_thread() {
    let mut t = Slack::new();
    t.set("SLACK_REPLY_IN_THREAD", "true");
    t.start_bot();
    t.mention("C1", "100.1", "t echo hello world");
    let reply = t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    assert_eq!((reply["channel"].as_str(), reply["thread_ts"].as_str()), (Some("C1"), Some("100.1")));
    t.dispatch_once();
    let result = t.fake.wait_post("hello world");
    assert_eq!((result["channel"].as_str(), result["thread_ts"].as_str()), (Some("C1"), Some("100.1")));
    // DMs stay top level.
    t.dm("100.2", "help");
    assert!(t.fake.wait_post("I understand:").get("thread_ts").is_none());
}

#[test]
fn a_result_too_long_for_a_message_goes_in_the_thread_of_the_jobs_message() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "100.1", "t run big");
    let reply = t.fake.wait_post("Job 1 (`t_big`) is queued.");
    assert!(reply.get("thread_ts").is_none(), "{reply}");
    let live_ts = reply["_ts"].as_str().unwrap().to_owned();
    t.dispatch_once();
    let upload = t.fake.wait("the upload", |f| f.calls("files.completeUploadExternal").pop());
    assert_eq!((upload["channel_id"].as_str(), upload["thread_ts"].as_str()), (Some("C1"), Some(live_ts.as_str())));
    let end = t.fake.wait("the end", |f| f.calls("chat.update").into_iter().find(|c| text(c).contains("succeeded")));
    assert_eq!(end["ts"], live_ts.as_str(), "the job's message says it ended, top level");
    t.fake.wait_reaction("C1", "100.1", "white_check_mark");
}

#[test]
fn dms_answer_top_level_and_built_ins_get_no_reaction() {
    let mut t = Slack::new();
    t.start_bot();
    t.dm("200.1", "help");
    let help = t.fake.wait_post("I understand:");
    assert_eq!(help["channel"], "D1");
    assert!(help.get("thread_ts").is_none(), "DM replies are top-level: {help}");
    assert!(text(&help).contains("`t`: Test jobs"));
    t.dm("200.2", "status");
    t.fake.wait_post("Nothing is happening");
    t.dm("200.3", "frobnicate everything");
    let sorry = t.fake.wait_post("Sorry, I didn't understand that.");
    assert!(text(&sorry).contains("I don't know `frobnicate`"));
    // In a thread of a DM, the reply stays in the thread.
    let mut threaded = dm("200.4", "U1", "t help");
    threaded["thread_ts"] = json!("200.0");
    t.send("EvThread", threaded);
    let ns_help = t.fake.wait_post("Commands in `t`");
    assert_eq!(ns_help["thread_ts"], "200.0");
    t.mention("C1", "200.5", "");
    let empty = t.fake.wait_post("I didn't get a command.");
    assert!(empty.get("thread_ts").is_none(), "top level in channels too: {empty}");
    // A mention on the second line: that line is the command.
    t.send("EvSecond", mention_text("C1", "200.6", &format!("hello all\n<@{BOT}> t echo second line.\nthanks")));
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    t.fake.wait_reaction("C1", "200.6", "eyes");
    assert_eq!(t.jobs()[0]["args"]["value"], "second line");
    assert_eq!(t.fake.reactions().len(), 1, "only the accepted command is acknowledged: {:?}", t.fake.reactions());
}

fn mention_text(channel: &str, ts: &str, text: &str) -> serde_json::Value {
    json!({"type": "app_mention", "user": "U1", "text": text, "channel": channel, "ts": ts})
}

#[test]
fn one_message_is_one_command_and_bots_edits_and_joins_are_ignored() {
    let mut t = Slack::new();
    t.start_bot();
    // Slack retries the same event; and a DM with a mention comes as both events.
    t.send("EvDup", mention("C1", "300.1", "U1", "t echo once"));
    t.send("EvDup", mention("C1", "300.1", "U1", "t echo once"));
    t.send("EvA", mention("D1", "300.2", "U1", "t echo twice"));
    t.send("EvB", dm("300.2", "U1", &format!("<@{BOT}> t echo twice")));
    // Not commands: ebmbot's own message, another bot, a bot user, an edit, a join, a channel
    // message without a mention, an unknown event type, events missing fields.
    t.send("Ev1", mention("C1", "300.3", BOT, "t echo mine"));
    let mut from_bot = dm("300.4", "U2", "t echo bot");
    from_bot["bot_id"] = json!("B9");
    t.send("Ev2", from_bot);
    t.send("Ev3", dm("300.5", "UOTHERBOT", "t echo botuser"));
    t.send(
        "Ev4",
        json!({"type": "message", "subtype": "message_changed", "channel": "D1", "channel_type": "im",
                         "ts": "300.6", "message": {"user": "U1", "text": "t echo edited"}}),
    );
    t.send(
        "Ev5",
        json!({"type": "message", "subtype": "channel_join", "user": "U2", "channel": "C1", "ts": "300.7",
                         "text": "<@U2> has joined the channel"}),
    );
    t.send(
        "Ev6",
        json!({"type": "message", "channel_type": "channel", "user": "U1", "channel": "C1", "ts": "300.8",
                         "text": "t echo channel"}),
    );
    t.send("Ev7", json!({"type": "reaction_added", "user": "U1", "reaction": "eyes"}));
    t.send("Ev8", json!({"type": "app_mention", "channel": "C1", "ts": "300.9"}));
    let no_event = t.fake.send_payload(json!({"type": "event_callback", "event_id": "Ev9"}));
    t.fake.wait_ack(&no_event);
    // A marker command: once it is answered, everything before it has been handled.
    t.dm("300.99", "status");
    t.fake.wait_post("Scheduled jobs");
    let values: Vec<String> = t.jobs().iter().map(|j| j["args"]["value"].as_str().unwrap().to_owned()).collect();
    assert_eq!(values, ["once", "twice"]);
    let replies: Vec<String> = t.fake.posts().iter().map(text).filter(|p| p.contains("queued")).collect();
    assert_eq!(replies.len(), 2, "{replies:?}");
    let (_, log) = t.stop_bot();
    assert!(log.contains("from ebmbot itself"), "{log}");
    assert!(log.contains("message_changed") && log.contains("channel_join"), "{log}");
    assert!(log.contains("already received"), "{log}");
}

#[test]
fn link_markup_in_params_and_forty_kilobytes_of_text() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "400.1", "t echo <https://example.com/a?b=1&amp;c=2|the link> and <mailto:a@b.c|a@b.c>");
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    let big = "x".repeat(40 * 1024);
    t.mention("C1", "400.2", &format!("t echo {big}"));
    t.fake.wait_post("Job 2 (`t_echo`) is queued.");
    t.mention("C1", "400.3", &format!("no such command {big}"));
    let sorry = t.fake.wait_post("Sorry, I didn't understand that.");
    assert!(text(&sorry).len() < 10_000, "the reply does not echo 40 KB back");
    t.mention("C1", "400.4", "t echo <!channel> & <@U2>");
    t.fake.wait_post("Job 3 (`t_echo`) is queued.");
    t.dispatch_once();
    t.fake.wait_post("&lt;!channel&gt; &amp; &lt;@U2&gt;");
    assert!(t.fake.posts().iter().all(|p| !text(p).contains("<!channel>")), "output never pings the channel");
    let jobs = t.jobs();
    assert_eq!(jobs[2]["args"]["value"], "<!channel> & <@U2>");
    assert_eq!(jobs[0]["args"]["value"], "https://example.com/a?b=1&c=2 and a@b.c");
    assert_eq!(jobs[1]["args"]["value"].as_str().map(str::len), Some(40 * 1024));
}

#[test]
fn a_command_stored_before_a_crash_is_handled_after_the_restart() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "500.1", "t echo before");
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    t.kill_bot();
    // Stored and acknowledged, then ebmbot died before its worker got to it: put the row
    // there as the receiver would have.
    let payload =
        json!({"event_id": "EvCrash", "team_id": "T1", "event": mention("C1", "500.2", "U1", "t echo after")});
    let mut queue = ebmbot::queue::Queue::open(t.env.location(), ebmbot::queue::Options::default()).unwrap();
    assert!(
        queue.store_slack_event("EvCrash", "C1", "500.2", &payload.to_string(), jiff::Timestamp::UNIX_EPOCH).unwrap()
    );
    drop(queue);
    t.start_bot();
    t.fake.wait_post("Job 2 (`t_echo`) is queued.");
    assert_eq!(t.jobs().len(), 2);
}
