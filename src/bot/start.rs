//! Starting and stopping the bot's parts: who it is (`auth.test`), the user cache and channel
//! joins in the background, the worker and deliverer threads, Socket Mode.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use super::BotError;
use super::api::{self, CallError, Me, OnCall, SlackApi};
use super::channels::{self, Channels};
use super::deliver::{Deliverer, retry_wait};
use super::events_api::{EventsState, Off};
use super::kinds::Kinds;
use super::manifest::Needs;
use super::receive::Shared;
use super::socket::{OnState, SocketMode};
use super::users::Users;
use super::worker::Worker;
use crate::clock::{Clock, SystemClock};
use crate::config::{LiveCatalog, Settings};
use crate::grammar::Grammar;
use crate::queue::{Queue, Waker};

/// `auth.test` answers that no retry will fix.
pub(crate) const FATAL_AUTH: &[&str] =
    &["invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"];

fn open(settings: &Settings) -> Result<Queue, BotError> {
    Ok(crate::commands::open_queue(settings)?)
}

fn slack(settings: &Settings, on_call: Option<OnCall>) -> Result<Arc<SlackApi>, BotError> {
    let token = settings.slack_bot_token.as_ref().ok_or_else(|| BotError::Missing("SLACK_BOT_TOKEN".into()))?;
    let client = Arc::new(api::client(&settings.slack_api_url));
    Ok(Arc::new(SlackApi::new(client, &settings.slack_api_url, token, on_call)))
}

fn thread(what: &'static str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, BotError> {
    std::thread::Builder::new()
        .name(format!("slack-{what}"))
        .spawn(f)
        .map_err(|source| BotError::Thread { what, source })
}

/// `auth.test`, retried with backoff on network errors and Slack's own failures; a refused
/// token is final.
async fn whoami(api: &SlackApi, base: Duration) -> Result<Me, BotError> {
    let mut attempts = 0;
    loop {
        match api.auth_test().await {
            Ok(me) => return Ok(me),
            Err(CallError::Api { code, .. }) if FATAL_AUTH.contains(&code.as_str()) => {
                return Err(BotError::BadToken { token: "SLACK_BOT_TOKEN", code });
            }
            Err(e) => {
                let wait = retry_wait(&e, base, attempts);
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "cannot reach Slack to check the bot token; retrying in {wait:?}"
                );
                tokio::time::sleep(wait).await;
                attempts += 1;
            }
        }
    }
}

/// Names the scopes the settings need that the bot token lacks (a warning: the calls that need
/// them fail, and say so, while the rest works).
fn check_scopes(me: &Me, settings: &Settings, catalog: &crate::config::Catalog) {
    let Some(granted) = &me.scopes else {
        tracing::debug!("auth.test did not list the token's scopes (no `x-oauth-scopes`); not checking them");
        return;
    };
    let needs = Needs::of(settings, catalog);
    let missing = needs.missing(granted);
    if missing.is_empty() {
        return;
    }
    let why: Vec<String> = needs
        .scopes()
        .into_iter()
        .filter(|(scope, _)| missing.contains(scope))
        .map(|(scope, why)| format!("`{scope}` ({why})"))
        .collect();
    tracing::warn!(
        "the bot token lacks {}; add them to the app (`ebmbot slack manifest` prints its manifest), \
         reinstall it, and give ebmbot the new token",
        why.join(", ")
    );
}

/// The running bot: worker and deliverer threads, background tasks.
pub struct Bot {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    deliver_wake: Waker,
    threads: Vec<JoinHandle<()>>,
    background: Vec<tokio::task::JoinHandle<()>>,
    on_socket: Option<OnState>,
}

impl Bot {
    /// Finds out who the bot is (retrying until Slack answers), warms the user cache and joins
    /// public channels in the background, and starts the worker and the deliverer. Call it
    /// inside a multi-threaded tokio runtime.
    pub async fn start(settings: Arc<Settings>, catalog: impl Into<LiveCatalog>) -> Result<Bot, BotError> {
        Bot::start_with(settings, catalog, None, Arc::new(SystemClock)).await
    }

