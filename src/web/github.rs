//! `POST /github/{project}/`: checks in the order docs/web.md gives, then the command layer decides.
//!
//! 413 `Content-Length` over `EBMBOT_MAX_BODY` → 503 no `GITHUB_WEBHOOK_SECRET` → 403 no
//! signature header (nothing read, nothing looked up) → the body, read within the bytes held at
//! once (`limits`) and hashed as it arrives (413 past `EBMBOT_MAX_BODY`) → 403 signature → 400 body
//! not a JSON object (JSON, or form-encoded with a `payload` field) → 400 no `X-GitHub-Event` or
//! `X-GitHub-Delivery` → 400 `Unknown project: <project>` → 200 `ping` → triggers. Every answer
//! is JSON: `{"result", "message", "delivery", ...}` on success, `{"error", "message"}` when
//! refused; `message` is the line to read in GitHub's delivery log.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::commands::webhook::{Decision, Webhook, WebhookError, WebhookResult};
use crate::commands::{self, Context};
use crate::config::Catalog;

use super::projects::{self, Key};
use super::{WebState, payload, printable, signature};

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
            // A scheduled delivery was counted where its write committed (`schedule`).
            if !matches!(result, WebhookResult::Scheduled { .. }) {
                state.metrics().webhook(result.kind());
            }
            let message = result.message(&delivery);
            tracing::info!(delivery, "{}", printable(&message));
            let mut doc = serde_json::to_value(&result).unwrap_or_else(|_| json!({}));
            if let Value::Object(map) = &mut doc {
                map.insert("message".to_owned(), Value::String(message));
                map.insert("delivery".to_owned(), Value::String(delivery));
            }
            (StatusCode::OK, axum::Json(doc)).into_response()
        }
        Err(refusal) => {
            state.metrics().webhook(refusal.1);
            tracing::info!(status = refusal.0.as_u16(), "webhook refused: {}", printable(&refusal.2));
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
    // Refusals on the headers alone come first: nothing is kept or looked up for them.
    if let Err(refusal) = check_length(state, headers) {
        discard_small(headers, body).await;
        return Err(refusal);
    }
    let catalog = state.catalog();
    let checked = refuse_on_headers(state, &catalog, headers).and_then(|expected| {
        // The project's key: its own secret, else the global one. A project with no key at all
        // (unknown, and no global secret) is answered as a wrong signature.
        match projects::key(&catalog, &state.project_secrets(), state.settings(), &project) {
            Key::Secret(secret) => Ok((secret, expected)),
            Key::Nothing => Err(forbidden(expected.mismatch())),
            Key::Unreadable { var, why } => {
                tracing::error!("webhooks of `{project}` are refused: its secret {var} cannot be read: {why}");
                Err(Refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no_secret",
                    "this project's webhook secret cannot be read on this server; the server log says why".to_owned(),
                ))
            }
        }
    });
    let (secret, expected) = match checked {
        Ok(checked) => checked,
        Err(refusal) => {
            discard_small(headers, body).await;
            return Err(refusal);
        }
    };
    let mut signer = expected.signer(secret.expose().as_bytes());
    let body = read_body(state, body, &mut signer).await?;
    signer.verify(&expected).map_err(forbidden)?;

    let sha256 = body.sha256.clone();
    let body = body.join();
    let payload = payload::parse(headers, &body)
        .map_err(|e| Refusal(StatusCode::BAD_REQUEST, "bad_request", crate::commands::describe(&e)))?;
    drop(body);
    let event = github_header(headers, "X-GitHub-Event")?;
    let delivery = github_header(headers, "X-GitHub-Delivery")?;

    let project = project_name(project);
    let webhook = Webhook { project, event, delivery: delivery.clone(), payload, body_sha256: Some(sha256) };
    let ctx = Context { settings: state.settings(), catalog: &catalog, clock: &*state.0.clock, mention: None };
    let result = match webhook.decide(&ctx).map_err(refuse)? {
        Decision::Settled(result) => result,
        decision @ Decision::Schedule { .. } => schedule(state, decision).await?,
    };
    Ok((delivery, result))
}

/// The refusals that need only the headers, before the project is looked up: no secret at all
/// on this server (503), no signature header (403).
fn refuse_on_headers(state: &WebState, catalog: &Catalog, headers: &HeaderMap) -> Result<signature::Expected, Refusal> {
    if !projects::any(catalog, state.settings()) {
        return Err(Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_secret",
            "GitHub webhooks are off: GITHUB_WEBHOOK_SECRET is not set on this server".to_owned(),
        ));
    }
    signature::Expected::from_headers(headers).map_err(forbidden)
}

/// The largest body read (and thrown away, never kept) before a refusal on the headers, so that
/// a client that sends it at once reads the answer rather than a reset connection. Larger ones
/// are not read at all.
const DISCARDED: u64 = 64 * 1024;

