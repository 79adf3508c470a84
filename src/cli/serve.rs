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

use crate::clock::{Clock, SystemClock};
use crate::commands::{self, CommandError};
use crate::config::{Catalog, Settings};
use crate::metrics::Metrics;
use crate::runner::Control;
use crate::web::{self, WebOptions, WebState};

use super::{Env, banner, reporter};

/// Connections the kernel may queue before they are accepted.
const BACKLOG: u32 = 1024;

/// Runs `ebmbot web` (`with_dispatcher` false) or `ebmbot serve` (true) until signalled.
pub(super) fn run(env: &Env, with_dispatcher: bool) -> anyhow::Result<ExitCode> {
    crate::runner::install_crypto_provider();
    let addrs = resolve(&env.settings.bind)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics = Arc::new(Metrics::new());
    let options = WebOptions {
        metrics: Some(Arc::clone(&metrics)),
        dispatcher_pid: with_dispatcher.then(std::process::id),
        ..WebOptions::default()
    };
    let state = WebState::new(env.settings.clone(), env.catalog.clone(), env.queue()?, Arc::clone(&clock), options);
    let dispatcher_queue = if with_dispatcher { Some(env.queue()?) } else { None };
    let control = Arc::new(Control::default());
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

        runtime.block_on(async {
            let (stop_tx, mut stop_rx) = watch::channel(false);
            let server = tokio::spawn(web::serve(listener, state.clone(), async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            }));

            // ┌── Slack bot: plug it in here ─────────────────────────────────────────────────
            // Not wired yet (`banner::slack_bot` says so). With SLACK_BOT_TOKEN and
            // SLACK_APP_TOKEN set, following `crate::bot`'s module docs:
            //   - start `bot::Bot::start_observed(settings, catalog, Some(on_call))` in a task
            //     (its auth.test retries until Slack answers; it must not hold up the web
            //     server), with `on_call = Arc::new(move |m, r| metrics.slack_call(m, r))`;
            //   - serve `bot::events_router(bot.events_state())` through
            //     `WebOptions::extra_routes` (build the state after the bot starts, or give
            //     the events state a late-bound bot);
            //   - run `bot.run(...)` until `stop_tx` fires and await it after the web server;
            //   - with only SLACK_BOT_TOKEN, run a `bot::DelivererThread` beside the dispatcher
            //     (as `cli::bot::with_deliverer` does for `dispatch`).
            // └───────────────────────────────────────────────────────────────────────────────

            eprintln!("{}", banner::text(&env.settings, &env.catalog, addr, with_dispatcher));
            let watcher = Watcher {
                control: Arc::clone(&control),
                stop: stop_tx.clone(),
                server: server.abort_handle(),
                state: state.clone(),
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
        });

        match dispatcher.map(|handle| handle.join()) {
            None | Some(Ok(Ok(_))) => {}
            Some(Ok(Err(e))) => return Err(anyhow::Error::new(e).context("the dispatcher stopped")),
            Some(Err(_)) => return Err(CommandError::Failed("the dispatcher thread panicked".to_owned()).into()),
        }
        eprintln!("ebmbot {} stopped", if with_dispatcher { "serve" } else { "web" });
        Ok(ExitCode::SUCCESS)
    })
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
    stop: watch::Sender<bool>,
    server: tokio::task::AbortHandle,
    state: WebState,
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
                    self.reload();
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

    fn reload(&self) {
        match Catalog::load(&self.settings.config, &self.settings) {
            Ok(catalog) => {
                self.state.set_catalog(catalog);
                self.control.request_reload();
                eprintln!("SIGHUP: reloaded {}", self.settings.config.display());
            }
            Err(e) => eprintln!("SIGHUP: {:#}; keeping the previous jobs.toml", anyhow::Error::new(e)),
        }
    }
}
