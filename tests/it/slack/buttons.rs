//! Buttons (docs/slack.md, "Buttons and /ebmbot"): a queued job's message has *Cancel*, a
//! result has *Rerun* and *Logs*. Clicks arrive as Socket Mode `interactive` envelopes and as
//! signed `POST /slack/interactive` forms, with the `block_actions` payload Slack documents
//! (https://api.slack.com/reference/interaction-payloads/block-actions).

use serde_json::{Value, json};

use crate::support;
use crate::support::fake_slack::TEAM;
use crate::support::slack::{Slack, text};

/// A click on `action` (one of `ebmbot::bot::actions`) for `job` by `user`, on the message at
/// `message_ts` in C1, at `action_ts`.
fn click(action: &str, job: i64, user: &str, message_ts: &str, action_ts: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": {"id": user, "username": user, "team_id": TEAM},
        "api_app_id": "A1",
        "team": {"id": TEAM, "domain": "team"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": "C1", "is_ephemeral": false},
        "trigger_id": format!("trigger-{action_ts}"),
        "channel": {"id": "C1", "name": "general"},
        "message": {"type": "message", "ts": message_ts, "thread_ts": message_ts, "text": "…"},
        "response_url": "https://hooks.slack.com/actions/T1/1/x",
        "actions": [{"action_id": action, "block_id": "b1", "value": job.to_string(), "type": "button",
                     "action_ts": action_ts, "text": {"type": "plain_text", "text": "Cancel"}}],
    })
}

/// The button ids of a posted message's blocks.
fn buttons(post: &Value) -> Vec<String> {
    let blocks = post["blocks"].as_array().cloned().unwrap_or_default();
    let actions = blocks.iter().filter(|b| b["type"] == "actions");
    actions
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .map(|e| support::fake_slack::s(&e["action_id"]))
        .collect()
}

fn ephemerals(t: &Slack, user: &str) -> Vec<String> {
    t.fake
        .calls("chat.postEphemeral")
        .iter()
        .filter(|c| c["user"] == user)
        .map(|c| support::fake_slack::s(&c["text"]))
        .collect()
}

#[test]
fn the_requester_cancels_a_running_job_with_its_button_and_a_double_click_cancels_once() {
    let mut t = Slack::new();
    t.start_bot();
    let mut dispatch = t.spawn(&["dispatch"]);
    t.mention("C1", "5.1", "t slow 30");
    let queued = t.fake.wait_post("Job 1 (`t_slow`) is queued.");
    assert_eq!(buttons(&queued), ["ebmbot_cancel"], "{queued:#}");
    assert_eq!(queued["blocks"][1]["elements"][0]["value"], "1");
    t.wait_job(1, "running");
    let first = t.fake.send_envelope("interactive", click("ebmbot_cancel", 1, "U1", "5.1", "9.1"));
    let second = t.fake.send_envelope("interactive", click("ebmbot_cancel", 1, "U1", "5.1", "9.2"));
    t.fake.wait_ack(&first);
    t.fake.wait_ack(&second);
    let stopped = t.fake.wait_post("`t_slow` cancelled by <@U1>");
    assert!(stopped.get("thread_ts").is_none(), "top level, as the request: {stopped}");
    // The queued message says how it ended, in place, and offers a rerun and the logs.
    let updated = t.fake.wait("the queued message updated", |f| {
        f.calls("chat.update").into_iter().find(|c| text(c).contains("cancelled by"))
    });
    assert_eq!((&updated["channel"], &updated["ts"]), (&json!("C1"), &queued["_ts"]), "{updated:#}");
    assert!(text(&updated).starts_with("Job 1: `t_slow` cancelled by <@U1> in "), "{updated:#}");
    assert_eq!(buttons(&updated), ["ebmbot_rerun", "ebmbot_logs"]);
    t.wait_job(1, "cancelled");
    let told = t.fake.wait("both clicks' answers", |_| {
        let e = ephemerals(&t, "U1");
        (e.len() >= 2).then_some(e)
    });
    assert_eq!(told.len(), 2, "each click is answered once, to the clicker alone: {told:?}");
    let stopping = told.iter().filter(|e| e.contains("Stopping job 1")).count();
    assert_eq!(stopping, 1, "the job is stopped once, and said so once: {told:?}");
    assert!(told.iter().any(|e| e.contains("already being stopped") || e.contains("already finished")), "{told:?}");
    assert!(
        !t.fake.posts().iter().any(|p| text(p).contains("Stopping job 1")),
        "the channel hears it from the job's message, not from a message of its own"
    );
    support::stop(&mut dispatch);
}

