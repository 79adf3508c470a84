//! Settings: the environment, read once at start (README.md, "Settings"). Relative paths become absolute
//! against the working directory. Secrets live in [`Secret`], whose `Debug` is redacted.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::duration;
use super::secrets::{self, SecretError, Source};
use crate::queue::Location;

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
    #[error(
        "EBMBOT_LEASE=`{lease}` is too short for EBMBOT_KILL_GRACE=`{kill_grace}`: a dispatcher cut off from the queue stops its jobs within half its lease; write at least `{least}`"
    )]
    LeaseTooShort { lease: String, kill_grace: String, least: String },
    #[error("EBMBOT_DB is not valid")]
    Database(#[source] crate::queue::LocationError),
    #[error("cannot read the working directory")]
    Cwd(#[source] std::io::Error),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

/// How long a job's reaper may take, past the kill grace, to stop everything under it before
/// its group gets SIGKILL.
pub const REAPER_MARGIN: Duration = Duration::from_secs(2);

/// The machine's hostname (empty when it cannot be read).
pub fn machine_hostname() -> String {
    nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Everything ebmbot reads from its environment, once.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config: PathBuf,
    /// `EBMBOT_DB`: a SQLite file, or a PostgreSQL URL (its password never shown).
    pub db: Location,
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
    /// `EBMBOT_HOST_ID` (default: the machine's hostname): this host's name in the queue. Two
    /// hosts sharing a queue must have different ones.
    pub host_id: String,
    /// `EBMBOT_LEASE` (default 60s): how long a dispatcher's jobs are its own without a
    /// heartbeat. Another host declares them lost only after it; a dispatcher that cannot renew
    /// it stops its jobs within half of it ([`Settings::fence_after`]).
    pub lease: Duration,
    /// `EBMBOT_DB_LOG_MAX` (default 1MB on PostgreSQL, 0 on SQLite): the end of each stream of
    /// a job's output kept in the queue, for `logs` from other hosts; `0` ships nothing.
    pub db_log_max: u64,
    pub max_jobs: u32,
    pub shutdown_grace: Duration,
    /// How late a timer's fire time may be and still count as on time (`EBMBOT_TIMER_GRACE`);
    /// later, it was missed and the timer's `missed` decides.
    pub timer_grace: Duration,
    pub retention: Duration,
    pub max_log: u64,
    pub max_body: u64,
    /// `EBMBOT_MAX_BODY_MEMORY` (default 64MB): request-body bytes the web server holds at once,
    /// all requests together; at least `max_body`.
    pub max_body_memory: u64,
    /// `EBMBOT_MAX_CONNECTIONS` (default 512): connections the web server keeps open at once.
    pub max_connections: usize,
    /// `EBMBOT_SLACK_MAX_PENDING` (default 20): a Slack user's requests that may wait at once
    /// (commands not handled yet, replies not delivered yet, pending jobs); past it the bot
    /// refuses more.
    pub slack_max_pending: u64,
    pub timezone: jiff::tz::TimeZone,
    pub sync: SyncMode,
    /// `EBMBOT_WAKE_POLL` (default 2s): how long a waiting part (dispatcher, Slack worker and
    /// deliverer) goes without looking at the queue when no change notification came: the
    /// most a lost notification can delay work.
    pub wake_poll: Duration,
    pub slack_bot_token: Option<Secret>,
    pub slack_app_token: Option<Secret>,
    pub slack_signing_secret: Option<Secret>,
    pub slack_api_url: String,
    pub slack_logs_channel: Option<String>,
    pub slack_tech_support_channel: Option<String>,
    pub slack_app_username: String,
    /// `SLACK_ACK_REACTION` (default `eyes`), without colons: `:eyes:` is taken as `eyes`.
    pub slack_ack_reaction: String,
    /// `SLACK_ENTERPRISE_ID` (an `E…` id, unset by default): users of the other workspaces of
    /// this Enterprise Grid organisation count as internal too. Unset, only users of the bot's
    /// own workspace do.
    pub slack_enterprise_id: Option<String>,
    pub slack_auto_join: bool,
    /// `SLACK_REPLY_IN_THREAD` (default false): replies and job messages go in the thread of a
    /// request made in a channel. Off, they go top level unless the request was in a thread.
    pub slack_reply_in_thread: bool,
    /// `SLACK_RETRY_BASE` (default 1s): the first wait before a Slack call is tried again,
    /// doubling to 5 min; also paces background channel joins. Tests make it short.
    pub slack_retry_base: Duration,
    /// `SLACK_DELIVERY_MAX_AGE` (default 24h): how long a message Slack keeps failing is tried,
    /// counted from when it was queued and leaving out time paused for a refused token; then
    /// it is given up with a short note.
    pub slack_delivery_max_age: Duration,
    /// `SLACK_CATCH_UP` (default 24h): how far back the catch-up after a start or a reconnection
    /// reads each channel's history, at most (it starts at the last message read there).
    pub slack_catch_up: Duration,
    /// `SLACK_PROGRESS_EVERY` (default 10s, at least 1s): how often a running job's message
    /// says for how long it has run, at most.
    pub slack_progress_every: Duration,
    /// `SLACK_MISSED_COMMAND_AGE` (default 1h): a command found by the catch-up that is older
    /// than this is not run; its thread is told it was missed.
    pub slack_missed_command_age: Duration,
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

/// `--db` > `EBMBOT_DB` (or its `_FILE` or systemd credential, for a URL with a password,
/// through [`secrets::read`]) > `DB_PATH` > `./ebmbot.db`. A PostgreSQL URL without a password
/// takes one from `PGPASSFILE` (default `~/.pgpass`) when that file has a matching line.
fn database(
    get: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
    overrides: &Overrides,
) -> Result<Location, SettingsError> {
    let text = match &overrides.db {
        Some(p) => p.to_string_lossy().into_owned(),
        None => match secrets::read("EBMBOT_DB", get)? {
            Some(loaded) => loaded.value.expose().trim().to_owned(),
            None => get("DB_PATH").unwrap_or_else(|| "ebmbot.db".to_owned()),
        },
    };
    let db = Location::parse(&text, cwd).map_err(SettingsError::Database)?;
    let pgpass = get("PGPASSFILE").map(PathBuf::from).or_else(|| get("HOME").map(|h| Path::new(&h).join(".pgpass")));
    Ok(match pgpass.and_then(|p| std::fs::read_to_string(p).ok()) {
        Some(text) => db.with_pgpass(&text),
        None => db,
    })
}

/// How to fix a count that must be positive.
const AT_LEAST_ONE: &str = "write a whole number of at least 1";

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
        let vars = Vars { get: &get, cwd };
        let config =
            overrides.config.clone().map_or_else(|| vars.path("EBMBOT_CONFIG", "jobs.toml"), |p| vars.absolute(p));
        let db = database(&get, cwd, overrides)?;
        let writeable_dir = vars.path("WRITEABLE_DIR", ".");
        let writeable_workspace_dir =
            get("WRITEABLE_WORKSPACE_DIR").map_or_else(|| writeable_dir.join("workspace"), |p| vars.absolute(p.into()));
        let logs_dir = vars.path("LOGS_DIR", "logs");
        let (max_body, max_body_memory) = vars.body_limits()?;
        let mut secrets = Secrets::read(&get)?;
        if db.has_password() {
            // The database URL carries a secret: no job sees where it came from.
            secrets.hidden_from_jobs.extend(secrets::hidden_vars("EBMBOT_DB"));
            secrets.hidden_from_jobs.extend(["DB_PATH".to_owned(), "PGPASSFILE".to_owned()]);
        }
        vars.pg_root_cert()?;
        Ok(Settings {
            config,
            db_log_max: vars.db_log_max(&db)?,
            db,
            workspace_dir: vars.path("WORKSPACE_DIR", "workspace"),
            writeable_dir,
            writeable_workspace_dir,
            host_logs_dir: get("HOST_LOGS_DIR").map_or_else(|| logs_dir.clone(), PathBuf::from),
            logs_dir,
            bind: overrides.bind.clone().or_else(|| get("EBMBOT_BIND")).unwrap_or_else(|| "127.0.0.1:9000".to_owned()),
            shell: get("EBMBOT_SHELL").unwrap_or_else(|| "bash".to_owned()),
            job_timeout: vars.job_timeout()?,
            kill_grace: vars.duration("EBMBOT_KILL_GRACE", "10s")?,
            host_id: vars.host_id()?,
            lease: vars.lease()?,
            max_jobs: vars.number("EBMBOT_MAX_JOBS", 8, 1..=u32::MAX, AT_LEAST_ONE)?,
            shutdown_grace: vars.duration("EBMBOT_SHUTDOWN_GRACE", "30s")?,
            timer_grace: vars.duration("EBMBOT_TIMER_GRACE", "5m")?,
            retention: vars.duration("EBMBOT_RETENTION", "90d")?,
            max_log: vars.size("EBMBOT_MAX_LOG", "100MB")?,
            max_body,
            max_body_memory,
            max_connections: vars.max_connections()?,
            slack_max_pending: vars.number("EBMBOT_SLACK_MAX_PENDING", 20, 1..=u64::MAX, AT_LEAST_ONE)?,
            timezone: vars.timezone()?,
            sync: vars.choice("EBMBOT_SYNC", SyncMode::Normal, SYNC_MODES, "write `normal` or `full`")?,
            wake_poll: vars.wake_poll()?,
            slack_bot_token: secrets.slack_bot_token,
            slack_app_token: secrets.slack_app_token,
            slack_signing_secret: secrets.slack_signing_secret,
            slack_api_url: get("SLACK_API_URL")
                .unwrap_or_else(|| "https://slack.com/api".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            slack_logs_channel: get("SLACK_LOGS_CHANNEL"),
            slack_tech_support_channel: get("SLACK_TECH_SUPPORT_CHANNEL"),
            slack_app_username: get("SLACK_APP_USERNAME").unwrap_or_else(|| "ebmbot".to_owned()),
            slack_ack_reaction: vars.reaction("SLACK_ACK_REACTION", "eyes")?,
            slack_enterprise_id: vars.enterprise("SLACK_ENTERPRISE_ID")?,
            slack_auto_join: vars.boolean("SLACK_AUTO_JOIN")?,
            slack_reply_in_thread: vars.boolean("SLACK_REPLY_IN_THREAD")?,
            slack_retry_base: vars.duration("SLACK_RETRY_BASE", "1s")?,
            slack_delivery_max_age: vars.duration("SLACK_DELIVERY_MAX_AGE", "24h")?,
            slack_catch_up: vars.duration("SLACK_CATCH_UP", "24h")?,
            slack_progress_every: vars.at_least_a_second("SLACK_PROGRESS_EVERY", "10s")?,
            slack_missed_command_age: vars.duration("SLACK_MISSED_COMMAND_AGE", "1h")?,
            github_webhook_secret: secrets.github_webhook_secret,
            secret_sources: secrets.sources,
            hidden_from_jobs: secrets.hidden_from_jobs,
            job_reaper: None,
        })
    }

    /// How long a dispatcher goes without renewing its lease before it stops its jobs (half
    /// the lease): their TERM, kill grace and KILL then end before the lease does, with a
    /// quarter of it to spare for clocks that disagree.
    pub fn fence_after(&self) -> Duration {
        self.lease / 2
    }

    /// How often a dispatcher renews its lease: six times a lease, at most every 10 s.
    pub fn heartbeat_every(&self) -> Duration {
        (self.lease / 6).min(Duration::from_secs(10))
    }

    /// `EBMBOT_TIMEZONE`'s name (`Europe/London`, `UTC`).
    pub fn timezone_name(&self) -> &str {
        self.timezone.iana_name().unwrap_or("UTC")
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

/// `EBMBOT_SYNC`'s words (in any case).
const SYNC_MODES: &[(&str, SyncMode)] = &[("normal", SyncMode::Normal), ("full", SyncMode::Full)];
/// The words a yes/no setting accepts (in any case).
const BOOLEANS: &[(&str, bool)] = &[
    ("true", true),
    ("1", true),
    ("yes", true),
    ("on", true),
    ("false", false),
    ("0", false),
    ("no", false),
    ("off", false),
];

/// The environment as [`Settings::from_lookup`] reads it: empty values count as unset, and
/// every value that does not parse is an error naming its variable.
struct Vars<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    cwd: &'a Path,
}

impl Vars<'_> {
    fn absolute(&self, p: PathBuf) -> PathBuf {
        if p.is_absolute() { p } else { self.cwd.join(p) }
    }

    fn or(&self, var: &str, default: &str) -> String {
        (self.get)(var).unwrap_or_else(|| default.to_owned())
    }

    fn path(&self, var: &str, default: &str) -> PathBuf {
        self.absolute(PathBuf::from(self.or(var, default)))
    }

    fn duration(&self, var: &'static str, default: &str) -> Result<Duration, SettingsError> {
        duration::parse(&self.or(var, default)).map_err(|source| SettingsError::Duration { var, source })
    }

    /// `EBMBOT_WAKE_POLL`: a duration of at least 100ms (shorter would be the busy polling the
    /// notifications replace).
    fn max_connections(&self) -> Result<usize, SettingsError> {
        self.number("EBMBOT_MAX_CONNECTIONS", 512, 1..=1_000_000, "write a whole number from 1 to 1000000")
    }

    /// A `true`/`false` setting, false when unset.
    fn boolean(&self, name: &'static str) -> Result<bool, SettingsError> {
        self.choice(name, false, BOOLEANS, "write `true` or `false`")
    }

    fn wake_poll(&self) -> Result<Duration, SettingsError> {
        let poll = self.duration("EBMBOT_WAKE_POLL", "2s")?;
        if poll < Duration::from_millis(100) {
            let value = self.or("EBMBOT_WAKE_POLL", "2s");
            return Err(SettingsError::Invalid {
                var: "EBMBOT_WAKE_POLL",
                value,
                expected: "write a duration of at least 100ms, such as `2s`",
            });
        }
        Ok(poll)
    }

    /// `PGSSLROOTCERT` (libpq's), when set: a readable PEM file with a certificate in it, the
    /// roots a PostgreSQL server's certificate is verified against (`sslmode=require`). The
    /// PostgreSQL client reads it itself; a bad one is refused here, in one line.
    fn pg_root_cert(&self) -> Result<(), SettingsError> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let Some(path) = (self.get)("PGSSLROOTCERT").filter(|p| !p.is_empty()) else { return Ok(()) };
        let certs = std::fs::read(&path).map(|pem| CertificateDer::pem_slice_iter(&pem).flatten().count());
        if certs.is_ok_and(|n| n > 0) {
            return Ok(());
        }
        Err(SettingsError::Invalid {
            var: "PGSSLROOTCERT",
            value: path,
            expected: "it is not a readable PEM file with a certificate; name the CA certificate that signed the PostgreSQL server's",
        })
    }

    /// `EBMBOT_DB_LOG_MAX`: by default 1MB on PostgreSQL, whose queue other hosts share, and
    /// nothing on SQLite, whose queue is one host's (its log files are there already).
    fn db_log_max(&self, db: &Location) -> Result<u64, SettingsError> {
        self.size("EBMBOT_DB_LOG_MAX", if db.is_postgres() { "1MB" } else { "0" })
    }

    /// `EBMBOT_JOB_TIMEOUT`: a duration, or `none`.
    fn job_timeout(&self) -> Result<Option<Duration>, SettingsError> {
        match (self.get)("EBMBOT_JOB_TIMEOUT").as_deref() {
            Some("none") => Ok(None),
            _ => Ok(Some(self.duration("EBMBOT_JOB_TIMEOUT", "1h")?)),
        }
    }

    /// A duration of at least a second.
    fn at_least_a_second(&self, var: &'static str, default: &str) -> Result<Duration, SettingsError> {
        let d = self.duration(var, default)?;
        if d < Duration::from_secs(1) {
            let value = self.or(var, default);
            return Err(SettingsError::Invalid {
                var,
                value,
                expected: "write a duration of at least 1s, such as `10s`",
            });
        }
        Ok(d)
    }

    /// `EBMBOT_HOST_ID`: a name without `/` (it is part of lease owners), default the hostname.
    fn host_id(&self) -> Result<String, SettingsError> {
        let Some(id) = (self.get)("EBMBOT_HOST_ID") else { return Ok(machine_hostname()) };
        if id.is_empty() || id.len() > 255 || id.contains('/') || id.chars().any(char::is_control) {
            return Err(SettingsError::Invalid {
                var: "EBMBOT_HOST_ID",
                value: id,
                expected: "write a host name without `/`, such as `worker-2`",
            });
        }
        Ok(id)
    }

    /// `EBMBOT_LEASE`: long enough that a dispatcher cut off from the queue can stop its jobs
    /// (TERM, `EBMBOT_KILL_GRACE`, the reaper's margin, KILL) in a quarter of it, after half of it.
    fn lease(&self) -> Result<Duration, SettingsError> {
        let lease = self.duration("EBMBOT_LEASE", "60s")?;
        let kill_grace = self.duration("EBMBOT_KILL_GRACE", "10s")?;
        let shortest = (kill_grace + REAPER_MARGIN) * 4;
        if lease < shortest {
            return Err(SettingsError::LeaseTooShort {
                lease: self.or("EBMBOT_LEASE", "60s"),
                kill_grace: self.or("EBMBOT_KILL_GRACE", "10s"),
                least: duration::format(shortest),
            });
        }
        Ok(lease)
    }

    fn size(&self, var: &'static str, default: &str) -> Result<u64, SettingsError> {
        let value = self.or(var, default);
        duration::parse_size(&value).map_err(|_| SettingsError::Invalid {
            var,
            value,
            expected: "write an integer with KB, MB, GB, KiB, MiB or GiB, such as `100MB`",
        })
    }

    /// A whole number within `range`.
    fn number<T: std::str::FromStr + PartialOrd>(
        &self,
        var: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
        expected: &'static str,
    ) -> Result<T, SettingsError> {
        match (self.get)(var) {
            None => Ok(default),
            Some(value) => value.parse::<T>().ok().filter(|n| range.contains(n)).ok_or(SettingsError::Invalid {
                var,
                value,
                expected,
            }),
        }
    }

    /// One of `words` (in any case).
    fn choice<T: Copy>(
        &self,
        var: &'static str,
        default: T,
        words: &[(&str, T)],
        expected: &'static str,
    ) -> Result<T, SettingsError> {
        let Some(value) = (self.get)(var) else { return Ok(default) };
        words.iter().find(|(word, _)| value.eq_ignore_ascii_case(word)).map(|&(_, t)| t).ok_or(SettingsError::Invalid {
            var,
            value,
            expected,
        })
    }

    /// A reaction's name, as `reactions.add` takes it: `:eyes:` (as people write it) is `eyes`.
    fn reaction(&self, var: &'static str, default: &str) -> Result<String, SettingsError> {
        let value = self.or(var, default);
        let name = value.trim().trim_matches(':');
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(SettingsError::Invalid {
                var,
                value,
                expected: "write one emoji name such as `eyes` or `:eyes:`",
            });
        }
        Ok(name.to_owned())
    }

    /// An Enterprise Grid organisation id: `E` and letters or digits.
    fn enterprise(&self, var: &'static str) -> Result<Option<String>, SettingsError> {
        let Some(value) = (self.get)(var) else { return Ok(None) };
        let id = value.trim();
        if id.len() > 1 && id.starts_with('E') && id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(Some(id.to_owned()));
        }
        Err(SettingsError::Invalid { var, value, expected: "write the organisation's id, such as `E0123ABCD`" })
    }

    /// `EBMBOT_MAX_BODY` and `EBMBOT_MAX_BODY_MEMORY`, the second at least the first.
    fn body_limits(&self) -> Result<(u64, u64), SettingsError> {
        let max_body = self.size("EBMBOT_MAX_BODY", "26MB")?;
        let max_body_memory = self.size("EBMBOT_MAX_BODY_MEMORY", "64MB")?;
        if max_body_memory < max_body {
            return Err(SettingsError::Invalid {
                var: "EBMBOT_MAX_BODY_MEMORY",
                value: self.or("EBMBOT_MAX_BODY_MEMORY", "64MB"),
                expected: "it must be at least EBMBOT_MAX_BODY, the largest body one request may send",
            });
        }
        Ok((max_body, max_body_memory))
    }

    fn timezone(&self) -> Result<jiff::tz::TimeZone, SettingsError> {
        match (self.get)("EBMBOT_TIMEZONE") {
            None => Ok(jiff::tz::TimeZone::UTC),
            Some(value) => jiff::tz::TimeZone::get(&value).map_err(|_| SettingsError::Invalid {
                var: "EBMBOT_TIMEZONE",
                value,
                expected: "write an IANA time zone name such as `Europe/London` or `UTC`",
            }),
        }
    }
}

