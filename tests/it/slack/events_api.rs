//! The Events API endpoint, mounted as the web server would: signatures, the 5-minute window,
//! url_verification, and events handled by the same worker as Socket Mode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ebmbot::bot::api::OnCall;
use ebmbot::bot::events_api::sign;
use ebmbot::bot::{Bot, EventsState, Off, events_router};
use ebmbot::clock::{Clock, ManualClock, SystemClock};
use ebmbot::config::{Catalog, Overrides, Secret, Settings};
use serde_json::{Value, json};

use crate::support::slack::{Slack, mention};

const SECRET: &str = "signing-secret";

fn settings(t: &Slack, with_secret: bool) -> Settings {
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("SLACK_BOT_TOKEN", "xoxb-test".to_owned()),
        ("SLACK_API_URL", t.fake.url.clone()),
        ("SLACK_RETRY_BASE", "20ms".to_owned()),
        ("SLACK_AUTO_JOIN", "false".to_owned()),
        ("EBMBOT_DB", t.env.db()),
    ]);
    if with_secret {
        vars.insert("SLACK_SIGNING_SECRET", SECRET.to_owned());
    }
    Settings::from_lookup(|k| vars.get(k).cloned(), &t.env.root, &Overrides::default()).unwrap()
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slack/events", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

async fn post(url: &str, body: &Value, timestamp: i64, secret: &str) -> (u16, String) {
    signed(url, body.to_string(), "application/json", timestamp, secret).await
}

/// POSTs `body` signed with `secret` at `timestamp`, as Slack does.
async fn signed(url: &str, body: String, content_type: &str, timestamp: i64, secret: &str) -> (u16, String) {
    let signature = sign(&Secret::new(secret), timestamp, body.as_bytes());
    let r = crate::support::web::client()
        .post(url)
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header("x-slack-signature", signature)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The bot's time in these tests: it moves only when a test moves it.
const T0: &str = "2026-03-01T10:00:00Z";

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[test]
fn signed_events_are_handled_once_and_everything_else_is_refused() {
    let t = Slack::new();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let t0: jiff::Timestamp = T0.parse().unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    runtime.block_on(async {
        let settings = Arc::new(settings(&t, true));
        let catalog = Catalog::load(&settings.config, &settings).unwrap();
        let bot = Bot::start_with(settings, catalog, None, clock.clone()).await.unwrap();
        let url = serve(events_router(bot.events_state())).await;
        let at = t0.as_second();

        let challenge = json!({"type": "url_verification", "challenge": "abc123", "token": "x"});
        let (status, body) = post(&url, &challenge, at, SECRET).await;
        assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()), (200, json!({"challenge": "abc123"})));

        let event = json!({"type": "event_callback", "event_id": "EvApi1", "team_id": "T1", "api_app_id": "A1",
                           "event_time": 1, "event": mention("C1", "80.1", "U1", "t echo by http")});
        assert_eq!(post(&url, &event, at, SECRET).await.0, 200);
        tokio::task::block_in_place(|| {
            t.fake.wait_post("Job 1 (`t_echo`) is queued.");
            t.fake.wait_reaction("C1", "80.1", "eyes");
        });
        assert_eq!(t.jobs()[0]["created_at"], "2026-03-01T10:00:00.000Z", "the bot's clock, not the wall's");
        assert_eq!(post(&url, &event, at, SECRET).await.0, 200, "a Slack retry is answered too");
        clock.advance(Duration::from_secs(301));
        assert_eq!(post(&url, &event, at, SECRET).await.0, 401, "older than 5 minutes");
        assert_eq!(post(&url, &event, at + 301, SECRET).await.0, 200, "signed at the bot's now");
        clock.set(t0);
        assert_eq!(post(&url, &event, at + 301, SECRET).await.0, 401, "from the future");
        assert_eq!(post(&url, &event, at, "wrong-secret").await.0, 401);
        let unsigned = crate::support::web::client().post(&url).body(event.to_string()).send().await.unwrap();
        assert_eq!(unsigned.status().as_u16(), 401);
        assert_eq!(post(&url, &json!("not an object"), at, SECRET).await.0, 400);
        assert_eq!(post(&url, &json!({"type": "app_rate_limited"}), at, SECRET).await.0, 200);

        let off = serve(events_router(EventsState::unavailable(Off::NoSigningSecret))).await;
        let (status, body) = post(&off, &challenge, at, SECRET).await;
        assert_eq!(status, 503);
        assert!(body.contains("SLACK_SIGNING_SECRET"), "{body}");
        bot.stop().await;
    });
    assert_eq!(t.jobs().len(), 1, "the retries were dropped");
}

