//! `ebmbot web` (the web server) and `ebmbot serve` (web server + dispatcher, and the Slack bot
//! when its tokens are set) in one process with one shutdown signal.
//!
//! The web server runs on a tokio runtime; the dispatcher is synchronous and runs on its own
//! thread. SIGTERM or Ctrl-C (via `tokio::signal`): stop accepting connections and drain the
//! requests in flight, stop claiming jobs, give running jobs `EBMBOT_SHUTDOWN_GRACE`, then stop
//! their process groups (recorded cancelled, "ebmbot shut down"); exit 0. A second signal skips
//! the wait. SIGHUP re-reads `jobs.toml`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{oneshot, watch};

use crate::bot::{self, EventsState, Off};
use crate::clock::{Clock, SystemClock};
use crate::commands::{self, CommandError};
use crate::config::{LiveCatalog, Settings};
use crate::metrics::Metrics;
use crate::runner::Control;
use crate::web::{self, WebOptions, WebState};

use super::{Env, banner, reporter, signals};

/// Connections the kernel may queue before they are accepted.
const BACKLOG: u32 = 1024;

/// Runs `ebmbot web` (`with_dispatcher` false) or `ebmbot serve` (true) until signalled.
pub(super) fn run(env: &Env, with_dispatcher: bool) -> anyhow::Result<ExitCode> {
    let addrs = resolve(&env.settings.bind)?;
    let Shared { clock, metrics, events, live, state } = Shared::new(env, with_dispatcher)?;
    let dispatcher_queue = if with_dispatcher { Some(env.queue()?) } else { None };
    let control = Arc::new(Control::default());
    control.follow(live.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;

    // Signals and the socket first: if either fails, nothing else has started.
    let (signals, listener) = runtime.block_on(async {
        let signals = Signals::install().context("cannot listen for signals")?;
        let listener = listen(&addrs).with_context(|| format!("cannot listen on `{}`", env.settings.bind))?;
        anyhow::Ok((signals, listener))
    })?;
    let addr = listener.local_addr()?;

    std::thread::scope(|scope| {
        // The dispatcher, on its own thread; `done` closes when it returns.
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let dispatcher = dispatcher_queue.map(|queue| {
            let control = Arc::clone(&control);
            let clock = Arc::clone(&clock);
            scope.spawn(move || {
                let _done = done_tx;
                let reporter = reporter::Terminal;
                commands::dispatch::Dispatch { once: false }.execute(&env.ctx(&*clock), queue, &reporter, &control)
            })
        });

        let slack_result = runtime.block_on(async {
            let (stop_tx, mut stop_rx) = watch::channel(false);
            let server = tokio::spawn(web::serve(listener, state.clone(), async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            }));

            let slack = env.settings.slack_bot_token.is_some().then(|| {
                let mut settings = env.settings.clone();
                if !with_dispatcher {
                    settings.slack_app_token = None; // Socket Mode is for `bot` and `serve`
                }
                let (live, metrics, events, clock) =
                    (live.clone(), Arc::clone(&metrics), events.clone(), Arc::clone(&clock));
                let bot = SlackBot { settings, live, metrics, events, clock };
                tokio::spawn(bot.run(Arc::clone(&control), stop_tx.clone()))
            });

            let heard = crate::commands::open_queue(&env.settings).ok().and_then(|q| q.channels_heard().ok());
            eprintln!("{}", banner::text(&env.settings, &env.catalog, addr, with_dispatcher, heard));
            let watcher = Watcher {
                control: Arc::clone(&control),
                live: live.clone(),
                stop: stop_tx.clone(),
                server: server.abort_handle(),
                settings: env.settings.clone(),
                with_dispatcher,
            };
            tokio::spawn(watcher.run(signals));
            if with_dispatcher {
                // Returns once a signal stopped the dispatcher, or when it failed.
                let _ = done_rx.await;
                stop_tx.send_replace(true);
            }
            let _ = server.await;
            match slack {
                Some(task) => task
                    .await
                    .map_err(|e| anyhow::anyhow!("the Slack bot task failed: {e}"))?
                    .map_err(anyhow::Error::new),
                None => Ok(()),
            }
        });

        if let Some(handle) = dispatcher {
            dispatcher_result(handle.join())?;
        }
        slack_result?;
        eprintln!("ebmbot {} stopped", if with_dispatcher { "serve" } else { "web" });
        Ok(ExitCode::SUCCESS)
    })
}

fn dispatcher_result<T>(joined: std::thread::Result<Result<T, CommandError>>) -> anyhow::Result<()> {
    match joined {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(anyhow::Error::new(e).context("the dispatcher stopped")),
        Err(_) => Err(CommandError::Panicked("dispatcher").into()),
    }
}

/// The Slack bot of `serve` (and `web`, for the Events API), with `SLACK_BOT_TOKEN` set.
struct SlackBot {
    settings: Settings,
    live: LiveCatalog,
    metrics: Arc<Metrics>,
    events: EventsState,
    clock: Arc<dyn Clock>,
}