/// ebmbot's secrets, each from its variable, its `_FILE` or a systemd credential.
struct Secrets {
    slack_bot_token: Option<Secret>,
    slack_app_token: Option<Secret>,
    slack_signing_secret: Option<Secret>,
    github_webhook_secret: Option<Secret>,
    sources: Vec<(String, Source)>,
    hidden_from_jobs: Vec<String>,
}

impl Secrets {
    fn read(get: &dyn Fn(&str) -> Option<String>) -> Result<Secrets, SettingsError> {
        let mut sources = Vec::new();
        let mut hidden_from_jobs = vec![secrets::CREDENTIALS_DIRECTORY.to_owned()];
        let mut secret = |name: SecretName| -> Result<Option<Secret>, SettingsError> {
            hidden_from_jobs.extend(secrets::hidden_vars(name.env_var()));
            let loaded = secrets::read(name.env_var(), get)?;
            Ok(loaded.map(|l| {
                sources.push((name.env_var().to_owned(), l.source));
                l.value
            }))
        };
        Ok(Secrets {
            slack_bot_token: secret(SecretName::SlackBotToken)?,
            slack_app_token: secret(SecretName::SlackAppToken)?,
            slack_signing_secret: secret(SecretName::SlackSigningSecret)?,
            github_webhook_secret: secret(SecretName::GithubWebhookSecret)?,
            sources,
            hidden_from_jobs,
        })
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
        assert_eq!(s.db.to_string(), "/srv/bot/ebmbot.db");
        assert_eq!(s.config, Path::new("/srv/bot/jobs.toml"));
        assert_eq!(s.writeable_workspace_dir, Path::new("/srv/bot/./workspace"));
        assert_eq!(s.max_jobs, 8);
        assert_eq!(s.job_timeout, Some(Duration::from_secs(3600)));
    }

