//! Socket Mode: each `disconnect` reason Slack sends, reconnecting with backoff, the fatal
//! ends (a refused app token, `link_disabled`), and the connection's state in `serve`'s
//! `/readyz` and `/metrics`.
//!
//! The shapes are Slack's (api.slack.com/apis/socket-mode): `hello` on connecting;
//! `{"type": "disconnect", "reason": "warning" | "refresh_requested" | "too_many_websockets" |
//! "link_disabled", "debug_info": {…}}`; `events_api` envelopes acknowledged with
//! `{"envelope_id": …}`; `apps.connections.open` errors from api.slack.com/methods/apps.connections.open.

use std::io::{Read, Write};
use std::time::Duration;

use crate::support::fake_slack::{Failure, Fake};
use crate::support::slack::{Slack, mention};
use crate::support::wait_until;

fn hellos(f: &Fake) -> usize {
    f.state().hellos
}

/// Waits for a new connection after `before` hellos, then checks that events flow on it.
fn events_flow_again(t: &Slack, before: usize, ts: &str, job: i64) {
    t.fake.wait("a new connection", |f| (hellos(f) > before && f.state().sockets.len() == 1).then_some(()));
    t.send(&format!("Ev{ts}"), mention("C1", ts, "U1", &format!("t echo {ts}")));
    t.fake.wait_post(&format!("Job {job} (`t_echo`) is queued."));
}

#[test]
fn warning_and_refresh_requested_reconnect_at_once_and_too_many_websockets_after_a_backoff() {
    let mut t = Slack::new();
    t.start_bot();
    for (n, reason) in ["warning", "refresh_requested", "too_many_websockets"].iter().enumerate() {
        let before = hellos(&t.fake);
        t.fake.disconnect(reason);
        events_flow_again(&t, before, &format!("20.{n}"), n as i64 + 1);
    }
    let (code, log) = t.stop_bot();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("Slack asked to reconnect (`warning`); next try in 0ns"), "{log}");
    assert!(log.contains("Slack asked to reconnect (`refresh_requested`); next try in 0ns"), "{log}");
    let line = log.lines().find(|l| l.contains("Slack disconnected (`too_many_websockets`)")).expect("logged");
    assert!(!line.contains("next try in 0ns"), "waits before trying again: {line}");
}

#[test]
fn a_failing_apps_connections_open_is_retried_with_growing_waits_honouring_retry_after() {
    let mut t = Slack::new();
    t.start_bot();
    // A 429 (Retry-After: 1), then Slack's own failures: waits of at least 1 s, then
    // SLACK_RETRY_BASE (20ms) × 2, × 4, × 8 (each between half and all of it).
    t.fake.fail("apps.connections.open", Failure::RateLimited(1), 1);
    t.fake.fail("apps.connections.open", Failure::Api("internal_error"), 3);
    let before = hellos(&t.fake);
    let opened = t.fake.calls("apps.connections.open").len();
    t.fake.drop_connections();
    events_flow_again(&t, before, "30.1", 1);
    let st = t.fake.state();
    let opens: Vec<_> = st.calls.iter().filter(|c| c.method == "apps.connections.open").skip(opened).collect();
    assert_eq!(opens.iter().map(|c| c.params["ok"] == true).collect::<Vec<_>>(), [false, false, false, false, true]);
    let gaps: Vec<Duration> = opens.windows(2).map(|w| w[1].at.duration_since(w[0].at)).collect();
    assert!(gaps[0] >= Duration::from_secs(1), "Retry-After: {gaps:?}");
    for (i, least) in [20, 40, 80].into_iter().enumerate() {
        assert!(gaps[i + 1] >= Duration::from_millis(least), "exponential: {gaps:?}");
    }
    drop(st);
    let (_, log) = t.stop_bot();
    assert!(log.contains("reconnecting (attempt 4; `apps.connections.open` failed (internal_error)"), "{log}");
}

#[test]
fn link_disabled_ends_the_bot_with_exit_2_saying_so() {
    let mut t = Slack::new();
    t.start_bot();
    t.fake.disconnect("link_disabled");
    let (code, log) = t.wait_bot_exit();
    assert_eq!(code, Some(2), "{log}");
    let errors: Vec<&str> = log.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        errors,
        ["error: Slack turned Socket Mode off for this app (`link_disabled`); turn it on again in the app's \
          settings (Socket Mode), or use the Events API instead (docs/slack.md)"],
        "{log}"
    );
}

#[test]
fn an_app_token_slack_refuses_is_fatal_at_start_and_on_reconnect() {
    // A bot token given as the app token: `not_allowed_token_type`.
    let t = Slack::new();
    t.fake.fail("apps.connections.open", Failure::Api("not_allowed_token_type"), 1);
    let out = t.run(&["bot"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error: Slack refused SLACK_APP_TOKEN (`not_allowed_token_type`)"), "{stderr}");

    // Revoked while running: the next apps.connections.open says so.
    let mut t = Slack::new();
    t.start_bot();
    t.fake.fail("apps.connections.open", Failure::Api("token_revoked"), 1);
    t.fake.drop_connections();
    let (code, log) = t.wait_bot_exit();
    assert_eq!(code, Some(2), "{log}");
    assert!(log.contains("error: Slack refused SLACK_APP_TOKEN (`token_revoked`)"), "{log}");
    assert!(!log.contains("xapp-test-token"), "the token is never printed");
}

/// `GET path` on `serve`'s address: (status line, body).
fn get(addr: &str, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

#[test]
fn serve_shows_the_connection_state_in_readyz_and_metrics() {
    let t = Slack::new();
    let serve = t.spawn(&["serve", "--bind", "127.0.0.1:0"]);
    t.fake.wait_connected(1);
    let addr = wait_until("the address", || {
        let log = t.log("serve");
        let rest = log.split("listening on http://").nth(1)?;
        Some(rest.split_whitespace().next()?.to_owned())
    });
    let readyz = wait_until("connected in /readyz", || {
        let (status, body) = get(&addr, "/readyz");
        body.contains("slack socket mode: connected").then_some((status, body))
    });
    assert!(readyz.0.contains("200"), "{readyz:?}");
    let (_, metrics) = get(&addr, "/metrics");
    assert!(metrics.contains("ebmbot_slack_socket_mode{state=\"connected\"} 1"), "{metrics}");
    assert!(metrics.contains("ebmbot_slack_socket_mode{state=\"reconnecting\"} 0"), "{metrics}");

    // Slack fails for a while: /readyz says so and stays 200 (webhooks go on).
    t.fake.fail("apps.connections.open", Failure::Status(503), 8);
    t.fake.drop_connections();
    let (status, body) = wait_until("reconnecting in /readyz", || {
        let (status, body) = get(&addr, "/readyz");
        body.contains("`apps.connections.open` failed").then_some((status, body))
    });
    assert!(status.contains("200") && body.contains("slack socket mode: reconnecting (attempt"), "{status} {body}");
    wait_until("connected again", || get(&addr, "/readyz").1.contains("slack socket mode: connected").then_some(()));

    t.fake.disconnect("link_disabled");
    let out = serve.output();
    let log = t.log("serve");
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(log.contains("error: Slack turned Socket Mode off for this app (`link_disabled`)"), "{log}");
}
