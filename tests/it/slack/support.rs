//! Support listeners (`[[ns.listeners]]`): a channel message that says a listener's word gets
//! the reaction and a re-post of its permalink, once per message, edits included; DMs get an
//! answer instead. The events are Slack's `message.channels` / `message.im` shapes
//! (api.slack.com/events/message), edits its `message_changed` subtype
//! (api.slack.com/events/message/message_changed).

use serde_json::{Value, json};

use crate::support::fake_slack::s;
use crate::support::slack::{JOBS, SUPPORT, Slack, text};

/// The Python bot's two listeners, as `config import` writes them.
pub const LISTENERS: &str = r##"
[techsupport]
description = "Tech support"

[[techsupport.listeners]]
name = "tech-support"
match = ["tech-support"]
channel = "#tech-support"
reaction = "sos"
out_of_office = true

[[techsupport.listeners]]
name = "bennett-admins"
match = ["bennett-admins", "bennet-admins"]
channel = "CADMINS"
reaction = "flamingo"
"##;

/// A Slack test whose catalogue has the listeners.
pub fn with_listeners() -> Slack {
    let t = Slack::new();
    std::fs::write(t.env.path("jobs.toml"), format!("{JOBS}{LISTENERS}")).unwrap();
    t.fake.add_channel(json!({"id": "CADMINS", "name": "bennett-admins"}));
    t
}

/// A message from U1 in a public channel.
fn said_in(channel: &str, ts: &str, text: &str) -> Value {
    said(channel, ts, "U1", text)
}

/// A message from `user` in a public channel.
pub fn said(channel: &str, ts: &str, user: &str, text: &str) -> Value {
    json!({"type": "message", "channel": channel, "channel_type": "channel", "user": user, "text": text, "ts": ts,
           "event_ts": ts})
}

/// `ts` edited (at `edit_ts`) to say `text`.
fn edited(channel: &str, ts: &str, edit_ts: &str, text: &str) -> Value {
    json!({"type": "message", "subtype": "message_changed", "hidden": true, "channel": channel,
           "channel_type": "channel", "ts": edit_ts, "event_ts": edit_ts,
           "message": {"type": "message", "user": "U1", "text": text, "ts": ts,
                       "edited": {"user": "U1", "ts": edit_ts}},
           "previous_message": {"type": "message", "user": "U1", "text": "before", "ts": ts}})
}

/// The permalink the fake gives a message.
pub fn permalink(channel: &str, ts: &str) -> String {
    format!("https://team.slack.com/archives/{channel}/p{}", ts.replace('.', ""))
}

/// Posts in `channel` whose text is `text`.
pub fn posts_of(t: &Slack, channel: &str, text: &str) -> usize {
    t.fake.posts().iter().filter(|p| p["channel"] == channel && s(&p["text"]) == text).count()
}

fn reacted(t: &Slack, ts: &str) -> bool {
    t.fake.reactions().iter().any(|(_, at, _)| at == ts)
}

#[test]
fn a_channel_message_calling_tech_support_is_reacted_to_and_reposted() {
    let mut t = with_listeners();
    t.start_bot();
    t.send("Ev1", said("C1", "300.1", "U1", "see <https://x/tech-support/y> for the runbook"));
    t.send("Ev2", said(SUPPORT, "300.2", "U1", "tech-support: who is on today?"));
    let mut from_bot = said("C1", "300.3", "UOTHERBOT", "tech-support alert");
    from_bot["bot_id"] = json!("B2");
    t.send("Ev3", from_bot);
    t.send("Ev4", said("C1", "300.4", "U2", "Help, Tech-Support! The build is red"));
    t.fake.wait_reaction("C1", "300.4", "sos");
    let repost = t.fake.wait_post(&permalink("C1", "300.4"));
    assert_eq!((repost["channel"].as_str(), repost.get("thread_ts")), (Some(SUPPORT), None), "{repost}");
    // Two listeners at once, each in its own channel.
    t.send("Ev5", said("G1", "300.5", "U1", "tech-support and bennett-admins, please"));
    t.fake.wait_reaction("G1", "300.5", "flamingo");
    t.fake.wait_reaction("G1", "300.5", "sos");
    t.fake.wait("two re-posts of 300.5", |f| {
        let link = permalink("G1", "300.5");
        let to: Vec<String> = f.posts().iter().filter(|p| s(&p["text"]) == link).map(|p| s(&p["channel"])).collect();
        (to.len() == 2).then_some(to)
    });
    for ts in ["300.1", "300.2", "300.3"] {
        assert!(!reacted(&t, ts), "{ts} was left alone: {:?}", t.fake.reactions());
    }
    assert_eq!(t.fake.posts().len(), 3, "only the re-posts: {:?}", t.fake.posts());
    assert!(t.jobs().is_empty());
}

