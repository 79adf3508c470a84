//! `ebmbot slack manifest`, the scopes it lists against the methods the code calls, and the
//! check of the bot token's scopes at start.
//!
//! The fake Slack grants the scopes of `ebmbot::bot::manifest` and answers any method whose
//! scope is not granted, or that has no row there, with `missing_scope`, as Slack does: every
//! Slack test fails for a new Web API call without its scope.

use std::collections::BTreeSet;

use ebmbot::bot::manifest::{self, METHODS, Needs};
use serde_json::Value;

use crate::support::slack::{SUPPORT, Slack};

fn scopes(needs: Needs) -> Vec<String> {
    needs.scopes().into_iter().map(|(s, _)| s.to_owned()).collect()
}

#[test]
fn the_manifest_lists_the_scopes_and_events_the_settings_need() {
    let mut t = Slack::new();
    // docs/slack.md shows the default manifest as the command prints it.
    let out = t.run_without_slack(&["slack", "manifest"]);
    let printed = String::from_utf8(out.stdout).unwrap();
    let default: Vec<&str> = printed.lines().filter(|l| !l.starts_with('#')).collect();
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/slack.md")).unwrap();
    let shown: Vec<&str> =
        docs.split("```yaml\n").nth(1).and_then(|b| b.split("```").next()).unwrap().lines().collect();
    assert_eq!(shown, default, "docs/slack.md's manifest is `ebmbot slack manifest`'s");

    t.set("SLACK_APP_USERNAME", "opsbot");
    let out = t.run_without_slack(&["slack", "manifest"]);
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(yaml.contains("  name: \"opsbot\"\n") && yaml.contains("display_name: \"opsbot\""), "{yaml}");
    assert!(yaml.contains("socket_mode_enabled: true") && !yaml.contains("request_url"), "{yaml}");
    for scope in scopes(Needs { auto_join: false, listeners: false }) {
        assert!(yaml.contains(&format!("      - {scope} ")), "{scope} in {yaml}");
    }
    // Auto-join is off by default: neither its scope nor its event.
    assert!(!yaml.contains("channels:join") && !yaml.contains("channel_created"), "{yaml}");
    assert!(yaml.contains("chat:write.public"), "{yaml}");

    // The JSON form (Slack takes either) for the Events API, with auto-join on.
    t.set("SLACK_AUTO_JOIN", "true");
    let out = t.run_without_slack(&["slack", "manifest", "--events-api-url", "https://ebm.example.com/", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed: Vec<String> =
        json["oauth_config"]["scopes"]["bot"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().into()).collect();
    assert_eq!(listed, scopes(Needs { auto_join: true, listeners: false }));
    assert!(listed.contains(&"channels:join".to_owned()));
    let settings = &json["settings"];
    assert_eq!(settings["socket_mode_enabled"], false);
    assert_eq!(settings["event_subscriptions"]["request_url"], "https://ebm.example.com/slack/events");
    let events: Vec<&str> =
        settings["event_subscriptions"]["bot_events"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert_eq!(events[..3], ["app_mention", "message.im", "channel_created"]);
    // The events that keep the caches of channel kinds and users right (bot::kinds, bot::users).
    for event in ["channel_rename", "group_rename", "member_joined_channel", "user_change"] {
        assert!(events.contains(&event), "{event} in {events:?}");
    }

    let out = t.run(&["slack", "manifest", "--events-api-url", "http://ebm.example.com"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--events-api-url `http://ebm.example.com` is not valid: Slack sends events only to https"),
        "{stderr}"
    );
}

#[test]
fn every_method_a_slack_session_calls_is_granted_by_the_manifest() {
    // A session that makes every kind of call: auto-join (conversations.list, .join), users,
    // a mention, a job whose failure is re-posted as a permalink, a file upload.
    let mut t = Slack::new();
    t.set("SLACK_AUTO_JOIN", "true");
    t.fake.add_channel(serde_json::json!({"id": "CNEW1", "name": "new-one", "is_member": false}));
    t.start_bot();
    t.fake.wait("the join", |f| (!f.calls("conversations.join").is_empty()).then_some(()));
    t.mention("C1", "900.1", "t fail");
    let out = t.run(&["schedule", "t", "big", "--notify", "C1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    t.dispatch_once();
    t.fake.wait("the re-post to tech support", |f| f.posts().into_iter().find(|p| p["channel"] == SUPPORT));
    t.fake.wait("the upload", |f| f.calls("files.completeUploadExternal").into_iter().find(|c| c["ok"] == true));
    let calls = t.fake.state().calls.clone();
    let granted = manifest::all_scopes();
    let mut seen = BTreeSet::new();
    for call in &calls {
        assert_ne!(call.params["error"], "missing_scope", "{} was refused: {}", call.method, call.params);
        if call.method == manifest::APP_TOKEN_METHOD.0 {
            continue;
        }
        let row = manifest::method(&call.method).unwrap_or_else(|| panic!("`{}` has no row in METHODS", call.method));
        assert!(row.scopes.iter().all(|s| granted.contains(s)), "{row:?}");
        seen.insert(call.method.clone());
    }
    let expected = [
        "auth.test",
        "users.list",
        "conversations.list",
        "conversations.join",
        "chat.postMessage",
        "chat.getPermalink",
        "reactions.add",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ];
    for method in expected {
        assert!(seen.contains(method), "{method} not called: {seen:?}");
    }
    assert!(METHODS.len() >= seen.len());
}

#[test]
fn a_token_without_a_scope_the_settings_need_is_named_at_start() {
    // auth.test's `x-oauth-scopes` header lists the token's scopes (api.slack.com/authentication/oauth-v2,
    // "the x-oauth-scopes header"); a method needing another answers `missing_scope` with
    // `needed` and `provided` (api.slack.com/web, "Evaluating responses").
    let mut t = Slack::new();
    let all = manifest::all_scopes();
    let some: Vec<&str> =
        all.iter().copied().filter(|s| !["reactions:write", "chat:write.public"].contains(s)).collect();
    t.fake.grant_only(&some);
    t.start_bot();
    t.mention("C1", "910.1", "t echo hi");
    t.fake.wait_post("Job 1 (`t_echo`) is queued.");
    let refused =
        t.fake.wait("the refused reaction", |f| f.calls("reactions.add").into_iter().find(|c| c["ok"] == false));
    assert!(refused.get("name").is_some(), "{refused}");
    let (_, log) = t.stop_bot();
    let line = log.lines().find(|l| l.contains("the bot token lacks")).unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.contains("`chat:write.public` (post in public channels")
            && line.contains("`reactions:write` (reactions.add)"),
        "{line}"
    );
    assert!(line.contains("ebmbot slack manifest"), "{line}");
    assert!(line.contains("WARN"), "a warning, not fatal: {line}");
}