#[test]
fn a_guest_cannot_cancel_a_restricted_job_and_is_told_so_alone() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "6.1", "secret show");
    t.fake.wait_post("Job 1 (`secret_show`) is queued.");
    let sent = t.fake.send_envelope("interactive", click("ebmbot_cancel", 1, "UGUEST", "6.1", "9.3"));
    t.fake.wait_ack(&sent);
    let told = t.fake.wait("the refusal", |_| ephemerals(&t, "UGUEST").first().cloned());
    assert!(told.contains("`secret` is restricted to internal users"), "{told}");
    assert_eq!(t.jobs()[0]["state"], "pending", "nothing changed");
    assert!(!t.fake.posts().iter().any(|p| text(p).contains("restricted")), "no public refusal");
}

#[test]
fn rerun_queues_the_same_job_and_params_as_the_clicker_and_logs_opens_a_modal() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "7.1", "t echo hello-xoxb-test-token");
    t.dispatch_once();
    t.fake.wait_post("hello");
    let ended = t.fake.wait("the queued message updated", |f| {
        f.calls("chat.update").into_iter().find(|c| text(c).contains("succeeded in"))
    });
    assert!(text(&ended).starts_with("Job 1: `t_echo` succeeded in "), "{ended:#}");
    assert_eq!(buttons(&ended), ["ebmbot_rerun", "ebmbot_logs"], "{ended:#}");
    let sent = t.fake.send_envelope("interactive", click("ebmbot_rerun", 1, "U2", "7.1", "9.4"));
    t.fake.wait_ack(&sent);
    t.fake.wait_post("Job 2 (`t_echo`) is queued.");
    let jobs = t.jobs();
    assert_eq!((jobs[1]["type"].clone(), jobs[1]["args"].clone()), (jobs[0]["type"].clone(), jobs[0]["args"].clone()));
    assert!(jobs[1]["origin"].to_string().contains("U2"), "queued as the clicker: {:#}", jobs[1]);
    let sent = t.fake.send_envelope("interactive", click("ebmbot_logs", 1, "U1", "7.1", "9.5"));
    t.fake.wait_ack(&sent);
    let opened = t.fake.wait("the modal", |f| f.calls("views.open").first().cloned());
    assert_eq!(opened["trigger_id"], "trigger-9.5", "opened with the click's own trigger");
    let view = opened["view"].to_string();
    assert!(view.contains("Logs of job 1") && view.contains("hello-[redacted]"), "{view}");
    assert!(!view.contains("xoxb-test-token"), "the bot token a job printed is masked: {view}");
}

/// A `confirm = true` job, added to the Slack tests' catalogue.
const CONFIRM_JOBS: &str = r#"
[ops.jobs.deploy]
run_args_template = "echo deploying {env}"
confirm = true

[[ops.slack]]
command = "deploy [env]"
help = "Deploys"
action = "schedule_job"
job_type = "deploy"
"#;

fn with_confirm_job() -> Slack {
    let t = Slack::new();
    let jobs = format!("{}{CONFIRM_JOBS}", support::slack::JOBS);
    std::fs::write(t.env.path("jobs.toml"), jobs).unwrap();
    t
}

