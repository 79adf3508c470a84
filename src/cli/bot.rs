//! `ebmbot bot` (Socket Mode, the worker and the deliverer until SIGTERM/SIGINT), and the Slack
//! deliverer that runs beside `dispatch` when `SLACK_BOT_TOKEN` is set.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::bot::{self, DelivererThread};
use crate::clock::SystemClock;
use crate::config::{LiveCatalog, Settings};

use super::{Env, signals};

/// How long `dispatch --once` goes on delivering Slack messages after its jobs are done.
const ONCE_DRAIN: Duration = Duration::from_secs(30);

pub(super) fn run(env: &Env) -> anyhow::Result<ExitCode> {
    bot::check_tokens(&env.settings)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let live = LiveCatalog::new(env.catalog.clone());
    runtime.block_on(async {
        tokio::spawn(reload_on_sighup(live.clone(), env.settings.clone()));
        bot::run(Arc::new(env.settings.clone()), live, terminated()).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `ebmbot slack manifest`: the app manifest for these settings, YAML (or JSON with `--json`).
pub(super) fn manifest(env: &Env, events_api_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let manifest =
        bot::manifest::Manifest::new(&env.settings, &env.catalog, events_api_url).map_err(bot::BotError::from)?;
    env.print(&manifest.to_json(), || manifest.to_yaml().trim_end().to_owned())?;
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP: [`signals::reload`].
async fn reload_on_sighup(live: LiveCatalog, settings: Settings) {
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot watch for SIGHUP; restart the bot to re-read jobs.toml");
        return;
    };
    while hup.recv().await.is_some() {
        signals::reload(&live, &settings);
    }
}

/// Resolves at the first SIGTERM or SIGINT.
async fn terminated() {
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = &e as &dyn std::error::Error, "cannot watch for SIGTERM; stop the bot with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("stopping the Slack bot");
}

/// Runs `f` (the dispatcher) with the Slack deliverer beside it when `SLACK_BOT_TOKEN` is set;
/// `once`: afterwards, deliver what is pending for up to 30 s.
pub(super) fn with_deliverer<T>(
    env: &Env,
    live: &LiveCatalog,
    once: bool,
    f: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if env.settings.slack_bot_token.is_none() {
        return f();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let deliverer = DelivererThread::spawn(
        Arc::new(env.settings.clone()),
        live.clone(),
        runtime.handle().clone(),
        Arc::new(SystemClock),
    )?;
    let result = f();
    if let Some(deliverer) = deliverer {
        deliverer.finish(once.then_some(ONCE_DRAIN))?;
    }
    result
}
