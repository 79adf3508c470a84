//! Commands: restricted namespaces, suppressions, cancelling, a busy type, unexpected errors.

use serde_json::json;

use crate::support;
use crate::support::fake_slack::BOT;
use crate::support::slack::{Slack, mention, text};

#[test]
fn restricted_namespaces_are_for_internal_users() {
    let mut t = Slack::new();
    t.start_bot();
    t.send("Ev1", mention("C1", "1.1", "UGUEST", "secret show"));
    let refused = t.fake.wait_post("restricted to internal users");
    assert!(text(&refused).contains("`secret`"), "the refusal names the namespace");
    t.send("Ev2", mention("C1", "1.2", "UGUEST", "secret help"));
    // Issue 9, item 9: a guest is not shown the commands it may not run.
    let help = t.fake.wait_post("Commands in `secret`");
    assert!(text(&help).contains("they are for internal users, and not listed"), "{help}");
    assert!(!text(&help).contains("secret show"), "{help}");
    t.send("Ev3", mention("C1", "1.3", "UNOBODY", "secret show"));
    assert_eq!(
        t.fake.wait("two refusals", |f| {
            let n = f.posts().iter().filter(|p| text(p).contains("restricted")).count();
            (n == 2).then_some(n)
        },),
        2,
        "a user unknown to Slack is not internal"
    );
    t.send("Ev4", mention("C1", "1.4", "UNOBODY", "t echo stranger"));
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    t.send("Ev5", mention("C1", "1.5", "U1", "secret show"));
    t.fake.wait_post("Job 2 (`secret_show`) is queued.");
    t.send("Ev6", mention("C1", "1.6", "UGUEST", "logs 2"));
    t.send("Ev7", mention("C1", "1.7", "UGUEST", "cancel job id 2"));
    t.fake.wait("four refusals", |f| {
        (f.posts().iter().filter(|p| text(p).contains("restricted")).count() == 4).then_some(())
    });
    // Slackbot reminders are from a user who is not internal.
    t.send(
        "Ev8",
        json!({"type": "message", "channel_type": "im", "user": "USLACKBOT", "channel": "D1", "ts": "1.8",
                         "text": format!("Reminder: <@{BOT}> secret show.")}),
    );
    t.send(
        "Ev9",
        json!({"type": "message", "channel_type": "im", "user": "USLACKBOT", "channel": "D1", "ts": "1.9",
                         "text": "Reminder: t echo from a reminder."}),
    );
    t.fake.wait_post("Job 3 (`t_echo`) is queued.");
    assert_eq!(t.fake.posts().iter().filter(|p| text(p).contains("restricted")).count(), 5);
    let refused = t.fake.wait_post("a reminder does not say who set it");
    assert!(text(&refused).contains("`allow_reminders = true` on `secret`"), "{refused}");
    let jobs = t.jobs();
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[2]["args"]["value"], "from a reminder");
    let acked: Vec<String> = t.fake.reactions().into_iter().map(|(_, ts, _)| ts).collect();
    assert_eq!(acked, ["1.4", "1.5", "1.9"], "refusals and help get no reaction");
}

#[test]
fn suppressions_and_cancelling_pending_jobs() {
    let mut t = Slack::new();
    t.set("SLACK_REPLY_IN_THREAD", "true"); // each reply's thread says which request it answers
    t.start_bot();
    t.mention("C1", "2.1", "t pause echo now +1h");
    t.fake.wait_post("`t_echo` is suppressed from");
    t.fake.wait_reaction("C1", "2.1", "eyes");
    t.mention("C1", "2.2", "t echo held");
    let held = t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    assert!(text(&held).contains("is suppressed until"), "{held}");
    t.mention("C1", "2.3", "t pause echo soon later");
    let bad = t.fake.wait_post("Wrong time format");
    assert_eq!(bad["thread_ts"], "2.3");
    t.mention("C1", "2.4", "t resume echo");
    t.fake.wait_post("Removed 1 suppression window(s) of `t_echo`.");
    t.mention("C1", "2.5", "t cancel echo");
    t.fake.wait_post("Cancelled 1 pending `t_echo` job(s).");
    // The requester of the cancelled job hears of it in their thread.
    let note = t.fake.wait_post("`t_echo` cancelled by <@U1>");
    assert_eq!(note["thread_ts"], "2.2");
    t.fake.wait_reaction("C1", "2.2", "no_entry_sign");
    assert!(t.fake.reactions().iter().all(|(_, ts, _)| ts != "2.3"), "bad input gets no reaction");
}