#[test]
fn a_bot_without_a_signing_secret_answers_503() {
    let t = Slack::new();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let settings = Arc::new(settings(&t, false));
        let catalog = Catalog::load(&settings.config, &settings).unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let s = seen.clone();
        let on_call: OnCall = Arc::new(move |method, result| s.lock().unwrap().push(format!("{method} {result}")));
        let bot = Bot::start_with(settings, catalog, Some(on_call), Arc::new(SystemClock)).await.unwrap();
        let url = serve(events_router(bot.events_state())).await;
        let (status, body) = post(&url, &json!({"type": "url_verification"}), now(), SECRET).await;
        assert_eq!(status, 503);
        assert!(body.contains("SLACK_SIGNING_SECRET is not set"), "{body}");
        bot.stop().await;
        assert!(seen.lock().unwrap().contains(&"auth.test ok".to_owned()), "the observer hears every call");
    });
}

/// POSTs a signed form (`application/x-www-form-urlencoded`, as Slack sends interactive
/// payloads and slash commands: https://api.slack.com/interactivity/handling#payloads).
async fn post_form(url: &str, form: &[(&str, &str)], timestamp: i64, secret: &str) -> u16 {
    let body = serde_urlencoded::to_string(form).unwrap();
    signed(url, body, "application/x-www-form-urlencoded", timestamp, secret).await.0
}

#[test]
fn slash_commands_and_clicks_over_http_are_signed_stored_and_answered() {
    let t = Slack::new();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let settings = Arc::new(settings(&t, true));
        let catalog = Catalog::load(&settings.config, &settings).unwrap();
        let bot = Bot::start_with(settings, catalog, None, Arc::new(SystemClock)).await.unwrap();
        let events = serve(events_router(bot.events_state())).await;
        let (commands, interactive) = (events.replace("/events", "/commands"), events.replace("/events", "/interactive"));
        // A slash command's fields (https://api.slack.com/interactivity/slash-commands#app_command_handling).
        let response_url = t.fake.response_url("cmd1");
        let slash = |text: &'static str, trigger: &'static str| {
            vec![("command", "/ebmbot"), ("text", text), ("user_id", "U1"), ("channel_id", "C1"), ("team_id", "T1"),
                 ("trigger_id", trigger), ("response_url", response_url.as_str())]
        };
        assert_eq!(post_form(&commands, &slash("status", "tr1"), now(), "wrong-secret").await, 401, "forged");
        assert_eq!(post_form(&commands, &slash("status", "tr1"), now(), SECRET).await, 200);
        assert_eq!(post_form(&commands, &slash("status", "tr1"), now(), SECRET).await, 200, "a retry is dropped");
        assert_eq!(post_form(&commands, &slash("t echo slashed", "tr2"), now(), SECRET).await, 200);
        tokio::task::block_in_place(|| {
            // At the command's response URL, which only its user sees.
            let told = t.fake.wait("status, to its user only", |f| f.calls("response_url").first().cloned());
            assert_eq!(told["_response_url"], "cmd1");
            assert!(told["text"].as_str().unwrap().contains("no dispatcher is running") || told["text"].as_str().unwrap().contains("Nothing"), "{told}");
            let queued = t.fake.wait_post("Job 1 (`t_echo`) is queued.");
            assert_eq!(queued["channel"], "C1", "a scheduled job is acknowledged in the channel");
        });
        let click = json!({"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "C1"}, "trigger_id": "tr3",
                           "message": {"ts": "1.1"}, "actions": [{"action_id": "ebmbot_cancel", "value": "1", "action_ts": "5.5"}]});
        let form = [("payload", click.to_string())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(post_form(&interactive, &form, now(), "wrong-secret").await, 401, "forged");
        assert_eq!(t.jobs()[0]["state"], "pending", "a forged click changes nothing");
        assert_eq!(post_form(&interactive, &form, now(), SECRET).await, 200);
        let cancelled = tokio::task::block_in_place(|| {
            t.fake.wait("the click's answer, to its user only", |f| {
                f.calls("chat.postEphemeral").into_iter().find(|c| c["text"] == "Cancelled job 1 (`t_echo`).")
            })
        });
        assert_eq!(cancelled["user"], "U1");
        bot.stop().await;
    });
    assert_eq!(t.jobs()[0]["state"], "cancelled");
    assert_eq!(t.fake.calls("response_url").len(), 1, "the retried slash command was answered once");
    assert_eq!(t.fake.calls("chat.postEphemeral").len(), 1, "and the click once");
}

