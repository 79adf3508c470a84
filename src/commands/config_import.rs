//! `config import`: the Python bot's `raw_config` (as JSON) → the text of a `jobs.toml`, with
//! notes on what changed, validated as `config check` would. Writes nothing; the CLI prints.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::import::{self, ImportError, Note};
use crate::config::{Catalog, ConfigError, Settings};

use super::config_check::{ConfigSummary, summary};
use super::{CommandError, Result};

/// Where the JSON comes from.
#[derive(Debug, Clone)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct ConfigImport {
    pub input: Input,
}

#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub toml: String,
    pub notes: Vec<Note>,
    /// The result as `config check` summarises it, when it is valid.
    pub summary: Option<ConfigSummary>,
    /// Why the result is not a valid `jobs.toml` yet.
    #[serde(skip)]
    pub invalid: Option<ConfigError>,
}

/// The name validation errors give the result.
const RESULT_NAME: &str = "the imported jobs.toml";

impl ConfigImport {
    pub fn execute(self, settings: &Settings) -> Result<ImportReport> {
        let (name, text) = match &self.input {
            Input::Stdin => {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).map_err(|source| CommandError::Io {
                    what: "cannot read",
                    path: "stdin".into(),
                    source,
                })?;
                ("stdin".to_owned(), text)
            }
            Input::File(path) => (path.display().to_string(), read(path)?),
        };
        let imported = import::convert(&name, &text, &settings.workspace_dir)?;
        let (summary, invalid) = match Catalog::from_str(&imported.toml, Path::new(RESULT_NAME), settings) {
            Ok(catalog) => {
                let mut s = summary(&catalog);
                RESULT_NAME.clone_into(&mut s.path);
                (Some(s), None)
            }
            Err(e) => (None, Some(e)),
        };
        Ok(ImportReport { toml: imported.toml, notes: imported.notes, summary, invalid })
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ImportError::Missing { path: path.to_owned() }.into()
        } else {
            CommandError::Io { what: "cannot read", path: path.to_owned(), source }
        }
    })
}
