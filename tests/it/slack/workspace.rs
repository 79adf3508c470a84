//! A real workspace's conversations and people (issue 11, items 1 and 7): the kind of a
//! channel learned from `conversations.info` (private channels and group DMs have `C…` ids),
//! forgotten on the channel events Slack sends and after an hour; a user who becomes a guest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ebmbot::bot::Bot;
use ebmbot::clock::ManualClock;
use ebmbot::config::{Catalog, Overrides, Settings};
use serde_json::{Value, json};

use crate::support::fake_slack::TEAM;
use crate::support::slack::{SUPPORT, Slack, mention, text};

/// Failures in a private channel, a group DM, or a channel whose kind Slack will not tell
/// (`channel_not_found`, `missing_scope`) are never re-posted to tech support; in a public
/// channel they are, as a link.
#[test]
fn failures_in_private_channels_and_group_dms_are_never_reposted() {
    let mut t = Slack::new();
    // The conversation objects of https://docs.slack.dev/reference/methods/conversations.info:
    // a private channel and a group DM (`is_mpim`, and `is_private` too), both with `C…` ids.
    t.fake.add_channel(json!({"id": "CPRIV", "name": "plans", "is_private": true}));
    t.fake.add_channel(json!({"id": "CMPDM", "name": "mpdm-alice--bob-1", "is_channel": false, "is_group": true,
                              "is_private": true, "is_mpim": true}));
    // Its errors (same page, "Errors"): an unknown channel, and a token without the scope.
    t.fake.refuse("conversations.info", "channel", "CNOSCOPE", "missing_scope");
    t.start_bot();
    for (channel, ts) in [("CPRIV", "20.1"), ("CMPDM", "20.2"), ("CGONE", "20.3"), ("CNOSCOPE", "20.4"), ("C1", "20.5")]
    {
        t.mention(channel, ts, "t fail");
        t.fake.wait_reaction(channel, ts, "eyes");
    }
    t.dispatch_once();
    t.fake.wait_reaction("C1", "20.5", "x");
    for channel in ["CPRIV", "CMPDM", "CGONE", "CNOSCOPE", "C1"] {
        let failure = t.fake.wait_post("`t_fail` failed (exit 3)");
        assert!(failure["channel"].is_string());
        t.fake.wait(&format!("the failure in {channel}"), |f| {
            f.posts().iter().any(|p| p["channel"] == channel && text(p).contains("`t_fail` failed")).then_some(())
        });
    }
    t.fake.wait_post("`t_fail` (job 1) failed: https://team.slack.com/archives/C1/p");
    // Every requester's result and reaction is delivered before the re-post (one job, in order).
    let support: Vec<Value> = t.fake.posts().into_iter().filter(|p| p["channel"] == SUPPORT).collect();
    assert_eq!(support.len(), 1, "only the public channel's failure: {support:?}");
    assert!(support[0].get("unfurl_links").is_none(), "the link to the failure unfurls: {support:?}");
    let linked: Vec<Value> = t.fake.calls("chat.getPermalink").iter().map(|c| c["channel"].clone()).collect();
    assert_eq!(linked, ["C1"], "no link to a private conversation is even asked for");
    let asked: Vec<String> =
        t.fake.calls("conversations.info").iter().map(|c| c["channel"].as_str().unwrap().to_owned()).collect();
    for channel in ["CPRIV", "CMPDM", "CGONE", "CNOSCOPE", "C1"] {
        assert!(asked.iter().any(|a| a == channel), "{channel} was looked up: {asked:?}");
    }
    let (_, log) = t.stop_bot();
    assert!(log.contains("treating it as private"), "{log}");
}

fn settings(t: &Slack) -> Settings {
    let vars: HashMap<&str, String> = HashMap::from([
        ("SLACK_BOT_TOKEN", "xoxb-test".to_owned()),
        ("SLACK_APP_TOKEN", "xapp-test".to_owned()),
        ("SLACK_API_URL", t.fake.url.clone()),
        ("SLACK_RETRY_BASE", "20ms".to_owned()),
        ("SLACK_AUTO_JOIN", "false".to_owned()),
        ("EBMBOT_DB", t.env.db()),
    ]);
    Settings::from_lookup(|k| vars.get(k).cloned(), &t.env.root, &Overrides::default()).unwrap()
}

