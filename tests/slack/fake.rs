//! A fake Slack on 127.0.0.1: the Web API methods ebmbot calls (answered with
//! `Content-Type: application/json`), the file upload URL, and a Socket Mode websocket that
//! says `hello`, sends `events_api` envelopes and collects acks. Every call is recorded.
//! Failures can be scripted per method ("fail the next N calls like this").

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokio_tungstenite::tungstenite::Message as WsMessage;

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
    pub calls: Vec<Call>,
    pub uploads: HashMap<String, Vec<u8>>,
    pub users: HashMap<String, Value>,
    pub channels: Vec<Value>,
    failures: HashMap<String, VecDeque<Failure>>,
    /// Params that make a method fail every time: (method, param, value, code).
    refusals: Vec<(String, String, String, &'static str)>,
    next: u64,
    sockets: Vec<(u64, UnboundedSender<WsMessage>)>,
    pub acks: HashMap<String, Instant>,
    pub sent: HashMap<String, Instant>,
    pub hellos: usize,
}

type Shared = Arc<Mutex<State_>>;

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
        let app = Router::new().route("/api/{method}", any(api)).route("/upload/{file}", post(upload)).with_state((
            state.clone(),
            http_addr,
            ws_addr,
        ));
        runtime.spawn(async move { axum::serve(http, app).await.unwrap() });
        runtime.spawn(accept_sockets(ws, state.clone()));
        let fake = Fake { url: format!("http://{http_addr}/api"), state, _runtime: runtime };
        fake.add_user(json!({"id": "U1", "team_id": TEAM, "name": "alice"}));
        fake.add_user(json!({"id": "U2", "team_id": TEAM, "name": "bob"}));
        fake.add_user(json!({"id": "UGUEST", "team_id": TEAM, "name": "guest", "is_restricted": true}));
        fake.add_user(json!({"id": "UOTHERBOT", "team_id": TEAM, "name": "otherbot", "is_bot": true}));
        fake
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

    /// The next `times` calls of `method` fail with `failure`.
    pub fn fail(&self, method: &str, failure: Failure, times: usize) {
        self.state().failures.entry(method.to_owned()).or_default().extend(std::iter::repeat_n(failure, times));
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
        let mut st = self.state();
        st.next += 1;
        let envelope_id = format!("env-{}", st.next);
        let envelope = json!({"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": false,
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

fn params(query: Option<String>, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut out = serde_json::Map::new();
    let form = |bytes: &[u8], out: &mut serde_json::Map<String, Value>| {
        for (k, v) in url::form_urlencoded::parse(bytes) {
            out.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    };
    if let Some(q) = query {
        form(q.as_bytes(), &mut out);
    }
    let json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains("json"));
    if json {
        if let Ok(Value::Object(map)) = serde_json::from_slice(body) {
            out.extend(map);
        }
    } else {
        form(body, &mut out);
    }
    Value::Object(out)
}

fn page(items: &[Value], cursor: Option<&str>) -> (Vec<Value>, String) {
    let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
    let end = (start + 2).min(items.len());
    let next = if end < items.len() { end.to_string() } else { String::new() };
    (items[start.min(end)..end].to_vec(), next)
}

type AppState = (Shared, SocketAddr, SocketAddr);

async fn api(
    State((state, http, ws)): State<AppState>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut p = params(query, &headers, &body);
    let mut st = state.lock().unwrap();
    let failure = st.failures.get_mut(&method).and_then(VecDeque::pop_front);
    let refusal = st
        .refusals
        .iter()
        .find(|(m, k, v, _)| *m == method && p.get(k).and_then(Value::as_str) == Some(v.as_str()))
        .map(|r| r.3);
    let error =
        |status: StatusCode, code: &str| (status, axum::Json(json!({"ok": false, "error": code}))).into_response();
    let (ok, response) = match (failure, refusal) {
        (Some(Failure::Api(code)), _) | (None, Some(code)) => (false, error(StatusCode::OK, code)),
        (Some(Failure::Status(status)), _) => (false, error(StatusCode::from_u16(status).unwrap(), "internal_error")),
        (Some(Failure::RateLimited(secs)), _) => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "ratelimited");
            r.headers_mut().insert(header::RETRY_AFTER, secs.to_string().parse().unwrap());
            (false, r)
        }
        (None, None) => answer(&mut st, &method, &mut p, http, ws),
    };
    p["ok"] = json!(ok);
    st.calls.push(Call { method, params: p, at: Instant::now() });
    response
}

fn answer(st: &mut State_, method: &str, p: &mut Value, http: SocketAddr, ws: SocketAddr) -> (bool, Response) {
    st.next += 1;
    let n = st.next;
    let ok = |mut v: Value| {
        v["ok"] = json!(true);
        (true, axum::Json(v).into_response())
    };
    let refuse = |code: &str| (false, axum::Json(json!({"ok": false, "error": code})).into_response());
    let param = |k: &str| s(&p[k]);
    let (channel, text) = (param("channel"), param("text"));
    match method {
        "auth.test" => ok(json!({"user_id": BOT, "team_id": TEAM, "team": "Team", "url": "https://team.slack.com/",
                                 "user": "ebmbot", "bot_id": "BBOT"})),
        "apps.connections.open" => ok(json!({"url": format!("ws://{ws}/socket")})),
        "users.info" => match st.users.get(&param("user")) {
            Some(user) => ok(json!({"user": user})),
            None => refuse("user_not_found"),
        },
        "users.list" => {
            let users: Vec<Value> = st.users.values().cloned().collect();
            let (members, next) = page(&users, p["cursor"].as_str());
            ok(json!({"members": members, "response_metadata": {"next_cursor": next}}))
        }
        "conversations.list" => {
            let (channels, next) = page(&st.channels, p["cursor"].as_str());
            ok(json!({"channels": channels, "response_metadata": {"next_cursor": next}}))
        }
        "conversations.join" => {
            let id = param("channel");
            ok(json!({"channel": {"id": id, "created": 1, "is_member": true}}))
        }
        "chat.postMessage" if p["blocks"].as_array().is_some_and(|b| b.iter().any(|b| b["type"] == "bogus")) => {
            refuse("invalid_blocks")
        }
        "chat.postMessage" => {
            let ts = format!("{}.{n:06}", 1_700_000_000 + n);
            p["_ts"] = json!(ts);
            ok(json!({"channel": channel, "ts": ts, "message": {"ts": ts, "text": text}}))
        }
        "chat.getPermalink" => ok(json!({"channel": param("channel"),
            "permalink": format!("https://team.slack.com/archives/{}/p{}", param("channel"), param("message_ts").replace('.', ""))})),
        "reactions.add" => ok(json!({})),
        "files.getUploadURLExternal" => {
            let id = format!("F{n}");
            ok(json!({"upload_url": format!("http://{http}/upload/{id}"), "file_id": id}))
        }
        "files.completeUploadExternal" => ok(json!({"files": [{"id": p["files"][0]["id"]}]})),
        _ => refuse("unknown_method"),
    }
}

async fn upload(State((state, _, _)): State<AppState>, Path(file): Path<String>, body: Bytes) -> Response {
    state.lock().unwrap().uploads.insert(file, body.to_vec());
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], "OK - 42").into_response()
}

async fn accept_sockets(listener: tokio::net::TcpListener, state: Shared) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(socket) = tokio_tungstenite::accept_async(stream).await else { return };
            let (mut write, mut read) = socket.split();
            let hello = json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"},
                               "debug_info": {"host": "fake", "approximate_connection_time": 18060}});
            if write.send(WsMessage::Text(hello.to_string().into())).await.is_err() {
                return;
            }
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<WsMessage>();
            tokio::spawn(async move {
                while let Some(m) = rx.recv().await {
                    let close = matches!(m, WsMessage::Close(_));
                    if write.send(m).await.is_err() || close {
                        break;
                    }
                }
            });
            let id = {
                let mut st = state.lock().unwrap();
                st.hellos += 1;
                st.next += 1;
                let id = st.next;
                st.sockets.push((id, tx));
                id
            };
            while let Some(Ok(m)) = read.next().await {
                if let WsMessage::Text(text) = m
                    && let Ok(v) = serde_json::from_str::<Value>(text.as_str())
                    && let Some(id) = v["envelope_id"].as_str()
                {
                    state.lock().unwrap().acks.insert(id.to_owned(), Instant::now());
                }
            }
            state.lock().unwrap().sockets.retain(|(i, _)| *i != id);
        });
    }
}
