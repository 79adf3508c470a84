//! Signals, turned into requests on a [`Control`]: SIGINT and SIGTERM stop (twice: at once),
//! SIGHUP reloads `jobs.toml` for a dispatcher and cancels a foreground `run`.

use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::runner::Control;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Dispatch,
    Run,
}

pub fn install(purpose: Purpose) -> std::io::Result<Arc<Control>> {
    let control = Arc::new(Control::default());
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let c = Arc::clone(&control);
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in signals.forever() {
            match (signal, purpose) {
                (SIGHUP, Purpose::Dispatch) => c.request_reload(),
                _ => c.request_stop(),
            }
        }
    })?;
    Ok(control)
}
