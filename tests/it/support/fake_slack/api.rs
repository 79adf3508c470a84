//! The fake Web API: every method ebmbot calls, and the upload URL.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ebmbot::bot::manifest;
use serde_json::{Value, json};

use super::{BOT, Call, Failure, Shared, State_, TEAM, s};

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

/// A Slack ts as numbers, for ordering.
fn ts_key(ts: &str) -> (u64, u64) {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    (secs.parse().unwrap_or(0), micros.parse().unwrap_or(0))
}

/// Blocks Slack refuses: a `bogus` type (the tests' stand-in for any mistake), and an `actions`
/// block without elements (https://docs.slack.dev/reference/block-kit/blocks/actions-block:
/// `elements` holds 1 to 25).
fn invalid_blocks(p: &Value) -> bool {
    p["blocks"].as_array().is_some_and(|blocks| {
        blocks.iter().any(|b| {
            b["type"] == "bogus" || (b["type"] == "actions" && b["elements"].as_array().is_none_or(Vec::is_empty))
        })
    })
}

/// Whether the bot posted the message `ts` in `channel`.
fn posted(st: &State_, channel: &str, ts: &str) -> bool {
    st.calls.iter().any(|c| c.method == "chat.postMessage" && c.params["channel"] == channel && c.params["_ts"] == ts)
}

fn is_message_ts(ts: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    ts.split_once('.').is_some_and(|(secs, micros)| digits(secs) && digits(micros))
}

fn page(items: &[Value], cursor: Option<&str>) -> (Vec<Value>, String) {
    let start: usize = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
    let end = (start + 2).min(items.len());
    let next = if end < items.len() { end.to_string() } else { String::new() };
    (items[start.min(end)..end].to_vec(), next)
}

pub(crate) type AppState = (Shared, SocketAddr, SocketAddr);

pub(crate) async fn api(
    State((state, http, ws)): State<AppState>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params(query, &headers, &body);
    if state.lock().unwrap().stalled.contains(&method) {
        state.lock().unwrap().stalled_calls += 1;
        while state.lock().unwrap().stalled.contains(&method) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    let response = respond(&state, http, ws, &method, &headers, p);
    // A call that took effect, whose answer is held: the caller may die without hearing it.
    while state.lock().unwrap().stalled_answers.contains(&method) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    response
}

/// Slack's answer to one call, recorded.
fn respond(
    state: &Shared,
    http: SocketAddr,
    ws: SocketAddr,
    method: &str,
    headers: &HeaderMap,
    mut p: Value,
) -> Response {
    let method = method.to_owned();
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut st = state.lock().unwrap();
    let revoked = st.revoked.iter().any(|t| bearer == format!("Bearer {t}"));
    let failure = st.failures.get_mut(&method).and_then(VecDeque::pop_front);
    let refusal = st
        .refusals
        .iter()
        .find(|(m, k, v, _)| *m == method && p.get(k).and_then(Value::as_str) == Some(v.as_str()))
        .map(|r| r.3);
    let error = |status: StatusCode, code: &str| (status, axum::Json(error_body(&method, code))).into_response();
    let refusal = if revoked { Some("token_revoked") } else { refusal };
    let (ok, mut response) = match (failure, refusal) {
        (Some(Failure::Api(code)), _) | (None, Some(code)) => (false, error(StatusCode::OK, code)),
        (Some(Failure::Status(status)), _) => (false, error(StatusCode::from_u16(status).unwrap(), "internal_error")),
        (Some(Failure::RateLimited(secs)), _) => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "ratelimited");
            r.headers_mut().insert(header::RETRY_AFTER, secs.to_string().parse().unwrap());
            (false, r)
        }
        (None, None) => match missing_scope(&st, &method) {
            Some(refusal) => (false, refusal),
            None => answer(&mut st, &method, &mut p, http, ws),
        },
    };
    if method == "auth.test" {
        let scopes = st.granted.0.iter().cloned().collect::<Vec<_>>().join(",");
        response.headers_mut().insert("x-oauth-scopes", scopes.parse().unwrap());
    }
    p["ok"] = json!(ok);
    st.stalled_calls += usize::from(st.stalled_answers.contains(&method));
    st.calls.push(Call { method, params: p, at: Instant::now() });
    response
}