impl SlackBot {
    /// Its start waits for Slack to answer auth.test, so it runs beside the web server, whose
    /// `/slack/events` answers 503 until then. It runs until `stop` says so; if it cannot start
    /// or fails (a refused token: exit 2), it stops everything.
    async fn run(self, control: Arc<Control>, stop: watch::Sender<bool>) -> Result<(), bot::BotError> {
        let SlackBot { settings, live, metrics, events, clock } = self;
        let mut stopped = stop.subscribe();
        let socket_metrics = Arc::clone(&metrics);
        let on_call: bot::api::OnCall = Arc::new(move |method, result| metrics.slack_call(method, result));
        let started = tokio::select! {
            started = bot::Bot::start_with(Arc::new(settings), live, Some(on_call), clock) => started,
            _ = stopped.wait_for(|stop| *stop) => return Ok(()),
        };
        let result = match started {
            Ok(mut bot) => {
                events.fill(&bot.events_state());
                bot.observe_socket(Arc::new(move |state: &bot::socket::SocketState| {
                    socket_metrics.slack_socket(&bot::socket::SocketState::NAMES, state.name(), state.describe());
                }));
                bot.run(async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await
            }
            Err(e) => Err(e),
        };
        if result.is_err() {
            events.fill(&EventsState::unavailable(Off::BotStopped));
            control.request_stop();
            stop.send_replace(true);
        }
        result
    }
}

/// What the web server, the bot and the dispatcher of one process share.
struct Shared {
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    /// The state of `/slack/events`, filled once the bot has started.
    events: EventsState,
    /// One catalogue for the web server, the bot and the dispatcher; SIGHUP replaces it.
    live: LiveCatalog,
    state: WebState,
}

impl Shared {
    fn new(env: &Env, with_dispatcher: bool) -> anyhow::Result<Shared> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let metrics = Arc::new(Metrics::new());
        let events = match &env.settings.slack_bot_token {
            Some(_) => EventsState::starting(),
            None => EventsState::unavailable(Off::NoBotToken),
        };
        // A namespace's own webhook secret that cannot be read stops the start (exit 2).
        let environment = web::projects::environment();
        if let Some((var, why)) = web::projects::ProjectSecrets::read(&env.catalog, &environment).first_error() {
            return Err(CommandError::BadValue {
                what: "github_secret",
                text: var.to_owned(),
                reason: format!("{why}; set it, or remove `github_secret = \"{var}\"` from jobs.toml"),
            }
            .into());
        }
        let live = LiveCatalog::new(env.catalog.clone());
        let options = WebOptions {
            metrics: Some(Arc::clone(&metrics)),
            env: Some(environment),
            dispatcher_pid: with_dispatcher.then(std::process::id),
            extra_routes: Some(bot::events_router(events.clone())),
            ..WebOptions::default()
        };
        let state = WebState::new(env.settings.clone(), live.clone(), env.queue()?, Arc::clone(&clock), options);
        Ok(Shared { clock, metrics, events, live, state })
    }
}

/// `HOST:PORT` → addresses; a malformed one is the user's mistake (exit 2).
fn resolve(bind: &str) -> Result<Vec<SocketAddr>, CommandError> {
    use std::net::ToSocketAddrs;
    let bad = |reason: String| CommandError::BadValue { what: "bind address", text: bind.to_owned(), reason };
    let addrs: Vec<SocketAddr> = bind
        .to_socket_addrs()
        .map_err(|e| bad(format!("{e}; write HOST:PORT such as 127.0.0.1:9000 (EBMBOT_BIND or --bind)")))?
        .collect();
    if addrs.is_empty() {
        return Err(bad("it names no address".to_owned()));
    }
    Ok(addrs)
}

/// Listens on the first address that works.
fn listen(addrs: &[SocketAddr]) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for addr in addrs {
        let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        match socket.bind(*addr).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address to listen on")))
}

struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    /// Installed before the banner is printed, so that a signal sent as soon as the address is
    /// known is handled, not fatal.
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
}

/// Turns signals into requests: stop (twice: at once) and reload.
struct Watcher {
    control: Arc<Control>,
    /// The process's catalogue, which SIGHUP re-reads.
    live: LiveCatalog,
    stop: watch::Sender<bool>,
    server: tokio::task::AbortHandle,
    settings: Settings,
    with_dispatcher: bool,
}

impl Watcher {
    async fn run(self, mut signals: Signals) {
        let mut stops = 0;
        loop {
            let name = tokio::select! {
                _ = signals.term.recv() => "SIGTERM",
                _ = signals.int.recv() => "SIGINT",
                _ = signals.hup.recv() => {
                    signals::reload(&self.live, &self.settings);
                    continue;
                }
            };
            stops += 1;
            self.control.request_stop();
            if stops == 1 {
                self.stop.send_replace(true);
                let jobs = if self.with_dispatcher { " or starting jobs; running jobs may finish" } else { "" };
                eprintln!("{name}: shutting down: no longer accepting connections{jobs}; send it again to stop now");
            } else {
                self.server.abort();
                let what = if self.with_dispatcher { "stopping running jobs now" } else { "closing connections now" };
                eprintln!("{name} again: {what}");
            }
        }
    }
}