#[test]
fn a_busy_type_queues_behind_and_a_running_job_can_be_stopped() {
    let mut t = Slack::new();
    t.set("SLACK_REPLY_IN_THREAD", "true"); // each reply's thread says which request it answers
    t.start_bot();
    let mut dispatch = t.spawn(&["dispatch"]);
    t.mention("C1", "3.1", "t slow 30");
    t.wait_job(1, "running");
    t.mention("C1", "3.2", "t slow 31");
    let behind = t.fake.wait_post("Job 2 (`t_slow`) is queued.");
    assert!(text(&behind).contains("A job of this type is already running; your request is queued behind it."));
    t.mention("C1", "3.3", "cancel job id 1");
    t.fake.wait_post("Stopping job 1 (`t_slow`)");
    let stopped = t.fake.wait_post("`t_slow` cancelled by <@U1>");
    assert_eq!(stopped["thread_ts"], "3.1");
    t.fake.wait_reaction("C1", "3.1", "no_entry_sign");
    t.wait_job(2, "running");
    // Issue 11, item 10: `remove job id N` keeps the original's meaning, a queued job only.
    t.mention("C1", "3.4", "remove job id 2");
    let kept = t.fake.wait_post("Job 2 (`t_slow`) is running, so it was not removed");
    assert!(text(&kept).contains("`cancel job id 2` stops it."), "{kept}");
    let argv = t.run(&["cancel", "--id", "2", "--pending-only"]);
    let stderr = String::from_utf8_lossy(&argv.stderr);
    assert_eq!(argv.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is running, so it was not removed") && stderr.contains("`ebmbot cancel --id 2` stops it"));
    assert_eq!(t.jobs()[1]["state"], "running");
    t.mention("C1", "3.5", "cancel job id 2");
    t.fake.wait_post("Stopping job 2");
    t.wait_job(2, "cancelled");
    t.run(&["schedule", "t", "echo", "--value", "later", "--delay", "1h"]);
    t.mention("C1", "3.6", "remove job id 3");
    t.fake.wait_post("Cancelled job 3 (`t_echo`).");
    support::stop(&mut dispatch);
}

#[test]
fn an_unexpected_error_gets_a_cross_and_an_error_id() {
    let mut t = Slack::new();
    t.set("SLACK_REPLY_IN_THREAD", "true"); // each reply's thread says which request it answers
    t.start_bot();
    t.mention("C1", "4.1", "t echo x");
    t.dispatch_once();
    t.fake.wait_reaction("C1", "4.1", "white_check_mark");
    // The log becomes unreadable: `logs 1` fails inside ebmbot, not because of the user.
    let dir = t.jobs()[0]["log_dir"].as_str().unwrap().to_owned();
    let stdout = std::path::Path::new(&dir).join("stdout");
    std::fs::remove_file(&stdout).unwrap();
    std::fs::create_dir(&stdout).unwrap();
    t.mention("C1", "4.2", "logs 1 stdout");
    let sorry = t.fake.wait_post("Sorry, something went wrong (error id `");
    assert_eq!(sorry["thread_ts"], "4.2");
    t.fake.wait_reaction("C1", "4.2", "x");
    assert!(!text(&sorry).contains("stdout"), "details stay in the log: {sorry}");
    let id = text(&sorry).split('`').nth(1).unwrap().to_owned();
    let (_, log) = t.stop_bot();
    assert!(log.contains(&id) && log.contains("cannot read the log"), "{log}");
}

#[test]
fn a_value_that_breaks_its_param_rule_is_refused_in_the_thread_and_nothing_is_queued() {
    let mut t = Slack::new();
    t.set("SLACK_REPLY_IN_THREAD", "true"); // each reply's thread says which request it answers
    t.start_bot();
    t.mention("C1", "300.1", "t echo --output=/tmp/x");
    let reply = t.fake.wait_post("aram `value` of `t_echo` begins with `-`, which a program would read as an option");
    assert_eq!(reply["thread_ts"].as_str(), Some("300.1"), "{reply}");
    assert!(text(&reply).contains("for example `text`"), "{reply}");
    assert!(t.jobs().is_empty(), "nothing is queued");
    t.mention("C1", "300.2", "t echo fine");
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    t.stop_bot();
}

/// Issue 11, item 10: the original let Slackbot reminders run restricted commands (its test
/// `test_schedule_job_from_reminder`). A reminder that goes off is a message from `USLACKBOT`
/// whose text begins "Reminder: " (https://slack.com/help/articles/208423427-Set-a-reminder; the
/// event shape is https://api.slack.com/events/app_mention or, in a DM, https://api.slack.com/events/message.im).
#[test]
fn reminders_run_restricted_commands_only_where_allow_reminders_says_so() {
    let mut t = Slack::new();
    t.set("SLACK_REPLY_IN_THREAD", "true"); // each reply's thread says which request it answers
    t.start_bot();
    t.send(
        "EvR1",
        json!({"type": "app_mention", "user": "USLACKBOT", "channel": "C1", "ts": "5.1", "event_ts": "5.1",
               "text": format!("Reminder: <@{BOT}> rem report.")}),
    );
    t.fake.wait_post("Job 1 (`rem_report`) is queued.");
    t.fake.wait_reaction("C1", "5.1", "eyes");
    t.send(
        "EvR2",
        json!({"type": "app_mention", "user": "USLACKBOT", "channel": "C1", "ts": "5.2", "event_ts": "5.2",
               "text": format!("Reminder: <@{BOT}> secret show.")}),
    );
    t.fake.wait_post("Sorry, `secret` is restricted to internal users, and a reminder does not say who set it");
    // `allow_reminders` lets a reminder run the namespace's commands, not read its jobs' logs.
    t.send(
        "EvR3",
        json!({"type": "app_mention", "user": "USLACKBOT", "channel": "C1", "ts": "5.3", "event_ts": "5.3",
               "text": format!("Reminder: <@{BOT}> logs 1.")}),
    );
    t.fake.wait_post("Sorry, `rem` is restricted to internal users.");
    // A guest is refused as before.
    t.send("EvR4", mention("C1", "5.4", "UGUEST", "rem report"));
    t.fake.wait("the guest's refusal", |f| {
        f.posts()
            .iter()
            .any(|p| p["thread_ts"] == "5.4" && text(p).contains("restricted to internal users"))
            .then_some(())
    });
    assert_eq!(t.jobs().len(), 1);
}