async fn discard_small(headers: &HeaderMap, mut body: Body) {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_none_or(|n| n > DISCARDED) {
        return;
    }
    while let Some(Ok(_)) = body.frame().await {}
}

/// Writes a decision on a blocking thread. The delivery is counted there, when the write has
/// committed: a client that hangs up meanwhile drops this future, not the write.
async fn schedule(state: &WebState, decision: Decision) -> Result<WebhookResult, Refusal> {
    let Decision::Schedule { delivery, caller } = decision else {
        return Err(internal());
    };
    let metrics = std::sync::Arc::clone(state.metrics());
    state
        .with_queue(move |ctx, queue| {
            let result = commands::execute(delivery, ctx, &caller, queue);
            if let Ok(result @ WebhookResult::Scheduled { .. }) = &result {
                metrics.webhook(result.kind());
            }
            result
        })
        .await
        .map_err(|e| {
            tracing::error!("webhook task failed: {e}");
            internal()
        })?
        .map_err(|e| refuse(e.into()))
}

/// The project of the URL. A name that no namespace could have (namespaces are lowercase
/// letters, digits and `-`) is shown with its control characters escaped, so that a `%0a` in
/// the URL cannot write a line of its own into the log or the answer.
fn project_name(project: String) -> String {
    if project.len() <= 64 && project.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return project;
    }
    let mut shown = printable(&project).into_owned();
    if shown.len() > 64 {
        let mut end = 64;
        while !shown.is_char_boundary(end) {
            end -= 1;
        }
        shown.truncate(end);
        shown.push('…');
    }
    shown
}

/// 413 by `Content-Length`, before reading anything.
fn check_length(state: &WebState, headers: &HeaderMap) -> Result<(), Refusal> {
    let max = state.settings().max_body;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    Ok(())
}

fn too_large(max: u64) -> Refusal {
    Refusal(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the body is larger than EBMBOT_MAX_BODY ({max} bytes)"),
    )
}

fn forbidden(e: signature::SignatureError) -> Refusal {
    Refusal(StatusCode::FORBIDDEN, "bad_signature", e.to_string())
}

/// A body as it was received: its pieces, kept apart until the signature is checked.
///
/// The pieces are blocks of [`BLOCK`] bytes of our own, copied from the connection's buffers as
/// they arrive: the connection's buffers are reused at once, and a block is one allocation of
/// its own that goes back to the system when the request ends (an attacker's 26 MB leaves no
/// fragments behind in the allocator).
struct Received {
    blocks: Vec<Vec<u8>>,
    len: usize,
    /// SHA-256 of the body, hex.
    sha256: String,
}

/// The size of a body's blocks.
const BLOCK: usize = 1 << 20;

impl Received {
    fn push(&mut self, mut data: &[u8]) {
        self.len += data.len();
        while !data.is_empty() {
            if self.blocks.last().is_none_or(|b| b.len() == BLOCK) {
                self.blocks.push(Vec::with_capacity(BLOCK));
            }
            let Some(block) = self.blocks.last_mut() else { return };
            let n = (BLOCK - block.len()).min(data.len());
            block.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
    }

    /// The body in one piece (a signed body only: joining a large one doubles what it holds).
    fn join(mut self) -> Vec<u8> {
        if self.blocks.len() == 1 {
            return self.blocks.pop().unwrap_or_default();
        }
        let mut bytes = Vec::with_capacity(self.len);
        for block in self.blocks {
            bytes.extend_from_slice(&block);
        }
        bytes
    }
}

/// Reads the body, feeding each piece to the signature and the body hash as it arrives;
/// refused with 413 past `EBMBOT_MAX_BODY` (for bodies without a `Content-Length`).
async fn read_body(state: &WebState, mut body: Body, signer: &mut signature::Signer) -> Result<Received, Refusal> {
    let max = state.settings().max_body;
    let mut hash = Sha256::new();
    let mut received = Received { blocks: Vec::new(), len: 0, sha256: String::new() };
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if is_length_limit(&e) {
                too_large(max)
            } else {
                Refusal(StatusCode::BAD_REQUEST, "bad_request", format!("could not read the body: {e}"))
            }
        })?;
        let Ok(data) = frame.into_data() else { continue };
        if (received.len + data.len()) as u64 > max {
            return Err(too_large(max));
        }
        signer.update(&data);
        hash.update(&data);
        received.push(&data);
    }
    received.sha256 = hex::encode(hash.finalize());
    Ok(received)
}

/// True when `e` comes from the body's length limit.
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
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
        WebhookError::Unpinned { .. } => Refusal(StatusCode::FORBIDDEN, "unpinned_repository", e.to_string()),
        WebhookError::WrongRepository { .. } => {
            tracing::warn!("refused a signed webhook: {e}");
            Refusal(StatusCode::FORBIDDEN, "wrong_repository", e.to_string())
        }
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