#[test]
fn an_edit_into_a_match_reposts_once_and_a_dm_is_told_no() {
    let mut t = with_listeners();
    t.start_bot();
    t.send("Ev1", said("C1", "301.1", "U1", "the build is red"));
    t.send("Ev2", edited("C1", "301.1", "301.5", "the build is red, tech-support"));
    t.fake.wait_reaction("C1", "301.1", "sos");
    t.fake.wait_post(&permalink("C1", "301.1"));
    t.send("Ev3", edited("C1", "301.1", "301.6", "the build is red, tech-support!!"));
    // A message already re-posted when it was sent is not re-posted by an edit either.
    t.send("Ev4", said("C1", "302.1", "U2", "tech-support: the VPN"));
    t.send("Ev5", edited("C1", "302.1", "302.5", "tech-support: the VPN is down"));
    t.dm("303.1", "tech-support can you help?");
    let sorry = t.fake.wait_post("Sorry, I can't call tech-support from this conversation.");
    assert_eq!(sorry["channel"], "D1");
    assert_eq!(posts_of(&t, SUPPORT, &permalink("C1", "301.1")), 1, "{:?}", t.fake.posts());
    assert_eq!(posts_of(&t, SUPPORT, &permalink("C1", "302.1")), 1, "{:?}", t.fake.posts());
    let texts: Vec<String> = t.fake.posts().iter().map(text).collect();
    assert!(!texts.iter().any(|p| p.contains("I don't know")), "the DM is not taken for a command: {texts:?}");
    assert!(t.jobs().is_empty());
}

#[test]
fn out_of_office_replies_in_the_thread_while_on_and_not_after() {
    let mut t = with_listeners();
    // Set from the terminal (trusted), for a window that holds now.
    let set = t.run_without_slack(&["ooo", "tech-support", "--from", "now", "--until", "+2h"]);
    let said = String::from_utf8_lossy(&set.stdout);
    assert!(said.contains("`tech-support` is out of office from"), "{said}");
    let shown = t.run_without_slack(&["ooo", "--json"]);
    let json: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(json["periods"][0]["listener"], "tech-support");
    assert_eq!(json["periods"][0]["set_by"].as_str().map(|s| s.starts_with("terminal:")), Some(true));
    t.start_bot();
    t.send("Ev1", said_in("C1", "310.1", "the printer is on fire, tech-support"));
    let reply = t.fake.wait_post("tech-support is out of office until");
    assert_eq!((reply["channel"].as_str(), reply["thread_ts"].as_str()), (Some("C1"), Some("310.1")), "{reply}");
    assert!(text(&reply).ends_with("; your message has been passed on"), "{reply}");
    t.fake.wait_post(&permalink("C1", "310.1"));
    // bennett-admins has no out of office: no reply, only the re-post.
    t.send("Ev2", said_in("C1", "310.2", "bennett-admins, a new laptop please"));
    t.fake.wait_post(&permalink("C1", "310.2"));
    // Guests may not set it from Slack; internal users may end it.
    t.send("Ev3", crate::support::slack::mention("C1", "310.3", "UGUEST", "ooo tech-support off"));
    t.fake.wait_post("Sorry, setting out of office is for internal users only.");
    t.mention("C1", "310.4", "ooo tech-support off");
    t.fake.wait_post("`tech-support` is back: its out of office has ended.");
    t.send("Ev5", said_in("C1", "310.5", "tech-support, still on fire"));
    t.fake.wait_post(&permalink("C1", "310.5"));
    let replies = t.fake.posts().iter().filter(|p| text(p).contains("is out of office until")).count();
    assert_eq!(replies, 1, "no reply once it is over: {:?}", t.fake.posts());
    assert!(String::from_utf8_lossy(&t.run_without_slack(&["ooo"]).stdout).contains("Nobody is out of office"));
}

#[test]
fn ooo_names_a_listener_with_out_of_office() {
    let t = with_listeners();
    let out = t.run(&["ooo", "tech-suport", "--until", "+1h"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().last(),
        Some("error: unknown listener `tech-suport`; did you mean `tech-support`?")
    );
    let out = t.run(&["ooo", "bennett-admins", "--until", "+1h"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("listener `bennett-admins` has no out of office; set `out_of_office = true`")
    );
    let out = t.run(&["ooo", "tech-support", "--until", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    let out = t.run(&["ooo", "tech-support"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}
