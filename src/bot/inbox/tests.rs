use serde_json::{Value, json};

use super::*;

fn callback(event: Value) -> Value {
    json!({"type": "event_callback", "event_id": "Ev1", "team_id": "T1", "event": event})
}

fn command(channel: &str, ts: &str) -> Received {
    Received::Command { event_id: "Ev1".into(), channel: channel.into(), ts: ts.into() }
}

fn is_ignored(r: &Received, containing: &str) -> bool {
    matches!(r, Received::Ignored(why) if why.contains(containing))
}

#[test]
fn mentions_and_dms_are_commands() {
    let mention =
        callback(json!({"type": "app_mention", "user": "U1", "text": "<@UBOT> help", "channel": "C1", "ts": "1.1"}));
    assert_eq!(classify(&mention, "UBOT"), command("C1", "1.1"));
    let dm = callback(
        json!({"type": "message", "channel_type": "im", "user": "U1", "text": "help", "channel": "D1", "ts": "2.2"}),
    );
    assert_eq!(classify(&dm, "UBOT"), command("D1", "2.2"));
    for subtype in ["thread_broadcast", "file_share"] {
        let dm = callback(json!({"type": "message", "subtype": subtype, "channel_type": "im", "user": "U1",
                                 "text": "help", "channel": "D1", "ts": "2.2"}));
        assert_eq!(classify(&dm, "UBOT"), command("D1", "2.2"), "{subtype}");
    }
}

#[test]
fn bots_edits_joins_and_channel_messages_are_ignored() {
    let own = callback(json!({"type": "app_mention", "user": "UBOT", "text": "hi", "channel": "C1", "ts": "1.1"}));
    assert!(is_ignored(&classify(&own, "UBOT"), "ebmbot itself"));
    let bot = callback(json!({"type": "message", "channel_type": "im", "bot_id": "B1", "user": "U2",
                              "text": "hi", "channel": "D1", "ts": "1.1"}));
    assert!(is_ignored(&classify(&bot, "UBOT"), "from a bot"));
    let edit = callback(json!({"type": "message", "subtype": "message_changed", "channel_type": "im",
                               "channel": "D1", "ts": "1.1", "message": {"text": "x"}}));
    assert!(is_ignored(&classify(&edit, "UBOT"), "message_changed"));
    let join =
        callback(json!({"type": "message", "subtype": "channel_join", "user": "U1", "channel": "C1", "ts": "1.1"}));
    assert!(is_ignored(&classify(&join, "UBOT"), "channel_join"));
    let in_channel =
        callback(json!({"type": "message", "channel_type": "channel", "user": "U1", "text": "<@UBOT> help",
                                     "channel": "C1", "ts": "1.1"}));
    assert!(is_ignored(&classify(&in_channel, "UBOT"), "only DMs"));
}

#[test]
fn missing_or_unexpected_fields_are_ignored_with_a_reason() {
    assert!(is_ignored(&classify(&json!({"event_id": "Ev1"}), "UBOT"), "without an `event`"));
    assert!(is_ignored(&classify(&callback(json!({"type": "reaction_added"})), "UBOT"), "reaction_added"));
    assert!(is_ignored(&classify(&callback(json!({"user": "U1"})), "UBOT"), "without a type"));
    let no_user = callback(json!({"type": "app_mention", "text": "hi", "channel": "C1", "ts": "1.1"}));
    assert!(is_ignored(&classify(&no_user, "UBOT"), "no `user`"));
    let no_id = json!({"event": {"type": "app_mention", "user": "U1", "channel": "C1", "ts": "1.1"}});
    assert!(is_ignored(&classify(&no_id, "UBOT"), "without an `event_id`"));
    let wrong_type = callback(json!({"type": "app_mention", "user": 7, "channel": "C1", "ts": "1.1"}));
    assert!(is_ignored(&classify(&wrong_type, "UBOT"), "no `user`"));
}

