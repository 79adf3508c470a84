//! `ebmbot config import FILE`: the new `jobs.toml` on stdout; what changed, what to check and
//! whether the result is valid on stderr (or all of it in one JSON document).

use std::io::Write;
use std::process::ExitCode;

use crate::commands::config_import::{ConfigImport, Input};
use crate::commands::{self, CommandError};
use crate::config::import::NoteKind;

use super::{Env, render};

pub(super) fn run(env: &Env, file: &str) -> anyhow::Result<ExitCode> {
    let input = if file == "-" { Input::Stdin } else { Input::File(file.into()) };
    let mut r = ConfigImport { input }.execute(&env.settings)?;
    let invalid = r.invalid.take().map(CommandError::Config);
    if env.json {
        let mut doc = serde_json::to_value(&r)?;
        if let Some(e) = &invalid {
            doc["error"] = serde_json::json!({ "kind": e.kind(), "message": commands::describe(e) });
        }
        env.print(&doc, String::new)?;
        return Ok(if invalid.is_some() { ExitCode::from(2) } else { ExitCode::SUCCESS });
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(r.toml.as_bytes())?;
    stdout.flush()?;
    let mut stderr = std::io::stderr().lock();
    for note in &r.notes {
        let kind = match note.kind {
            NoteKind::Changed => "changed",
            NoteKind::Check => "check",
        };
        writeln!(stderr, "{kind}: {}", note.text)?;
    }
    match (invalid, &r.summary) {
        (Some(e), _) => Err(e.into()),
        (None, Some(summary)) => {
            writeln!(stderr, "{}", render::config_summary(summary).lines().next().unwrap_or_default())?;
            Ok(ExitCode::SUCCESS)
        }
        (None, None) => Ok(ExitCode::SUCCESS),
    }
}
