//! Settings: the environment, read once at start (README.md, "Settings"). Relative paths become absolute
//! against the working directory. Secrets live in [`Secret`], whose `Debug` is redacted.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::duration;
use super::secrets::{self, SecretError, Source};

/// A secret value: printed as `[redacted]` by `Debug` and never by `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The value itself, for the one place that needs it (an HTTP header, an HMAC key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The names of ebmbot's secrets: the only values `pass_secrets` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretName {
    SlackBotToken,
    SlackAppToken,
    SlackSigningSecret,
    GithubWebhookSecret,
}

impl SecretName {
    pub const ALL: [SecretName; 4] =
        [Self::SlackBotToken, Self::SlackAppToken, Self::SlackSigningSecret, Self::GithubWebhookSecret];

    pub fn env_var(self) -> &'static str {
        match self {
            Self::SlackBotToken => "SLACK_BOT_TOKEN",
            Self::SlackAppToken => "SLACK_APP_TOKEN",
            Self::SlackSigningSecret => "SLACK_SIGNING_SECRET",
            Self::GithubWebhookSecret => "GITHUB_WEBHOOK_SECRET",
        }
    }

    pub fn from_env_var(name: &str) -> Option<SecretName> {
        Self::ALL.into_iter().find(|s| s.env_var() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    Normal,
    Full,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{var} is not valid")]
    Duration {
        var: &'static str,
        #[source]
        source: duration::ParseError,
    },
    #[error("{var}=`{value}` is not valid; {expected}")]
    Invalid { var: &'static str, value: String, expected: &'static str },
    #[error("cannot read the working directory")]
    Cwd(#[source] std::io::Error),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// Everything ebmbot reads from its environment, once.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: PathBuf,
    pub db: PathBuf,
    pub workspace_dir: PathBuf,
    pub writeable_dir: PathBuf,
    pub writeable_workspace_dir: PathBuf,
    pub logs_dir: PathBuf,
    pub host_logs_dir: PathBuf,
    pub bind: String,
    pub shell: String,
    /// Default job timeout; `None` when set to `none`.
    pub job_timeout: Option<Duration>,
    pub kill_grace: Duration,
    pub max_jobs: u32,
    pub shutdown_grace: Duration,
    pub retention: Duration,
    pub max_log: u64,
    pub max_body: u64,
    /// `EBMBOT_MAX_BODY_MEMORY` (default 64MB): request-body bytes the web server holds at once,
    /// all requests together; at least `max_body`.
    pub max_body_memory: u64,
    /// `EBMBOT_MAX_CONNECTIONS` (default 512): connections the web server keeps open at once.
    pub max_connections: usize,
    pub timezone: jiff::tz::TimeZone,
    pub sync: SyncMode,
    pub slack_bot_token: Option<Secret>,
    pub slack_app_token: Option<Secret>,
    pub slack_signing_secret: Option<Secret>,
    pub slack_api_url: String,
    pub slack_logs_channel: Option<String>,
    pub slack_tech_support_channel: Option<String>,
    pub slack_app_username: String,
    pub slack_ack_reaction: String,
    pub slack_auto_join: bool,
    /// `SLACK_RETRY_BASE` (default 1s): the first wait before a Slack call is tried again,
    /// doubling to 5 min; also paces background channel joins. Tests make it short.
    pub slack_retry_base: Duration,
    pub github_webhook_secret: Option<Secret>,
    /// Where each secret that is set came from, by variable name (for the start-up warnings).
    pub secret_sources: Vec<(String, Source)>,
    /// Variables no job inherits: every secret's variable and its `_FILE`, and
    /// `CREDENTIALS_DIRECTORY`. A secret read elsewhere adds its own (see [`secrets::hidden_vars`]).
    pub hidden_from_jobs: Vec<String>,
    /// The executable that runs each job under a subreaper of its own (`ebmbot __reap`, see
    /// `runner::process::reaper`): ebmbot itself, `/proc/self/exe`, which stays right when the
    /// binary is replaced on disk. Set by [`Settings::from_env`], which only ebmbot calls; `None`
    /// elsewhere (tests whose executable is not ebmbot), and jobs then run without one.
    pub job_reaper: Option<PathBuf>,
}

/// Values given on the command line, which win over the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub db: Option<PathBuf>,
    pub bind: Option<String>,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env(overrides: &Overrides) -> Result<Settings, SettingsError> {
        let cwd = std::env::current_dir().map_err(SettingsError::Cwd)?;
        let mut settings = Self::from_lookup(|k| std::env::var(k).ok(), &cwd, overrides)?;
        settings.job_reaper = Some(PathBuf::from("/proc/self/exe"));
        Ok(settings)
    }

    /// Reads settings through `get` (the environment, or a map in tests); relative paths are
    /// made absolute against `cwd`.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        cwd: &Path,
        overrides: &Overrides,
    ) -> Result<Settings, SettingsError> {
        let get = |k: &str| get(k).filter(|v| !v.is_empty());
        let path = |p: PathBuf| if p.is_absolute() { p } else { cwd.join(p) };
        let env_path = |k: &str, default: &str| path(PathBuf::from(get(k).unwrap_or_else(|| default.to_owned())));
        let dur = |var: &'static str, default: &str| -> Result<Duration, SettingsError> {
            duration::parse(&get(var).unwrap_or_else(|| default.to_owned()))
                .map_err(|source| SettingsError::Duration { var, source })
        };

        let config = overrides.config.clone().map_or_else(|| env_path("EBMBOT_CONFIG", "jobs.toml"), path);
        let db = match &overrides.db {
            Some(p) => path(p.clone()),
            None => path(PathBuf::from(
                get("EBMBOT_DB").or_else(|| get("DB_PATH")).unwrap_or_else(|| "ebmbot.db".to_owned()),
            )),
        };
        let writeable_dir = env_path("WRITEABLE_DIR", ".");
        let writeable_workspace_dir =
            get("WRITEABLE_WORKSPACE_DIR").map_or_else(|| writeable_dir.join("workspace"), |p| path(PathBuf::from(p)));
        let logs_dir = env_path("LOGS_DIR", "logs");
        let host_logs_dir = get("HOST_LOGS_DIR").map_or_else(|| logs_dir.clone(), PathBuf::from);

        let job_timeout = match get("EBMBOT_JOB_TIMEOUT").as_deref() {
            Some("none") => None,
            _ => Some(dur("EBMBOT_JOB_TIMEOUT", "1h")?),
        };
        let size = |var: &'static str, default: &str| -> Result<u64, SettingsError> {
            let value = get(var).unwrap_or_else(|| default.to_owned());
            duration::parse_size(&value).map_err(|_| SettingsError::Invalid {
                var,
                value,
                expected: "write an integer with KB, MB, GB, KiB, MiB or GiB, such as `100MB`",
            })
        };
        let max_jobs = match get("EBMBOT_MAX_JOBS") {
            None => 8,
            Some(v) => v.parse::<u32>().ok().filter(|n| *n > 0).ok_or(SettingsError::Invalid {
                var: "EBMBOT_MAX_JOBS",
                value: v,
                expected: "write a whole number of at least 1",
            })?,
        };
        let max_connections = match get("EBMBOT_MAX_CONNECTIONS") {
            None => 512,
            Some(v) => {
                v.parse::<usize>().ok().filter(|n| (1..=1_000_000).contains(n)).ok_or(SettingsError::Invalid {
                    var: "EBMBOT_MAX_CONNECTIONS",
                    value: v,
                    expected: "write a whole number from 1 to 1000000",
                })?
            }
        };
        let max_body = size("EBMBOT_MAX_BODY", "26MB")?;
        let max_body_memory = size("EBMBOT_MAX_BODY_MEMORY", "64MB")?;
        if max_body_memory < max_body {
            return Err(SettingsError::Invalid {
                var: "EBMBOT_MAX_BODY_MEMORY",
                value: get("EBMBOT_MAX_BODY_MEMORY").unwrap_or_else(|| "64MB".to_owned()),
                expected: "it must be at least EBMBOT_MAX_BODY, the largest body one request may send",
            });
        }
        let timezone = match get("EBMBOT_TIMEZONE") {
            None => jiff::tz::TimeZone::UTC,
            Some(v) => jiff::tz::TimeZone::get(&v).map_err(|_| SettingsError::Invalid {
                var: "EBMBOT_TIMEZONE",
                value: v,
                expected: "write an IANA time zone name such as `Europe/London` or `UTC`",
            })?,
        };
        let sync = match get("EBMBOT_SYNC").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("normal") => SyncMode::Normal,
            Some("full") => SyncMode::Full,
            Some(_) => {
                return Err(SettingsError::Invalid {
                    var: "EBMBOT_SYNC",
                    value: get("EBMBOT_SYNC").unwrap_or_default(),
                    expected: "write `normal` or `full`",
                });
            }
        };
        let slack_auto_join = match get("SLACK_AUTO_JOIN").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(_) => {
                return Err(SettingsError::Invalid {
                    var: "SLACK_AUTO_JOIN",
                    value: get("SLACK_AUTO_JOIN").unwrap_or_default(),
                    expected: "write `true` or `false`",
                });
            }
        };
        let mut secret_sources = Vec::new();
        let mut hidden_from_jobs = vec![secrets::CREDENTIALS_DIRECTORY.to_owned()];
        let mut secret = |name: SecretName| -> Result<Option<Secret>, SettingsError> {
            hidden_from_jobs.extend(secrets::hidden_vars(name.env_var()));
            let loaded = secrets::read(name.env_var(), &get)?;
            Ok(loaded.map(|l| {
                secret_sources.push((name.env_var().to_owned(), l.source));
                l.value
            }))
        };
        let slack_bot_token = secret(SecretName::SlackBotToken)?;
        let slack_app_token = secret(SecretName::SlackAppToken)?;
        let slack_signing_secret = secret(SecretName::SlackSigningSecret)?;
        let github_webhook_secret = secret(SecretName::GithubWebhookSecret)?;

        Ok(Settings {
            config,
            db,
            workspace_dir: env_path("WORKSPACE_DIR", "workspace"),
            writeable_dir,
            writeable_workspace_dir,
            logs_dir,
            host_logs_dir,
            bind: overrides.bind.clone().or_else(|| get("EBMBOT_BIND")).unwrap_or_else(|| "127.0.0.1:9000".to_owned()),
            shell: get("EBMBOT_SHELL").unwrap_or_else(|| "bash".to_owned()),
            job_timeout,
            kill_grace: dur("EBMBOT_KILL_GRACE", "10s")?,
            max_jobs,
            shutdown_grace: dur("EBMBOT_SHUTDOWN_GRACE", "30s")?,
            retention: dur("EBMBOT_RETENTION", "90d")?,
            max_log: size("EBMBOT_MAX_LOG", "100MB")?,
            max_body,
            max_body_memory,
            max_connections,
            timezone,
            sync,
            slack_bot_token,
            slack_app_token,
            slack_signing_secret,
            slack_api_url: get("SLACK_API_URL")
                .unwrap_or_else(|| "https://slack.com/api".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            slack_logs_channel: get("SLACK_LOGS_CHANNEL"),
            slack_tech_support_channel: get("SLACK_TECH_SUPPORT_CHANNEL"),
            slack_app_username: get("SLACK_APP_USERNAME").unwrap_or_else(|| "ebmbot".to_owned()),
            slack_ack_reaction: get("SLACK_ACK_REACTION").unwrap_or_else(|| "eyes".to_owned()),
            slack_auto_join,
            slack_retry_base: dur("SLACK_RETRY_BASE", "1s")?,
            github_webhook_secret,
            secret_sources,
            hidden_from_jobs,
            job_reaper: None,
        })
    }

    /// The value of one of ebmbot's secrets, if set.
    pub fn secret(&self, name: SecretName) -> Option<&Secret> {
        match name {
            SecretName::SlackBotToken => self.slack_bot_token.as_ref(),
            SecretName::SlackAppToken => self.slack_app_token.as_ref(),
            SecretName::SlackSigningSecret => self.slack_signing_secret.as_ref(),
            SecretName::GithubWebhookSecret => self.github_webhook_secret.as_ref(),
        }
    }

    /// The secrets that came from the environment itself rather than a file (each is a warning
    /// at start: every process that can read ebmbot's environment can read them).
    pub fn secrets_from_env(&self) -> impl Iterator<Item = &str> {
        self.secret_sources.iter().filter(|(_, s)| *s == Source::Env).map(|(var, _)| var.as_str())
    }

    /// Settings for tests: defaults with every path under `root`.
    pub fn for_root(root: &Path) -> Settings {
        let mut s = Self::from_lookup(|_| None, root, &Overrides::default()).expect("defaults are valid");
        s.config = root.join("jobs.toml");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Settings::from_lookup(|k| map.get(k).cloned(), Path::new("/srv/bot"), &Overrides::default())
    }

    #[test]
    fn defaults_are_absolute() {
        let s = load(&[]).unwrap();
        assert_eq!(s.db, Path::new("/srv/bot/ebmbot.db"));
        assert_eq!(s.config, Path::new("/srv/bot/jobs.toml"));
        assert_eq!(s.writeable_workspace_dir, Path::new("/srv/bot/./workspace"));
        assert_eq!(s.max_jobs, 8);
        assert_eq!(s.job_timeout, Some(Duration::from_secs(3600)));
    }

    #[test]
    fn db_precedence_and_errors() {
        assert_eq!(load(&[("DB_PATH", "/a.db")]).unwrap().db, Path::new("/a.db"));
        assert_eq!(load(&[("DB_PATH", "/a.db"), ("EBMBOT_DB", "b.db")]).unwrap().db, Path::new("/srv/bot/b.db"));
        assert!(load(&[("EBMBOT_MAX_JOBS", "0")]).is_err());
        assert!(load(&[("EBMBOT_KILL_GRACE", "soon")]).is_err());
        assert_eq!(load(&[("EBMBOT_JOB_TIMEOUT", "none")]).unwrap().job_timeout, None);
    }

    #[test]
    fn secrets_come_from_files_and_both_is_an_error() {
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "xoxb-from-file\n").unwrap();
        let path = file.display().to_string();
        let s = load(&[("SLACK_BOT_TOKEN_FILE", &path), ("SLACK_APP_TOKEN", "xapp-env")]).unwrap();
        assert_eq!(s.slack_bot_token.as_ref().map(Secret::expose), Some("xoxb-from-file"));
        assert_eq!(s.secrets_from_env().collect::<Vec<_>>(), ["SLACK_APP_TOKEN"]);
        for var in ["SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN_FILE", "GITHUB_WEBHOOK_SECRET_FILE", "CREDENTIALS_DIRECTORY"] {
            assert!(s.hidden_from_jobs.iter().any(|h| h == var), "{var}");
        }
        let err = load(&[("SLACK_BOT_TOKEN_FILE", &path), ("SLACK_BOT_TOKEN", "xoxb-env")]).unwrap_err();
        assert!(matches!(err, SettingsError::Secret(_)));
        assert!(!err.to_string().contains("xoxb"), "{err}");
    }

    #[test]
    fn web_caps() {
        let s = load(&[]).unwrap();
        assert_eq!((s.max_connections, s.max_body, s.max_body_memory), (512, 26_000_000, 64_000_000));
        let s = load(&[("EBMBOT_MAX_CONNECTIONS", "8"), ("EBMBOT_MAX_BODY_MEMORY", "1GB")]).unwrap();
        assert_eq!((s.max_connections, s.max_body_memory), (8, 1_000_000_000));
        assert!(load(&[("EBMBOT_MAX_CONNECTIONS", "0")]).is_err());
        let e = load(&[("EBMBOT_MAX_BODY_MEMORY", "10MB")]).unwrap_err().to_string();
        assert!(e.contains("at least EBMBOT_MAX_BODY"), "{e}");
    }

    #[test]
    fn secrets_are_redacted() {
        let s = load(&[("SLACK_BOT_TOKEN", "xoxb-very-secret")]).unwrap();
        assert!(!format!("{s:?}").contains("very-secret"));
    }
}