/// How many times the bot has asked `conversations.info` about `channel`.
fn lookups(t: &Slack, channel: &str) -> usize {
    t.fake.calls("conversations.info").iter().filter(|c| c["channel"] == channel).count()
}

/// The channel type stored with job `id`'s request.
fn stored_kind(t: &Slack, id: i64) -> Value {
    let job = t.jobs().into_iter().find(|j| j["id"] == id).expect("the job");
    job["requests"][0]["origin"]["channel_type"].clone()
}

/// The kind is cached; a channel event drops it at once, and an hour of the bot's clock too.
#[test]
fn a_channels_kind_is_learned_once_and_again_after_its_events_or_an_hour() {
    let t = Slack::new();
    t.fake.add_channel(json!({"id": "CFLIP", "name": "flip"}));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let clock = Arc::new(ManualClock::new("2026-03-01T10:00:00Z".parse().unwrap()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bot = runtime.block_on(async {
        let settings = Arc::new(settings(&t));
        let catalog = Catalog::load(&settings.config, &settings).unwrap();
        Bot::start_with(settings, catalog, None, clock.clone()).await.unwrap()
    });
    let bot = runtime.spawn(bot.run(async move { drop(stopped.await) }));
    t.fake.wait_connected(1);
    let ask = |n: i64, event: &str| {
        let ts = format!("30.{n}");
        t.send(&format!("{event}{n}"), mention("CFLIP", &ts, "U1", &format!("t echo {n}")));
        t.fake.wait_post(&format!("Job {n} (`t_echo`) is queued."));
    };
    ask(1, "EvK");
    ask(2, "EvK");
    assert_eq!(lookups(&t, "CFLIP"), 1, "the second mention used the cache");
    assert_eq!(stored_kind(&t, 2), "channel");

    // The channel is made private. Slack says so with a `message` of subtype
    // `channel_convert_to_private` (https://api.slack.com/events/message/channel_convert_to_private).
    t.fake.update_channel("CFLIP", json!({"is_private": true}));
    t.send(
        "EvConvert",
        json!({"subtype": "channel_convert_to_private", "user": "U1", "type": "message", "ts": "30.50",
               "text": "made this channel *private*. Now, it can only be viewed or joined by invitation.",
               "channel": "CFLIP", "event_ts": "30.50", "channel_type": "group"}),
    );
    ask(3, "EvK");
    assert_eq!(lookups(&t, "CFLIP"), 2, "looked up again after the conversion");
    assert_eq!(stored_kind(&t, 3), "group", "a private channel, though its id begins with C");

    // `channel_rename` (https://api.slack.com/events/channel_rename) and
    // `member_joined_channel` (https://api.slack.com/events/member_joined_channel) also refresh.
    t.send(
        "EvRename",
        json!({"type": "channel_rename", "channel": {"id": "CFLIP", "name": "flop", "created": 1_360_782_804}}),
    );
    ask(4, "EvK");
    assert_eq!(lookups(&t, "CFLIP"), 3);
    t.send(
        "EvJoined",
        json!({"type": "member_joined_channel", "user": "W06GH7XHN", "channel": "CFLIP", "channel_type": "G",
               "team": TEAM, "inviter": "U123456789"}),
    );
    ask(5, "EvK");
    assert_eq!(lookups(&t, "CFLIP"), 4);

    // Without events, the kind is trusted for an hour of the bot's clock.
    clock.advance(Duration::from_secs(3599));
    ask(6, "EvK");
    assert_eq!(lookups(&t, "CFLIP"), 4, "within the hour");
    clock.advance(Duration::from_secs(2));
    ask(7, "EvK");
    assert_eq!(lookups(&t, "CFLIP"), 5, "an hour later");

    runtime.block_on(async {
        stop.send(()).unwrap();
        bot.await.unwrap().unwrap();
    });
}

/// `user_change` (https://api.slack.com/events/user_change) carries the whole user object: a
/// user made a guest is refused at once, though users.info was cached a moment before.
#[test]
fn a_user_who_becomes_a_guest_loses_access_at_once() {
    let mut t = Slack::new();
    t.fake.add_user(json!({"id": "U3", "team_id": TEAM, "name": "carol"}));
    t.start_bot();
    t.send("EvU1", mention("C1", "40.1", "U3", "secret show"));
    t.fake.wait_post("Job 1 (`secret_show`) is queued.");
    // Slack's event, not the fake's users.info: a bot that ignored it would still say "queued".
    t.send(
        "EvChange",
        json!({"type": "user_change", "event_ts": "1700000040.000100", "cache_ts": 1_700_000_040,
               "user": {"id": "U3", "team_id": TEAM, "name": "carol", "deleted": false, "is_admin": false,
                        "is_owner": false, "is_bot": false, "is_app_user": false, "is_restricted": true,
                        "is_ultra_restricted": false, "updated": 1_700_000_040,
                        "profile": {"real_name": "Carol", "display_name": "carol", "team": TEAM}}}),
    );
    t.send("EvU2", mention("C1", "40.2", "U3", "secret show"));
    let refused = t.fake.wait_post("restricted to internal users");
    assert!(refused.get("thread_ts").is_none(), "{refused}");
    assert_eq!(t.jobs().len(), 1);
}

/// Markup and names of a real workspace (issue 11, item 7).
#[test]
fn grid_users_unnamed_channel_links_the_ack_reaction_help_and_unfurls() {
    let mut t = Slack::new();
    // As people write it; Slack's reactions.add answers `invalid_name` to `:eyes:`
    // (https://docs.slack.dev/reference/methods/reactions.add).
    t.set("SLACK_ACK_REACTION", ":eyes:");
    t.set("SLACK_ENTERPRISE_ID", "E1");
    t.set("SLACK_REPLY_IN_THREAD", "true"); // each reply's thread says which request it answers
    // Enterprise Grid users have W… ids; one of this workspace, one of another workspace of
    // the same organisation, one of another organisation (`enterprise_user` of
    // https://docs.slack.dev/reference/objects/user-object).
    t.fake.add_user(json!({"id": "W0HOME", "team_id": TEAM, "name": "dana"}));
    let grid = |id: &str, team: &str, org: &str| {
        json!({"id": id, "team_id": team, "name": id, "enterprise_user": {"id": id, "enterprise_id": org,
               "enterprise_name": "Org", "is_admin": false, "is_owner": false, "teams": [team]}})
    };
    t.fake.add_user(grid("W0ORG", "T2", "E1"));
    t.fake.add_user(grid("W0OTHER", "T3", "E2"));
    t.start_bot();

    // `<#C1|>`: a channel link without its name (https://docs.slack.dev/messaging/formatting-message-text).
    t.send("EvW1", mention("C1", "60.1", "W0HOME", "t echo see <#C1|> and https://example.com/x"));
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    t.fake.wait_reaction("C1", "60.1", "eyes");
    assert_eq!(t.jobs()[0]["args"]["value"], "see #general and https://example.com/x");
    t.send("EvW2", mention("C1", "60.2", "W0ORG", "secret show"));
    t.fake.wait_post("Job 2 (`secret_show`) is queued.");
    t.send("EvW3", mention("C1", "60.3", "W0OTHER", "secret show"));
    assert_eq!(t.fake.wait_post("restricted to internal users")["thread_ts"], "60.3");
    t.send("EvW4", mention("C1", "60.4", "W0HOME", "cancel job id 2"));
    let note = t.fake.wait_post("`secret_show` cancelled by <@W0HOME>");
    assert_eq!(note["thread_ts"], "60.2");

    t.send("EvW5", mention("C1", "60.5", "W0HOME", "help"));
    let help = text(&t.fake.wait_post("I understand:"));
    assert!(help.contains("<@UBOT> `status`"), "help names the bot by its mention: {help}");
    assert!(help.contains("• `secret` :lock:"), "restricted namespaces are marked for internal users: {help}");
    t.send("EvW6", mention("C1", "60.6", "W0OTHER", "help"));
    t.fake.wait("the second help", |f| {
        (f.posts().iter().filter(|p| text(p).contains("I understand:")).count() == 2).then_some(())
    });
    let guest_help = text(t.fake.posts().iter().rfind(|p| text(p).contains("I understand:")).unwrap());
    assert!(!guest_help.contains(":lock:") && guest_help.contains("• `secret`"), "{guest_help}");

    // Job output goes out without unfurls (https://docs.slack.dev/reference/methods/chat.postMessage).
    t.dispatch_once();
    let output = t.fake.wait_post("see #general and https://example.com/x");
    assert_eq!((&output["unfurl_links"], &output["unfurl_media"]), (&json!(false), &json!(false)), "{output}");
}
