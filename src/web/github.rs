//! `POST /github/{project}/`: checks in the order docs/web.md gives, then the command layer decides.
//!
//! 413 body over `EBMBOT_MAX_BODY` → 503 no `GITHUB_WEBHOOK_SECRET` → 403 signature → 400 body
//! not a JSON object (JSON, or form-encoded with a `payload` field) → 400 no `X-GitHub-Event` or
//! `X-GitHub-Delivery` → 400 `Unknown project: <project>` → 200 `ping` → triggers. Every answer
//! is JSON: `{"result", "message", "delivery", ...}` on success, `{"error", "message"}` when
//! refused; `message` is the line to read in GitHub's delivery log.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Value, json};

use crate::commands::webhook::{Decision, Webhook, WebhookError, WebhookResult};
use crate::commands::{self, Context};

use super::{WebState, payload, signature};

/// The longest `X-GitHub-Event` / `X-GitHub-Delivery` accepted (GitHub's are far shorter).
const MAX_HEADER: usize = 200;

/// A refusal: status, metrics label, message.
struct Refusal(StatusCode, &'static str, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let Refusal(status, kind, message) = self;
        (status, axum::Json(json!({ "error": kind, "message": message }))).into_response()
    }
}

pub(super) async fn webhook(
    State(state): State<WebState>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match handle(&state, project, &headers, body).await {
        Ok((delivery, result)) => {
            state.metrics().webhook(result.kind());
            let message = result.message(&delivery);
            tracing::info!(delivery, "{message}");
            let mut doc = serde_json::to_value(&result).unwrap_or_else(|_| json!({}));
            if let Value::Object(map) = &mut doc {
                map.insert("message".to_owned(), Value::String(message));
                map.insert("delivery".to_owned(), Value::String(delivery));
            }
            (StatusCode::OK, axum::Json(doc)).into_response()
        }
        Err(refusal) => {
            state.metrics().webhook(refusal.1);
            tracing::info!(status = refusal.0.as_u16(), "webhook refused: {}", refusal.2);
            refusal.into_response()
        }
    }
}

async fn handle(
    state: &WebState,
    project: String,
    headers: &HeaderMap,
    body: Body,
) -> Result<(String, WebhookResult), Refusal> {
    let body = read_body(state, headers, body).await?;
    let Some(secret) = &state.settings().github_webhook_secret else {
        return Err(Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_secret",
            "GitHub webhooks are off: GITHUB_WEBHOOK_SECRET is not set on this server".to_owned(),
        ));
    };
    signature::verify(headers, secret.expose().as_bytes(), &body)
        .map_err(|e| Refusal(StatusCode::FORBIDDEN, "bad_signature", e.to_string()))?;
    let payload = payload::parse(headers, &body)
        .map_err(|e| Refusal(StatusCode::BAD_REQUEST, "bad_request", crate::commands::describe(&e)))?;
    let event = github_header(headers, "X-GitHub-Event")?;
    let delivery = github_header(headers, "X-GitHub-Delivery")?;

    let webhook = Webhook { project, event, delivery: delivery.clone(), payload };
    let catalog = state.catalog();
    let ctx = Context { settings: state.settings(), catalog: &catalog, clock: &*state.0.clock };
    let result = match webhook.decide(&ctx).map_err(refuse)? {
        Decision::Settled(result) => result,
        Decision::Schedule { delivery, caller } => state
            .with_queue(move |ctx, queue| commands::execute(delivery, ctx, &caller, queue))
            .await
            .map_err(|e| {
                tracing::error!("webhook task failed: {e}");
                internal()
            })?
            .map_err(|e| refuse(e.into()))?,
    };
    Ok((delivery, result))
}

/// The body, refused with 413 past `EBMBOT_MAX_BODY` (by `Content-Length` before reading it,
/// and while reading for bodies without one).
async fn read_body(state: &WebState, headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, Refusal> {
    let max = state.settings().max_body;
    let too_large = || {
        Refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than EBMBOT_MAX_BODY ({max} bytes)"),
        )
    };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    match Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX)).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(too_large()),
        Err(e) => Err(Refusal(StatusCode::BAD_REQUEST, "bad_request", format!("could not read the body: {e}"))),
    }
}

fn github_header(headers: &HeaderMap, name: &'static str) -> Result<String, Refusal> {
    let bad = |what: &str| Refusal(StatusCode::BAD_REQUEST, "bad_request", format!("`{name}` {what}"));
    let value = headers.get(name).ok_or_else(|| bad("header is missing"))?;
    let text = value.to_str().map_err(|_| bad("is not text"))?.trim();
    if text.is_empty() {
        return Err(bad("is empty"));
    }
    if text.len() > MAX_HEADER {
        return Err(bad("is too long"));
    }
    Ok(text.to_owned())
}

fn refuse(e: WebhookError) -> Refusal {
    match &e {
        WebhookError::UnknownProject(_) => Refusal(StatusCode::BAD_REQUEST, "unknown_project", e.to_string()),
        e if e.is_bad_input() => Refusal(StatusCode::BAD_REQUEST, "bad_request", e.to_string()),
        e => {
            tracing::error!("webhook failed: {}", crate::commands::describe(e));
            internal()
        }
    }
}

fn internal() -> Refusal {
    Refusal(StatusCode::INTERNAL_SERVER_ERROR, "error", "internal error; the server log has the details".to_owned())
}
