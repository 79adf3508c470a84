//! Where the queue lives: `EBMBOT_DB` / `--db`. A `postgres://` (or `postgresql://`) URL is a
//! PostgreSQL database; anything else is a SQLite file (a path, or `sqlite:PATH`). A password in
//! the URL, or found in a `PGPASSFILE`, is a secret: [`Location`]'s `Display` and `Debug` show
//! the URL without it.

use std::fmt;
use std::path::{Path, PathBuf};

/// The database ebmbot uses. Opaque above the queue: shown, never matched on.
#[derive(Clone, PartialEq, Eq)]
pub struct Location(Inner);

#[derive(Clone, PartialEq, Eq)]
enum Inner {
    Sqlite(PathBuf),
    Postgres(Url),
}

/// A PostgreSQL URL, kept as given, and its password apart.
#[derive(Clone, PartialEq, Eq)]
struct Url {
    /// The URL with any password removed.
    shown: String,
    password: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("`{shown}` is not a valid PostgreSQL URL; write postgres://USER@HOST:PORT/DATABASE")]
    BadUrl { shown: String },
}

impl Location {
    /// Parses `EBMBOT_DB`; a relative SQLite path is taken against `cwd`.
    pub fn parse(text: &str, cwd: &Path) -> Result<Location, LocationError> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let (shown, password) = split_password(text);
            let url = Url { shown, password };
            // Check it now, so a typo is a settings error rather than a failure later.
            url.config().map_err(|()| LocationError::BadUrl { shown: url.shown.clone() })?;
            return Ok(Location(Inner::Postgres(url)));
        }
        let path = text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")).unwrap_or(text);
        let path = PathBuf::from(path);
        Ok(Location(Inner::Sqlite(if path.is_absolute() { path } else { cwd.join(path) })))
    }

    /// A SQLite file.
    pub fn sqlite(path: impl Into<PathBuf>) -> Location {
        Location(Inner::Sqlite(path.into()))
    }

    /// True when this location holds a password (so the variables that named it must not
    /// reach a job).
    pub fn has_password(&self) -> bool {
        matches!(&self.0, Inner::Postgres(u) if u.password.is_some())
    }

    /// Without a password in the URL, takes one from a `.pgpass` file's text (lines of
    /// `host:port:database:user:password`, `*` matching anything).
    #[must_use]
    pub fn with_pgpass(mut self, pgpass: &str) -> Location {
        if let Inner::Postgres(url) = &mut self.0
            && url.password.is_none()
            && let Ok(config) = url.config()
        {
            url.password = pgpass_lookup(pgpass, &config);
        }
        self
    }

    /// Whether this is a PostgreSQL queue (one several hosts may share).
    pub fn is_postgres(&self) -> bool {
        matches!(self.0, Inner::Postgres(_))
    }

    /// The SQLite file, if that is what this is (for messages about a missing directory).
    pub(crate) fn sqlite_path(&self) -> Option<&Path> {
        match &self.0 {
            Inner::Sqlite(p) => Some(p),
            Inner::Postgres(_) => None,
        }
    }

    /// The PostgreSQL connection settings, password included.
    pub(crate) fn postgres(&self) -> Option<postgres::Config> {
        match &self.0 {
            Inner::Postgres(url) => url.config().ok(),
            Inner::Sqlite(_) => None,
        }
    }
}

/// How long the server keeps a transaction the client has gone quiet in.
const IDLE_IN_TRANSACTION: &str = "10s";

impl Url {
    fn config(&self) -> Result<postgres::Config, ()> {
        let mut config: postgres::Config = super::db::tls::driver_sslmode(&self.shown).parse().map_err(|_| ())?;
        if let Some(p) = &self.password {
            config.password(p);
        }
        config.application_name("ebmbot");
        // A host cut off in the middle of a transaction must not hold the queue's lock (and its
        // rows) until TCP notices: the server ends a transaction left idle this long.
        let options = config.get_options().map(str::to_owned).unwrap_or_default();
        config.options(format!("{options} -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION}").trim_start());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        Ok(config)
    }
}