#[test]
fn a_confirm_job_waits_for_its_requesters_confirm_and_a_cancel_drops_it() {
    let mut t = with_confirm_job();
    t.start_bot();
    t.mention("C1", "8.1", "ops deploy prod");
    let ask = t.fake.wait_post("Run `ops deploy` now?");
    assert_eq!(buttons(&ask), ["ebmbot_confirm", "ebmbot_confirm_cancel"], "{ask:#}");
    assert!(ask.get("thread_ts").is_none(), "{ask}");
    assert!(t.jobs().is_empty(), "not queued before the Confirm");
    let sent = t.fake.send_envelope("interactive", click("ebmbot_confirm", 1, "U2", "9.9", "9.10"));
    t.fake.wait_ack(&sent);
    let told = t.fake.wait("the other user's answer", |_| ephemerals(&t, "U2").first().cloned());
    assert!(told.contains("Only <@U1>, who asked, can answer this."), "{told}");
    assert!(t.jobs().is_empty(), "someone else's Confirm queues nothing");
    t.fake.send_envelope("interactive", click("ebmbot_confirm", 1, "U1", "9.9", "9.11"));
    let queued = t.fake.wait_post("Job 1 (`ops_deploy`) is queued.");
    assert!(queued.get("thread_ts").is_none(), "answered where the request was: {queued}");
    assert_eq!(buttons(&queued), ["ebmbot_cancel"], "the queued job's own message: {queued:#}");
    // The question says how it was answered, and its buttons are gone.
    let answered = t.fake.wait("the question answered", |f| f.calls("chat.update").into_iter().next());
    assert_eq!((&answered["channel"], &answered["ts"]), (&json!("C1"), &ask["_ts"]), "{answered:#}");
    assert_eq!(text(&answered), "Run `ops deploy` now? Confirmed by <@U1>.");
    assert!(buttons(&answered).is_empty(), "{answered:#}");
    // The confirmed job's own message is its live message: its end updates it.
    t.run_without_slack(&["dispatch", "--once"]);
    t.fake.wait("the confirmed job's message says it ended", |f| {
        f.calls("chat.update").into_iter().find(|c| c["ts"] == queued["_ts"] && text(c).contains("succeeded in"))
    });
    assert_eq!(t.jobs()[0]["args"]["env"], "prod");
    assert!(t.jobs()[0]["origin"].to_string().contains("U1"), "{:#}", t.jobs()[0]);
    t.fake.send_envelope("interactive", click("ebmbot_confirm", 1, "U1", "9.9", "9.12"));
    let again = t.fake.wait("the second Confirm's answer", |_| ephemerals(&t, "U1").first().cloned());
    assert!(again.contains("already confirmed"), "{again}");
    t.mention("C1", "8.2", "ops deploy staging");
    t.fake.wait("the second question", |f| {
        (f.posts().iter().filter(|p| text(p).contains("Run `ops deploy` now?")).count() == 2).then_some(())
    });
    t.fake.send_envelope("interactive", click("ebmbot_confirm_cancel", 2, "U1", "9.9", "9.13"));
    t.fake.wait_post("Not run: <@U1> cancelled `ops deploy`.");
    t.fake.wait("the second question answered", |f| {
        f.calls("chat.update").into_iter().find(|c| text(c) == "Run `ops deploy` now? Cancelled by <@U1>.")
    });
    assert_eq!(t.jobs().len(), 1, "the cancelled request queued nothing");
    // From the terminal it asks on a terminal, and needs --yes elsewhere.
    let refused = t.env.fails(2, &["schedule", "ops", "deploy", "--env", "prod"]);
    assert!(
        refused.contains("`ops_deploy` asks for confirmation (`confirm = true` in jobs.toml); add --yes"),
        "{refused}"
    );
    t.env.ok(&["schedule", "ops", "deploy", "--env", "qa", "--yes"]);
    assert_eq!(t.jobs().len(), 2);
    // `say` asks the same.
    let refused = t.env.fails(2, &["say", "ops", "deploy", "staging"]);
    assert!(refused.contains("`ops_deploy` asks for confirmation"), "{refused}");
    assert_eq!(t.jobs().len(), 2, "nothing queued without the answer");
    t.env.ok(&["say", "--yes", "ops", "deploy", "staging"]);
    assert_eq!(t.jobs().len(), 3);
}

