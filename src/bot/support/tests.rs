use serde_json::json;

use super::*;
use crate::queue::model::ChannelType;

fn payload(event: Value) -> Value {
    json!({"type": "event_callback", "event_id": "Ev1", "event": event})
}

#[test]
fn a_new_message_in_a_channel_is_heard() {
    let p = payload(json!({"type": "message", "channel": "C1", "channel_type": "channel", "user": "U1",
                           "text": "tech-support please", "ts": "1.1"}));
    let heard = heard(&p, "UBOT").unwrap();
    assert_eq!((heard.ts.as_str(), heard.key_ts.as_str(), heard.channel_type), ("1.1", "1.1", ChannelType::Channel));
}

/// Slack's `message_changed` event (api.slack.com/events/message/message_changed): the edited
/// message is in `message`, with its original ts; the event's own ts is the edit's.
#[test]
fn an_edit_is_heard_as_its_message_under_the_edit_ts() {
    let p = payload(json!({"type": "message", "subtype": "message_changed", "hidden": true, "channel": "C1",
        "channel_type": "channel", "ts": "9.9", "event_ts": "9.9",
        "message": {"type": "message", "user": "U1", "text": "now tech-support", "ts": "1.1",
                    "edited": {"user": "U1", "ts": "9.9"}},
        "previous_message": {"type": "message", "user": "U1", "text": "now", "ts": "1.1"}}));
    let heard = heard(&p, "UBOT").unwrap();
    assert_eq!((heard.ts.as_str(), heard.key_ts.as_str(), heard.text.as_str()), ("1.1", "9.9", "now tech-support"));
}

#[test]
fn bots_reminders_and_other_subtypes_are_not_heard() {
    let cases = [
        json!({"type": "message", "channel": "C1", "user": "U1", "bot_id": "B1", "text": "tech-support", "ts": "1.1"}),
        json!({"type": "message", "channel": "C1", "user": "UBOT", "text": "tech-support", "ts": "1.1"}),
        json!({"type": "message", "channel": "C1", "user": "USLACKBOT", "text": "Reminder: tech-support", "ts": "1.1"}),
        json!({"type": "message", "subtype": "reminder_add", "channel": "C1", "user": "U1", "text": "tech-support", "ts": "1.1"}),
        json!({"type": "message", "subtype": "channel_join", "channel": "C1", "user": "U1", "text": "tech-support", "ts": "1.1"}),
        json!({"type": "message", "subtype": "message_changed", "channel": "C1", "ts": "2.2",
               "message": {"user": "U1", "bot_id": "B1", "text": "tech-support", "ts": "1.1"}}),
        json!({"type": "reaction_added", "user": "U1"}),
    ];
    for case in cases {
        assert!(heard(&payload(case.clone()), "UBOT").is_err(), "{case}");
    }
}

fn listener(words: &[&str]) -> Listener {
    Listener {
        namespace: "techsupport".into(),
        name: "tech-support".into(),
        words: words.iter().map(|w| (*w).to_owned()).collect(),
        channel: "#tech-support".into(),
        reaction: "sos".into(),
        out_of_office: true,
    }
}

#[test]
fn words_match_whole_case_insensitive_and_not_in_a_url_path() {
    let l = listener(&["tech-support"]);
    for yes in [
        "tech-support",
        "Hey Tech-Support, help",
        "need (tech-support).",
        "TECH-SUPPORT!",
        "tech-support/x",
        "<#C1|tech-support> please",
        "x\ntech-support",
    ] {
        assert!(l.matches(yes), "{yes:?}");
    }
    for no in [
        "see https://x/tech-support/y",
        "<https://x/tech-support>",
        "tech-supports",
        "my-tech-support",
        "tech_support",
        "tech support",
        "techsupport",
        "",
    ] {
        assert!(!l.matches(no), "{no:?}");
    }
    assert!(listener(&["bennett-admins", "bennet-admins"]).matches("ask bennet-admins"));
}
