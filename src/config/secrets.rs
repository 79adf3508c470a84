//! Reading one secret, wherever the operator put it (docs/security.md, "Secrets"):
//!
//! - the variable itself, `NAME=value` (works, but every process that can read ebmbot's
//!   environment sees it, and ebmbot warns at start);
//! - a file named by `NAME_FILE=/path` (Docker and Kubernetes secrets);
//! - systemd's credentials, `$CREDENTIALS_DIRECTORY/NAME` (`LoadCredential=NAME:/path`).
//!
//! Setting more than one of these is an error: ebmbot never guesses which one is meant. A file's
//! value loses one trailing newline (`echo secret > file` is the usual way to write one).
//!
//! [`read`] is the one way to read a secret: `Settings` uses it for its own, and anything that
//! names a secret variable in `jobs.toml` or the environment uses it too. [`hidden_vars`] lists
//! the variables a job must not inherit for a secret.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Secret;

/// systemd's variable naming the directory of the service's credentials.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// Where a secret's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The variable itself: readable by whatever can read ebmbot's environment.
    Env,
    /// A file named by `NAME_FILE`.
    File(PathBuf),
    /// `$CREDENTIALS_DIRECTORY/NAME`.
    Credential(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Env => f.write_str("the environment"),
            Source::File(p) => write!(f, "the file {}", p.display()),
            Source::Credential(p) => write!(f, "the systemd credential {}", p.display()),
        }
    }
}

/// A secret and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub value: Secret,
    pub source: Source,
}

/// Why a secret could not be read. Every one is the operator's to fix (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{var} is set twice, by {first} and by {second}; keep only one (a file is safer)")]
    Twice { var: String, first: Source, second: Source },
    #[error("cannot read {var} from {source_}; check the path and its permissions")]
    Read {
        var: String,
        source_: Source,
        #[source]
        source: std::io::Error,
    },
    #[error("{var} from {source_} is empty; write the secret into it")]
    Empty { var: String, source_: Source },
    #[error("{var} from {source_} is larger than 64 KiB; point it at the file that holds only the secret")]
    TooLarge { var: String, source_: Source },
    #[error("{var} from {source_} is not UTF-8 text")]
    NotText { var: String, source_: Source },
}

/// The file variable that may name `var`'s value: `NAME_FILE`.
pub fn file_var(var: &str) -> String {
    format!("{var}_FILE")
}

/// The variables a job must not inherit for the secret `var`: the variable and its `_FILE`.
/// (`CREDENTIALS_DIRECTORY` is removed for every job, see `runner::job_env`.)
pub fn hidden_vars(var: &str) -> [String; 2] {
    [var.to_owned(), file_var(var)]
}

/// Reads the secret `var` through `get` (the environment, or a map in tests; empty values count
/// as unset). `Ok(None)` when none of the three places has it.
pub fn read(var: &str, get: &dyn Fn(&str) -> Option<String>) -> Result<Option<Loaded>, SecretError> {
    let get = |k: &str| get(k).filter(|v| !v.is_empty());
    let mut found: Vec<Source> = Vec::new();
    if get(var).is_some() {
        found.push(Source::Env);
    }
    if let Some(path) = get(&file_var(var)) {
        found.push(Source::File(PathBuf::from(path)));
    }
    if let Some(dir) = get(CREDENTIALS_DIRECTORY) {
        let path = Path::new(&dir).join(var);
        // Only a credential that exists counts: the directory holds the service's other ones too.
        if path.symlink_metadata().is_ok() {
            found.push(Source::Credential(path));
        }
    }
    let mut found = found.into_iter();
    let Some(source) = found.next() else {
        return Ok(None);
    };
    if let Some(second) = found.next() {
        return Err(SecretError::Twice { var: var.to_owned(), first: source, second });
    }
    let value = match &source {
        Source::Env => get(var).unwrap_or_default(),
        Source::File(path) | Source::Credential(path) => read_file(var, path, &source)?,
    };
    Ok(Some(Loaded { value: Secret::new(value), source }))
}

/// [`read`] from the process environment.
pub fn read_env(var: &str) -> Result<Option<Loaded>, SecretError> {
    read(var, &|k| std::env::var(k).ok())
}

/// The largest secret file ebmbot reads: tokens and keys are far smaller, and a path pointing at
/// a device or a log must not fill memory.
pub const MAX_FILE: u64 = 64 * 1024;