/// On a terminal, `schedule`, `run` and `say` of a `confirm = true` job ask first (dialoguer):
/// no (the default) queues nothing, yes queues it.
#[test]
fn a_confirm_job_asks_on_a_terminal() {
    let t = with_confirm_job();
    let (code, shown) = t.env.on_terminal("now?", "n", &["schedule", "ops", "deploy", "--env", "prod"]);
    assert!(shown.contains("Run `ops deploy` now?"), "{shown}");
    assert!(shown.contains("Not queued: not confirmed."), "{shown}");
    assert_eq!(code, Some(1), "{shown}");
    let (code, shown) = t.env.on_terminal("now?", "\r", &["say", "ops", "deploy", "prod"]);
    assert_eq!(code, Some(1), "Enter takes the default, no: {shown}");
    let (code, shown) = t.env.on_terminal("now?", "n", &["run", "ops", "deploy", "--env", "prod"]);
    assert!(shown.contains("Not run: not confirmed."), "{shown}");
    assert_eq!(code, Some(1), "{shown}");
    assert!(t.jobs().is_empty(), "nothing queued: {:?}", t.jobs());
    let (code, shown) = t.env.on_terminal("now?", "y", &["schedule", "ops", "deploy", "--env", "prod"]);
    assert_eq!(code, Some(0), "{shown}");
    assert_eq!(t.jobs().len(), 1, "{shown}");
}

