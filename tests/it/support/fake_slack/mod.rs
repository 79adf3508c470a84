//! A fake Slack on 127.0.0.1: the Web API methods ebmbot calls (answered with
//! `Content-Type: application/json`), the file upload URL, and a Socket Mode websocket that
//! says `hello`, sends `events_api` envelopes and collects acks. Every call is recorded.
//! Failures can be scripted per method ("fail the next N calls like this").

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{any, post};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::Message as WsMessage;

mod api;
mod socket;

use api::{api, upload};
use socket::accept_sockets;

/// A recorded Web API call: the method and its params (query, form or JSON body merged).
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub params: Value,
    pub at: Instant,
}

/// How a scripted call fails.
#[derive(Debug, Clone)]
pub enum Failure {
    /// `{"ok": false, "error": code}` with status 200.
    Api(&'static str),
    /// An HTTP status with an error body.
    Status(u16),
    /// 429 with `Retry-After: seconds`.
    RateLimited(u64),
}

#[derive(Default)]
pub struct State_ {
    /// What `auth.test` lists in `x-oauth-scopes`, and what every method is checked against.
    pub granted: Granted,
    pub calls: Vec<Call>,
    pub uploads: HashMap<String, Vec<u8>>,
    pub users: HashMap<String, Value>,
    pub channels: Vec<Value>,
    pub(crate) failures: HashMap<String, VecDeque<Failure>>,
    /// Params that make a method fail every time: (method, param, value, code).
    pub(crate) refusals: Vec<(String, String, String, &'static str)>,
    pub(crate) next: u64,
    pub(crate) sockets: Vec<(u64, UnboundedSender<WsMessage>)>,
    /// Bot tokens Slack no longer accepts: every call made with one answers `token_revoked`.
    pub(crate) revoked: Vec<String>,
    /// Methods whose calls are held unanswered (recorded in `stalled_calls`) until released.
    pub(crate) stalled: Vec<String>,
    /// Methods whose calls are done (and recorded) but whose answers are held (counted in
    /// `stalled_calls`) until released: a caller that dies then never learns they were done.
    pub(crate) stalled_answers: Vec<String>,
    pub stalled_calls: usize,
    pub acks: HashMap<String, Instant>,
    pub sent: HashMap<String, Instant>,
    pub hellos: usize,
    /// Each channel's messages, as `conversations.history` returns them.
    pub history: HashMap<String, Vec<Value>>,
}

/// The bot token's scopes: every scope ebmbot may need, unless a test takes some away.
pub struct Granted(pub std::collections::BTreeSet<String>);

impl Default for Granted {
    fn default() -> Self {
        Granted(ebmbot::bot::manifest::all_scopes().into_iter().map(str::to_owned).collect())
    }
}

pub(crate) type Shared = Arc<Mutex<State_>>;

pub struct Fake {
    /// The Web API base, for `SLACK_API_URL`.
    pub url: String,
    state: Shared,
    _runtime: tokio::runtime::Runtime,
}

pub const BOT: &str = "UBOT";
pub const TEAM: &str = "T1";

impl Fake {
    pub fn start() -> Fake {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let state: Shared = Arc::default();
        let (http, ws) = runtime.block_on(async {
            let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            (http, ws)
        });
        let (http_addr, ws_addr) = (http.local_addr().unwrap(), ws.local_addr().unwrap());
        let app = Router::new()
            .route("/api/{method}", any(api))
            .route("/upload/{file}", post(upload))
            .route("/response/{id}", post(api::response_url))
            .with_state((state.clone(), http_addr, ws_addr));
        runtime.spawn(async move { axum::serve(http, app).await.unwrap() });
        runtime.spawn(accept_sockets(ws, state.clone()));
        let fake = Fake { url: format!("http://{http_addr}/api"), state, _runtime: runtime };
        fake.add_user(json!({"id": "U1", "team_id": TEAM, "name": "alice"}));
        fake.add_user(json!({"id": "U2", "team_id": TEAM, "name": "bob"}));
        fake.add_user(json!({"id": "UGUEST", "team_id": TEAM, "name": "guest", "is_restricted": true}));
        fake.add_user(json!({"id": "UOTHERBOT", "team_id": TEAM, "name": "otherbot", "is_bot": true}));
        fake
    }

    /// A slash command's `response_url` on this fake; what is posted there is recorded as a
    /// call of `response_url`.
    pub fn response_url(&self, id: &str) -> String {
        self.url.replace("/api", &format!("/response/{id}"))
    }

    pub fn state(&self) -> MutexGuard<'_, State_> {
        self.state.lock().unwrap()
    }

    pub fn add_user(&self, user: Value) {
        let id = user["id"].as_str().unwrap().to_owned();
        self.state().users.insert(id, user);
    }

    /// A channel: `{"id", "name", "is_member"?, "is_archived"?, "is_private"?}`.
    pub fn add_channel(&self, channel: Value) {
        let mut c = json!({"created": 1, "is_channel": true, "is_member": true});
        c.as_object_mut().unwrap().extend(channel.as_object().unwrap().clone());
        self.state().channels.push(c);
    }

    /// A message in a channel's history (`{"ts", "user", "text", …}`), as if posted while
    /// ebmbot was not listening.
    pub fn add_history(&self, channel: &str, message: Value) {
        self.state().history.entry(channel.to_owned()).or_default().push(message);
    }

    /// The bot token's scopes become `scopes` (auth.test lists them; other calls need them).
    pub fn grant_only(&self, scopes: &[&str]) {
        self.state().granted.0 = scopes.iter().map(|s| (*s).to_owned()).collect();
    }

