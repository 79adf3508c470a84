//! `config check`: validate `jobs.toml` and summarise it. Never touches the database.

use serde::Serialize;

use crate::config::{Catalog, Settings};

use super::Result;

#[derive(Debug, Clone, Default)]
pub struct ConfigCheck;

#[derive(Debug, Clone, Serialize)]
pub struct ConfigSummary {
    pub path: String,
    pub namespaces: usize,
    pub jobs: usize,
    pub slack_commands: usize,
    pub github_triggers: usize,
    /// Each namespace validated, in name order.
    pub by_namespace: Vec<NamespaceSummary>,
}

/// One namespace of a valid `jobs.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceSummary {
    pub name: String,
    pub jobs: usize,
    pub slack_commands: usize,
    pub github_triggers: usize,
}

impl ConfigCheck {
    pub fn execute(self, settings: &Settings) -> Result<ConfigSummary> {
        let catalog = Catalog::load(&settings.config, settings)?;
        Ok(summary(&catalog))
    }
}

pub fn summary(catalog: &Catalog) -> ConfigSummary {
    ConfigSummary {
        path: catalog.path.display().to_string(),
        namespaces: catalog.namespaces.len(),
        jobs: catalog.jobs().count(),
        slack_commands: catalog.namespaces.values().map(|n| n.slack.len()).sum(),
        github_triggers: catalog.namespaces.values().map(|n| n.github.len()).sum(),
        by_namespace: catalog
            .namespaces
            .values()
            .map(|n| NamespaceSummary {
                name: n.name.clone(),
                jobs: n.jobs.len(),
                slack_commands: n.slack.len(),
                github_triggers: n.github.len(),
            })
            .collect(),
    }
}