/// `postgres://user:secret@host/db` → (`postgres://user@host/db`, `secret`). The password is
/// percent-decoded.
fn split_password(text: &str) -> (String, Option<String>) {
    let (scheme, rest) = text.split_once("://").unwrap_or(("postgres", text));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, hosts)) = authority.rsplit_once('@') else {
        return (text.to_owned(), None);
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return (text.to_owned(), None);
    };
    (format!("{scheme}://{user}@{hosts}{tail}"), Some(percent_decode(password)))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The password `.pgpass` gives for this connection: the first line whose fields match.
fn pgpass_lookup(text: &str, config: &postgres::Config) -> Option<String> {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user().unwrap_or_default().to_owned();
    let db = config.get_dbname().map_or_else(|| user.clone(), str::to_owned);
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = |field: &str, value: &str| field == "*" || field == value;
        if matches(&fields[0], &host)
            && matches(&fields[1], &port)
            && matches(&fields[2], &db)
            && matches(&fields[3], &user)
        {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

/// Splits a `.pgpass` line on `:`, with `\:` and `\\` escapes.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Sqlite(p) => p.display().fmt(f),
            Inner::Postgres(url) => f.write_str(&url.shown),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Location {
        Location::sqlite(p)
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Location {
        Location::sqlite(p.clone())
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Location {
        l.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls() {
        let cwd = Path::new("/srv");
        assert_eq!(Location::parse("q.db", cwd).unwrap().to_string(), "/srv/q.db");
        assert_eq!(Location::parse("sqlite:/a/q.db", cwd).unwrap().to_string(), "/a/q.db");
        assert_eq!(Location::parse("sqlite:q.db", cwd).unwrap().to_string(), "/srv/q.db");
        let pg = Location::parse("postgres://root@127.0.0.1:5432/ebmbot", cwd).unwrap();
        assert_eq!(pg.to_string(), "postgres://root@127.0.0.1:5432/ebmbot");
        assert!(pg.sqlite_path().is_none() && !pg.has_password());
    }

    #[test]
    fn a_password_is_never_shown() {
        let l = Location::parse("postgres://bot:s%40cret@db.internal:5433/q?sslmode=disable", Path::new("/")).unwrap();
        assert_eq!(l.to_string(), "postgres://bot@db.internal:5433/q?sslmode=disable");
        assert!(!format!("{l:?}").contains("cret"));
        assert!(l.has_password());
        assert_eq!(l.postgres().unwrap().get_password(), Some(&b"s@cret"[..]));
        assert_eq!(l.postgres().unwrap().get_options(), Some("-c idle_in_transaction_session_timeout=10s"));
        let with = Location::parse("postgres://b@h/q?options=-c%20work_mem%3D8MB&sslmode=verify-full", Path::new("/"));
        let config = with.unwrap().postgres().unwrap();
        assert_eq!(config.get_options(), Some("-c work_mem=8MB -c idle_in_transaction_session_timeout=10s"));
        assert_eq!(config.get_ssl_mode(), postgres::config::SslMode::Require, "verify-full is TLS, verified");
        let bad = Location::parse("postgres://bot:hunter2@host:notaport/q", Path::new("/")).unwrap_err();
        assert!(!bad.to_string().contains("hunter2"), "{bad}");
    }

    #[test]
    fn pgpass_gives_the_password() {
        let l = Location::parse("postgres://bot@db:5432/q", Path::new("/")).unwrap();
        let pgpass = "# comment\nother:5432:q:bot:no\ndb:*:q:bot:pa\\:ss\n";
        let l = l.with_pgpass(pgpass);
        assert_eq!(l.postgres().unwrap().get_password(), Some(&b"pa:ss"[..]));
        assert!(l.has_password());
    }
}
