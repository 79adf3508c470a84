//! `config check`: validate `jobs.toml` and summarise it. Never touches the database.

use serde::Serialize;

use crate::config::{Catalog, Settings};

use super::webhook::is_project;

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
    /// What loads but is probably not meant (a project open to any repository, …).
    pub warnings: Vec<String>,
}

/// One namespace of a valid `jobs.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceSummary {
    pub name: String,
    pub jobs: usize,
    pub slack_commands: usize,
    pub github_triggers: usize,
    pub listeners: usize,
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
                listeners: n.listeners.len(),
            })
            .collect(),
        warnings: warnings(catalog),
    }
}

/// Projects that any repository can trigger, or that refuse every delivery.
fn warnings(catalog: &Catalog) -> Vec<String> {
    let mut out = Vec::new();
    for ns in catalog.namespaces.values().filter(|ns| is_project(ns) && ns.github_repositories.is_empty()) {
        let name = &ns.name;
        out.push(if ns.restricted {
            format!(
                "`{name}` is restricted and takes webhooks, but pins no repository: its webhooks are refused \
                 until you add `github_repository = \"owner/name\"` to `[{name}]`"
            )
        } else {
            format!(
                "`{name}` takes webhooks from any repository whose webhook is signed with its secret: pin its \
                 repository with `github_repository = \"owner/name\"` in `[{name}]`"
            )
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_about_projects_open_to_any_repository() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::for_root(dir.path());
        let text = r#"
[open.jobs.deploy]
run_args_template = "echo deploy"

[pinned]
github_repository = "octo-org/octo-repo"
[pinned.jobs.deploy]
run_args_template = "echo deploy"

[locked]
restricted = true
[locked.jobs.build]
run_args_template = "echo build"
[[locked.github]]
event = "push"
job_type = "build"

[quiet.jobs.build]
run_args_template = "echo build"
"#;
        let catalog = Catalog::from_str(text, &dir.path().join("jobs.toml"), &settings).unwrap();
        let warnings = summary(&catalog).warnings;
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("`locked` is restricted and takes webhooks, but pins no repository"));
        assert!(warnings[1].starts_with("`open` takes webhooks from any repository"));
    }
}