    /// [`Bot::start`], telling `on_call` of every Slack Web API call (for `/metrics`), with
    /// `clock` as the time of everything it stores and checks.
    pub async fn start_with(
        settings: Arc<Settings>,
        catalog: impl Into<LiveCatalog>,
        on_call: Option<OnCall>,
        clock: Arc<dyn Clock>,
    ) -> Result<Bot, BotError> {
        let live = catalog.into();
        let api = slack(&settings, on_call)?;
        let me = whoami(&api, settings.slack_retry_base).await?;
        tracing::info!(user = %me.user_id, team = %me.team_id, "the Slack bot is starting");
        check_scopes(&me, &settings, &live.current().1);
        let users = Arc::new(Users::new(&me.team_id, settings.slack_enterprise_id.clone()));
        let mut background = Vec::new();
        let (a, u) = (api.clone(), users.clone());
        background.push(tokio::spawn(async move {
            match u.warm(&a).await {
                Ok(n) => tracing::info!(users = n, "read the workspace's users"),
                Err(e) => tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "cannot list users; they will be looked up one by one"
                ),
            }
        }));
        if settings.slack_auto_join {
            let (a, pace) = (api.clone(), settings.slack_retry_base.mul_f32(1.2));
            background.push(tokio::spawn(async move {
                match channels::join_all(&a, pace).await {
                    Ok(n) => tracing::info!(joined = n, "joined the public channels ebmbot was not in"),
                    Err(e) => tracing::warn!(error = &e as &dyn std::error::Error, "cannot list channels to join them"),
                }
            }));
        }
        let worker_queue = open(&settings)?;
        let kinds = Arc::new(Kinds::new(clock.clone()));
        let shared = Arc::new(Shared {
            settings: settings.clone(),
            api: api.clone(),
            me: me.clone(),
            kinds: kinds.clone(),
            users: users.clone(),
            store: Mutex::new(open(&settings)?),
            worker: worker_queue.waker(),
            clock: clock.clone(),
            catalog: live.clone(),
            catch_up: Arc::new(tokio::sync::Notify::new()),
            home: super::home::Viewers::default(),
        });
        background.push(tokio::spawn(super::history::run(shared.clone(), shared.catch_up.clone())));
        background.push(tokio::spawn(super::home::run(shared.clone())));
        let stop = Arc::new(AtomicBool::new(false));
        let mut deliverer = deliverer(&settings, &live, api.clone(), Arc::new(Channels::new()), clock.clone())?;
        deliverer.local.progress = Some(super::deliver::progress::Progress::default());
        let deliver_wake = deliverer.queue.waker();
        let (seen, catalog) = live.current();
        let worker = Worker {
            queue: worker_queue,
            settings: settings.clone(),
            grammar: Grammar::new(&catalog),
            catalog: (*catalog).clone(),
            live: live.clone(),
            seen,
            api: api.clone(),
            users,
            kinds,
            bot_user_id: me.user_id,
            runtime: Handle::current(),
            deliverer: deliver_wake.clone(),
            clock: clock.clone(),
            channels: Arc::new(Channels::new()),
        };
        let (s, w) = (stop.clone(), shared.worker.clone());
        let mut threads = vec![thread("worker", move || worker.run(&s, &w))?];
        let (s, w) = (stop.clone(), deliver_wake.clone());
        threads.push(thread("deliverer", move || deliverer.run(&s, &w))?);
        Ok(Bot { shared, stop, deliver_wake, threads, background, on_socket: None })
    }

    /// The state of `POST /slack/events` for this bot (503 without `SLACK_SIGNING_SECRET`).
    pub fn events_state(&self) -> EventsState {
        match &self.shared.settings.slack_signing_secret {
            Some(secret) => EventsState::new(self.shared.clone(), secret.clone()),
            None => EventsState::unavailable(Off::NoSigningSecret),
        }
    }

    /// Tells `on_state` of each change of the Socket Mode connection's state (`/readyz`,
    /// `/metrics`).
    pub fn observe_socket(&mut self, on_state: OnState) {
        self.on_socket = Some(on_state);
    }

    /// Runs Socket Mode (when `SLACK_APP_TOKEN` is set) until `shutdown`, then stops. Returns
    /// an error when Socket Mode ended for good (a refused app token, `link_disabled`).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), BotError> {
        let on_state = self.on_socket.take();
        let mut socket = self
            .shared
            .settings
            .slack_app_token
            .as_ref()
            .map(|token| SocketMode::start(self.shared.clone(), token, on_state));
        let result = if let Some(socket) = &mut socket {
            tokio::select! {
                () = shutdown => Ok(()),
                ended = socket.ended() => ended,
            }
        } else {
            shutdown.await;
            Ok(())
        };
        if let Some(socket) = socket {
            socket.shutdown().await;
        }
        self.stop().await;
        result
    }

    /// Stops the threads after the command and delivery in hand.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.shared.worker.poke();
        self.deliver_wake.poke();
        for task in &self.background {
            task.abort();
        }
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || threads.into_iter().for_each(|t| drop(t.join()))).await;
    }
}