#[test]
fn the_home_tab_lists_a_running_job_and_hides_restricted_ones_from_a_guest() {
    let mut t = Slack::new();
    t.start_bot();
    let mut dispatch = t.spawn(&["dispatch"]);
    t.mention("C1", "10.1", "t slow 30");
    t.wait_job(1, "running");
    t.run(&["schedule", "secret", "show", "--delay", "1h"]);
    // https://api.slack.com/events/app_home_opened
    let opened = |user: &str, id: &str| {
        t.send(
            id,
            json!({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home", "event_ts": "11.1"}),
        );
    };
    opened("UGUEST", "EvHome1");
    let published = |user: &'static str| {
        t.fake.wait("the Home tab", move |f| f.calls("views.publish").into_iter().find(|c| c["user_id"] == user))
    };
    let guest = published("UGUEST")["view"].to_string();
    assert!(guest.contains("\"type\":\"home\"") && guest.contains("*Running*"), "{guest}");
    assert!(guest.contains("`t_slow` running for"), "{guest}");
    assert!(
        !guest.contains("secret_show") && guest.contains("Some jobs of restricted namespaces are not shown."),
        "{guest}"
    );
    opened("U1", "EvHome2");
    let member = published("U1")["view"].to_string();
    assert!(member.contains("secret_show"), "an internal user sees it: {member}");
    t.run(&["cancel", "--id", "1"]);
    support::stop(&mut dispatch);
}

#[test]
fn a_running_jobs_message_says_for_how_long_then_how_it_ended() {
    let mut t = Slack::new();
    t.set("SLACK_PROGRESS_EVERY", "1s");
    t.env.script("t", "count.sh", "#!/usr/bin/env bash\nfor i in 1 2 3; do echo step $i; sleep 1; done\n");
    // `count` reports its output; `hush` runs the same script and does not.
    let mut jobs = support::slack::JOBS.to_owned();
    for (job, reports) in [("count", true), ("hush", false)] {
        jobs.push_str(&format!(
            "\n[t.jobs.{job}]\nrun_args_template = \"./count.sh\"\nreport_stdout = {reports}\n\n\
             [[t.slack]]\ncommand = \"{job}\"\nhelp = \"Counts\"\naction = \"schedule_job\"\njob_type = \"{job}\"\n"
        ));
    }
    std::fs::write(t.env.path("jobs.toml"), jobs).unwrap();
    t.start_bot();
    let mut dispatch = t.spawn(&["dispatch"]);
    t.mention("C1", "12.1", "t count");
    let queued = t.fake.wait_post("Job 1 (`t_count`) is queued.");
    t.mention("C1", "12.2", "t hush");
    let hushed = t.fake.wait_post("Job 2 (`t_hush`) is queued.");
    // chat.update of the same message (https://docs.slack.dev/reference/methods/chat.update).
    let running = t.fake.wait("a progress update with output", |f| {
        f.calls("chat.update").into_iter().find(|c| text(c).contains("running for") && text(c).contains("step "))
    });
    assert_eq!(running["ts"], queued["_ts"], "the queued message itself");
    assert_eq!(buttons(&running), ["ebmbot_cancel"], "Cancel while it runs");
    t.wait_job(1, "succeeded");
    let last = t.fake.wait("the final state, last", |f| {
        let mine = f.calls("chat.update").into_iter().rfind(|c| c["ts"] == queued["_ts"]);
        mine.filter(|c| text(c).contains("succeeded in"))
    });
    assert!(text(&last).starts_with("Job 1: `t_count` succeeded in "), "{last:#}");
    assert_eq!(buttons(&last), ["ebmbot_rerun", "ebmbot_logs"]);
    let of =
        |ts: &Value| -> Vec<Value> { t.fake.calls("chat.update").into_iter().filter(|c| c["ts"] == *ts).collect() };
    // The end is said once (Slack's answer is understood, so the step is recorded), and once
    // more only to put it back after a progress update that crossed it.
    let said: Vec<bool> = of(&queued["_ts"]).iter().map(|c| text(c).contains("succeeded in")).collect();
    let finals: Vec<usize> = (0..said.len()).filter(|&i| said[i]).collect();
    match finals[..] {
        [_] => {}
        [first, second] => assert!(second > first + 1 && !said[second - 1], "put back after progress: {said:?}"),
        _ => panic!("the end said {} times: {said:?}", finals.len()),
    }
    // At most one progress update a second (SLACK_PROGRESS_EVERY) of the time it ran, and the
    // first at its start.
    let job = &t.jobs().into_iter().find(|j| j["id"] == 1).unwrap();
    let at = |field: &str| job[field].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let ran = at("finished_at").duration_since(at("started_at")).as_secs_f64();
    let progress = said.iter().filter(|&&end| !end).count();
    assert!(progress as f64 <= ran.ceil() + 1.0, "{progress} progress updates in {ran} s: {said:?}");
    t.wait_job(2, "succeeded");
    let hush = of(&hushed["_ts"]);
    assert!(hush.iter().any(|c| text(c).contains("running for")), "{hush:#?}");
    assert!(!hush.iter().any(|c| text(c).contains("step")), "a job that does not report stdout shows none: {hush:#?}");
    support::stop(&mut dispatch);
}

/// Slack made the final `chat.update`, but the bot died before it heard so: after the restart
/// the update is made again, the same message with the same text and buttons (Slack shows
/// nothing new), and the result and the reaction come once.
#[test]
fn a_crash_between_an_update_and_its_record_repeats_nothing_visible() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "13.1", "t echo once");
    let queued = t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    t.fake.stall_answer("chat.update");
    t.run_without_slack(&["dispatch", "--once"]);
    t.fake.wait("the final update, made but unanswered", |f| (f.state().stalled_calls > 0).then_some(()));
    t.kill_bot();
    t.fake.release("chat.update");
    t.start_bot();
    t.fake.wait_reaction("C1", "13.1", "white_check_mark");
    t.fake.wait("every delivery recorded", |_| (t.status()["delivery"]["undelivered"] == 0).then_some(()));
    let updates = t.fake.calls("chat.update");
    assert_eq!(updates.len(), 2, "made again after the restart: {updates:#?}");
    assert_eq!(updates[0], updates[1], "the same message, text and buttons");
    assert_eq!(updates[0]["ts"], queued["_ts"]);
    assert!(text(&updates[0]).starts_with("Job 1: `t_echo` succeeded in "), "{:#}", updates[0]);
    let results = t.fake.posts().iter().filter(|p| text(p) == "once").count();
    assert_eq!(results, 1, "the result is posted once");
    let done =
        t.fake.reactions().into_iter().filter(|(_, ts, name)| ts == "13.1" && name == "white_check_mark").count();
    assert_eq!(done, 1, "and reacted once");
}

