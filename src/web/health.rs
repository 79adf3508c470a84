//! `GET /check/` (the original's check, answering `ok`), `/healthz` (the process answers),
//! `/readyz` (the database answers; in `serve`, its dispatcher heartbeats; the Slack Socket Mode
//! connection's state, which does not change the status), `/metrics`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::commands::health::{self, Readiness};

use super::WebState;

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
    let readiness = Readiness { dispatcher_pid: state.0.dispatcher_pid };
    let Ok(report) = state.with_queue(move |ctx, queue| readiness.execute(ctx, queue)).await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: the check failed\n").into_response();
    };
    let status = if report.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut text = if report.ready { "ready\n" } else { "not ready\n" }.to_owned();
    for check in &report.checks {
        text.push_str(&format!("{}: {}\n", check.name, check.detail));
    }
    // Reported, not judged: webhooks go on flowing while Socket Mode reconnects.
    if let Some(socket) = state.metrics().slack_socket_line() {
        text.push_str(&format!("slack socket mode: {socket}\n"));
    }
    (status, text).into_response()
}

/// Prometheus text: this process's counters and the job metrics in the database.
pub(super) async fn metrics(State(state): State<WebState>) -> Response {
    let jobs = state.with_queue(|_, queue| health::job_metrics(queue)).await;
    let text = match jobs {
        Ok(Ok(jobs)) => state.metrics().render(&jobs),
        Ok(Err(e)) => {
            tracing::error!(error = &e as &dyn std::error::Error, "metrics: cannot read the queue");
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