/// Slack's answer to a method the token lacks a scope for, or that ebmbot's table of methods
/// and scopes does not know (so that a new call without its scope fails every test making it).
/// Shape: api.slack.com/web#errors (`missing_scope` with `needed` and `provided`).
fn missing_scope(st: &State_, method: &str) -> Option<Response> {
    if method == manifest::APP_TOKEN_METHOD.0 {
        return None; // the app-level token's `connections:write`
    }
    let needed = match manifest::method(method) {
        Some(row) => row.scopes.iter().find(|s| !st.granted.0.contains(**s))?.to_string(),
        None => format!("unknown: `{method}` has no row in ebmbot::bot::manifest::METHODS"),
    };
    let provided = st.granted.0.iter().cloned().collect::<Vec<_>>().join(",");
    let body = json!({"ok": false, "error": "missing_scope", "needed": needed, "provided": provided});
    Some(axum::Json(body).into_response())
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
        "conversations.info" => match st.channels.iter().find(|c| c["id"] == p["channel"]) {
            Some(channel) => ok(json!({"channel": conversation(channel)})),
            None => refuse("channel_not_found"),
        },
        // The channels the bot is in, archived ones left out
        // (https://docs.slack.dev/reference/methods/users.conversations).
        "users.conversations" => {
            let member: Vec<Value> =
                st.channels.iter().filter(|c| c["is_member"] == true && c["is_archived"] != true).cloned().collect();
            let (channels, next) = page(&member, p["cursor"].as_str());
            ok(json!({"channels": channels, "response_metadata": {"next_cursor": next}}))
        }
        // Newest first, after `oldest` (exclusive), paginated like every list here
        // (https://docs.slack.dev/reference/methods/conversations.history).
        "conversations.history" => {
            let oldest = ts_key(&param("oldest"));
            let mut messages: Vec<Value> = st.history.get(&channel).cloned().unwrap_or_default();
            messages.retain(|m| ts_key(m["ts"].as_str().unwrap_or("0")) > oldest);
            messages.sort_by_key(|m| std::cmp::Reverse(ts_key(m["ts"].as_str().unwrap_or("0"))));
            let (messages, next) = page(&messages, p["cursor"].as_str());
            let more = !next.is_empty();
            ok(json!({"messages": messages, "has_more": more, "response_metadata": {"next_cursor": next}}))
        }
        "conversations.join" => {
            let id = param("channel");
            ok(json!({"channel": {"id": id, "created": 1, "is_member": true}}))
        }
        "chat.postMessage" | "chat.update" if invalid_blocks(p) => refuse("invalid_blocks"),
        "chat.postMessage" => {
            let ts = format!("{}.{n:06}", 1_700_000_000 + n);
            p["_ts"] = json!(ts);
            ok(json!({"channel": channel, "ts": ts, "message": {"ts": ts, "text": text}}))
        }
        "chat.getPermalink" => ok(json!({"channel": param("channel"),
            "permalink": format!("https://team.slack.com/archives/{}/p{}", param("channel"), param("message_ts").replace('.', ""))})),
        // Slack takes the name without colons; `:eyes:` is `invalid_name`
        // (https://docs.slack.dev/reference/methods/reactions.add, "Errors").
        "reactions.add" if param("name").starts_with(':') || param("name").ends_with(':') => refuse("invalid_name"),
        // A message's ts is `<seconds>.<micros>`; anything else names no message.
        "reactions.add" if !is_message_ts(&param("timestamp")) => refuse("message_not_found"),
        "reactions.add" => ok(json!({})),
        "files.getUploadURLExternal" => {
            let id = format!("F{n}");
            ok(json!({"upload_url": format!("http://{http}/upload/{id}"), "file_id": id}))
        }
        "files.completeUploadExternal" => ok(json!({"files": [{"id": p["files"][0]["id"]}]})),
        // https://docs.slack.dev/reference/methods/chat.update: only a message the bot posted.
        "chat.update" if !posted(st, &channel, &param("ts")) => refuse("message_not_found"),
        // The channel, ts and new text.
        "chat.update" => ok(json!({"channel": channel, "ts": param("ts"), "text": text,
            "message": {"text": text, "user": BOT, "bot_id": "B1", "type": "message"}})),
        // https://docs.slack.dev/reference/methods/chat.postEphemeral: `{"ok": true, "message_ts": …}`.
        "chat.postEphemeral" => ok(json!({"message_ts": format!("{}.{n:06}", 1_700_000_000 + n)})),
        // https://docs.slack.dev/reference/methods/views.open: the view as opened, with its id.
        "views.open" if param("trigger_id").is_empty() => refuse("invalid_arguments"),
        // https://docs.slack.dev/reference/methods/views.publish: the Home tab as published.
        "views.publish" if param("user_id").is_empty() => refuse("invalid_arguments"),
        "views.open" | "views.publish" => ok(json!({"view": stateful(&p["view"], n)})),
        _ => refuse("unknown_method"),
    }
}

