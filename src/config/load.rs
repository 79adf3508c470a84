//! Reading `jobs.toml`: serde with `deny_unknown_fields` into raw structs, then validation into
//! a [`Catalog`]. Every error names the file, the namespace/job/command, what is wrong and the fix.

use std::path::{Path, PathBuf};

use super::{Catalog, Settings};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {} does not exist; create it, or point --config or EBMBOT_CONFIG at one", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `message` already names the namespace/job/command, the problem and the fix.
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

pub(super) fn load(path: &Path, settings: &Settings) -> Result<Catalog, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ConfigError::Missing {
                path: path.to_owned(),
            }
        } else {
            ConfigError::Read {
                path: path.to_owned(),
                source,
            }
        }
    })?;
    parse(&text, path, settings)
}

pub(super) fn parse(
    _text: &str,
    path: &Path,
    _settings: &Settings,
) -> Result<Catalog, ConfigError> {
    Err(ConfigError::Invalid {
        path: path.to_owned(),
        message: "the loader is being written".into(),
    })
}