    #[test]
    fn db_precedence_and_errors() {
        assert_eq!(load(&[("DB_PATH", "/a.db")]).unwrap().db.to_string(), "/a.db");
        assert_eq!(load(&[("DB_PATH", "/a.db"), ("EBMBOT_DB", "b.db")]).unwrap().db.to_string(), "/srv/bot/b.db");
        let pg = load(&[("EBMBOT_DB", "postgres://bot:hunter2@db/q")]).unwrap();
        assert!(!format!("{pg:?}").contains("hunter2"), "the password is a secret");
        assert_eq!(pg.db.to_string(), "postgres://bot@db/q");
        assert!(load(&[("EBMBOT_DB", "postgres://bot@db:port/q")]).is_err());
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
    fn a_lease_must_leave_time_to_stop_jobs_and_a_host_id_has_no_slash() {
        let s = load(&[]).unwrap();
        assert_eq!(
            (s.lease, s.fence_after(), s.heartbeat_every()),
            (Duration::from_secs(60), Duration::from_secs(30), Duration::from_secs(10))
        );
        assert!(!s.host_id.is_empty(), "the hostname by default");
        let short = load(&[("EBMBOT_LEASE", "20s")]).unwrap_err().to_string();
        assert_eq!(
            short,
            "EBMBOT_LEASE=`20s` is too short for EBMBOT_KILL_GRACE=`10s`: a dispatcher cut off from the queue stops its jobs within half its lease; write at least `48s`"
        );
        let s = load(&[("EBMBOT_LEASE", "9s"), ("EBMBOT_KILL_GRACE", "200ms")]).unwrap();
        assert_eq!(s.heartbeat_every(), Duration::from_millis(1500));
        assert!(load(&[("EBMBOT_LEASE", "soon")]).is_err());
        assert_eq!(load(&[("EBMBOT_HOST_ID", "worker-2")]).unwrap().host_id, "worker-2");
        let slash = load(&[("EBMBOT_HOST_ID", "a/b")]).unwrap_err().to_string();
        assert!(slash.starts_with("EBMBOT_HOST_ID=`a/b` is not valid; write a host name without `/`"), "{slash}");
        assert_eq!(load(&[]).unwrap().db_log_max, 0, "none on SQLite unless told");
        assert_eq!(load(&[("EBMBOT_DB", "postgres://u@h/q")]).unwrap().db_log_max, 1_000_000);
        assert_eq!(load(&[("EBMBOT_DB_LOG_MAX", "2MB")]).unwrap().db_log_max, 2_000_000);
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
