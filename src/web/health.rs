//! `GET /check/` (the original's check, answering `ok`), `/healthz` (the process answers),
//! `/readyz` (the database answers; in `serve`, its dispatcher heartbeats), `/metrics`.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::queue::model::JobState;

use super::WebState;

/// A dispatcher whose heartbeat is older than this is not ready (DESIGN §9).
const HEARTBEAT_STALE: Duration = Duration::from_secs(60);

pub(super) async fn check() -> &'static str {
    "ok"
}

pub(super) async fn healthz() -> &'static str {
    "ok"
}

pub(super) async fn not_found() -> (StatusCode, &'static str) {
    (
        StatusCode::NOT_FOUND,
        "not found; the routes are GET /check/, /healthz, /readyz, /metrics and POST /github/<project>/",
    )
}

/// 200 `ready` with one line per check, or 503 naming what is not.
pub(super) async fn readyz(State(state): State<WebState>) -> Response {
    let pid = state.0.dispatcher_pid;
    let checked = state
        .with_queue(move |ctx, queue| {
            let mut lines = Vec::new();
            let mut ready = true;
            match queue.count_in(JobState::Running) {
                Ok(_) => lines.push("database: ok".to_owned()),
                Err(e) => {
                    ready = false;
                    lines.push(format!("database: unreachable ({e})"));
                }
            }
            if let Some(pid) = pid {
                let now = ctx.clock.now();
                let mine = queue.dispatchers().map(|all| all.into_iter().find(|d| d.pid == i64::from(pid)));
                match mine {
                    Ok(Some(d)) => {
                        let age = now.duration_since(d.heartbeat_at).as_secs().max(0);
                        let fresh = age <= HEARTBEAT_STALE.as_secs().cast_signed();
                        ready &= fresh;
                        let verdict = if fresh { "ok" } else { "stale" };
                        lines.push(format!("dispatcher: {verdict} (heartbeat {age}s ago)"));
                    }
                    Ok(None) => {
                        ready = false;
                        lines.push("dispatcher: not running".to_owned());
                    }
                    Err(e) => {
                        ready = false;
                        lines.push(format!("dispatcher: unknown ({e})"));
                    }
                }
            }
            (ready, lines)
        })
        .await;
    let Ok((ready, lines)) = checked else {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: the check failed\n").into_response();
    };
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let head = if ready { "ready" } else { "not ready" };
    (status, format!("{head}\n{}\n", lines.join("\n"))).into_response()
}

/// Prometheus text: this process's counters and the job metrics in the database.
pub(super) async fn metrics(State(state): State<WebState>) -> Response {
    let jobs = state.with_queue(|_, queue| queue.job_metrics()).await;
    let text = match jobs {
        Ok(Ok(jobs)) => state.metrics().render(&jobs),
        Ok(Err(e)) => {
            tracing::error!("metrics: cannot read the queue: {e}");
            return (StatusCode::SERVICE_UNAVAILABLE, "cannot read the queue; the server log has the details")
                .into_response();
        }
        Err(e) => {
            tracing::error!("metrics task failed: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    match text {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
