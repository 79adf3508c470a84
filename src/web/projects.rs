//! Which secret signs a project's deliveries: the namespace's own `github_secret` when it names
//! one (a variable read like ebmbot's other secrets: the variable itself, `<NAME>_FILE`, or
//! `$CREDENTIALS_DIRECTORY/<NAME>`), else `GITHUB_WEBHOOK_SECRET`. The values are read when the
//! catalogue is (at start and on SIGHUP), never per request.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::commands::webhook::is_project;
use crate::config::secrets::SecretError;
use crate::config::{Catalog, Secret, Settings, secrets};

/// Reads a variable: the process environment, or a map in tests.
pub type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment.
pub fn environment() -> Lookup {
    Arc::new(|k: &str| std::env::var(k).ok())
}

/// The namespaces' own webhook secrets, by variable name: the value, or why it cannot be read.
#[derive(Debug, Default)]
pub struct ProjectSecrets(BTreeMap<String, Result<Secret, Arc<Unreadable>>>);

/// Why a project's own secret cannot sign its deliveries.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    #[error("{var} is not set (nor {}, nor ${}/{var})", secrets::file_var(var), secrets::CREDENTIALS_DIRECTORY)]
    NotSet { var: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The catalogue names a variable the secrets were not read for.
    #[error("it was not read")]
    NotRead,
}

impl ProjectSecrets {
    pub fn read(catalog: &Catalog, get: &Lookup) -> ProjectSecrets {
        let mut read = BTreeMap::new();
        for var in catalog.namespaces.values().filter_map(|ns| ns.github_secret.as_deref()) {
            let value = match secrets::read(var, &|k: &str| get(k)) {
                Ok(Some(loaded)) => Ok(loaded.value),
                Ok(None) => Err(Arc::new(Unreadable::NotSet { var: var.to_owned() })),
                Err(e) => Err(Arc::new(Unreadable::Secret(e))),
            };
            read.insert(var.to_owned(), value);
        }
        ProjectSecrets(read)
    }

    /// The first secret that cannot be read: `(variable, why)`.
    pub fn first_error(&self) -> Option<(&str, &Unreadable)> {
        self.0.iter().find_map(|(var, value)| value.as_ref().err().map(|why| (var.as_str(), &**why)))
    }
}

/// The key that signs `project`'s deliveries.
pub enum Key {
    Secret(Secret),
    /// None: the request is answered as a wrongly signed one, without reading it.
    Nothing,
    /// The project's own secret could not be read (503).
    Unreadable {
        var: String,
        why: Arc<Unreadable>,
    },
}

pub fn key(catalog: &Catalog, secrets: &ProjectSecrets, settings: &Settings, project: &str) -> Key {
    let own = catalog.namespace(project).filter(|ns| is_project(ns)).and_then(|ns| ns.github_secret.as_deref());
    if let Some(var) = own {
        return match secrets.0.get(var) {
            Some(Ok(secret)) => Key::Secret(secret.clone()),
            Some(Err(why)) => Key::Unreadable { var: var.to_owned(), why: why.clone() },
            None => Key::Unreadable { var: var.to_owned(), why: Arc::new(Unreadable::NotRead) },
        };
    }
    settings.github_webhook_secret.clone().map_or(Key::Nothing, Key::Secret)
}

/// True when some secret could sign a delivery: the global one, or a namespace's own.
pub fn any(catalog: &Catalog, settings: &Settings) -> bool {
    settings.github_webhook_secret.is_some() || catalog.namespaces.values().any(|ns| ns.github_secret.is_some())
}