fn read_file(var: &str, path: &Path, source: &Source) -> Result<String, SecretError> {
    use std::io::Read;
    let read_error = |e| SecretError::Read { var: var.to_owned(), source_: source.clone(), source: e };
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes)).map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(SecretError::TooLarge { var: var.to_owned(), source_: source.clone() });
    }
    let text =
        String::from_utf8(bytes).map_err(|_| SecretError::NotText { var: var.to_owned(), source_: source.clone() })?;
    let value = text.strip_suffix('\n').map_or(text.as_str(), |t| t.strip_suffix('\r').unwrap_or(t));
    if value.is_empty() {
        return Err(SecretError::Empty { var: var.to_owned(), source_: source.clone() });
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn from_the_variable_a_file_or_a_credential() {
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        std::fs::write(dir.path().join("SLACK_BOT_TOKEN"), "from-credential").unwrap();
        let path = file.display().to_string();
        let creds = dir.path().display().to_string();

        let env = read("SLACK_BOT_TOKEN", &lookup(&[("SLACK_BOT_TOKEN", "from-env".into())])).unwrap().unwrap();
        assert_eq!((env.value.expose(), env.source), ("from-env", Source::Env));

        let f = read("SLACK_BOT_TOKEN", &lookup(&[("SLACK_BOT_TOKEN_FILE", path.clone())])).unwrap().unwrap();
        assert_eq!((f.value.expose(), f.source), ("from-file", Source::File(file.clone())));

        let c = read("SLACK_BOT_TOKEN", &lookup(&[(CREDENTIALS_DIRECTORY, creds.clone())])).unwrap().unwrap();
        assert_eq!(c.value.expose(), "from-credential");
        assert_eq!(c.source, Source::Credential(dir.path().join("SLACK_BOT_TOKEN")));

        // A credentials directory without this one is not an error: it is simply not there.
        assert!(read("SLACK_APP_TOKEN", &lookup(&[(CREDENTIALS_DIRECTORY, creds)])).unwrap().is_none());
        assert!(read("SLACK_APP_TOKEN", &lookup(&[("SLACK_APP_TOKEN", String::new())])).unwrap().is_none());
    }

    #[test]
    fn two_places_at_once_is_an_error_naming_both() {
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "x").unwrap();
        let vars =
            [("GITHUB_WEBHOOK_SECRET", "from-env".into()), ("GITHUB_WEBHOOK_SECRET_FILE", file.display().to_string())];
        let err = read("GITHUB_WEBHOOK_SECRET", &lookup(&vars)).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, SecretError::Twice { .. }));
        assert!(text.contains("GITHUB_WEBHOOK_SECRET is set twice, by the environment and by the file"), "{text}");
        assert!(!text.contains("from-env"), "the value is never in an error: {text}");

        std::fs::write(dir.path().join("GITHUB_WEBHOOK_SECRET"), "y").unwrap();
        let vars = [
            ("GITHUB_WEBHOOK_SECRET_FILE", file.display().to_string()),
            (CREDENTIALS_DIRECTORY, dir.path().display().to_string()),
        ];
        assert!(matches!(read("GITHUB_WEBHOOK_SECRET", &lookup(&vars)), Err(SecretError::Twice { .. })));
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let dir = tempfile::TempDir::new().unwrap();
        let missing = dir.path().join("missing");
        let err =
            read("SLACK_APP_TOKEN", &lookup(&[("SLACK_APP_TOKEN_FILE", missing.display().to_string())])).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot read SLACK_APP_TOKEN from the file {}; check the path and its permissions",
                missing.display()
            )
        );
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err =
            read("SLACK_APP_TOKEN", &lookup(&[("SLACK_APP_TOKEN_FILE", empty.display().to_string())])).unwrap_err();
        assert!(matches!(err, SecretError::Empty { .. }), "{err}");
        let binary = dir.path().join("binary");
        std::fs::write(&binary, b"\xff\xfe").unwrap();
        let err =
            read("SLACK_APP_TOKEN", &lookup(&[("SLACK_APP_TOKEN_FILE", binary.display().to_string())])).unwrap_err();
        assert!(matches!(err, SecretError::NotText { .. }), "{err}");
        // A device never ends: it is refused, not read into memory.
        let err = read("SLACK_APP_TOKEN", &lookup(&[("SLACK_APP_TOKEN_FILE", "/dev/zero".into())])).unwrap_err();
        assert!(matches!(err, SecretError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn only_one_trailing_newline_is_dropped() {
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("s");
        for (written, read_back) in [("a\n", "a"), ("a\r\n", "a"), ("a\n\n", "a\n"), (" a ", " a ")] {
            std::fs::write(&file, written).unwrap();
            let got = read("X", &lookup(&[("X_FILE", file.display().to_string())])).unwrap().unwrap();
            assert_eq!(got.value.expose(), read_back);
        }
        assert_eq!(hidden_vars("X"), ["X", "X_FILE"]);
    }
}