/// A job asked for with `/ebmbot` or a Rerun click has no message of the asker's to react to:
/// its end updates its own message and posts the result, and reacts on nothing (a reaction on
/// a trigger id is refused by Slack; one on the clicked message would mark the old job's).
#[test]
fn jobs_from_slash_commands_and_reruns_end_without_reactions() {
    let mut t = Slack::new();
    t.start_bot();
    // https://api.slack.com/interactivity/slash-commands#app_command_handling: a trigger id is
    // not a message ts.
    let slash = json!({"command": "/ebmbot", "text": "t echo slashed", "user_id": "U1", "channel_id": "C1",
                       "team_id": TEAM, "trigger_id": "13345224609.738474920.8088930838d88f008e0",
                       "response_url": t.fake.response_url("1")});
    t.fake.wait_ack(&t.fake.send_envelope("slash_commands", slash));
    let queued = t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    t.run_without_slack(&["dispatch", "--once"]);
    t.fake.wait_post("slashed");
    let live = queued["_ts"].as_str().unwrap().to_owned();
    t.fake.send_envelope("interactive", click("ebmbot_rerun", 1, "U1", &live, "9.1"));
    t.fake.wait_post("Job 2 (`t_echo`) is queued.");
    t.run_without_slack(&["dispatch", "--once"]);
    t.fake.wait("both results", |f| (f.posts().iter().filter(|p| text(p) == "slashed").count() == 2).then_some(()));
    t.fake.wait("every delivery recorded", |_| (t.status()["delivery"]["undelivered"] == 0).then_some(()));
    let ends = t.fake.calls("chat.update").into_iter().filter(|c| text(c).contains("succeeded in")).count();
    assert_eq!(ends, 2, "each job's own message says it ended");
    assert!(t.fake.calls("reactions.add").is_empty(), "{:#?}", t.fake.calls("reactions.add"));
    let notes: Vec<String> = t.fake.posts().iter().map(text).filter(|p| p.contains("Could not notify")).collect();
    assert!(notes.is_empty(), "{notes:?}");
}

/// `/ebmbot` works in channels the bot is not in: its answers go to the command's response URL
/// (chat.postEphemeral there would be `not_in_channel`). A response URL that is not Slack's is
/// never posted to.
#[test]
fn slash_command_answers_go_to_its_response_url_and_only_slacks() {
    let mut t = Slack::new();
    t.fake.refuse("chat.postEphemeral", "channel", "CNOTIN", "not_in_channel");
    t.start_bot();
    let slash = |text: &str, trigger: &str, channel: &str, response_url: &str| {
        json!({"command": "/ebmbot", "text": text, "user_id": "U1", "channel_id": channel, "team_id": TEAM,
               "trigger_id": trigger, "response_url": response_url})
    };
    let url = t.fake.response_url("r1");
    t.fake.wait_ack(&t.fake.send_envelope("slash_commands", slash("status", "1.2.a", "CNOTIN", &url)));
    let told = t.fake.wait("the answer at the response URL", |f| f.calls("response_url").first().cloned());
    assert_eq!(told["_response_url"], "r1");
    assert!(text(&told).contains("Nothing is happening") || text(&told).contains("no dispatcher"), "{told}");
    assert!(t.fake.calls("chat.postEphemeral").is_empty(), "{:#?}", t.fake.calls("chat.postEphemeral"));
    // A job there could not say anything: refused, and said why.
    t.fake.wait_ack(&t.fake.send_envelope("slash_commands", slash("t echo hidden", "1.2.c", "CNOTIN", &url)));
    let refused = t.fake.wait("the refusal", |f| f.calls("response_url").get(1).cloned());
    assert!(
        text(&refused).starts_with("I can't post in this conversation, so I won't run a job from here"),
        "{refused}"
    );
    assert!(t.jobs().is_empty(), "nothing queued");
    // Not Slack's: answered with chat.postEphemeral instead, and nothing is sent there.
    let foreign = slash("help", "1.2.b", "C1", "http://169.254.169.254/latest/meta-data");
    t.fake.wait_ack(&t.fake.send_envelope("slash_commands", foreign));
    let help = t.fake.wait("help, to its user only", |f| f.calls("chat.postEphemeral").first().cloned());
    assert!(text(&help).contains("I understand:"), "{help}");
    assert_eq!(t.fake.calls("response_url").len(), 2, "nothing sent to the foreign URL");
}
