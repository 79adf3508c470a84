//! A job's environment: the dispatcher's own, minus ebmbot's secrets (their variables, the
//! `_FILE` variables naming them, `CREDENTIALS_DIRECTORY`) unless the namespace passes them, plus
//! the variables that tell the job where it is and who asked (docs/security.md).

use std::path::Path;

use crate::config::{Namespace, SecretName, Settings};
use crate::queue::model::JobId;

/// The variables to set and the variables to remove, on top of the inherited environment.
///
/// Secrets the namespace's `pass_secrets` names are set from `settings` (the values read at
/// start, wherever they came from); every other variable in `settings.hidden_from_jobs` is
/// removed. `PYTHONPATH` replaces any inherited value. Paths are absolute.
pub fn job_env(
    settings: &Settings,
    ns: &Namespace,
    id: JobId,
    job_type: &str,
    log_dir: &Path,
    requested_by: &str,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut set = Vec::new();
    let mut remove = Vec::new();
    for name in SecretName::ALL {
        if let Some(value) = settings.secret(name).filter(|_| ns.pass_secrets.contains(&name)) {
            set.push((name.env_var().to_owned(), value.expose().to_owned()));
        }
    }
    for var in &settings.hidden_from_jobs {
        if !set.iter().any(|(k, _)| k == var) {
            remove.push(var.clone());
        }
    }

    let workspace = absolute(&settings.workspace_dir);
    let workspace_parent =
        Path::new(&workspace).parent().map_or_else(|| workspace.clone(), |p| p.display().to_string());
    let mut add = |k: &str, v: String| set.push((k.to_owned(), v));
    add("PYTHONPATH", format!("{workspace_parent}:{workspace}"));
    add("WRITEABLE_DIR", absolute(&settings.writeable_dir));
    add("EBMBOT_JOB_ID", id.to_string());
    add("EBMBOT_JOB_TYPE", job_type.to_owned());
    add("EBMBOT_LOG_DIR", absolute(log_dir));
    add("EBMBOT_REQUESTED_BY", requested_by.to_owned());
    (set, remove)
}

/// `path` made absolute against the working directory, with `.` components removed.
fn absolute(path: &Path) -> String {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned()).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use std::collections::BTreeMap;

    fn namespace(pass_secrets: Vec<SecretName>) -> Namespace {
        Namespace {
            name: "example".into(),
            description: None,
            restricted: false,
            allow_reminders: false,
            default_channel: None,
            fabfile: None,
            pass_secrets,
            github_repositories: Vec::new(),
            github_secret: None,
            workdir: "/srv/workspace/example".into(),
            workdir_fixed: true,
            jobs: BTreeMap::new(),
            slack: Vec::new(),
            github: Vec::new(),
            timers: Vec::new(),
            listeners: Vec::new(),
        }
    }

    fn settings_with_secrets() -> Settings {
        let mut settings = Settings::for_root(Path::new("/srv/bot"));
        settings.slack_bot_token = Some(Secret::new("xoxb-from-settings"));
        settings.slack_app_token = Some(Secret::new("xapp-from-settings"));
        settings
    }

    fn lookup<'a>(set: &'a [(String, String)], key: &str) -> Option<&'a str> {
        set.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn secrets_are_removed_unless_passed() {
        let settings = settings_with_secrets();
        let ns = namespace(vec![SecretName::SlackBotToken, SecretName::GithubWebhookSecret]);
        let (set, remove) = job_env(&settings, &ns, JobId(7), "example_hello", "/l".as_ref(), "U1");
        assert_eq!(lookup(&set, "SLACK_BOT_TOKEN"), Some("xoxb-from-settings"));
        // Passed but not configured: removed, never inherited from a stray environment.
        assert_eq!(
            remove,
            [
                "CREDENTIALS_DIRECTORY",
                "SLACK_BOT_TOKEN_FILE",
                "SLACK_APP_TOKEN",
                "SLACK_APP_TOKEN_FILE",
                "SLACK_SIGNING_SECRET",
                "SLACK_SIGNING_SECRET_FILE",
                "GITHUB_WEBHOOK_SECRET",
                "GITHUB_WEBHOOK_SECRET_FILE"
            ]
        );
        assert!(set.iter().all(|(k, _)| !remove.contains(k)));
    }

    #[test]
    fn sets_the_job_variables_with_absolute_paths() {
        let settings = settings_with_secrets();
        let (set, remove) = job_env(
            &settings,
            &namespace(Vec::new()),
            JobId(7),
            "example_hello",
            "/srv/bot/logs/example_hello/20240101-000000-7".as_ref(),
            "terminal:alice",
        );
        assert_eq!(remove.len(), 9);
        assert_eq!(lookup(&set, "PYTHONPATH"), Some("/srv/bot:/srv/bot/workspace"));
        assert_eq!(lookup(&set, "WRITEABLE_DIR"), Some("/srv/bot"));
        assert_eq!(lookup(&set, "EBMBOT_JOB_ID"), Some("7"));
        assert_eq!(lookup(&set, "EBMBOT_JOB_TYPE"), Some("example_hello"));
        assert_eq!(lookup(&set, "EBMBOT_LOG_DIR"), Some("/srv/bot/logs/example_hello/20240101-000000-7"));
        assert_eq!(lookup(&set, "EBMBOT_REQUESTED_BY"), Some("terminal:alice"));
    }

    #[test]
    fn the_job_sees_passed_secrets_and_not_removed_variables() {
        // A variable the test process surely has stands in for an inherited secret.
        let inherited = std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| !matches!(k.as_str(), "PATH" | "PWD" | "SHLVL" | "_" | "OLDPWD"))
            .find(|k| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .expect("the test process has some environment");
        let root = tempfile::TempDir::new().unwrap();
        let settings = settings_with_secrets();
        let ns = namespace(vec![SecretName::SlackBotToken]);
        let mut job = crate::runner::process::tests::spec(
            root.path(),
            &format!(
                r#"printf '%s|%s|%s|%s' "${{SLACK_BOT_TOKEN-absent}}" "${{SLACK_APP_TOKEN-absent}}" "${{{inherited}-absent}}" "$EBMBOT_JOB_ID""#
            ),
        );
        (job.env, job.env_remove) = job_env(&settings, &ns, JobId(7), "t", root.path(), "U1");
        job.env_remove.push(inherited);
        let (outcome, stdout, _) = crate::runner::process::tests::run(job);
        assert_eq!(outcome, crate::queue::model::Outcome::Succeeded);
        assert_eq!(stdout, b"xoxb-from-settings|absent|absent|7");
    }
}