#[test]
fn an_unconfirmed_request_expires_after_ten_minutes_and_says_so() {
    let t = Slack::new();
    let jobs = format!(
        "{}\n[ops.jobs.deploy]\nrun_args_template = \"true\"\nconfirm = true\n\n[[ops.slack]]\ncommand = \"deploy\"\nhelp = \"Deploys\"\naction = \"schedule_job\"\njob_type = \"deploy\"\n",
        crate::support::slack::JOBS
    );
    std::fs::write(t.env.path("jobs.toml"), jobs).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let t0: jiff::Timestamp = T0.parse().unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    runtime.block_on(async {
        let settings = Arc::new(settings(&t, true));
        let catalog = Catalog::load(&settings.config, &settings).unwrap();
        let bot = Bot::start_with(settings, catalog, None, clock.clone()).await.unwrap();
        let url = serve(events_router(bot.events_state())).await;
        let event = |id: &str, ts: &str, text: &str| {
            json!({"type": "event_callback", "event_id": id, "team_id": "T1", "api_app_id": "A1", "event_time": 1,
                   "event": mention("C1", ts, "U1", text)})
        };
        assert_eq!(post(&url, &event("EvC1", "90.1", "ops deploy"), t0.as_second(), SECRET).await.0, 200);
        tokio::task::block_in_place(|| t.fake.wait_post("Run `ops deploy` now?"));
        clock.advance(Duration::from_secs(9 * 60));
        assert_eq!(post(&url, &event("EvC2", "90.2", "status"), clock.now().as_second(), SECRET).await.0, 200);
        tokio::task::block_in_place(|| t.fake.wait_post("Nothing is happening"));
        assert!(
            !t.fake.posts().iter().any(|p| crate::support::slack::text(p).contains("not confirmed")),
            "9 minutes: still waiting"
        );
        clock.advance(Duration::from_secs(2 * 60));
        assert_eq!(post(&url, &event("EvC3", "90.3", "status"), clock.now().as_second(), SECRET).await.0, 200);
        let expired =
            tokio::task::block_in_place(|| t.fake.wait_post("Not run: `ops deploy` was not confirmed within 10m."));
        assert!(expired.get("thread_ts").is_none(), "where the request was: {expired}");
        let question = tokio::task::block_in_place(|| {
            t.fake.wait("the question closed", |f| f.calls("chat.update").into_iter().next())
        });
        let question = crate::support::slack::text(&question);
        assert_eq!(question, "Run `ops deploy` now? Not confirmed within 10m; not run.");
        bot.stop().await;
    });
    assert!(t.jobs().is_empty(), "an expired request queues nothing");
}
