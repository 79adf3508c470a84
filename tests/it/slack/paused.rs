//! A refused bot token pauses delivery instead of dropping messages (issue 11, item 2): the
//! fake Slack answers `token_revoked` to every call made with the old token, as Slack does
//! once a token is revoked (https://api.slack.com/methods/chat.postMessage#errors, and
//! https://api.slack.com/events/app_uninstalled for the event that does the same).

use crate::support::slack::{Slack, text};

fn schedule_echo(t: &Slack, value: &str) {
    t.run_without_slack(&["schedule", "t", "echo", "--value", value, "--notify", "C1"]);
    t.run_without_slack(&["dispatch", "--once"]);
}

fn paused(t: &Slack) -> Option<String> {
    t.status()["delivery"]["paused"]["code"].as_str().map(str::to_owned)
}

#[test]
fn a_revoked_token_pauses_delivery_until_a_new_one_is_loaded_and_an_uninstall_pauses_it_too() {
    let mut t = Slack::new();
    let token = t.env.path("bot-token");
    std::fs::write(&token, "xoxb-old\n").unwrap();
    t.token_file = Some(token.clone());
    t.start_bot();
    t.fake.revoke("xoxb-old");
    schedule_echo(&t, "kept-1");
    schedule_echo(&t, "kept-2");
    t.fake.wait("the pause", |_| (paused(&t).as_deref() == Some("token_revoked")).then_some(()));
    // It goes on probing (after a backoff), but says it once, and drops nothing.
    let refused = |n| {
        move |f: &crate::support::fake_slack::Fake| {
            (f.state().calls.iter().filter(|c| c.params["ok"] == false).count() >= n).then_some(())
        }
    };
    t.fake.wait("three refused calls", refused(3));
    let log = t.log("bot");
    assert_eq!(log.matches("Slack refused the bot token").count(), 1, "{log}");
    assert!(t.fake.posts().is_empty());
    let status = t.status();
    assert!(status["delivery"]["undelivered"].as_u64() >= Some(2), "both results stay queued: {status}");
    let human = String::from_utf8(t.run(&["status"]).stdout).unwrap();
    assert!(human.contains("Slack delivery is paused since") && human.contains("`token_revoked`"), "{human}");

    // A new token, and SIGHUP: everything queued goes out, in order, once.
    std::fs::write(&token, "xoxb-new\n").unwrap();
    t.hup_bot();
    t.fake.wait_post("kept-2");
    let results: Vec<String> = t.fake.posts().iter().filter(|p| p["channel"] == "C1").map(text).collect();
    assert_eq!(results, ["kept-1", "kept-2"], "{:?}", t.fake.posts());
    t.fake.wait("the pause to end", |_| paused(&t).is_none().then_some(()));
    assert!(t.log("bot").contains("loaded a new SLACK_BOT_TOKEN"));

    // Slack says the app was uninstalled: paused again, until a call succeeds.
    t.send("EvGone", serde_json::json!({"type": "app_uninstalled"}));
    t.fake.wait("the pause", |_| (paused(&t).as_deref() == Some("app_uninstalled")).then_some(()));
    schedule_echo(&t, "after-reinstall");
    t.fake.wait_post("after-reinstall");
    t.fake.wait("the pause to end", |_| paused(&t).is_none().then_some(()));
}