fn deliverer(
    settings: &Arc<Settings>,
    live: &LiveCatalog,
    api: Arc<SlackApi>,
    channels: Arc<Channels>,
    clock: Arc<dyn Clock>,
) -> Result<Deliverer, BotError> {
    let (seen, catalog) = live.current();
    Ok(Deliverer {
        queue: open(settings)?,
        settings: settings.clone(),
        catalog: (*catalog).clone(),
        live: Some((live.clone(), seen)),
        api,
        channels,
        runtime: Handle::current(),
        owner: super::deliver::lease::Owner::me(&*clock).to_string(),
        clock,
        local: super::deliver::Local::default(),
    })
}

/// Only the deliverer, in a thread, for processes that are not the bot (`dispatch`, `web`).
pub struct DelivererThread {
    stop: Arc<AtomicBool>,
    wake: Waker,
    thread: JoinHandle<()>,
    settings: Arc<Settings>,
    live: LiveCatalog,
    api: Arc<SlackApi>,
    runtime: Handle,
    clock: Arc<dyn Clock>,
}

impl DelivererThread {
    /// Starts delivering; `None` when `SLACK_BOT_TOKEN` is not set. `runtime` must be a
    /// multi-threaded tokio runtime that outlives this.
    pub fn spawn(
        settings: Arc<Settings>,
        catalog: impl Into<LiveCatalog>,
        runtime: Handle,
        clock: Arc<dyn Clock>,
    ) -> Result<Option<DelivererThread>, BotError> {
        if settings.slack_bot_token.is_none() {
            return Ok(None);
        }
        let api = slack(&settings, None)?;
        let _guard = runtime.enter();
        let live = catalog.into();
        let d = deliverer(&settings, &live, api.clone(), Arc::new(Channels::new()), clock.clone())?;
        let (stop, wake) = (Arc::new(AtomicBool::new(false)), d.queue.waker());
        let (s, w) = (stop.clone(), wake.clone());
        let thread = thread("deliverer", move || d.run(&s, &w))?;
        Ok(Some(DelivererThread { stop, wake, thread, settings, live, api, runtime: runtime.clone(), clock }))
    }

    /// Stops after the delivery in hand; then, with `drain`, delivers what is still pending
    /// for up to that long (`dispatch --once`).
    pub fn finish(self, drain: Option<Duration>) -> Result<(), BotError> {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.poke();
        let _ = self.thread.join();
        if let Some(limit) = drain {
            let _guard = self.runtime.enter();
            let channels = Arc::new(Channels::new());
            deliverer(&self.settings, &self.live, self.api, channels, self.clock)?.drain(Instant::now() + limit);
        }
        Ok(())
    }
}