    /// Changes a channel added with [`Fake::add_channel`] (a rename, a conversion to private).
    pub fn update_channel(&self, id: &str, change: Value) {
        let mut st = self.state();
        let channel = st.channels.iter_mut().find(|c| c["id"] == id).expect("a channel added before");
        channel.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
    }

    /// The next `times` calls of `method` fail with `failure`.
    pub fn fail(&self, method: &str, failure: Failure, times: usize) {
        self.state().failures.entry(method.to_owned()).or_default().extend(std::iter::repeat_n(failure, times));
    }

    /// Every call made with `token` answers `token_revoked` (until [`Fake::accept`]).
    pub fn revoke(&self, token: &str) {
        self.state().revoked.push(token.to_owned());
    }

    /// Calls of `method` wait unanswered until [`Fake::release`].
    pub fn stall(&self, method: &str) {
        self.state().stalled.push(method.to_owned());
    }

    /// Calls of `method` take effect, but their answers wait until [`Fake::release`].
    pub fn stall_answer(&self, method: &str) {
        self.state().stalled_answers.push(method.to_owned());
    }

    pub fn release(&self, method: &str) {
        let mut st = self.state();
        st.stalled.retain(|m| m != method);
        st.stalled_answers.retain(|m| m != method);
    }

    /// Every call of `method` whose `param` is `value` answers `code`.
    pub fn refuse(&self, method: &str, param: &str, value: &str, code: &'static str) {
        self.state().refusals.push((method.into(), param.into(), value.into(), code));
    }

    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.state().calls.iter().filter(|c| c.method == method).map(|c| c.params.clone()).collect()
    }

    /// Successful `chat.postMessage` calls, in order.
    pub fn posts(&self) -> Vec<Value> {
        self.calls("chat.postMessage").into_iter().filter(|p| p["ok"] == true).collect()
    }

    /// Successful reactions: (channel, ts, name).
    pub fn reactions(&self) -> Vec<(String, String, String)> {
        self.calls("reactions.add")
            .into_iter()
            .filter(|p| p["ok"] == true)
            .map(|p| (s(&p["channel"]), s(&p["timestamp"]), s(&p["name"])))
            .collect()
    }

    /// Waits up to 30 s for `done` to hold over the state.
    pub fn wait<T>(&self, what: &str, mut done: impl FnMut(&Fake) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(v) = done(self) {
                return v;
            }
            if Instant::now() > deadline {
                let calls: Vec<String> =
                    self.state().calls.iter().map(|c| format!("{} {}", c.method, c.params)).collect();
                panic!("fake Slack: gave up waiting for {what}; calls:\n{}", calls.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for a post whose text contains `text`; returns it.
    pub fn wait_post(&self, text: &str) -> Value {
        self.wait(&format!("a post containing {text:?}"), |f| {
            f.posts().into_iter().find(|p| p["text"].as_str().is_some_and(|t| t.contains(text)))
        })
    }

    pub fn wait_reaction(&self, channel: &str, ts: &str, name: &str) {
        let want = (channel.to_owned(), ts.to_owned(), name.to_owned());
        self.wait(&format!("reaction {name} on {channel}/{ts}"), |f| f.reactions().contains(&want).then_some(()));
    }

    /// Waits until a Socket Mode client has said hello back (is connected).
    pub fn wait_connected(&self, at_least: usize) {
        self.wait("a Socket Mode connection", |f| (f.state().sockets.len() >= at_least).then_some(()));
    }

    /// Sends `event` in an `events_api` envelope to the newest connection; returns the
    /// envelope id.
    pub fn send_event(&self, event_id: &str, event: Value) -> String {
        let payload = json!({"token": "t", "team_id": TEAM, "api_app_id": "A1", "event": event,
                             "type": "event_callback", "event_id": event_id, "event_time": 1_700_000_000});
        self.send_payload(payload)
    }

    pub fn send_payload(&self, payload: Value) -> String {
        self.send_envelope("events_api", payload)
    }

    /// Sends `payload` in an envelope of `kind` (`events_api`, `interactive`,
    /// `slash_commands`: https://api.slack.com/apis/socket-mode, "Events, interactivity and
    /// slash commands") to the newest connection; returns the envelope id.
    pub fn send_envelope(&self, kind: &str, payload: Value) -> String {
        let mut st = self.state();
        st.next += 1;
        let envelope_id = format!("env-{}", st.next);
        let envelope = json!({"envelope_id": envelope_id, "type": kind, "accepts_response_payload": kind != "events_api",
                              "retry_attempt": 0, "retry_reason": "", "payload": payload});
        st.sent.insert(envelope_id.clone(), Instant::now());
        let socket = st.sockets.last().expect("a Socket Mode connection").1.clone();
        drop(st);
        socket.send(WsMessage::Text(envelope.to_string().into())).expect("socket open");
        envelope_id
    }

    pub fn wait_ack(&self, envelope_id: &str) {
        self.wait(&format!("the ack of {envelope_id}"), |f| f.state().acks.contains_key(envelope_id).then_some(()));
    }

    /// Sends Slack's `disconnect` message with `reason` to the newest connection
    /// (api.slack.com/apis/socket-mode, "Disconnect": `{"type": "disconnect", "reason":
    /// "warning", "debug_info": {"host": "applink-3"}}`).
    pub fn disconnect(&self, reason: &str) {
        let message = json!({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-3"}});
        let socket = self.state().sockets.last().expect("a Socket Mode connection").1.clone();
        socket.send(WsMessage::Text(message.to_string().into())).expect("socket open");
    }

    /// Closes every Socket Mode connection (as Slack does now and then).
    pub fn drop_connections(&self) {
        for (_, socket) in self.state().sockets.drain(..) {
            let _ = socket.send(WsMessage::Close(None));
        }
    }
}

pub fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}
