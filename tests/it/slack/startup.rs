//! Start-up: tokens, `auth.test`, the user cache, joining channels, reconnecting.

use serde_json::json;

use crate::support::fake_slack::Failure;
use crate::support::slack::{Slack, mention};

#[test]
fn without_tokens_or_with_a_refused_token_the_bot_exits_2() {
    // Both tokens are set by default; take one away.
    let mut t2 = Slack::new();
    t2.set("SLACK_APP_TOKEN", "");
    let cmd_out = t2.run(&["bot"]);
    let stderr = String::from_utf8_lossy(&cmd_out.stderr);
    assert_eq!(cmd_out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing: SLACK_APP_TOKEN"), "{stderr}");

    let t3 = Slack::new();
    t3.fake.fail("auth.test", Failure::Api("invalid_auth"), 1);
    let out = t3.run(&["bot"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Slack refused SLACK_BOT_TOKEN (`invalid_auth`)"), "{stderr}");
    assert!(!stderr.contains("xoxb-test-token"), "the token is never printed");

    let t4 = Slack::new();
    t4.fake.fail("apps.connections.open", Failure::Api("invalid_auth"), 1);
    let out = t4.run(&["bot"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Slack refused SLACK_APP_TOKEN (`invalid_auth`)"), "{stderr}");
}

#[test]
fn network_errors_at_start_are_retried_and_users_are_read_page_by_page() {
    let mut t = Slack::new();
    t.fake.fail("auth.test", Failure::Status(502), 3);
    t.fake.fail("auth.test", Failure::Api("internal_error"), 1);
    t.start_bot();
    assert_eq!(t.fake.calls("auth.test").len(), 5);
    t.mention("C1", "50.1", "status");
    t.fake.wait_post("Nothing is happening");
    let pages = t.fake.wait("every users.list page", |f| {
        let calls = f.calls("users.list");
        (calls.len() >= 2 && calls.last().is_some_and(|c| c["ok"] == true)).then_some(calls)
    });
    assert!(pages[0].get("cursor").is_none() && pages[1]["cursor"] == "2", "{pages:?}");
    let (code, log) = t.stop_bot();
    assert_eq!(code, Some(0));
    assert!(log.contains("cannot reach Slack to check the bot token; retrying"), "{log}");
    assert!(!log.contains("xoxb-test-token") && !log.contains("xapp-test-token"), "no tokens in the log");
}

#[test]
fn public_channels_are_joined_and_new_ones_too() {
    let mut t = Slack::new();
    t.set("SLACK_AUTO_JOIN", "true");
    t.fake.add_channel(json!({"id": "CNEW1", "name": "new-one", "is_member": false}));
    t.fake.add_channel(json!({"id": "CNEW2", "name": "new-two", "is_member": false}));
    t.fake.add_channel(json!({"id": "CARCH", "name": "old", "is_member": false, "is_archived": true}));
    t.fake.add_channel(json!({"id": "CPRIV", "name": "private", "is_member": false, "is_private": true}));
    t.fake.add_channel(json!({"id": "CNEW3", "name": "new-three", "is_member": false}));
    t.start_bot();
    let joined = |f: &crate::support::fake_slack::Fake| -> Vec<String> {
        f.calls("conversations.join").iter().map(|c| crate::support::fake_slack::s(&c["channel"])).collect()
    };
    t.fake.wait("three joins", |f| (joined(f).len() == 3).then_some(()));
    assert_eq!(joined(&t.fake), ["CNEW1", "CNEW2", "CNEW3"]);
    let lists = t.fake.calls("conversations.list");
    assert!(lists.len() >= 5 && lists.iter().all(|l| l["types"] == "public_channel"), "{lists:?}");
    t.send("EvNew", json!({"type": "channel_created", "channel": {"id": "CNEW4", "name": "brand-new", "created": 1}}));
    t.fake.wait("the new channel joined", |f| joined(f).contains(&"CNEW4".to_owned()).then_some(()));
}

#[test]
fn auto_join_off_joins_nothing() {
    let mut t = Slack::new();
    t.fake.add_channel(json!({"id": "CNEW1", "name": "new-one", "is_member": false}));
    t.start_bot();
    t.send("EvNew", json!({"type": "channel_created", "channel": {"id": "CNEW4", "name": "brand-new", "created": 1}}));
    t.mention("C1", "60.1", "status");
    t.fake.wait_post("Nothing is happening");
    assert!(t.fake.calls("conversations.join").is_empty());
}

#[test]
fn the_bot_reconnects_after_slack_drops_the_connection() {
    let mut t = Slack::new();
    t.start_bot();
    t.mention("C1", "70.1", "t echo before");
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    let opened = t.fake.calls("apps.connections.open").len();
    t.fake.drop_connections();
    t.fake.wait("a new connection", |f| (f.calls("apps.connections.open").len() > opened).then_some(()));
    t.fake.wait_connected(1);
    t.send("EvAfter", mention("C1", "70.2", "U1", "t echo after"));
    t.fake.wait_post("Job 2 (`t_echo`) is queued.");
}

#[test]
fn a_429_while_listing_channels_to_join_waits_as_slack_asks_then_goes_on() {
    // A rate-limited Web API call answers HTTP 429 with `Retry-After: <seconds>`
    // (api.slack.com/apis/rate-limits, "Responding to rate limiting conditions").
    let mut t = Slack::new();
    t.set("SLACK_AUTO_JOIN", "true");
    t.fake.add_channel(json!({"id": "CNEW1", "name": "new-one", "is_member": false}));
    t.fake.add_channel(json!({"id": "CNEW2", "name": "new-two", "is_member": false}));
    t.fake.add_channel(json!({"id": "CNEW3", "name": "new-three", "is_member": false}));
    t.fake.fail("conversations.list", Failure::RateLimited(1), 1);
    t.start_bot();
    let joined = |f: &crate::support::fake_slack::Fake| -> Vec<String> {
        f.calls("conversations.join").iter().map(|c| crate::support::fake_slack::s(&c["channel"])).collect()
    };
    t.fake.wait("three joins", |f| (joined(f).len() == 3).then_some(()));
    let st = t.fake.state();
    let lists: Vec<_> = st.calls.iter().filter(|c| c.method == "conversations.list").collect();
    assert_eq!(lists[0].params["ok"], false);
    assert!(lists[1].at.duration_since(lists[0].at) >= std::time::Duration::from_secs(1), "Retry-After honoured");
    assert!(lists[1].params.get("cursor").is_none(), "the refused page is asked for again: {:?}", lists[1].params);
    drop(st);
    let (_, log) = t.stop_bot();
    assert!(log.contains("listing channels paused; retrying in 1s"), "{log}");
}
