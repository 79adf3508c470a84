//! The Events API: `POST /slack/events` for the web server to mount (docs/slack.md
//! §3). Requests are signed: `x-slack-signature` is
//! `v0=hex(HMAC-SHA256(SLACK_SIGNING_SECRET, "v0:{timestamp}:{body}"))`, compared in constant
//! time, with `x-slack-request-timestamp` within 5 minutes of now. `url_verification` answers
//! the challenge; `event_callback` goes to the same [`receive`] as Socket Mode and is answered
//! once stored (500 when it cannot be, so Slack retries).

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::receive::{Shared, receive};
use crate::config::Secret;

/// How far a request's timestamp may be from now.
const WINDOW_SECONDS: u64 = 300;

/// What the endpoint needs: a running bot and the signing secret, or why it is off; unset while
/// the bot is still starting (its `auth.test` may wait for Slack), so that the web server need
/// not wait for it.
#[derive(Clone)]
pub struct EventsState {
    inner: Arc<OnceLock<Endpoint>>,
}

/// The running bot and the signing secret, or why the endpoint is off.
type Endpoint = Result<(Arc<Shared>, Secret), Off>;

/// Why the Events API endpoint answers 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Off {
    #[error("the Slack Events API is off: SLACK_BOT_TOKEN is not set")]
    NoBotToken,
    #[error("the Slack Events API is off: SLACK_SIGNING_SECRET is not set")]
    NoSigningSecret,
    #[error("the Slack bot is not running")]
    BotStopped,
}

impl EventsState {
    fn with(value: Endpoint) -> EventsState {
        EventsState { inner: Arc::new(OnceLock::from(value)) }
    }

    pub(crate) fn new(shared: Arc<Shared>, secret: Secret) -> EventsState {
        EventsState::with(Ok((shared, secret)))
    }

    /// An endpoint that answers 503 saying why.
    pub fn unavailable(why: Off) -> EventsState {
        EventsState::with(Err(why))
    }

    /// An endpoint whose bot is starting: 503 until [`EventsState::fill`] gives it one.
    pub fn starting() -> EventsState {
        EventsState { inner: Arc::new(OnceLock::new()) }
    }

    /// Gives a [`EventsState::starting`] endpoint what `from` has (once; later calls do nothing).
    pub fn fill(&self, from: &EventsState) {
        if let Some(value) = from.inner.get() {
            let _ = self.inner.set(value.clone());
        }
    }
}

/// `POST /slack/events`.
pub fn events_router(state: EventsState) -> Router {
    Router::new()
        .route("/slack/events", post(handle))
        .route("/slack/interactive", post(interactive))
        .route("/slack/commands", post(interactive))
        .with_state(state)
}

/// The endpoint's state once the request is signed; the answer to send otherwise.
fn signed<'a>(state: &'a EventsState, headers: &HeaderMap, body: &[u8]) -> Result<&'a Arc<Shared>, Box<Response>> {
    let (shared, secret) = match state.inner.get() {
        Some(Ok(inner)) => inner,
        Some(Err(why)) => return Err(Box::new((StatusCode::SERVICE_UNAVAILABLE, why.to_string()).into_response())),
        None => {
            return Err(Box::new(
                (StatusCode::SERVICE_UNAVAILABLE, "the Slack bot is starting; try again").into_response(),
            ));
        }
    };
    if let Err(why) = verify(secret, headers, body, shared.clock.now().as_second()) {
        tracing::warn!("refused a Slack request: {why}");
        return Err(Box::new((StatusCode::UNAUTHORIZED, why).into_response()));
    }
    Ok(shared)
}

