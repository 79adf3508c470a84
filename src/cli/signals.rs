//! Signals. For `dispatch` and `run` (synchronous): SIGINT and SIGTERM become stop requests on
//! a [`Control`] (twice: at once); SIGHUP re-reads `jobs.toml` for a dispatcher and cancels a
//! foreground `run`. [`reload`] is what SIGHUP does in every long-running command (`dispatch`,
//! `bot`, `web`, `serve`).

use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::config::{LiveCatalog, Settings};
use crate::runner::Control;

pub(super) enum Purpose {
    /// A dispatcher following this catalogue.
    Dispatch(LiveCatalog, Box<Settings>),
    Run,
}

pub(super) fn install(purpose: Purpose) -> std::io::Result<Arc<Control>> {
    let control = Arc::new(Control::default());
    if let Purpose::Dispatch(live, _) = &purpose {
        control.follow(live.clone());
    }
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let c = Arc::clone(&control);
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in signals.forever() {
            match (signal, &purpose) {
                (SIGHUP, Purpose::Dispatch(live, settings)) => reload(live, settings),
                _ => c.request_stop(),
            }
        }
    })?;
    Ok(control)
}

/// SIGHUP: re-reads `jobs.toml` into the process's one catalogue, which every part of it
/// follows, and says so on stderr; an invalid file is reported and the current one kept.
pub(super) fn reload(live: &LiveCatalog, settings: &Settings) {
    match live.reload(settings) {
        Ok(()) => eprintln!("SIGHUP: reloaded {}", settings.config.display()),
        Err(e) => eprintln!("SIGHUP: {:#}; keeping the previous jobs.toml", anyhow::Error::new(e)),
    }
}