#[test]
fn created_channels_are_reported() {
    let created = callback(json!({"type": "channel_created", "channel": {"id": "C9", "name": "new"}}));
    assert_eq!(classify(&created, "UBOT"), Received::ChannelCreated { channel: "C9".into() });
}

#[test]
fn replies_go_top_level_unless_the_request_is_in_a_thread_or_threads_are_asked_for() {
    let m = |channel: &str, thread: Option<&str>| {
        let mut event = json!({"type": "message", "user": "U1", "channel": channel, "ts": "5.5"});
        if let Some(t) = thread {
            event["thread_ts"] = json!(t);
        }
        Message::from_payload(&callback(event)).unwrap()
    };
    assert_eq!(m("C1", None).reply_thread(false), None);
    assert_eq!(m("C1", Some("4.4")).reply_thread(false).as_deref(), Some("4.4"));
    assert_eq!(m("C1", None).reply_thread(true).as_deref(), Some("5.5"));
    assert_eq!(m("C1", Some("4.4")).reply_thread(true).as_deref(), Some("4.4"));
    for in_thread in [false, true] {
        assert_eq!(m("D1", None).reply_thread(in_thread), None);
        assert_eq!(m("D1", Some("4.4")).reply_thread(in_thread).as_deref(), Some("4.4"));
    }
    assert_eq!(m("G1", None).channel_type, crate::queue::model::ChannelType::Group);
    let mpim =
        json!({"type": "app_mention", "user": "U1", "text": "x", "channel": "G2", "channel_type": "mpim", "ts": "1.1"});
    assert_eq!(Message::from_payload(&callback(mpim)).unwrap().channel_type, crate::queue::model::ChannelType::Mpim);
}

#[test]
fn channel_and_user_events_correct_the_caches() {
    // https://api.slack.com/events/channel_archive: the channel is an id.
    let archived = callback(json!({"type": "channel_archive", "channel": "C024BE91L", "user": "U024BE7LH"}));
    assert_eq!(classify(&archived, "UBOT"), Received::ChannelChanged { channel: "C024BE91L".into() });
    // https://api.slack.com/events/group_rename: the channel is an object.
    let renamed =
        callback(json!({"type": "group_rename", "channel": {"id": "G02ELGNBH", "name": "new_name", "created": 1}}));
    assert_eq!(classify(&renamed, "UBOT"), Received::ChannelChanged { channel: "G02ELGNBH".into() });
    let converted = callback(json!({"type": "message", "subtype": "channel_convert_to_private", "channel": "C1",
                                    "channel_type": "group", "user": "U1", "ts": "1.1"}));
    assert_eq!(classify(&converted, "UBOT"), Received::ChannelChanged { channel: "C1".into() });
    assert!(is_ignored(&classify(&callback(json!({"type": "channel_left"})), "UBOT"), "without a channel id"));
    let user = json!({"id": "U1", "team_id": "T1", "is_restricted": true});
    let changed = callback(json!({"type": "user_change", "user": user, "cache_ts": 1, "event_ts": "1.1"}));
    assert_eq!(classify(&changed, "UBOT"), Received::UserChanged { user });
}

#[test]
fn an_uninstalled_app_or_a_revoked_bot_token_is_a_revocation() {
    // Shapes from https://api.slack.com/events/app_uninstalled and https://api.slack.com/events/tokens_revoked.
    let gone = callback(json!({"type": "app_uninstalled"}));
    assert_eq!(classify(&gone, "UBOT"), Received::Revoked { event: "app_uninstalled" });
    let bot = callback(json!({"type": "tokens_revoked", "tokens": {"oauth": ["U1"], "bot": ["UBOT"]}}));
    assert_eq!(classify(&bot, "UBOT"), Received::Revoked { event: "tokens_revoked" });
    let users = callback(json!({"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}}));
    assert!(is_ignored(&classify(&users, "UBOT"), "other than ebmbot's"));
}
