//! The terminal's words for errors: the command layer's message, plus what to type next.

use crate::commands::{self, CommandError};

/// An error on one line, with the terminal's hint when the error is one the CLI can help with.
pub(super) fn message(e: &anyhow::Error) -> String {
    let mut text = commands::describe(e.as_ref());
    if let Some(hint) = e.chain().find_map(|c| c.downcast_ref::<CommandError>()).and_then(hint) {
        text.push_str("; ");
        text.push_str(&hint);
    }
    text
}

/// What to type next, for the errors where the terminal knows.
fn hint(e: &CommandError) -> Option<String> {
    match e {
        CommandError::UnknownNamespace { .. } | CommandError::UnknownJob { .. } => {
            Some("`ebmbot jobs` lists them".to_owned())
        }
        CommandError::MissingParams { missing, .. } => {
            let flags: Vec<String> = missing.iter().map(|n| format!("--{n} VALUE")).collect();
            Some(format!("pass {}", flags.join(" ")))
        }
        CommandError::UnknownId(_) => Some("`ebmbot queue list --all` lists recent jobs".to_owned()),
        CommandError::StillRunning { id, .. } => Some(format!("`ebmbot cancel --id {id}` stops it")),
        CommandError::Suppressed { .. } => Some("wait, run `ebmbot unsuppress`, or pass --force".to_owned()),
        _ => None,
    }
}
