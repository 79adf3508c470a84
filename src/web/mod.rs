//! The web server: GitHub webhooks, health and metrics (docs/web.md).
//!
//! A server is a function of (state, listener, shutdown): [`router`] builds the routes over a
//! [`WebState`], [`serve`] runs them on a listener until the shutdown future completes, then
//! drains the requests in flight. This module only parses HTTP and renders results: what a
//! delivery schedules is decided by [`crate::commands::webhook`].
//!
//! - `github`: `POST /github/{project}/`, with its checks in the order docs/web.md gives.
//! - `signature`: `X-Hub-Signature-256` / `X-Hub-Signature`, compared in constant time.
//! - `payload`: a JSON or form-encoded body → the payload object.
//! - `health`: `/check/`, `/healthz`, `/readyz`, `/metrics`.
//! - `limits`: the request-body bytes held at once, on every route.
//! - `server`: the accept loop, its caps, timeouts and graceful shutdown.

mod github;
mod health;
mod limits;
mod payload;
pub mod projects;
mod server;
mod signature;

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;

use crate::clock::Clock;
use crate::commands::Context;
use crate::config::{Catalog, LiveCatalog, Settings};
use crate::metrics::Metrics;
use crate::queue::Queue;

pub use server::serve;
pub use signature::sign_sha256;

/// Time limits that keep slow or idle clients from holding the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A whole request, body included, and its answer: past it the answer is 408.
    pub request: Duration,
    /// Reading a request's headers, and an idle keep-alive connection: past it the
    /// connection is closed.
    pub headers: Duration,
    /// After the shutdown signal, how long requests in flight may take before their
    /// connections are dropped.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { request: Duration::from_secs(30), headers: Duration::from_secs(10), drain: Duration::from_secs(31) }
    }
}

/// Optional parts of a [`WebState`].
#[derive(Default)]
pub struct WebOptions {
    pub limits: Limits,
    /// Counters shared with the rest of the process (the bot counts its Slack calls in them).
    pub metrics: Option<Arc<Metrics>>,
    /// `serve`: the pid whose dispatcher's heartbeat `/readyz` checks.
    pub dispatcher_pid: Option<u32>,
    /// Routes another part of the process serves on the same listener (the bot's
    /// `/slack/events`), under the same timeouts.
    pub extra_routes: Option<Router>,
    /// Where the namespaces' `github_secret` variables are read (default: the environment).
    pub env: Option<projects::Lookup>,
}

/// What the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct WebState(Arc<Inner>);

struct Inner {
    settings: Settings,
    /// The process's catalogue: each request reads the current one (SIGHUP replaces it).
    catalog: LiveCatalog,
    /// The namespaces' own webhook secrets, read with the catalogue (and its version).
    project_secrets: RwLock<(u64, Arc<projects::ProjectSecrets>)>,
    env: projects::Lookup,
    clock: Arc<dyn Clock>,
    /// One connection for the handlers; locked only on a blocking thread.
    queue: Mutex<Queue>,
    metrics: Arc<Metrics>,
    limits: Limits,
    budget: Arc<limits::Budget>,
    dispatcher_pid: Option<u32>,
    extra_routes: Option<Router>,
}

impl WebState {
    pub fn new(
        settings: Settings,
        catalog: impl Into<LiveCatalog>,
        queue: Queue,
        clock: Arc<dyn Clock>,
        options: WebOptions,
    ) -> Self {
        let catalog: LiveCatalog = catalog.into();
        let env = options.env.unwrap_or_else(projects::environment);
        let (version, current) = catalog.current();
        let secrets = read_project_secrets(&current, &env);
        WebState(Arc::new(Inner {
            budget: limits::Budget::new(settings.max_body_memory),
            settings,
            catalog,
            project_secrets: RwLock::new((version, Arc::new(secrets))),
            env,
            clock,
            queue: Mutex::new(queue),
            metrics: options.metrics.unwrap_or_default(),
            limits: options.limits,
            dispatcher_pid: options.dispatcher_pid,
            extra_routes: options.extra_routes,
        }))
    }

    /// The namespaces' own webhook secrets, read again when the catalogue has changed (SIGHUP).
    fn project_secrets(&self) -> Arc<projects::ProjectSecrets> {
        let seen = self.0.project_secrets.read().unwrap_or_else(PoisonError::into_inner).0;
        if let Some((version, catalog)) = self.0.catalog.newer_than(seen) {
            let secrets = Arc::new(read_project_secrets(&catalog, &self.0.env));
            *self.0.project_secrets.write().unwrap_or_else(PoisonError::into_inner) = (version, Arc::clone(&secrets));
            return secrets;
        }
        Arc::clone(&self.0.project_secrets.read().unwrap_or_else(PoisonError::into_inner).1)
    }

    /// The catalogue now; requests already running keep the one they started with.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.0.catalog.current().1
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.0.metrics
    }

    /// Request-body bytes reserved now by the requests in flight (at most
    /// `EBMBOT_MAX_BODY_MEMORY`).
    pub fn body_bytes_held(&self) -> u64 {
        self.0.budget.total() - self.0.budget.available()
    }

    pub fn limits(&self) -> Limits {
        self.0.limits
    }

    fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// Request-body bytes held at once, all requests together.
    fn budget(&self) -> &Arc<limits::Budget> {
        &self.0.budget
    }

    /// Runs `f` with the queue and a command context on a blocking thread.
    async fn with_queue<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Context<'_>, &mut Queue) -> T + Send + 'static,
    ) -> Result<T, tokio::task::JoinError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let catalog = state.catalog();
            let ctx = Context { settings: &state.0.settings, catalog: &catalog, clock: &*state.0.clock, mention: None };
            let mut queue = state.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
            f(&ctx, &mut queue)
        })
        .await
    }
}

/// The routes. Every request, body included, must finish within [`Limits::request`], and every
/// body, on every route, counts in the bytes held at once (`limits`).
pub fn router(state: WebState) -> Router {
    let timeout = state.limits().request;
    let extra = state.0.extra_routes.clone().unwrap_or_default();
    let hold_bodies = axum::middleware::from_fn_with_state(state.clone(), limits::hold_bodies);
    Router::new()
        .route("/check/", get(health::check))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/github/{project}", post(github::webhook))
        .route("/github/{project}/", post(github::webhook))
        .fallback(health::not_found)
        .with_state(state)
        .merge(extra)
        .layer(hold_bodies)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
}

/// Text from outside (a URL, a header, a payload) with its control characters escaped, for a
/// log line or an answer: a `%0a` in a URL cannot start a line of its own.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect(),
    )
}

/// Reads the namespaces' `github_secret` values; one that cannot be read is logged, and its
/// project's webhooks are refused.
fn read_project_secrets(catalog: &Catalog, env: &projects::Lookup) -> projects::ProjectSecrets {
    let secrets = projects::ProjectSecrets::read(catalog, env);
    if let Some((var, why)) = secrets.first_error() {
        tracing::error!("a project's webhook secret {var} cannot be read: {why}; its webhooks are refused");
    }
    secrets
}