/// A view as Slack answers it: the one sent, with its id, team and hash
/// (https://docs.slack.dev/reference/methods/views.publish, "Example response").
fn stateful(sent: &Value, n: u64) -> Value {
    let mut view = match sent {
        Value::String(text) => serde_json::from_str(text).unwrap_or_default(),
        other => other.clone(),
    };
    view["id"] = json!(format!("V{n}"));
    view["team_id"] = json!(TEAM);
    view["hash"] = json!(format!("{n}.abc"));
    view["app_id"] = json!("A1");
    view["bot_id"] = json!("B1");
    view
}

/// Slack's error body; a scripted `missing_scope` also says which scopes were needed and which
/// the token has (https://docs.slack.dev/reference/methods/conversations.info, "Errors").
fn error_body(method: &str, code: &str) -> Value {
    match (code, manifest::method(method)) {
        ("missing_scope", Some(row)) => json!({"ok": false, "error": code, "needed": row.scopes.join(","),
                                               "provided": "chat:write,app_mentions:read"}),
        _ => json!({"ok": false, "error": code}),
    }
}

/// A conversation object as `conversations.info` returns it: every kind flag present, as in
/// the example of https://docs.slack.dev/reference/objects/conversation-object (a group DM has
/// `is_mpim` and `is_private`; a private channel `is_private` and a `C…` id).
fn conversation(stored: &Value) -> Value {
    let mut c = json!({"name": "", "is_channel": true, "is_group": false, "is_im": false, "is_mpim": false,
                       "is_private": false, "created": 1_449_252_889, "is_archived": false, "is_general": false,
                       "unlinked": 0, "is_shared": false, "is_org_shared": false, "is_ext_shared": false,
                       "is_pending_ext_shared": false, "pending_shared": [], "context_team_id": TEAM,
                       "updated": 1_689_965_803_820_u64, "parent_conversation": null, "creator": "W123456",
                       "shared_team_ids": [TEAM], "is_member": true,
                       "topic": {"value": "", "creator": "", "last_set": 0},
                       "purpose": {"value": "", "creator": "", "last_set": 0}, "previous_names": []});
    c.as_object_mut().unwrap().extend(stored.as_object().unwrap().clone());
    c["name_normalized"] = c["name"].clone();
    c
}

/// A post to a slash command's `response_url`
/// (https://api.slack.com/interactivity/handling#message_responses): Slack answers `ok`.
pub(crate) async fn response_url(
    State((state, _, _)): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut params: Value = serde_json::from_slice(&body).unwrap_or_default();
    params["_response_url"] = json!(id);
    state.lock().unwrap().calls.push(Call { method: "response_url".into(), params, at: Instant::now() });
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], "ok").into_response()
}

pub(crate) async fn upload(State((state, _, _)): State<AppState>, Path(file): Path<String>, body: Bytes) -> Response {
    state.lock().unwrap().uploads.insert(file, body.to_vec());
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], "OK - 42").into_response()
}