/// `POST /slack/interactive` (a form with the payload's JSON in `payload`) and
/// `POST /slack/commands` (the slash command's fields as a form): stored, then answered 200
/// with an empty body (the answer comes to the asker alone, or as the job's message).
async fn interactive(State(state): State<EventsState>, headers: HeaderMap, body: Bytes) -> Response {
    let shared = match signed(&state, &headers, &body) {
        Ok(shared) => shared,
        Err(refused) => return *refused,
    };
    let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not a form").into_response();
    };
    let payload = match form.iter().find(|(k, _)| k == "payload") {
        Some((_, json)) => match serde_json::from_str::<Value>(json) {
            Ok(v @ Value::Object(_)) => v,
            _ => return (StatusCode::BAD_REQUEST, "`payload` is not a JSON object").into_response(),
        },
        None => Value::Object(form.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
    };
    match super::interactive::receive_interactive(shared, payload).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::error!(
                error = &e as &dyn std::error::Error,
                "could not store an interactive payload; Slack will say it failed"
            );
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn handle(State(state): State<EventsState>, headers: HeaderMap, body: Bytes) -> Response {
    let shared = match signed(&state, &headers, &body) {
        Ok(shared) => shared,
        Err(refused) => return *refused,
    };
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return (StatusCode::BAD_REQUEST, "the body is not a JSON object").into_response(),
    };
    match payload.get("type").and_then(Value::as_str) {
        Some("url_verification") => {
            let challenge = payload.get("challenge").cloned().unwrap_or(Value::Null);
            axum::Json(serde_json::json!({ "challenge": challenge })).into_response()
        }
        Some("event_callback") => match receive(shared, payload).await {
            Ok(()) => StatusCode::OK.into_response(),
            Err(e) => {
                tracing::error!(
                    error = &e as &dyn std::error::Error,
                    "Events API: could not store an event; Slack will retry"
                );
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
        other => {
            tracing::info!(kind = ?other, "ignored a Slack Events API request");
            StatusCode::OK.into_response()
        }
    }
}

/// Checks Slack's v0 signature of `body` at `now` (epoch seconds).
pub fn verify(secret: &Secret, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), &'static str> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let timestamp = header("x-slack-request-timestamp").ok_or("no x-slack-request-timestamp header")?;
    let signature = header("x-slack-signature").ok_or("no x-slack-signature header")?;
    let sent: i64 = timestamp.parse().map_err(|_| "x-slack-request-timestamp is not a number")?;
    // `abs_diff`: `now - sent` overflows for a timestamp near `i64::MIN` (a panic in debug
    // builds, a wrapped value that passes the check in release).
    if now.abs_diff(sent) > WINDOW_SECONDS {
        return Err("the request is more than 5 minutes old (or from the future)");
    }
    let hex = signature.strip_prefix("v0=").ok_or("x-slack-signature is not a v0 signature")?;
    let expected = hex::decode(hex).map_err(|_| "x-slack-signature is not hex")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).map_err(|_| "bad signing secret")?;
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| "the signature does not match")
}

/// Signs `body` as Slack would (for tests and tools): the value of `x-slack-signature`.
pub fn sign(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else { return String::new() };
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(ts: i64, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-slack-request-timestamp", ts.to_string().parse().unwrap());
        h.insert("x-slack-signature", sig.parse().unwrap());
        h
    }

    #[test]
    fn signatures_are_checked_within_five_minutes() {
        let secret = Secret::new("8f742231b10e8888abcd99yyyzzz85a5");
        let body = br#"{"type":"url_verification","challenge":"x"}"#;
        let sig = sign(&secret, 1_000_000, body);
        assert_eq!(verify(&secret, &headers(1_000_000, &sig), body, 1_000_100), Ok(()));
        assert!(verify(&secret, &headers(1_000_000, &sig), body, 1_000_301).is_err(), "too old");
        assert!(verify(&secret, &headers(1_000_000, &sig), b"{}", 1_000_000).is_err(), "other body");
        assert!(verify(&Secret::new("other"), &headers(1_000_000, &sig), body, 1_000_000).is_err());
        assert!(verify(&secret, &HeaderMap::new(), body, 1_000_000).is_err());
        assert!(verify(&secret, &headers(1_000_000, "v1=00"), body, 1_000_000).is_err());
    }

    /// Issue 9, item 9: `(now - sent).abs()` overflowed for a timestamp far in the past.
    #[test]
    fn extreme_timestamps_are_refused_without_overflow() {
        let secret = Secret::new("8f742231b10e8888abcd99yyyzzz85a5");
        let body = b"{}";
        for ts in [i64::MIN, i64::MIN + 1, -1, i64::MAX] {
            let sig = sign(&secret, ts, body);
            assert_eq!(
                verify(&secret, &headers(ts, &sig), body, 1_000_000),
                Err("the request is more than 5 minutes old (or from the future)"),
                "{ts}"
            );
        }
        let sig = sign(&secret, 1_000_000, body);
        assert_eq!(
            verify(&secret, &headers(1_000_000, &sig), body, i64::MAX),
            verify(&secret, &headers(1_000_000, &sig), body, 2_000_000)
        );
    }
}
